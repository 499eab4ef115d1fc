/**
 * `npm run bench -- audit`: `etagkit check` over 1,000 local URLs with the default budget (12 requests per URL),
 * spread over 4 origin "hosts" (4 ports of one child process). Reports wall time, URLs/s, requests per URL, the
 * auditor's and the origin's CPU per request, and the most requests the origin ever saw in flight per host — which
 * must never exceed `perHost`. The control a skeptic asks for: the same number of requests sent as plain GETs
 * through the same socket client, with the same concurrency, so that the ratio is the auditor's own overhead.
 * (There is no npm peer to compare with: REDbot, the reference HTTP linter, is a Python web service that looks at
 * one response per URL.)
 *
 * Run directly with `--origin` it is the origin: node:http + etagkit/node `conditional()` with validators, which
 * prints `ports …` and, on stdin's end, the most requests it had in flight on each port.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { conditional } from '../src/adapters/node.ts';
import { auditAll, type Report } from '../src/audit/index.ts';
import { HostLimiter, mapLimit } from '../src/audit/limiter.ts';
import { exchange } from '../src/audit/wire.ts';
import { etagFromVersion } from '../src/core/index.ts';
import type { BenchOptions, Ratio } from './support/bench.ts';
import { cpuTimeMicros } from './support/cpu.ts';
import { median, num, table } from './support/format.ts';
import { named, pairedRatio, spread } from './support/rounds.ts';

const HOSTS = 4;
const URLS = 1000;
const CONCURRENCY = 8; // the CLI defaults
const PER_HOST = 4;

if (process.argv.includes('--origin')) await origin();

interface Row {
  name: string;
  ms: number[];
  auditorUs: number[];
  originUs: number[];
  /** Most requests in flight on one host, over all rounds, as the origin counted them. */
  inFlight: number;
  requests: number;
  maxPerUrl: number;
}

export async function run(options: BenchOptions): Promise<Ratio[]> {
  const rounds = options.quick ? 1 : 3;
  const child = spawn(process.execPath, [new URL(import.meta.url).pathname, '--origin'], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  const next = async () => (await once(lines, 'line'))[0] as string;
  /** The most requests the origin had in flight on any one host since the last call. */
  const inFlight = async () => {
    child.stdin!.write('report\n');
    return Math.max(...(await next()).split(' ').slice(1).map(Number));
  };
  const ports = (await next()).split(' ').slice(1).map(Number);
  const urls = Array.from({ length: URLS }, (_, i) => `http://127.0.0.1:${ports[i % HOSTS]}/item/${i}`);

  const contenders: Record<string, () => Promise<Report[] | undefined>> = {
    [`etagkit check, concurrency ${CONCURRENCY}, per host ${PER_HOST} (the CLI defaults)`]: () =>
      auditAll(urls, { concurrency: CONCURRENCY, perHost: PER_HOST }),
    [`etagkit check, concurrency 32, per host ${PER_HOST}`]: () =>
      auditAll(urls, { concurrency: 32, perHost: PER_HOST }),
    'control: as many plain GETs, same socket client, concurrency 8, per host 4': async () => {
      await plainGets(urls, URLS * 12);
      return undefined;
    },
  };
  const rows = new Map<string, Row>(
    Object.keys(contenders).map((name) => [
      name,
      { name, ms: [], auditorUs: [], originUs: [], inFlight: 0, requests: URLS * 12, maxPerUrl: 12 },
    ]),
  );
  // Warm-up: the JIT compiles the hot paths before anything is measured.
  await auditAll(urls.slice(0, 100));
  await plainGets(urls.slice(0, 100), 1200);
  await inFlight();
  let findings = 0;
  const names = Object.keys(contenders);
  for (let round = 0; round < rounds; round++) {
    console.error(`audit: round ${round + 1} of ${rounds}`);
    for (let k = 0; k < names.length; k++) {
      const name = names[(round + k) % names.length]!;
      const row = rows.get(name)!;
      const cpu0 = process.cpuUsage();
      const origin0 = cpuTimeMicros(child.pid!) ?? 0;
      const t0 = performance.now();
      const reports = await contenders[name]!();
      row.ms.push(performance.now() - t0);
      row.auditorUs.push(cpuMicros(cpu0));
      row.originUs.push((cpuTimeMicros(child.pid!) ?? 0) - origin0);
      row.inFlight = Math.max(row.inFlight, await inFlight());
      if (reports) {
        row.requests = reports.reduce((n, r) => n + r.requests, 0);
        row.maxPerUrl = Math.max(...reports.map((r) => r.requests));
        findings += reports.reduce((n, r) => n + r.findings.filter((f) => f.severity !== 'info').length, 0);
      }
    }
  }
  child.stdin!.end();
  await once(child, 'exit');
  if (findings > 0) throw new Error(`the well-behaved origin got ${findings} error/warning findings`);
  const worst = Math.max(...[...rows.values()].map((r) => r.inFlight));
  if (worst > PER_HOST)
    throw new Error(`the origin saw ${worst} requests in flight on one host; the limit is ${PER_HOST}`);

  table(
    [
      '1,000 URLs, default budget (12)',
      'wall s',
      'URLs/s',
      'requests/URL (max)',
      'most in flight per host',
      'auditor CPU µs/req',
      'origin CPU µs/req',
    ],
    [...rows.values()].map((r) => [
      r.name,
      median(spread(r.ms.map((ms) => ms / 1000)), 2),
      median(spread(r.ms.map((ms) => URLS / (ms / 1000)))),
      `${num(r.requests / URLS, 2)} (${r.maxPerUrl})`,
      String(r.inFlight),
      median(spread(r.auditorUs.map((us) => us / r.requests))),
      median(spread(r.originUs.map((us) => us / r.requests))),
    ]),
  );
  const [defaults, , control] = [...rows.values()];
  const overhead = pairedRatio(defaults!.ms, control!.ms);
  console.log(
    `\nMost in flight per host: counted by the origin, from accepting a connection to finishing its response ` +
      `(every request is a new connection, \`Connection: close\`, as the auditor sends them); never above the limit. ` +
      `Audit ÷ control wall time at the defaults: ${num(overhead.median, 2)}× (${num(overhead.low, 2)}–` +
      `${num(overhead.high, 2)}), ${rounds} interleaved round(s) after a warm-up. The control sends the same number ` +
      `of requests, all plain GETs answered 200, where the audit mixes conditional GETs, HEADs, 304s and 412s.`,
  );
  return [named('audit 1,000 URLs ÷ the same number of plain GETs, wall time', overhead, { atMost: 4 })];
}

function cpuMicros(since: NodeJS.CpuUsage): number {
  const { user, system } = process.cpuUsage(since);
  return user + system;
}

/** The control: `total` plain GETs over the URLs, same socket client, same concurrency and per-host limit. */
async function plainGets(urls: string[], total: number): Promise<void> {
  const limiter = new HostLimiter(PER_HOST);
  const perUrl = Math.ceil(total / urls.length);
  await mapLimit(urls, CONCURRENCY, async (url) => {
    const target = new URL(url);
    for (let i = 0; i < perUrl; i++) {
      const release = await limiter.acquire(target);
      const ex = await exchange(
        { method: 'GET', url: target, headers: [['Accept-Encoding', 'identity']] },
        { timeoutMs: 10_000, maxBodyBytes: 8 * 1024 * 1024 },
      ).finally(release);
      if (ex.response?.status !== 200)
        throw new Error(`control GET ${url}: ${ex.fault?.message ?? ex.response?.status}`);
    }
  });
}

/** The origin: one resource per path, with a version ETag and a Last-Modified, on HOSTS ports. */
async function origin(): Promise<void> {
  const updatedAt = new Date('2024-01-02T03:04:05Z');
  const body = JSON.stringify({
    items: Array.from({ length: 40 }, (_, i) => ({ id: i, name: `item ${i}` })),
  });
  const maxInFlight: number[] = [];
  const ports: number[] = [];
  for (let h = 0; h < HOSTS; h++) {
    let inFlight = 0;
    maxInFlight[h] = 0;
    const handler = conditional(
      (_req, res) => {
        res.setHeader('content-type', 'application/json');
        res.end(body);
      },
      {
        validate: (req) => ({ etag: etagFromVersion(`${req.url}-1`), lastModified: updatedAt }),
        headers: { 'cache-control': 'no-cache' },
      },
    );
    // In flight from accepting the connection (the auditor opens one per request, after taking its slot) to
    // finishing the response (before the auditor has read it, so before it can give the slot back).
    const finished = new WeakMap<Socket, () => void>();
    const server = createServer((req, res) => {
      res.on('finish', finished.get(req.socket)!);
      handler(req, res);
    });
    server.on('connection', (socket: Socket) => {
      maxInFlight[h] = Math.max(maxInFlight[h]!, ++inFlight);
      let counted = true;
      const done = () => {
        if (counted) inFlight--;
        counted = false;
      };
      finished.set(socket, done);
      socket.on('close', done);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    ports.push((server.address() as { port: number }).port);
  }
  console.log(`ports ${ports.join(' ')}`);
  for await (const _line of createInterface({ input: process.stdin })) {
    console.log(`in-flight ${maxInFlight.join(' ')}`);
    maxInFlight.fill(0);
  }
  process.exit(0);
}
