/**
 * What an audit returns: the probes it sent, the findings it drew from them, and how far a client may trust the
 * URL's validators. Also the small helpers every check uses to build a finding with its evidence.
 */
import { FIXES, type Fix } from './fixes.ts';
import type { HeaderList } from './http1.ts';
import { type FindingId, RULES, type Severity } from './rules.ts';
import type { Fault, WireResponse } from './wire.ts';

export interface Finding {
  id: FindingId;
  severity: Severity;
  /** One line: what was seen. */
  message: string;
  /** The request and response lines that show it, curl-style (`> ` sent, `< ` received). */
  evidence: string[];
  /** How to fix it per stack. */
  fix: Fix;
}

/**
 * How far a client can rely on a validator of this URL. `reliable`: conditional requests with it give correct
 * answers. `ignored`: they are answered, correctly, with the whole body. `unreliable`: a wrong answer was seen
 * (a false 304, an unstable or invalid value): do not base decisions on it. `absent`: the URL has none.
 */
export type Reliance = 'reliable' | 'ignored' | 'unreliable' | 'absent';

export interface Trust {
  etag: Reliance;
  lastModified: Reliance;
}

/** A response as read off the wire (the body itself is not kept in a report). */
export type ProbeResponse = Omit<WireResponse, 'body'>;

export interface Probe {
  /** Stable name of the probe (`get`, `inm-match`, …). */
  name: string;
  /** What the probe asks, in words. */
  purpose: string;
  request: { method: string; url: string; headers: HeaderList };
  response?: ProbeResponse;
  fault?: Fault;
  ms: number;
}

export interface Report {
  /** The URL as given. */
  url: string;
  /** The URL audited, after redirects. */
  finalUrl: string;
  findings: Finding[];
  trust: Trust;
  probes: Probe[];
  /** Probes not sent because the request budget ran out. */
  skipped: string[];
  /** Requests sent, redirects and write probes included. */
  requests: number;
  timings: { startedAt: string; ms: number };
}

/** Builds a finding with its rule's severity and fix hints. */
export function finding(id: FindingId, message: string, evidence: string[] = []): Finding {
  return { id, severity: RULES[id].severity, message, evidence, fix: FIXES[id] };
}

/** All values of a response field (case-insensitive name), joined as one list (RFC 9110 §5.3). */
export function field(headers: HeaderList, name: string): string | undefined {
  let out: string | undefined;
  for (const [n, v] of headers) if (n.toLowerCase() === name) out = out === undefined ? v : `${out}, ${v}`;
  return out;
}

/** How many field lines named `name` a response has. */
export function fieldCount(headers: HeaderList, name: string): number {
  return headers.filter(([n]) => n.toLowerCase() === name).length;
}

/**
 * Evidence lines for a probe: the request line and the fields the probe set, then the status line and the
 * response fields named in `fields` (each line as received), and a note of stray bytes after a bodiless response.
 */
export function evidence(probe: Probe, fields: readonly string[] = []): string[] {
  const url = new URL(probe.request.url);
  const lines = [`> ${probe.request.method} ${url.pathname}${url.search} HTTP/1.1`];
  for (const [n, v] of probe.request.headers) lines.push(`> ${n}: ${v}`);
  const r = probe.response;
  if (!r) {
    lines.push(`< (no response: ${probe.fault?.message ?? 'not sent'})`);
    return lines;
  }
  lines.push(`< ${r.version} ${r.status}${r.reason ? ` ${r.reason}` : ''}`);
  const wanted = new Set(fields.map((f) => f.toLowerCase()));
  for (const [n, v] of r.headers) if (wanted.has(n.toLowerCase())) lines.push(`< ${n}: ${v}`);
  const missing = [...wanted].filter((f) => fieldCount(r.headers, f) === 0);
  if (missing.length > 0) lines.push(`< (no ${missing.join(', ')})`);
  if (r.strayBytes > 0) lines.push(`< (${r.strayBytes} bytes followed the end of the response)`);
  if (probe.fault) lines.push(`< (${probe.fault.message})`);
  return lines;
}
