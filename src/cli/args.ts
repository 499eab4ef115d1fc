/**
 * Command-line options for every `etagkit` command: one parser with the CLI's own error messages (parseArgs'
 * errors quote oddly and name internals), and the value checks commands share.
 */
import { isIP } from 'node:net';
import { parseArgs } from 'node:util';
import { parseDurationMs } from '../core/duration.ts';

/** A mistake in how the command was called: print it with the usage and exit 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  default?: string | boolean;
  /** A string option given several times keeps every value. */
  multiple?: boolean;
}

type Values<T extends Record<string, OptionSpec>> = {
  [K in keyof T]: T[K]['type'] extends 'boolean'
    ? boolean
    : T[K]['multiple'] extends true
      ? string[]
      : T[K]['default'] extends string
        ? string
        : string | undefined;
};

export interface Parsed<T extends Record<string, OptionSpec>> {
  values: Values<T> & { help: boolean };
  positionals: string[];
}

/**
 * Parses `argv` against `options` (`--help`/`-h` is always accepted). Throws `UsageError` naming the offending
 * option: unknown options, a value missing or given to a switch.
 *
 * @example
 * const { values, positionals } = parseOptions(argv, { port: { type: 'string', default: '8080' } });
 */
export function parseOptions<T extends Record<string, OptionSpec>>(argv: string[], options: T): Parsed<T> {
  const all: Record<string, OptionSpec> = { ...options, help: { type: 'boolean', short: 'h' } };
  const byShort = new Map(
    Object.entries(all).flatMap(([name, spec]) => (spec.short ? [[spec.short, name]] : [])),
  );
  const { tokens } = parseArgs({
    args: argv,
    options: all,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const values: Record<string, unknown> = {};
  const positionals: string[] = [];
  for (const token of tokens) {
    if (token.kind === 'positional') {
      positionals.push(token.value);
      continue;
    }
    if (token.kind !== 'option') continue;
    const name = token.name.length === 1 ? (byShort.get(token.name) ?? token.name) : token.name;
    const spec = all[name];
    if (!spec) throw new UsageError(`unknown option ${token.rawName}`);
    if (spec.type === 'boolean') {
      if (token.value !== undefined) throw new UsageError(`${token.rawName} is a switch and takes no value`);
      values[name] = true;
    } else {
      if (token.value === undefined || (!token.inlineValue && token.value.startsWith('--')))
        throw new UsageError(`${token.rawName} needs a value`);
      values[name] = spec.multiple ? [...((values[name] as string[]) ?? []), token.value] : token.value;
    }
  }
  for (const [name, spec] of Object.entries(all))
    if (values[name] === undefined)
      values[name] = spec.multiple ? [] : (spec.default ?? (spec.type === 'boolean' ? false : undefined));
  return { values: values as Parsed<T>['values'], positionals };
}

/** A TCP port: an integer from 0 (any free port) to 65535. */
export function parsePort(value: string, option = '--port'): number {
  const port = /^\d{1,5}$/.test(value) ? Number(value) : Number.NaN;
  if (!(port <= 65535))
    throw new UsageError(`${option} must be an integer from 0 to 65535, not ${quote(value)}`);
  return port;
}

/** An address to listen on: an IPv4 or IPv6 literal, or a host name. */
export function parseHost(value: string, option = '--host'): string {
  const bare = value.startsWith('[') && value.endsWith(']') ? value.slice(1, -1) : value;
  if (isIP(bare) || isHostName(bare)) return bare;
  throw new UsageError(
    `${option} must be an IP address (127.0.0.1, ::1, 0.0.0.0) or a host name such as localhost, not ${quote(value)}`,
  );
}

// RFC 1123 §2.1: letters, digits and hyphens in labels of up to 63, at most 253 in all, and a last label that is
// not all digits (so that 999.1.1.1 is refused rather than looked up).
function isHostName(name: string): boolean {
  const labels = name.split('.');
  return (
    name.length <= 253 &&
    labels.every((label) => /^[a-z\d](?:[a-z\d-]{0,61}[a-z\d])?$/i.test(label)) &&
    !/^\d+$/.test(labels.at(-1)!)
  );
}

/** A positive whole number (`--concurrency 8`). */
export function parseCount(value: string, option: string, { min = 1, max = 1_000_000 } = {}): number {
  const n = /^\d{1,9}$/.test(value) ? Number(value) : Number.NaN;
  if (!(n >= min && n <= max))
    throw new UsageError(`${option} must be a whole number from ${min} to ${max}, not ${quote(value)}`);
  return n;
}

const BYTE_UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** An amount of memory such as `64M`, `512k`, `1G` or plain bytes (binary units: 1K = 1024), in bytes. */
export function parseByteSize(value: string, option: string): number {
  const m = /^(\d{1,12})([kmg]?)(?:i?b)?$/i.exec(value);
  const bytes = m ? Number(m[1]) * BYTE_UNITS[m[2]!.toLowerCase()]! : Number.NaN;
  if (!Number.isSafeInteger(bytes))
    throw new UsageError(`${option} must be a size such as 64M, 512K or 1G (or bytes), not ${quote(value)}`);
  return bytes;
}

/** A duration such as `500ms`, `30s`, `5m`, `2h`, `1d` (a bare number is seconds), in milliseconds. */
export function parseDuration(value: string, option: string): number {
  const ms = parseDurationMs(value);
  if (ms === undefined)
    throw new UsageError(`${option} must be a duration such as 30s, 5m or 2h, not ${quote(value)}`);
  return ms;
}

/** Longest request timeout: a day (well within setTimeout's 2^31 − 1 ms). */
const MAX_TIMEOUT_MS = 86_400_000;

/** `--timeout`: more than 0 (undici reads 0 as "no timeout") and at most a day. */
export function parseTimeout(value: string): number {
  const ms = parseDuration(value, '--timeout');
  if (!(ms > 0 && ms <= MAX_TIMEOUT_MS))
    throw new UsageError(`--timeout must be more than 0 and at most 1d, not ${quote(value)}`);
  return ms;
}

/**
 * An absolute http: or https: URL. Credentials in it (`user:password@`) are refused unless `allowCredentials`:
 * they would sit in shell history, process lists and logs. No message shows them.
 */
export function parseHttpUrl(value: string, option: string, { allowCredentials = false } = {}): URL {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {}
  if (url?.protocol !== 'http:' && url?.protocol !== 'https:')
    throw new UsageError(`${option} must be an http:// or https:// URL, not ${quote(hideUserinfo(value))}`);
  if (!allowCredentials && (url.username !== '' || url.password !== ''))
    throw new UsageError(
      `${option} must not carry credentials (user:password@), not ${quote(hideUserinfo(value))}: ` +
        'remove them from the URL',
    );
  return url;
}

/**
 * `value` with whatever could be a URL's userinfo hidden, for a message: everything between the scheme's `//`
 * and the last `@` (a password may itself hold `@`, `/` or `:`).
 */
export function hideUserinfo(value: string): string {
  const at = value.lastIndexOf('@');
  if (at < 0) return value;
  const scheme = /^[a-z][a-z\d+.-]*:\/\//i.exec(value)?.[0] ?? '';
  return `${scheme}…${value.slice(at)}`;
}

/** Shown values are cut and escaped so that a hostile argument cannot flood or garble the terminal. */
export function quote(value: string): string {
  return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
}
