/**
 * The dashboard's HTTP side: the page, its JSON API and /metrics. Every GET of the API goes through etagkit's own
 * `conditional()` with a `validate` that reads the history's change counter, so a page polling with
 * If-None-Match is answered 304 before anything is read while nothing changed (RFC 9110 §13.1.2, §15.4.5).
 * With a running monitor, watches can be added, paused, resumed, re-timed and removed (persisted in the
 * history); over a history opened read-only, those requests are refused with 409.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type ConditionalOptions, conditional, type NodeHandler } from '../../adapters/node.ts';
import { etagFromVersion } from '../../core/validators.ts';
import { diffVersions } from '../diff.ts';
import type { HistoryStore } from '../history/store.ts';
import { hostMetrics } from '../metrics.ts';
import type { Monitor } from '../monitor.ts';
import { Access } from './access.ts';
import { loadAssets } from './assets.ts';
import { readOverview, readTimeline, readWatch, type Timeline } from './data.ts';
import { BadRequest, fail, queryOf, required, send, sendProblem } from './http.ts';
import { PreviewCache } from './previews.ts';
import { formatPrometheus, PROMETHEUS_TYPE } from './prometheus.ts';
import { write } from './writes.ts';

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

/** The timeline reads every check of every watch: recomputed at most this often while the history moves. */
const TIMELINE_MIN_AGE_MS = 10_000;
/** The page and its scripts hold no data: they load without the token, and the page asks for it on a 401. */
const PUBLIC = new Set(['/', '/assets/app.js', '/assets/app.css']);
const WRITES = new Set(['POST', 'PATCH', 'DELETE']);
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
    const read = reads[path];
    if (read && (method === 'GET' || method === 'HEAD')) {
      const denied = PUBLIC.has(path) ? undefined : access.check(req);
      if (denied) return sendProblem(res, denied.status, denied.title, denied.detail);
      return void Promise.resolve(read(req, res)).catch((error) => fail(res, error));
    }
    if (path === '/api/watches' && WRITES.has(method)) {
      const denied = access.checkWrite(req);
      if (denied) return sendProblem(res, denied.status, denied.title, denied.detail);
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
    if (read || path === '/api/watches')
      // RFC 9110 §15.5.6: a 405 lists the methods the resource supports.
      return sendProblem(res, 405, 'Method not allowed', `${method} is not allowed on ${path}`, {
        allow: read ? 'GET, HEAD' : [...WRITES].join(', '),
      });
    sendProblem(res, 404, 'Not found', `nothing at ${path}`);
  };
  return { listener, readOnly: !monitor };
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

function version(query: URLSearchParams, name: string): number | undefined {
  const value = query.get(name);
  if (value === null) return undefined;
  if (!/^[1-9]\d{0,9}$/.test(value))
    throw new BadRequest(`${name} must be a version number, not ${JSON.stringify(value)}`);
  return Number(value);
}

async function withHosts(store: HistoryStore) {
  return (await store.watches()).map((w) => ({ ...w, host: new URL(w.definition.url).host }));
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
