/**
 * `audit(url)`: a GET (following redirects), then the planned probes within the request budget, then the
 * checks, and — only when asked, for a URL the caller owns — the write probes. `auditAll` runs many URLs at
 * once under a per-host limit. Nothing here throws for a misbehaving server: every fault becomes a finding.
 */
import { type Observations, runChecks } from './checks/index.ts';
import { HostLimiter, mapLimit } from './limiter.ts';
import { followUps, type ProbeSpec, planProbes, type Validators, validatorsOf } from './probes.ts';
import { evidence, type Finding, finding, type Probe, type ProbeResponse, type Report } from './report.ts';
import { trustOf } from './trust.ts';
import { exchange, type WireRequest } from './wire.ts';
import { runWriteProbes, type WriteSpec } from './write-probe.ts';

export interface AuditOptions {
  /** Most requests the read probes may send, redirects included (default 12). */
  budget?: number;
  /** Deadline for each request, connect to last byte, in ms (default 10 000). */
  timeoutMs?: number;
  /** Body bytes read from each response; the rest is dropped (default 8 MiB). */
  maxBodyBytes?: number;
  /** Redirects followed before giving up (default 5). */
  maxRedirects?: number;
  /**
   * Also send write probes (PUT with a stale If-Match, If-None-Match: *, no precondition) and restore what they
   * change. Only for a URL you own; never the default.
   */
  writeProbe?: boolean;
  /** Requests in flight to one host at a time (default 4). */
  perHost?: number;
  /** The clock, in ms since the epoch (for Last-Modified in the future). */
  now?: () => number;
}

export interface AuditAllOptions extends Omit<AuditOptions, 'writeProbe'> {
  /** URLs audited at once (default 8); `perHost` still bounds each host. */
  concurrency?: number;
  /** Called as each URL's report is ready. */
  onReport?: (report: Report, done: number, total: number) => void;
}

/** A URL for `auditAll`, with write probes when it is one you own. */
export type AuditTarget = string | URL | { url: string | URL; writeProbe?: boolean };

interface Settings {
  budget: number;
  timeoutMs: number;
  maxBodyBytes: number;
  maxRedirects: number;
  now: () => number;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
/** Faults that say the server is gone rather than that it mishandled one request. */
const FATAL = new Set(['dns', 'refused', 'tls', 'timeout']);

/**
 * Audits how `url` handles validators and conditional requests.
 *
 * @example
 * import { audit } from 'etagkit/audit';
 * const report = await audit('https://example.com/app.js');
 * for (const f of report.findings) console.log(f.severity, f.id, f.message);
 * if (report.trust.etag === 'reliable') console.log('poll it with If-None-Match');
 */
export async function audit(url: string | URL, options: AuditOptions = {}): Promise<Report> {
  return runAudit(
    new URL(url),
    options.writeProbe ?? false,
    settle(options),
    new HostLimiter(options.perHost ?? 4),
  );
}

/** Audits many URLs, at most `concurrency` at once and `perHost` requests per host; reports keep input order. */
export async function auditAll(
  targets: readonly AuditTarget[],
  options: AuditAllOptions = {},
): Promise<Report[]> {
  const settings = settle(options);
  const limiter = new HostLimiter(options.perHost ?? 4);
  // Every URL is checked before any is fetched: a caller's mistake is not a finding about a server.
  const parsed = targets.map((target) => {
    const { url, writeProbe } =
      typeof target === 'string' || target instanceof URL ? { url: target, writeProbe: false } : target;
    return { url: httpUrl(url), writeProbe: writeProbe ?? false };
  });
  let done = 0;
  return mapLimit(parsed, options.concurrency ?? 8, async ({ url, writeProbe }) => {
    const report = await runAudit(url, writeProbe, settings, limiter);
    options.onReport?.(report, ++done, targets.length);
    return report;
  });
}

function settle(options: AuditOptions): Settings {
  const budget = options.budget ?? 12;
  if (!Number.isInteger(budget) || budget < 1)
    throw new RangeError(`budget must be a whole number of requests, at least 1, not ${budget}`);
  return {
    budget,
    timeoutMs: options.timeoutMs ?? 10_000,
    maxBodyBytes: options.maxBodyBytes ?? 8 * 1024 * 1024,
    maxRedirects: options.maxRedirects ?? 5,
    now: options.now ?? Date.now,
  };
}

/** Throws a TypeError naming the value when it is not an absolute http(s) URL. */
function httpUrl(value: string | URL): URL {
  const url = URL.canParse(value) ? new URL(value) : undefined;
  if (url?.protocol !== 'http:' && url?.protocol !== 'https:')
    throw new TypeError(
      `only absolute http: and https: URLs can be audited, not ${JSON.stringify(String(value))}`,
    );
  return url;
}

async function runAudit(url: URL, writeProbe: boolean, s: Settings, limiter: HostLimiter): Promise<Report> {
  const startedAt = new Date(s.now()).toISOString();
  const t0 = performance.now();
  const probes: Probe[] = [];
  const send = async (spec: ProbeSpec | WriteSpec, target: URL, keepBody = false) => {
    const release = await limiter.acquire(target);
    const body = 'body' in spec ? spec.body : undefined;
    const request: WireRequest = { method: spec.method, url: target, headers: spec.headers, body };
    const ex = await exchange(request, {
      timeoutMs: s.timeoutMs,
      maxBodyBytes: s.maxBodyBytes,
      keepBody,
    }).finally(release);
    const probe: Probe = {
      name: spec.name,
      purpose: spec.purpose,
      request: { method: spec.method, url: target.href, headers: spec.headers },
      ms: ex.ms,
    };
    if (ex.response) {
      const { body: _kept, ...response } = ex.response; // the body goes to the write probe, not the report
      probe.response = response;
    }
    if (ex.fault) probe.fault = ex.fault;
    probes.push(probe);
    return { probe, body: ex.response?.body };
  };
  const report = (
    finalUrl: URL,
    findings: Finding[],
    skipped: string[] = [],
    validators?: Validators,
  ): Report => ({
    url: url.href,
    finalUrl: finalUrl.href,
    findings: sortFindings(findings),
    trust: trustOf(findings, validators),
    probes,
    skipped,
    requests: probes.length,
    timings: { startedAt, ms: Math.round(performance.now() - t0) },
  });

  // The first GET, following redirects.
  const findings: Finding[] = [];
  let target = url;
  let baseline: Probe;
  for (let hop = 0; ; hop++) {
    const { probe } = await send(
      {
        name: 'get',
        purpose: 'plain GET: the validators to test',
        method: 'GET',
        headers: [['Accept-Encoding', 'identity']],
      },
      target,
    );
    const r = probe.response;
    if (probe.fault || !r)
      return report(target, [finding('fetch-failed', probe.fault!.message, evidence(probe))]);
    const location = r.headers.find(([n]) => n.toLowerCase() === 'location')?.[1];
    if (!REDIRECTS.has(r.status) || location === undefined) {
      baseline = probe;
      break;
    }
    probe.name = `redirect-${hop + 1}`;
    const next = URL.canParse(location, target) ? new URL(location, target) : undefined;
    const failure =
      next === undefined || (next.protocol !== 'http:' && next.protocol !== 'https:')
        ? `redirect to ${JSON.stringify(location.slice(0, 120))}, which is not an http(s) URL`
        : hop >= s.maxRedirects
          ? `more than ${s.maxRedirects} redirects`
          : probes.length >= s.budget
            ? `the request budget (${s.budget}) ran out after ${hop + 1} redirects`
            : undefined;
    if (failure)
      return report(target, [
        finding(
          'fetch-failed',
          failure,
          probes.flatMap((p) => evidence(p, ['location'])),
        ),
      ]);
    target = next!;
  }
  if (probes.length > 1)
    findings.push(
      finding(
        'redirected',
        `${url.href} redirects ${probes.length - 1} time${probes.length > 2 ? 's' : ''}, to ${target.href}`,
        probes.slice(0, -1).flatMap((p) => evidence(p, ['location'])),
      ),
    );
  const writes = async () =>
    writeProbe ? runWriteProbes(target, (spec, keepBody) => send(spec, target, keepBody)) : [];
  const { status, reason } = baseline.response!;
  if (status !== 200) {
    // A missing resource is what a create-only write probe wants: the write findings are the audit then.
    const missing = writeProbe && (status === 404 || status === 410);
    const notOk = finding(
      'status-not-ok',
      `GET answered ${status} ${reason}; only a 200 can be audited`,
      evidence(baseline, ['content-type', 'etag']),
    );
    return report(target, [...findings, ...(missing ? [] : [notOk]), ...(await writes())]);
  }

  // The probes, most revealing first, within the budget.
  const validators = validatorsOf(baseline);
  const queue = planProbes(validators);
  const byName = new Map<string, Probe>([['get', baseline]]);
  const skipped: string[] = [];
  let fatalInARow = 0;
  while (queue.length > 0) {
    const spec = queue.shift()!;
    if (probes.length >= s.budget || fatalInARow >= 2) {
      skipped.push(spec.name);
      continue;
    }
    const { probe } = await send(spec, target);
    byName.set(spec.name, probe);
    fatalInARow = probe.fault && FATAL.has(probe.fault.code) ? fatalInARow + 1 : 0;
    const more = followUps(probe, validators);
    queue.unshift(...more.next);
    const at = queue.findIndex((p) => p.name === 'get-again');
    queue.splice(at < 0 ? queue.length : at, 0, ...more.later);
  }

  const observations: Observations = {
    baseline: baseline as Probe & { response: ProbeResponse },
    probes: byName,
    validators,
    now: s.now(),
  };
  findings.push(...runChecks(observations), ...(await writes()));
  return report(target, findings, skipped, validators);
}

const ORDER = { error: 0, warn: 1, info: 2 };

function sortFindings(findings: Finding[]): Finding[] {
  return findings
    .map((f, i) => [f, i] as const)
    .sort(([a, i], [b, j]) => ORDER[a.severity] - ORDER[b.severity] || i - j)
    .map(([f]) => f);
}
