/**
 * The dashboard's HTTP side: the page, its JSON API and /metrics. Every GET of the API goes through etagkit's own
 * `conditional()` with a `validate` that reads the history's change counter, so a page polling with
 * If-None-Match is answered 304 before anything is read while nothing changed (RFC 9110 §13.1.2, §15.4.5).
 * With a running monitor, watches can be added, paused, resumed, re-timed and removed (persisted in the
 * history); over a history opened read-only, those requests are refused with 409.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type ConditionalOptions, conditional, type NodeHandler } from '../../adapters/node.ts';
import { parseDurationMs } from '../../core/duration.ts';
import { etagFromVersion } from '../../core/validators.ts';
import { WatchDefinitionError } from '../definition.ts';
import { diffVersions } from '../diff.ts';
import { HistoryError, type HistoryStore } from '../history/store.ts';
import { hostMetrics } from '../metrics.ts';
import type { Monitor } from '../monitor.ts';
import { Access, type Denial } from './access.ts';
import { loadAssets } from './assets.ts';
import { readOverview, readTimeline, readWatch, type Timeline } from './data.ts';
import { PreviewCache } from './previews.ts';
import { formatPrometheus, PROMETHEUS_TYPE } from './prometheus.ts';

export interface DashboardOptions {
  /** A running monitor: the page can then add, pause, resume, re-time and remove its watches. */
  monitor?: Monitor | undefined;
  /** Without `monitor`: the history to show, read-only. */
  store?: HistoryStore | undefined;
  /** Required of every request (`Authorization: Bearer …`); needed when serving beyond loopback. */
  token?: string | undefined;
  /** How often the open page asks for news (with If-None-Match). Default 2000 ms. */
  pollIntervalMs?: number | undefined;
}

export interface Dashboard {
  /** A node:http request listener. */
  listener: (req: IncomingMessage, res: ServerResponse) => void;
  readOnly: boolean;
}

/** Largest request body accepted (a watch definition). */
const MAX_BODY = 16 * 1024;
/** The timeline reads every check of every watch: recomputed at most this often while the history moves. */
const TIMELINE_MIN_AGE_MS = 10_000;
const COMMON_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/**
 * The dashboard over a running monitor or a history.
 *
 * @example
 * const monitor = await createMonitor({ db: './.etagkit/watch.db' });
 * await monitor.start();
 * http.createServer(createDashboard({ monitor }).listener).listen(8080, '127.0.0.1');
 */
export function createDashboard(options: DashboardOptions): Dashboard {
  const monitor = options.monitor;
  const store = monitor?.store ?? options.store;
  if (!store) throw new TypeError('createDashboard: give a monitor, or a store to show read-only');
  const access = new Access(options.token);
  const boot = Date.now().toString(36);
  const config = JSON.stringify({
    mode: monitor ? 'live' : 'read-only',
    pollMs: options.pollIntervalMs ?? 2000,
    tokenRequired: access.tokenRequired,
  });
  // The representation depends on the history only; a restart (possibly over another history) starts anew.
  const revisionTag = async () => ({ etag: etagFromVersion(`${boot}-${await store.revision()}`) });
  const timeline = new TimelineCache(store, boot);
  const previews = new PreviewCache(store);

  const json = (
    read: (query: URLSearchParams) => Promise<unknown>,
    validate: ConditionalOptions<IncomingMessage>['validate'] = revisionTag,
  ) =>
    conditional(
      async (req, res) => {
        try {
          const body = await read(queryOf(req));
          if (body === undefined) return sendProblem(res, 404, 'Not found', 'no watch with that URL');
          send(res, 200, 'application/json', JSON.stringify(body));
        } catch (error) {
          fail(res, error, 404); // a version or snapshot not (or no longer) in the history
        }
      },
      { validate, headers: { 'cache-control': 'no-cache' } },
    );

  const page = conditional(
    (_req, res) => {
      send(res, 200, 'text/html; charset=utf-8', indexHtml(config), { 'content-security-policy': CSP });
    },
    { headers: { 'cache-control': 'no-cache' } },
  );
  const asset = (name: string): NodeHandler =>
    conditional(
      async (_req, res) => {
        const file = (await loadAssets()).get(name)!;
        send(res, 200, file.type, file.body);
      },
      {
        validate: async () => ({ etag: (await loadAssets()).get(name)!.etag }),
        headers: { 'cache-control': 'no-cache' },
      },
    );

  const reads: Record<string, NodeHandler> = {
    '/': page,
    '/assets/app.js': asset('app.js'),
    '/assets/app.css': asset('app.css'),
    '/api/overview': json(() => readOverview(store, previews)),
    '/api/watch': json((q) => readWatch(store, required(q, 'url'))),
    '/api/diff': json(
      (q) => diffVersions(store, required(q, 'url'), version(q, 'from'), version(q, 'to')),
      (req) => diffValidators(store, queryOf(req)),
    ),
    '/api/timeline': json(
      () => timeline.read(),
      () => timeline.validators(),
    ),
    '/metrics': async (_req, res) => {
      send(res, 200, PROMETHEUS_TYPE, formatPrometheus(hostMetrics(await withHosts(store))), {
        'cache-control': 'no-store',
      });
    },
  };

  const listener = (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const method = req.method ?? 'GET';
    const guard = (denied: Denial | undefined) => {
      if (denied) sendProblem(res, denied.status, denied.title, denied.detail);
      return denied !== undefined;
    };
    if (method === 'GET' || method === 'HEAD') {
      const handler = reads[path];
      // The page itself carries no data: it loads without the token and asks for it when the API says 401.
      if (handler && (path === '/' || path.startsWith('/assets/') || !guard(access.check(req))))
        return void Promise.resolve(handler(req, res)).catch((error) => fail(res, error));
      if (handler) return;
    } else if (path === '/api/watches' && ['POST', 'PATCH', 'DELETE'].includes(method)) {
      if (guard(access.checkWrite(req))) return;
      if (!monitor)
        return sendProblem(
          res,
          409,
          'Read-only',
          'this dashboard shows a history opened read-only; run etagkit watch <urls-file> --ui PORT to change watches',
        );
      return void write(monitor, method, req, res)
        .then(() => timeline.forget())
        .catch((error) => fail(res, error));
    }
    if (reads[path] || path === '/api/watches')
      return sendProblem(res, 405, 'Method not allowed', `${method} is not allowed on ${path}`);
    sendProblem(res, 404, 'Not found', `nothing at ${path}`);
  };
  return { listener, readOnly: !monitor };
}

/** POST adds a watch, PATCH pauses, resumes or re-times it, DELETE removes it (with its history). */
async function write(monitor: Monitor, method: string, req: IncomingMessage, res: ServerResponse) {
  const url = method === 'POST' ? undefined : required(queryOf(req), 'url');
  const body = method === 'DELETE' ? {} : await readJson(req);
  if (method === 'DELETE') {
    if (!(await monitor.remove(url!))) return sendProblem(res, 404, 'Not found', `${url} is not watched`);
    res.writeHead(204, COMMON_HEADERS).end();
    return;
  }
  if (method === 'POST') {
    const interval = body.interval === undefined ? undefined : duration(body.interval);
    const watch = await monitor.add({ url: stringField(body, 'url'), intervalMs: interval });
    return send(res, 201, 'application/json', JSON.stringify({ url: watch.definition.url }));
  }
  const watch = (await monitor.list()).find((w) => w.definition.url === url);
  if (!watch) return sendProblem(res, 404, 'Not found', `${url} is not watched`);
  if (body.interval !== undefined) {
    const intervalMs = duration(body.interval);
    // The adaptive bounds follow the new interval; `add` keeps the history and would resume: pause again.
    const { minIntervalMs: _, maxIntervalMs: __, ...definition } = watch.definition;
    await monitor.add({ ...definition, intervalMs });
    if (watch.paused && body.paused !== false) await monitor.pause(watch.definition.url);
  }
  if (body.paused === true) await monitor.pause(watch.definition.url);
  if (body.paused === false) await monitor.resume(watch.definition.url);
  res.writeHead(204, COMMON_HEADERS).end();
}

/**
 * The difference between two given versions never changes while both are kept: its validator names their
 * snapshots, so an open diff is answered 304 however busy the history is. Without both versions: the body's hash.
 */
async function diffValidators(store: HistoryStore, query: URLSearchParams) {
  const url = query.get('url');
  const [from, to] = [query.get('from'), query.get('to')].map(Number);
  if (!url || !from || !to) return undefined;
  const versions = await store.versions(url);
  const a = versions.find((v) => v.version === from);
  const b = versions.find((v) => v.version === to);
  return a && b ? { etag: etagFromVersion(`${a.digest} ${a.time} ${b.digest} ${b.time}`) } : undefined;
}

/** A user's mistake in a request: 400 with what was wrong. */
class BadRequest extends Error {}

/** Errors as problems; `historyStatus` is what a HistoryError means here (a missing version, or a store down). */
function fail(res: ServerResponse, error: unknown, historyStatus = 503): void {
  if (res.headersSent) res.destroy();
  else if (error instanceof BadRequest || error instanceof WatchDefinitionError)
    sendProblem(res, 400, 'Bad request', error.message);
  else if (error instanceof HistoryError)
    sendProblem(
      res,
      historyStatus,
      historyStatus === 404 ? 'Not in the history' : 'History unavailable',
      error.message,
    );
  else sendProblem(res, 500, 'Internal error', (error as Error).message ?? String(error));
}

function queryOf(req: IncomingMessage): URLSearchParams {
  const q = (req.url ?? '').indexOf('?');
  return new URLSearchParams(q < 0 ? '' : req.url!.slice(q + 1));
}

function required(query: URLSearchParams, name: string): string {
  const value = query.get(name);
  if (!value) throw new BadRequest(`the ${name} query parameter is required`);
  return value;
}

function version(query: URLSearchParams, name: string): number | undefined {
  const value = query.get(name);
  if (value === null) return undefined;
  if (!/^[1-9]\d{0,9}$/.test(value))
    throw new BadRequest(`${name} must be a version number, not ${JSON.stringify(value)}`);
  return Number(value);
}

function duration(value: unknown): number {
  const ms = typeof value === 'string' ? parseDurationMs(value.trim()) : undefined;
  if (ms === undefined)
    throw new BadRequest(`interval must be a duration such as 30s, 5m or 2h, not ${JSON.stringify(value)}`);
  return ms;
}

function stringField(body: Record<string, unknown>, name: string): string {
  const value = body[name];
  if (typeof value !== 'string' || value === '') throw new BadRequest(`${name} is required (a string)`);
  return value;
}

/** A JSON object body of at most MAX_BODY bytes, sent as application/json (so no HTML form can send it). */
async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') throw new BadRequest('send the body as application/json');
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > MAX_BODY) throw new BadRequest(`the body is over ${MAX_BODY} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.byteLength;
    if (size > MAX_BODY) throw new BadRequest(`the body is over ${MAX_BODY} bytes`);
    chunks.push(chunk);
  }
  let body: unknown;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (error) {
    throw new BadRequest(`the body is not JSON: ${(error as Error).message}`);
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    throw new BadRequest('the body must be a JSON object');
  return body as Record<string, unknown>;
}

async function withHosts(store: HistoryStore) {
  return (await store.watches()).map((w) => ({ ...w, host: new URL(w.definition.url).host }));
}

function send(
  res: ServerResponse,
  status: number,
  type: string,
  body: string | Buffer,
  extra: Record<string, string> = {},
): void {
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  res.writeHead(status, {
    ...COMMON_HEADERS,
    'content-type': type,
    'content-length': String(bytes.byteLength),
    ...extra,
  });
  res.end(res.req.method === 'HEAD' ? undefined : bytes);
}

/** An RFC 9457 problem; the page shows `detail`. */
function sendProblem(res: ServerResponse, status: number, title: string, detail: string): void {
  send(
    res,
    status,
    'application/problem+json',
    JSON.stringify({ type: 'about:blank', title, status, detail }),
    {
      'cache-control': 'no-store',
    },
  );
}

/**
 * The timeline reads every check of every watch, so while the history moves it is recomputed at most every
 * TIMELINE_MIN_AGE_MS; its ETag names the revision it was computed at, so a 304 always means "you have this".
 */
class TimelineCache {
  readonly #store: HistoryStore;
  readonly #boot: string;
  #current: { revision: number; at: number; value: Timeline } | undefined;
  #computing: Promise<{ revision: number; at: number; value: Timeline }> | undefined;

  constructor(store: HistoryStore, boot: string) {
    this.#store = store;
    this.#boot = boot;
  }

  async validators() {
    const current = await this.#fresh();
    return { etag: etagFromVersion(`${this.#boot}-t${current.revision}`) };
  }

  async read(): Promise<Timeline> {
    return (await this.#fresh()).value;
  }

  forget(): void {
    this.#current = undefined;
  }

  async #fresh() {
    const current = this.#current;
    if (current && Date.now() - current.at < TIMELINE_MIN_AGE_MS) return current;
    const revision = await this.#store.revision();
    if (current && current.revision === revision) {
      current.at = Date.now();
      return current;
    }
    this.#computing ??= readTimeline(this.#store)
      .then((value) => (this.#current = { revision, at: Date.now(), value }))
      .finally(() => {
        this.#computing = undefined;
      });
    return this.#computing;
  }
}

function indexHtml(config: string): string {
  const attr = config.replaceAll('&', '&amp;').replaceAll('"', '&quot;').replaceAll('<', '&lt;');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>etagkit watch</title>
<link rel="stylesheet" href="/assets/app.css">
<script type="module" src="/assets/app.js"></script>
</head>
<body data-config="${attr}">
<div id="app"><p class="loading">Loading…</p></div>
</body>
</html>
`;
}
