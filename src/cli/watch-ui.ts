/**
 * `etagkit watch … --ui PORT [--ui-host 127.0.0.1] [--ui-token T]`: the dashboard beside a running monitor, or,
 * without a URL file, over an existing history opened read-only (`etagkit watch --ui PORT --db PATH`).
 */
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { isLoopback } from '../monitor/dashboard/access.ts';
import { createDashboard, type DashboardOptions } from '../monitor/dashboard/server.ts';
import { historyName, openHistory } from '../monitor/history/open.ts';
import { isPostgresUrl } from '../monitor/history/postgres.ts';
import type { HistoryStore } from '../monitor/history/store.ts';
import { HistoryError } from '../monitor/history/store.ts';
import { parseHost, parsePort, quote, UsageError } from './args.ts';
import { closeOnSignal, listen } from './listen.ts';

export const UI_OPTIONS = {
  ui: { type: 'string' },
  'ui-host': { type: 'string', default: '127.0.0.1' },
  'ui-token': { type: 'string' },
} as const;

export const UI_USAGE = `  --ui PORT                 serve the dashboard on PORT (0: any free port); without a URL file,
                            show the history of --db read-only
  --ui-host HOST            address of the dashboard (default 127.0.0.1; another needs a token)
  --ui-token TOKEN          required of every dashboard request (or ETAGKIT_UI_TOKEN); at least 16 characters`;

export const TOKEN_ENV = 'ETAGKIT_UI_TOKEN';
const MIN_TOKEN_LENGTH = 16;

export interface UiSettings {
  port: number;
  host: string;
  token: string | undefined;
}

/** The dashboard's settings from the parsed options, or undefined without --ui. Throws UsageError. */
export function settleUi(
  values: { ui?: string | undefined; 'ui-host': string; 'ui-token'?: string | undefined },
  env: NodeJS.ProcessEnv = process.env,
): UiSettings | undefined {
  if (values.ui === undefined) {
    if (values['ui-token'] !== undefined || values['ui-host'] !== '127.0.0.1')
      throw new UsageError('--ui-host and --ui-token need --ui PORT');
    return undefined;
  }
  const port = parsePort(values.ui, '--ui');
  const host = parseHost(values['ui-host'], '--ui-host');
  const token = values['ui-token'] ?? (env[TOKEN_ENV] || undefined);
  if (token !== undefined && (token.length < MIN_TOKEN_LENGTH || /\s/.test(token)))
    throw new UsageError(
      `the dashboard token must be at least ${MIN_TOKEN_LENGTH} characters without spaces (try: openssl rand -hex 16)`,
    );
  if (token === undefined && !isLoopback(host))
    throw new UsageError(
      `--ui-host ${quote(host)} serves the dashboard to other machines: give it a token with --ui-token or ${TOKEN_ENV}`,
    );
  return { port, host, token };
}

/** Starts the dashboard; prints `dashboard on http://HOST:PORT`. */
export async function startUi(
  settings: UiSettings,
  source: Pick<DashboardOptions, 'monitor' | 'store'>,
): Promise<{ server: Server } | { error: string }> {
  let dashboard: ReturnType<typeof createDashboard>;
  try {
    dashboard = createDashboard({ ...source, token: settings.token });
  } catch (error) {
    return { error: (error as Error).message };
  }
  const server = createServer({ maxHeaderSize: 16 * 1024 }, dashboard.listener);
  const started = await listen(server, settings.port, settings.host, 'dashboard');
  if ('error' in started) return { error: started.error.replace('--port', '--ui') };
  if (settings.token) console.error(`the dashboard asks for its token; open ${started.url}/#token=<token>`);
  return { server };
}

/** `etagkit watch --ui PORT --db PATH` without a URL file: the history read-only, until SIGINT/SIGTERM. */
export async function serveHistory(settings: UiSettings, db: string): Promise<number> {
  if (!isPostgresUrl(db) && !existsSync(db)) {
    console.error(
      `etagkit watch: no history at ${quote(db)} (run etagkit watch <urls-file> first, or give --db)`,
    );
    return 1;
  }
  let store: HistoryStore;
  try {
    store = await openHistory(db, { readOnly: true });
  } catch (error) {
    if (!(error instanceof HistoryError)) throw error;
    console.error(`etagkit watch: ${error.message}`);
    return 1;
  }
  try {
    console.error(`showing the history ${historyName(db)} read-only`);
    const started = await startUi(settings, { store });
    if ('error' in started) {
      console.error(`etagkit watch: ${started.error}`);
      return 1;
    }
    await closeOnSignal(started.server);
    return 0;
  } finally {
    await store.close();
  }
}
