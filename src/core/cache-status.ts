/**
 * Cache-Status (RFC 9211): how each cache on the path handled a response.
 *
 *   Cache-Status = #( cache-name *( OWS ";" OWS cache-param ) )   ; a Structured Fields List (RFC 8941 §3.1)
 *
 * Each member names one cache (a token or an sf-string) and carries parameters: `hit` (§2.1), `fwd` (§2.2),
 * `fwd-status` (§2.3), `ttl` (§2.4), `stored` (§2.5), `collapsed` (§2.6), `key` (§2.7) and `detail` (§2.8).
 * The member added by the cache closest to the client comes last (§2).
 */

/** Why a cache forwarded the request (RFC 9211 §2.2). */
export type CacheStatusForward =
  | 'bypass'
  | 'method'
  | 'uri-miss'
  | 'vary-miss'
  | 'miss'
  | 'request'
  | 'stale'
  | 'partial';

/** One member of a Cache-Status field: one cache's account of the response. */
export interface CacheStatusEntry {
  /** The cache's name (§2): a token such as `etagkit`, or any string. */
  cache: string;
  /** The response was served from cache without going forward (§2.1). */
  hit?: boolean;
  /** The request went forward, and why (§2.2). */
  fwd?: CacheStatusForward;
  /** The status of the response from the next hop (§2.3), e.g. 304 for a successful revalidation. */
  fwdStatus?: number;
  /** Remaining freshness in seconds; negative when stale (§2.4). */
  ttl?: number;
  /** The response was stored (§2.5). */
  stored?: boolean;
  /** The request was collapsed with another one (§2.6). */
  collapsed?: boolean;
  /** The cache key (§2.7). */
  key?: string;
  /** Implementation-specific detail (§2.8), e.g. `store-error`. */
  detail?: string;
}

const TOKEN = /^[A-Za-z*][!#$%&'*+\-.^_`|~0-9A-Za-z:/]*$/;

function formatBareItem(value: string | number | boolean): string {
  if (typeof value === 'boolean') return value ? '?1' : '?0';
  if (typeof value === 'number') return String(Math.trunc(value));
  return TOKEN.test(value) ? value : formatString(value);
}

/** An sf-string (RFC 8941 §3.3.3); characters outside printable ASCII cannot be sent and become `?`. */
function formatString(value: string): string {
  let out = '"';
  for (const ch of value) {
    const c = ch.charCodeAt(0);
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (c >= 0x20 && c <= 0x7e) out += ch;
    else out += '?';
  }
  return `${out}"`;
}

function formatParam(name: string, value: string | number | boolean | undefined): string {
  if (value === undefined || value === false) return '';
  if (value === true) return `; ${name}`;
  return `; ${name}=${formatBareItem(value)}`;
}

/**
 * Formats one or more Cache-Status members (RFC 9211 §2). Parameters appear in the order of the RFC; `false`
 * and absent parameters are left out.
 *
 * @example
 * formatCacheStatus({ cache: 'etagkit', fwd: 'stale', fwdStatus: 304 });
 * // → 'etagkit; fwd=stale; fwd-status=304'
 */
export function formatCacheStatus(entries: CacheStatusEntry | readonly CacheStatusEntry[]): string {
  const list = Array.isArray(entries) ? entries : [entries as CacheStatusEntry];
  return list
    .map(
      (e) =>
        (TOKEN.test(e.cache) ? e.cache : formatString(e.cache)) +
        formatParam('hit', e.hit) +
        formatParam('fwd', e.fwd) +
        formatParam('fwd-status', e.fwdStatus) +
        formatParam('ttl', e.ttl) +
        formatParam('stored', e.stored) +
        formatParam('collapsed', e.collapsed) +
        (e.key === undefined ? '' : `; key=${formatString(e.key)}`) +
        formatParam('detail', e.detail),
    )
    .join(', ');
}

type BareItem = string | number | boolean;

/** A tiny RFC 8941 scanner, enough for Cache-Status: tokens, strings, integers, decimals and booleans. */
class Scanner {
  i = 0;
  readonly s: string;
  constructor(s: string) {
    this.s = s;
  }
  skipOws(): void {
    while (this.s[this.i] === ' ' || this.s[this.i] === '\t') this.i++;
  }
  done(): boolean {
    return this.i >= this.s.length;
  }
  bareItem(): BareItem | undefined {
    const c = this.s[this.i];
    if (c === '"') return this.string();
    if (c === '?') {
      const b = this.s[this.i + 1];
      if (b !== '0' && b !== '1') return undefined;
      this.i += 2;
      return b === '1';
    }
    if (c !== undefined && (c === '-' || (c >= '0' && c <= '9'))) {
      const m = /^-?\d{1,15}(\.\d{1,3})?/.exec(this.s.slice(this.i));
      if (!m) return undefined;
      this.i += m[0].length;
      return Number(m[0]);
    }
    const m = /^[A-Za-z*][!#$%&'*+\-.^_`|~0-9A-Za-z:/]*/.exec(this.s.slice(this.i));
    if (!m) return undefined;
    this.i += m[0].length;
    return m[0];
  }
  string(): string | undefined {
    let out = '';
    for (this.i++; this.i < this.s.length; this.i++) {
      const ch = this.s[this.i]!;
      if (ch === '"') {
        this.i++;
        return out;
      }
      if (ch === '\\') {
        const next = this.s[++this.i];
        if (next !== '"' && next !== '\\') return undefined;
        out += next;
      } else if (ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) > 0x7e) return undefined;
      else out += ch;
    }
    return undefined;
  }
  key(): string | undefined {
    const m = /^[a-z*][a-z0-9_\-.*]*/.exec(this.s.slice(this.i));
    if (!m) return undefined;
    this.i += m[0].length;
    return m[0];
  }
}

function applyParam(entry: CacheStatusEntry, name: string, value: BareItem): void {
  switch (name) {
    case 'hit':
    case 'stored':
    case 'collapsed':
      if (typeof value === 'boolean') entry[name] = value;
      break;
    case 'fwd':
      if (typeof value === 'string') entry.fwd = value as CacheStatusForward;
      break;
    case 'fwd-status':
      if (typeof value === 'number' && Number.isInteger(value)) entry.fwdStatus = value;
      break;
    case 'ttl':
      if (typeof value === 'number' && Number.isInteger(value)) entry.ttl = value;
      break;
    case 'key':
      if (typeof value === 'string') entry.key = value;
      break;
    case 'detail':
      if (typeof value === 'string') entry.detail = value;
      break;
  }
}

/**
 * Parses a Cache-Status field value (RFC 9211 §2) into its members, first (closest to the origin) first.
 * Unknown parameters are ignored (§2); a malformed field yields [] as RFC 8941 §4.2 requires.
 *
 * @example
 * parseCacheStatus('etagkit; hit; ttl=30');
 * // → [{ cache: 'etagkit', hit: true, ttl: 30 }]
 */
export function parseCacheStatus(value: string | null | undefined): CacheStatusEntry[] {
  if (value == null) return [];
  const sc = new Scanner(value);
  const out: CacheStatusEntry[] = [];
  sc.skipOws();
  while (!sc.done()) {
    const name = sc.bareItem();
    if (typeof name !== 'string') return [];
    const entry: CacheStatusEntry = { cache: name };
    while (sc.s[sc.i] === ';') {
      sc.i++;
      sc.skipOws();
      const key = sc.key();
      if (key === undefined) return [];
      let item: BareItem = true;
      if (sc.s[sc.i] === '=') {
        sc.i++;
        const v = sc.bareItem();
        if (v === undefined) return [];
        item = v;
      }
      applyParam(entry, key, item);
    }
    out.push(entry);
    sc.skipOws();
    if (sc.done()) break;
    if (sc.s[sc.i] !== ',') return [];
    sc.i++;
    sc.skipOws();
    if (sc.done()) return [];
  }
  return out;
}
