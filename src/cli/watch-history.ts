/**
 * Reading the monitor's history from the command line:
 *   etagkit watch history <url>          the URL's checks, newest first
 *   etagkit watch diff <url> [FROM [TO]]  what changed between two versions (default: the last change)
 *   etagkit watch stats                  checks, 304 ratio, bytes transferred and saved, per host and in total
 * The history is opened read-only: these commands can run beside a running `etagkit watch`.
 */
import { existsSync } from 'node:fs';
import { historyName, openHistory } from '../monitor/history/open.ts';
import { isPostgresUrl } from '../monitor/history/postgres.ts';
import { HistoryError } from '../monitor/history/store.ts';
import { Monitor } from '../monitor/monitor.ts';
import { parseCount, parseOptions, quote, UsageError } from './args.ts';

export const DEFAULT_DB = './.etagkit/watch.db';
export const READ_COMMANDS = new Set(['history', 'diff', 'stats']);

const OPTIONS = {
  db: { type: 'string', default: DEFAULT_DB },
  json: { type: 'boolean' },
  limit: { type: 'string', default: '50' },
} as const;

export async function historyCommand(name: string, argv: string[], usage: string): Promise<number> {
  let parsed: ReturnType<typeof parseOptions<typeof OPTIONS>>;
  let limit: number;
  try {
    parsed = parseOptions(argv, OPTIONS);
    limit = parseCount(parsed.values.limit, '--limit', { max: 100_000 });
    const wanted = { history: [1, 1], diff: [1, 3], stats: [0, 0] }[name as 'history']!;
    const n = parsed.positionals.length;
    if (!parsed.values.help && (n < wanted[0]! || n > wanted[1]!))
      throw new UsageError(
        name === 'stats'
          ? 'stats takes no URL'
          : `${name} needs one URL${name === 'diff' ? ' and up to two version numbers' : ''}`,
      );
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`etagkit watch ${name}: ${error.message}\n\n${usage}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(usage);
    return 0;
  }
  if (!isPostgresUrl(values.db) && !existsSync(values.db)) {
    console.error(
      `etagkit watch ${name}: no history at ${quote(values.db)} (run etagkit watch first, or give --db)`,
    );
    return 1;
  }
  let monitor: Monitor | undefined;
  try {
    const store = await openHistory(values.db, { readOnly: true });
    monitor = new Monitor(store, { db: store }, true);
    const [url = ''] = positionals;
    if (name === 'history') {
      if (!(await store.watch(url)))
        throw new HistoryError(`${url} is not in the history ${historyName(values.db)}`);
      const checks = await monitor.history(url, { limit });
      if (values.json) for (const check of checks) console.log(JSON.stringify(check));
      else {
        console.log(
          'time                      status     http  by             version  bytes  reason / error',
        );
        for (const c of checks)
          console.log(
            `${c.time}  ${c.status.padEnd(9)}  ${String(c.httpStatus ?? '-').padEnd(4)}  ${(c.detectedBy ?? '-').padEnd(13)}  ${String(c.version).padStart(7)}  ${String(c.bytes).padStart(5)}  ${c.error ?? c.reason ?? ''}${c.truth ? ' (verified)' : ''}`,
          );
      }
    } else if (name === 'diff') {
      const [from, to] = positionals
        .slice(1)
        .map((v, i) => parseCount(v, i === 0 ? 'FROM' : 'TO', { min: 1, max: 2 ** 31 }));
      const diff = await monitor.diff(url, from, to);
      if (values.json) console.log(JSON.stringify(diff));
      else {
        process.stdout.write(
          diff.patch || `version ${diff.from.version} and version ${diff.to.version} are the same\n`,
        );
        for (const change of diff.changes ?? [])
          console.log(
            `${change.op.padEnd(8)} ${change.path || '/'}  ${JSON.stringify(change.before) ?? ''} → ${JSON.stringify(change.after) ?? ''}`,
          );
      }
    } else {
      const metrics = await monitor.metrics();
      if (values.json) console.log(JSON.stringify(metrics));
      else {
        console.log(
          'host                          watches   checks   304 ratio   changes   errors   bytes        saved',
        );
        for (const [host, m] of [...Object.entries(metrics.hosts), ['total', metrics.total] as const])
          console.log(
            `${host.padEnd(28)}  ${String(m.watches).padStart(7)}  ${String(m.checks).padStart(7)}  ${(m.notModifiedRatio * 100).toFixed(1).padStart(9)}%  ${String(m.changes).padStart(8)}  ${String(m.errors).padStart(7)}  ${String(m.bytes).padStart(11)}  ${String(m.bytesSaved).padStart(11)}`,
          );
      }
    }
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`etagkit watch ${name}: ${error.message}`);
      return 2;
    }
    if (!(error instanceof HistoryError)) throw error;
    console.error(`etagkit watch ${name}: ${error.message}`);
    return 1;
  } finally {
    await monitor?.close();
  }
}
