/**
 * The watch file: one URL per line, `#` starts a comment, options after the URL as `name=value` (values with
 * spaces in double quotes, `\"` and `\\` inside them):
 *
 *   # prices, every 10 minutes, the price element only
 *   https://shop.example/item/7 interval=10m selector=".price"
 *   https://api.example/v1/status pointer=/components header="Authorization: Bearer ${API_TOKEN}" adaptive
 *   https://news.example/ ignore="\d\d:\d\d" whitespace=keep
 *
 * A line that cannot be used is reported with its number and the others are still watched.
 */
import { parseDurationMs } from '../core/duration.ts';
import {
  checkUrl,
  defineWatch,
  shown,
  type WatchDefaults,
  WatchDefinitionError,
  type WatchInput,
} from './definition.ts';
import type { WatchDefinition } from './types.ts';

export interface WatchFileProblem {
  line: number;
  message: string;
}

export interface ParsedWatchFile {
  watches: WatchDefinition[];
  problems: WatchFileProblem[];
}

const OPTIONS = [
  'interval',
  'min-interval',
  'max-interval',
  'header',
  'selector',
  'pointer',
  'ignore',
  'whitespace',
  'adaptive',
  'respect-cache-headers',
] as const;
type OptionName = (typeof OPTIONS)[number];
const SWITCHES = new Set<OptionName>(['adaptive', 'respect-cache-headers']);
/** Longest line read; longer ones are reported, not scanned. */
const MAX_LINE = 16_384;

/** Parses the text of a watch file. Never throws: every unusable line becomes a problem. */
export function parseWatchFile(text: string, defaults?: WatchDefaults): ParsedWatchFile {
  const watches: WatchDefinition[] = [];
  const problems: WatchFileProblem[] = [];
  const firstLine = new Map<string, number>();
  // A byte order mark left at the start (text decoded without dropping it) is not part of the first URL.
  const lines = (text.startsWith('\uFEFF') ? text.slice(1) : text).split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const number = i + 1;
    const raw = lines[i]!;
    if (raw.length > MAX_LINE) {
      problems.push({ line: number, message: `line is longer than ${MAX_LINE} characters` });
      continue;
    }
    try {
      const tokens = tokenize(raw);
      if (tokens.length === 0) continue;
      const definition = defineWatch(toInput(tokens), defaults);
      const seen = firstLine.get(definition.url);
      if (seen !== undefined)
        throw new WatchDefinitionError(`${shown(definition.url)} is already watched on line ${seen}`);
      firstLine.set(definition.url, number);
      watches.push(definition);
    } catch (error) {
      if (!(error instanceof WatchDefinitionError)) throw error;
      problems.push({ line: number, message: error.message });
    }
  }
  return { watches, problems };
}

function toInput([url, ...options]: string[]): WatchInput {
  const input: Exclude<WatchInput, string> & { headers: Record<string, string>; ignore: string[] } = {
    url: checkUrl(url),
    headers: {},
    ignore: [],
  };
  for (const option of options) {
    const eq = option.indexOf('=');
    const name = (eq === -1 ? option : option.slice(0, eq)) as OptionName;
    const value = eq === -1 ? undefined : option.slice(eq + 1);
    if (!OPTIONS.includes(name))
      throw new WatchDefinitionError(`unknown option ${shown(name)} (known: ${OPTIONS.join(', ')})`);
    if (SWITCHES.has(name)) {
      if (value !== undefined && value !== 'on' && value !== 'off')
        throw new WatchDefinitionError(`${name} takes no value, or on/off, not ${shown(value)}`);
      const on = value !== 'off';
      if (name === 'adaptive') input.adaptive = on;
      else input.respectCacheHeaders = on;
      continue;
    }
    if (value === undefined) throw new WatchDefinitionError(`${name} needs a value: ${name}=…`);
    switch (name) {
      case 'interval':
        input.intervalMs = duration(value, name);
        break;
      case 'min-interval':
        input.minIntervalMs = duration(value, name);
        break;
      case 'max-interval':
        input.maxIntervalMs = duration(value, name);
        break;
      case 'header': {
        const colon = value.indexOf(':');
        if (colon <= 0) throw new WatchDefinitionError(`header must be "Name: value", not ${shown(value)}`);
        input.headers[value.slice(0, colon).trim()] = value.slice(colon + 1).trim();
        break;
      }
      case 'selector':
        input.selector = value;
        break;
      case 'pointer':
        input.pointer = value;
        break;
      case 'ignore':
        input.ignore.push(value);
        break;
      case 'whitespace':
        input.whitespace = value as 'collapse' | 'keep';
        break;
    }
  }
  return input;
}

/**
 * Splits a line into whitespace-separated tokens; `"…"` quotes (with `\"` and `\\`) may appear anywhere in a
 * token (`selector="a b"`); `#` outside quotes, at the start of a token, begins a comment. One pass, linear.
 */
export function tokenize(line: string): string[] {
  const tokens: string[] = [];
  let current = '';
  let inToken = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === ' ' || c === '\t') {
      if (inToken) tokens.push(current);
      current = '';
      inToken = false;
    } else if (c === '#' && !inToken) {
      break;
    } else if (c === '"') {
      inToken = true;
      let closed = false;
      for (i++; i < line.length; i++) {
        const q = line[i]!;
        if (q === '\\' && i + 1 < line.length) current += line[++i];
        else if (q === '"') {
          closed = true;
          break;
        } else current += q;
      }
      if (!closed) throw new WatchDefinitionError('a double quote is not closed');
    } else {
      current += c;
      inToken = true;
    }
  }
  if (inToken) tokens.push(current);
  return tokens;
}

function duration(value: string, name: string): number {
  const ms = parseDurationMs(value);
  if (ms === undefined)
    throw new WatchDefinitionError(`${name} must be a duration such as 30s, 5m or 2h, not ${shown(value)}`);
  return ms;
}
