/**
 * `etagkit watch <urls-file>`: polls every URL of the file conditionally, records each check in the history and
 * reports changes (a thin shell over etagkit/monitor). `etagkit watch history|diff|stats` read the history.
 */

import type { Server } from 'node:http';
import { compileIgnore, intervalProblem } from '../monitor/definition.ts';
import { historyName } from '../monitor/history/open.ts';
import { HistoryError } from '../monitor/history/store.ts';
import { createMonitor, type Monitor } from '../monitor/monitor.ts';
import type { CheckEvent } from '../monitor/types.ts';
import { parseWatchFile } from '../monitor/watch-file.ts';
import {
  parseCount,
  parseDuration,
  parseHttpUrl,
  parseOptions,
  parseTimeout,
  quote,
  UsageError,
} from './args.ts';
import { readTextFile } from './text-file.ts';
import { FLEET_OPTIONS, FLEET_USAGE, fleetCommand, settleFleet } from './watch-fleet.ts';
import { DEFAULT_DB, historyCommand, READ_COMMANDS } from './watch-history.ts';
import { serveHistory, settleUi, startUi, UI_OPTIONS, UI_USAGE } from './watch-ui.ts';

const USAGE = `usage: etagkit watch <urls-file> [options]
       etagkit watch --ui PORT [--db PATH]   (the dashboard over a history, read-only)
       etagkit watch <urls-file> --redis URL --db postgres://… [--scheduler-only] [options]
       etagkit watch --redis URL --db postgres://… --worker [--concurrency N] [options]
       etagkit watch history <url> [--db PATH] [--limit 50] [--json]
       etagkit watch diff <url> [FROM [TO]] [--db PATH] [--json]
       etagkit watch stats [--db PATH] [--json]

The URL file has one URL per line, # comments, and per-line options after the URL:
  https://example.com/page interval=10m selector=".price" ignore="\\d\\d:\\d\\d" header="Accept: text/html"
  (interval, min-interval, max-interval, header, selector, pointer, ignore, whitespace=collapse|keep,
   adaptive, respect-cache-headers)

  --db PATH|URL             the history: a SQLite file (default ${DEFAULT_DB}) or postgres://…
  --once                    check every URL once, then exit
  --json                    print one JSON object per check on stdout
  --interval D              time between checks of a URL (default 5m; 1s to 3650d)
  --adaptive                lengthen intervals while nothing changes, shorten them on changes
  --min-interval D          --adaptive lower bound (default interval/8, at least 1s)
  --max-interval D          --adaptive upper bound (default 16×interval, at least 1d)
  --respect-cache-headers   never check before the last response's max-age / Expires ran out
  --concurrency N           checks in flight at once (default 32)
  --per-host N              checks in flight at once per host (default 2)
  --rate N                  checks per second per host (default: no limit)
  --timeout D               for each request (default 30s; more than 0, at most 1d)
  --max-body SIZE           largest body read, such as 512KB or 10MB (default 10MB)
  --max-redirects N         redirects followed (default 5)
  --ignore REGEX            text removed before comparing, for every URL (repeatable)
  --webhook URL             POST every change, alert and recovery as JSON (repeatable; retried, at least once)
  --exec CMD                run CMD for every change, alert and recovery, the event as JSON on stdin (repeatable)
  --alert-after N           consecutive failures that raise an alert (default 3)
  --keep-checks N           checks kept per URL (default 1000)
  --keep-days N             days of checks kept (default 90)
${UI_USAGE}
${FLEET_USAGE}`;

const OPTIONS = {
  db: { type: 'string', default: DEFAULT_DB },
  once: { type: 'boolean' },
  json: { type: 'boolean' },
  interval: { type: 'string', default: '5m' },
  adaptive: { type: 'boolean' },
  'min-interval': { type: 'string' },
  'max-interval': { type: 'string' },
  'respect-cache-headers': { type: 'boolean' },
  concurrency: { type: 'string', default: '32' },
  'per-host': { type: 'string', default: '2' },
  rate: { type: 'string' },
  timeout: { type: 'string', default: '30s' },
  'max-body': { type: 'string', default: '10MB' },
  'max-redirects': { type: 'string', default: '5' },
  ignore: { type: 'string', multiple: true },
  webhook: { type: 'string', multiple: true },
  exec: { type: 'string', multiple: true },
  'alert-after': { type: 'string', default: '3' },
  'keep-checks': { type: 'string', default: '1000' },
  'keep-days': { type: 'string', default: '90' },
  ...UI_OPTIONS,
  ...FLEET_OPTIONS,
} as const;

/** How long `--once` waits for pending notifications before it exits (they stay in the outbox for next time). */
const ONCE_NOTIFY_WAIT_MS = 30_000;

export async function watchCommand(argv: string[]): Promise<number> {
  if (READ_COMMANDS.has(argv[0] ?? '')) return historyCommand(argv[0]!, argv.slice(1), USAGE);
  let settings: ReturnType<typeof settle>;
  try {
    settings = settle(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`etagkit watch: ${error.message}\n\n${USAGE}`);
    return 2;
  }
  if (settings === 'help') {
    console.log(USAGE);
    return 0;
  }
  const { once, json, monitorOptions, ui, fleet } = settings;
  if (fleet) return fleetCommand(settings.file, monitorOptions, fleet, (event) => printCheck(event, json));
  if (settings.file === undefined) return serveHistory(ui!, monitorOptions.db);
  const file = settings.file;
  let text: string;
  try {
    text = await readTextFile(file);
  } catch (error) {
    console.error(
      `etagkit watch: cannot read ${quote(file)}: ${(error as NodeJS.ErrnoException).code ?? error}`,
    );
    return 1;
  }
  let monitor: Monitor;
  try {
    monitor = await createMonitor(monitorOptions);
  } catch (error) {
    if (!(error instanceof HistoryError)) throw error;
    console.error(`etagkit watch: ${error.message}`);
    return 1;
  }
  let dashboard: { server: Server } | undefined;
  try {
    // The dashboard binds first: an address it cannot use is an error before anything is added or checked.
    if (ui) {
      const started = await startUi(ui, { monitor });
      if ('error' in started) {
        console.error(`etagkit watch: ${started.error}`);
        return 1;
      }
      dashboard = started;
    }
    const parsed = parseWatchFile(text, {
      intervalMs: monitorOptions.intervalMs,
      adaptive: monitorOptions.adaptive,
      minIntervalMs: monitorOptions.minIntervalMs,
      maxIntervalMs: monitorOptions.maxIntervalMs,
      respectCacheHeaders: monitorOptions.respectCacheHeaders,
      ignore: monitorOptions.ignore,
      headers: {},
    });
    for (const problem of parsed.problems) console.error(`${file}:${problem.line}: ${problem.message}`);
    if (parsed.watches.length === 0) {
      console.error(`etagkit watch: no URL to watch in ${quote(file)}`);
      return 1;
    }
    // The file is the watch list: what it names is watched, what it no longer names is paused (history kept).
    const listed = new Set<string>();
    for (const definition of parsed.watches) listed.add((await monitor.add(definition)).definition.url);
    for (const watch of await monitor.list())
      if (!listed.has(watch.definition.url) && !watch.paused) await monitor.pause(watch.definition.url);
    report(monitor, json);
    if (once) return await runOnce(monitor, parsed.watches.length, json);
    console.error(`watching ${parsed.watches.length} URLs; history in ${historyName(monitorOptions.db)}`);
    await monitor.start();
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    return 0;
  } catch (error) {
    if (!(error instanceof HistoryError)) throw error;
    console.error(`etagkit watch: ${error.message}`);
    return 1;
  } finally {
    dashboard?.server.close();
    dashboard?.server.closeAllConnections();
    await monitor.close();
  }
}

async function runOnce(monitor: Monitor, total: number, json: boolean): Promise<number> {
  const progress = !json && process.stdout.isTTY && process.stderr.isTTY ? new Progress(total) : undefined;
  if (progress) monitor.on('check', (event) => progress.update(event));
  const events = await monitor.checkNow();
  progress?.finish();
  const delivered = await monitor.flushNotifications(ONCE_NOTIFY_WAIT_MS);
  if (!delivered)
    console.error('etagkit watch: some notifications are not delivered yet; they are sent on the next run');
  if (!json) {
    const count = (status: string) => events.filter((e) => e.status === status).length;
    // A verified 304 (truth) reports the status of its verifying fetch, but the server did answer 304.
    const notModified = events.filter((e) => e.httpStatus === 304 || e.truth).length;
    console.error(
      `checked ${events.length} URLs: ${count('changed')} changed, ${count('new')} new, ${count('unchanged')} unchanged (${notModified} by 304), ${count('error')} errors`,
    );
  }
  return 0;
}

/** Prints checks as they are committed: every check as JSON, or changes and errors as readable lines. */
function report(monitor: Monitor, json: boolean): void {
  monitor.on('check', (event) => printCheck(event, json));
  monitor.on('alert', (event) => console.error(`alert: ${event.url} keeps failing: ${event.error}`));
  monitor.on('recovered', (event) => console.error(`recovered: ${event.url} answers again`));
  monitor.on('fault', ({ source, target, message, final }) =>
    console.error(`${source} ${final ? 'given up' : 'failed'}: ${target}: ${message}`),
  );
}

function printCheck(event: CheckEvent, json: boolean): void {
  if (json) process.stdout.write(`${JSON.stringify(event)}\n`);
  else if (event.status !== 'unchanged') process.stdout.write(`${describe(event)}\n`);
}

function describe(event: CheckEvent): string {
  if (event.status === 'error') return `error    ${event.url}  ${event.error}`;
  const why = [event.detectedBy && `by ${event.detectedBy}`, event.reason].filter(Boolean).join(', ');
  return `${event.status.padEnd(8)} ${event.url}  version ${event.version}${why ? ` (${why})` : ''}`;
}

/** The live line of `--once` on a terminal: done/total, changes, errors, rate. */
class Progress {
  readonly #total: number;
  readonly #started = Date.now();
  #done = 0;
  #changed = 0;
  #errors = 0;
  #drawn = 0;

  constructor(total: number) {
    this.#total = total;
  }

  update(event: CheckEvent): void {
    this.#done++;
    if (event.status === 'changed') this.#changed++;
    if (event.status === 'error') this.#errors++;
    const now = Date.now();
    if (now - this.#drawn < 100 && this.#done < this.#total) return;
    this.#drawn = now;
    const rate = this.#done / Math.max(0.001, (now - this.#started) / 1000);
    process.stderr.write(
      `\r\x1b[K${this.#done}/${this.#total} checked · ${this.#changed} changed · ${this.#errors} errors · ${rate.toFixed(0)}/s`,
    );
  }

  finish(): void {
    process.stderr.write('\r\x1b[K');
  }
}

function settle(argv: string[]) {
  const { values, positionals } = parseOptions(argv, OPTIONS);
  if (values.help) return 'help' as const;
  const ui = settleUi(values);
  const fleet = settleFleet(values, positionals.length);
  if (ui && fleet)
    throw new UsageError(
      '--ui serves one process; beside a fleet, run the dashboard on the shared history: etagkit watch --ui PORT --db postgres://…',
    );
  if (!fleet && (positionals.length > 1 || (positionals.length === 0 && !ui)))
    throw new UsageError(
      positionals.length === 0 ? 'which URL file? expected one' : 'expected exactly one URL file',
    );
  if (ui && values.once)
    throw new UsageError('--ui serves the dashboard while watching; it cannot go with --once');
  const intervalMs = parseInterval(values.interval, '--interval');
  const minIntervalMs = values['min-interval'] && parseInterval(values['min-interval'], '--min-interval');
  const maxIntervalMs = values['max-interval'] && parseInterval(values['max-interval'], '--max-interval');
  if ((minIntervalMs || maxIntervalMs) && !values.adaptive)
    throw new UsageError('--min-interval and --max-interval need --adaptive');
  for (const source of values.ignore) {
    try {
      compileIgnore(source);
    } catch (error) {
      throw new UsageError(`--ignore: ${(error as Error).message}`);
    }
  }
  return {
    file: positionals[0],
    ui,
    fleet,
    once: values.once,
    json: values.json,
    monitorOptions: {
      db: values.db,
      intervalMs,
      adaptive: values.adaptive,
      minIntervalMs: minIntervalMs || undefined,
      maxIntervalMs: maxIntervalMs || undefined,
      respectCacheHeaders: values['respect-cache-headers'],
      concurrency: parseCount(values.concurrency, '--concurrency', { max: 10_000 }),
      perHost: parseCount(values['per-host'], '--per-host', { max: 1000 }),
      perHostRate: values.rate === undefined ? 0 : parseRate(values.rate),
      timeoutMs: parseTimeout(values.timeout),
      maxBytes: parseSize(values['max-body'], '--max-body'),
      maxRedirects: parseCount(values['max-redirects'], '--max-redirects', { min: 0, max: 20 }),
      ignore: values.ignore,
      webhooks: values.webhook.map((url) => parseHttpUrl(url, '--webhook', { allowCredentials: true }).href),
      commands: values.exec,
      alertAfter: parseCount(values['alert-after'], '--alert-after', { max: 1000 }),
      retention: {
        maxChecks: parseCount(values['keep-checks'], '--keep-checks', { max: 10_000_000 }),
        maxAgeMs: parseCount(values['keep-days'], '--keep-days', { max: 36_500 }) * 86_400_000,
      },
    },
  };
}

/** A check interval: a duration from 1s to 3650 days. */
function parseInterval(value: string, option: string): number {
  const ms = parseDuration(value, option);
  const problem = intervalProblem(ms);
  if (problem) throw new UsageError(`${option} ${problem}, not ${quote(value)}`);
  return ms;
}

function parseRate(value: string): number {
  const n = /^\d{1,6}(\.\d{1,3})?$/.test(value) ? Number(value) : Number.NaN;
  if (!(n > 0))
    throw new UsageError(`--rate must be a positive number of checks per second, not ${quote(value)}`);
  return n;
}

const SIZES: Record<string, number> = {
  '': 1,
  B: 1,
  KB: 1e3,
  MB: 1e6,
  GB: 1e9,
  KIB: 1024,
  MIB: 1024 ** 2,
  GIB: 1024 ** 3,
};

/** A size such as `512KB`, `10MB`, `1MiB` or a number of bytes. */
function parseSize(value: string, option: string): number {
  const m = /^(\d{1,10})\s?([KMG]i?B|B)?$/i.exec(value);
  const bytes = m ? Number(m[1]) * SIZES[(m[2] ?? '').toUpperCase()]! : Number.NaN;
  if (!(bytes >= 1))
    throw new UsageError(`${option} must be a size such as 512KB or 10MB, not ${quote(value)}`);
  return bytes;
}
