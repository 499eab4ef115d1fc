/**
 * Turning what a user wrote (a watch-file line, an argument to `monitor.add()`) into a checked WatchDefinition,
 * with errors that name the offending value and say what to do.
 */
import { compile } from 'css-select';
import type { AnyNode, Element } from 'domhandler';
import type { WatchDefinition } from './types.ts';

/** A watch as the API accepts it: a URL, or a URL with any of the definition's fields. */
export type WatchInput = string | ({ url: string } & Partial<Omit<WatchDefinition, 'url'>>);

/** Defaults applied to every watch that does not set its own (the CLI's global options). */
export interface WatchDefaults {
  intervalMs: number;
  adaptive: boolean;
  minIntervalMs?: number | undefined;
  maxIntervalMs?: number | undefined;
  respectCacheHeaders: boolean;
  /** Appended to each watch's own `ignore`. */
  ignore: string[];
  headers: Record<string, string>;
}

export const DEFAULT_WATCH: WatchDefaults = {
  intervalMs: 5 * 60_000,
  adaptive: false,
  respectCacheHeaders: false,
  ignore: [],
  headers: {},
};

/** Longest part of a value echoed in an error: a 16 KB line must not flood the terminal or a log. */
const SHOWN_CHARS = 80;

/** A value as an error shows it: quoted and escaped, cut to 80 characters with an ellipsis. */
export function shown(value: string): string {
  return JSON.stringify(value.length > SHOWN_CHARS ? `${value.slice(0, SHOWN_CHARS)}…` : value);
}

/** An engine's complaint, without the echo of the value (cut like shown(), for engines that repeat it). */
function complaint(error: unknown, value: string): string {
  const message = (error as Error).message.replaceAll(value, '…');
  return message.length > SHOWN_CHARS ? `${message.slice(0, SHOWN_CHARS)}…` : message;
}

/** A definition that cannot be used: the message says what and why. */
export class WatchDefinitionError extends Error {
  override name = 'WatchDefinitionError';
}

/** Headers the monitor owns: it sends the server's own validators itself, and reads bodies unencoded. */
const RESERVED_HEADERS = new Set([
  'if-none-match',
  'if-modified-since',
  'if-match',
  'if-unmodified-since',
  'if-range',
  'range',
  'accept-encoding',
  'host',
  'content-length',
  'transfer-encoding',
  'connection',
]);
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/**
 * Fields that carry credentials (RFC 9110 §11.6.2, §11.7.2; RFC 6265 §5.4), and the API-key fields services
 * invent. Their values are written to the history, so the secret in them must come from the environment.
 */
const CREDENTIAL_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie']);
const CREDENTIAL_NAME = /(^|-)(api-?key|token|secret|password|passwd|auth|session)(-|$)/;
/** `${NAME}`: an environment variable, expanded when a request is made. */
const REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;
const MIN_INTERVAL_MS = 1000;
/** Longest interval: ten years. Far beyond it, due times leave the range of a Date and timers overflow. */
export const MAX_INTERVAL_DAYS = 3650;
const MAX_INTERVAL_MS = MAX_INTERVAL_DAYS * 86_400_000;

/** Checks and completes a watch definition. Throws WatchDefinitionError. */
export function defineWatch(input: WatchInput, defaults: WatchDefaults = DEFAULT_WATCH): WatchDefinition {
  const given = typeof input === 'string' ? { url: input } : input;
  const url = checkUrl(given.url);
  const intervalMs = given.intervalMs ?? defaults.intervalMs;
  checkInterval('interval', intervalMs);
  const minIntervalMs =
    given.minIntervalMs ?? defaults.minIntervalMs ?? Math.max(MIN_INTERVAL_MS, intervalMs / 8);
  const maxIntervalMs =
    given.maxIntervalMs ??
    defaults.maxIntervalMs ??
    Math.min(MAX_INTERVAL_MS, Math.max(intervalMs * 16, 86_400_000));
  checkInterval('min-interval', minIntervalMs);
  checkInterval('max-interval', maxIntervalMs);
  if (minIntervalMs > intervalMs || intervalMs > maxIntervalMs)
    throw new WatchDefinitionError(
      `min-interval (${minIntervalMs} ms) ≤ interval (${intervalMs} ms) ≤ max-interval (${maxIntervalMs} ms) must hold`,
    );
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries({ ...defaults.headers, ...given.headers })) {
    const lower = name.toLowerCase();
    if (!TOKEN.test(name)) throw new WatchDefinitionError(`header name ${shown(name)} is not a token`);
    if (RESERVED_HEADERS.has(lower))
      throw new WatchDefinitionError(
        `header ${name} is set by the monitor itself (it echoes the server's own validators); remove it`,
      );
    if (/[\r\n\0]/.test(value))
      throw new WatchDefinitionError(`header ${name} has a line break or NUL in its value`);
    headers[lower] = checkHeaderValue(name, value.trim());
  }
  const ignore = [...(given.ignore ?? []), ...defaults.ignore];
  for (const source of ignore) compileIgnore(source);
  if (given.selector !== undefined) compileSelector(given.selector);
  if (given.pointer !== undefined) parsePointer(given.pointer);
  if (given.selector !== undefined && given.pointer !== undefined)
    throw new WatchDefinitionError('a watch takes a selector (HTML) or a pointer (JSON), not both');
  const whitespace = given.whitespace ?? 'collapse';
  if (whitespace !== 'collapse' && whitespace !== 'keep')
    throw new WatchDefinitionError(`whitespace must be collapse or keep, not ${shown(String(whitespace))}`);
  return {
    url,
    intervalMs,
    headers,
    selector: given.selector,
    pointer: given.pointer,
    ignore,
    whitespace,
    adaptive: given.adaptive ?? defaults.adaptive,
    minIntervalMs,
    maxIntervalMs,
    respectCacheHeaders: given.respectCacheHeaders ?? defaults.respectCacheHeaders,
  };
}

/** True for a header whose value is a credential (it must reference an environment variable). */
export function isCredentialHeader(name: string): boolean {
  const lower = name.toLowerCase();
  return CREDENTIAL_HEADERS.has(lower) || CREDENTIAL_NAME.test(lower);
}

/**
 * A header value as stored: `${NAME}` references are kept as written (expanded at request time). In a credential
 * header the secret must be a reference: only an Authorization scheme (`Bearer ${TOKEN}`) or cookie names
 * (`sid=${SID}`) may be written out.
 */
function checkHeaderValue(name: string, value: string): string {
  const literal = value.replace(REFERENCE, '');
  if (literal.includes('${'))
    throw new WatchDefinitionError(
      `header ${name}: "\${" must start a reference to an environment variable, such as \${API_TOKEN}`,
    );
  if (!isCredentialHeader(name)) return value;
  const lower = name.toLowerCase();
  const allowed =
    lower === 'authorization' || lower === 'proxy-authorization'
      ? /^\s*([A-Za-z][\w.+-]*\s*)?$/.test(literal)
      : lower === 'cookie'
        ? onlyCookieNames(literal)
        : literal.trim() === '';
  if (literal === value || !allowed)
    throw new WatchDefinitionError(
      `header ${name} holds a credential, which would be stored in clear in the history; put the secret in an environment variable and write it as \${VARIABLE} (${name}: ${lower.endsWith('authorization') ? 'Bearer ' : lower === 'cookie' ? 'sid=' : ''}\${VARIABLE}), expanded when each request is made`,
    );
  return value;
}

/**
 * True when a Cookie value, its references removed, holds nothing but cookie names: `name=` pairs separated by
 * `;` (RFC 6265 §4.2.1), so that every value was a reference. A split and a scan, linear in the length: a
 * regex with nested quantifiers here backtracked exponentially on an 80-byte line.
 */
function onlyCookieNames(literal: string): boolean {
  for (const pair of literal.split(';')) {
    const trimmed = pair.trim();
    if (trimmed === '') continue;
    const eq = trimmed.indexOf('=');
    if (eq <= 0 || eq !== trimmed.length - 1) return false;
    for (let i = 0; i < eq; i++) if (/\s/.test(trimmed[i]!)) return false;
  }
  return true;
}

/** The headers to send, every `${NAME}` replaced by the variable's value in `env`; or why they cannot be. */
export function expandHeaders(
  headers: Record<string, string>,
  env: Record<string, string | undefined>,
): { headers: Record<string, string> } | { error: string } {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    let error: string | undefined;
    out[name] = value.replace(REFERENCE, (_, variable: string) => {
      const found = env[variable];
      if (found === undefined)
        error ??= `header ${name} needs the environment variable ${variable}, which is not set`;
      else if (/[\r\n\0]/.test(found))
        error ??= `the environment variable ${variable} (header ${name}) holds a line break or NUL`;
      return found ?? '';
    });
    if (error !== undefined) return { error };
  }
  return { headers: out };
}

/** Checks a watch's URL (http or https, no credentials) and drops its fragment. */
export function checkUrl(value: unknown): string {
  if (typeof value !== 'string') throw new WatchDefinitionError('a watch needs a url');
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new WatchDefinitionError(`${shown(value)} is not a URL (expected http:// or https://…)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new WatchDefinitionError(`${shown(value)} is not an http:// or https:// URL`);
  if (url.username || url.password)
    throw new WatchDefinitionError(
      `${shown(url.host)}: credentials in the URL would be stored in clear; send them with a header (header="Authorization: …")`,
    );
  url.hash = '';
  return url.href;
}

function checkInterval(name: string, ms: number): void {
  const problem = intervalProblem(ms);
  if (problem) throw new WatchDefinitionError(`${name} ${problem}, not ${ms} ms`);
}

/** What is wrong with an interval (from 1 s to 3650 days), or undefined when it is usable. */
export function intervalProblem(ms: number): string | undefined {
  if (!Number.isFinite(ms) || ms < MIN_INTERVAL_MS) return 'must be at least 1s';
  if (ms > MAX_INTERVAL_MS) return `must be at most ${MAX_INTERVAL_DAYS} days (${MAX_INTERVAL_DAYS}d)`;
  return undefined;
}

/** Compiles an `ignore` pattern (global, so every match is removed). */
export function compileIgnore(source: string): RegExp {
  try {
    return new RegExp(source, 'g');
  } catch (error) {
    throw new WatchDefinitionError(
      `ignore pattern ${shown(source)} is not a regular expression: ${complaint(error, source)}`,
    );
  }
}

/** Compiles a CSS selector (css-select), turning the engine's complaint into a definition error. */
export function compileSelector(selector: string): (node: AnyNode) => boolean {
  if (selector.trim() === '') throw new WatchDefinitionError('selector is empty');
  try {
    return compile<AnyNode, Element>(selector);
  } catch (error) {
    throw new WatchDefinitionError(
      `selector ${shown(selector)} is not valid CSS: ${complaint(error, selector)}`,
    );
  }
}

/**
 * Parses a JSON Pointer (RFC 6901 §3) into its reference tokens: `""` is the whole document, `/a~1b/0` is
 * ['a/b', '0']. `~0` is `~`, `~1` is `/`; any other `~` is an error (§3).
 */
export function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/'))
    throw new WatchDefinitionError(`JSON Pointer ${shown(pointer)} must be empty or start with "/"`);
  return pointer
    .slice(1)
    .split('/')
    .map((token) => {
      if (/~[^01]|~$/.test(token))
        throw new WatchDefinitionError(`JSON Pointer ${shown(pointer)}: "~" must be followed by 0 or 1`);
      return token.replaceAll('~1', '/').replaceAll('~0', '~');
    });
}
