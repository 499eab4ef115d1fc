/**
 * `npm run conformance`: runs the http-cache-tests suite (https://cache-tests.fyi) in-process, in browser mode
 * (a private cache behind a `fetch`), with `createFetch()` as the browser's fetch — the way undici runs it for its
 * cache interceptor. The suite's origin server runs in this process on 127.0.0.1.
 *
 * With `--shared`, the same suite runs in its shared-cache mode (as the suite's own CLI runs it against a proxy,
 * with the Surrogate-Control tests added): node-fetch → `createProxy()` on 127.0.0.1 → the suite's origin.
 *
 * Prints every failing required test, then the overall and required-test scores. Exits 1 when a
 * required test fails that is not one of the deliberate deviations listed in DELIBERATE below.
 * Options: `--id <test-id>` runs one test; `--json` prints the raw results instead.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createFetch } from '../../src/client/index.ts';
import { createProxy } from '../../src/proxy/index.ts';

interface SuiteTest {
  id: string;
  name: string;
  kind?: 'required' | 'optimal' | 'check';
  depends_on?: string[];
  browser_only?: boolean;
  browser_skip?: boolean;
}
interface Suite {
  id: string;
  name: string;
  tests: SuiteTest[];
}
type Result = true | [string, string];
type Handler = (segments: string[], req: IncomingMessage, res: ServerResponse) => void;

const pkg = '../../node_modules/http-cache-tests';
const { default: suites } = (await import(`${pkg}/tests/index.mjs`)) as { default: Suite[] };
const shared = process.argv.includes('--shared');
if (shared) suites.push(((await import(`${pkg}/tests/surrogate-control.mjs`)) as { default: Suite }).default);
const { runTests, getResults } = (await import(`${pkg}/client/runner.mjs`)) as {
  runTests(
    tests: Suite[],
    fetch: unknown,
    browserCache: boolean,
    base: string,
    chunkSize?: number,
  ): Promise<void>;
  getResults(): Record<string, Result>;
};
const handlers: Record<string, Handler> = {
  config: ((await import(`${pkg}/server/handle-config.mjs`)) as { default: Handler }).default,
  test: ((await import(`${pkg}/server/handle-test.mjs`)) as { default: Handler }).default,
  state: ((await import(`${pkg}/server/handle-state.mjs`)) as { default: Handler }).default,
};

/** Required tests etagkit fails on purpose, and why (test id prefix → reason). */
const DELIBERATE: [string, string][] = [
  [
    'age-parse-',
    'RFC 9111 §5.1: a cache uses the first member of a list-valued Age and ignores an invalid one; the suite wants such responses treated as stale',
  ],
  [
    'stale-close-',
    'the origin closes the connection and fetch rejects; these depend on the check "stale-close" (serving stale on a disconnect without stale-if-error), which etagkit does not do',
  ],
  [
    '304-etag-update-response-ETag',
    'the 304 carries another strong ETag: RFC 9111 §4.3.4 says it updates no stored response, so the request is re-issued without validators (the suite expects the stored ETag to be kept)',
  ],
];
/** Required tests the shared cache (`createProxy`) fails on purpose, and why: the client's, and these. */
const DELIBERATE_SHARED: [string, string][] = [
  ...DELIBERATE,
  [
    'headers-store-Set-Cookie',
    "a shared cache stores a response that sets a cookie only when it says `public` or `s-maxage`: a cookie usually opens one user's session, and RFC 9111 leaves it to the cache (Varnish and nginx refuse such responses too)",
  ],
  [
    '304-etag-update-response-Set-Cookie',
    'the first response sets a cookie with only max-age, so it is not stored (see headers-store-Set-Cookie) and the origin, expecting a revalidation, answers 999',
  ],
];
const deliberate = (id: string) =>
  (shared ? DELIBERATE_SHARED : DELIBERATE).find(([prefix]) => id.startsWith(prefix))?.[1];

const args = process.argv.slice(2);
const onlyId = args.includes('--id') ? args[args.indexOf('--id') + 1] : undefined;
const asJson = args.includes('--json');

// The suite's server logs a warning line for expected 4xx answers; keep the report readable.
const log = console.log;
console.log = (...items: unknown[]) => {
  if (typeof items[0] === 'string' && items[0].startsWith('SERVER WARNING')) return;
  log(...items);
};

const server = createServer((req, res) => {
  const segments = new URL(req.url ?? '/', 'http://127.0.0.1').pathname.split('/').slice(1);
  const handler = handlers[segments.shift() ?? ''];
  if (handler) handler(segments, req, res);
  else res.writeHead(404).end();
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

const all = suites.flatMap((s) => s.tests).filter((t) => (shared ? !t.browser_only : !t.browser_skip));
const selected = onlyId
  ? suites.map((s) => ({ ...s, tests: s.tests.filter((t) => t.id === onlyId) })).filter((s) => s.tests.length)
  : suites;
if (onlyId) for (const s of selected) for (const t of s.tests) (t as { dump?: boolean }).dump = true;

/** node-fetch 2, the suite's own dependency (named through a variable: it ships no types). */
const NODE_FETCH = 'node-fetch';
let results: Record<string, Result>;
if (shared) {
  // The suite's own CLI fetches with node-fetch: unlike fetch(), it adds no Cache-Control to conditional requests.
  const { default: nodeFetch } = (await import(NODE_FETCH)) as { default: unknown };
  const proxy = createProxy({ upstream: base });
  const front = createServer(proxy);
  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
  await runTests(selected, nodeFetch, false, `http://127.0.0.1:${(front.address() as AddressInfo).port}`);
  results = getResults();
  front.close();
  front.closeAllConnections();
  await proxy.close();
} else {
  await runTests(selected, createFetch(), true, base);
  results = getResults();
}
server.close();
server.closeAllConnections();

if (asJson) {
  log(JSON.stringify(results, null, 2));
} else {
  const byId = new Map(all.map((t) => [t.id, t]));
  const passed = (id: string): boolean =>
    results[id] === true &&
    (byId.get(id)?.depends_on ?? []).every((d) => results[d] === undefined || passed(d));
  const ran = all.filter((t) => results[t.id] !== undefined);
  const required = ran.filter((t) => (t.kind ?? 'required') === 'required');
  let unexpected = 0;
  for (const t of required) {
    if (passed(t.id)) continue;
    const r = results[t.id];
    const why = deliberate(t.id);
    if (!why) unexpected++;
    log(
      `FAIL ${t.id}: ${r === true ? 'a test it depends on failed' : r?.join(': ')}${why ? ` [deliberate: ${why}]` : ''}`,
    );
  }
  const ok = ran.filter((t) => passed(t.id)).length;
  const requiredOk = required.filter((t) => passed(t.id)).length;
  // Scores as "x of y": a CI reading "N passed, N failed" lines must not mistake the suite's score for ours.
  log(
    `\nhttp-cache-tests (${shared ? 'shared cache: createProxy' : 'browser mode: createFetch'}): ${ok} of ${ran.length} pass`,
  );
  log(`required: ${requiredOk} of ${required.length} pass`);
  for (const kind of ['optimal', 'check'] as const) {
    const group = ran.filter((t) => t.kind === kind);
    log(`${kind}: ${group.filter((t) => passed(t.id)).length} of ${group.length}`);
  }
  if (unexpected > 0) {
    log(`${unexpected} required test(s) failed unexpectedly`);
    process.exitCode = 1;
  }
}
