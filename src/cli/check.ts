/** `etagkit check <url>…`: audits validator handling and prints a report, JSON or SARIF; exit codes for CI. */
import { readFileSync } from 'node:fs';
import { relative, resolve, sep } from 'node:path';
import { type AuditTarget, auditAll } from '../audit/audit.ts';
import { exitCode, formatText, toJson } from '../audit/format.ts';
import { toSarif, type UrlSource } from '../audit/sarif.ts';
import { parseCount, parseHttpUrl, parseOptions, parseTimeout, quote, UsageError } from './args.ts';
import { readTextFile } from './text-file.ts';

const USAGE = `usage: etagkit check <url>… [--file F] [--json|--sarif] [--fail-on error|warn] [--write-probe URL]

  --file F            also check the URLs in F, one per line (blank lines and # comments skipped)
  --json              print {url, findings:[{id,severity,message,evidence,fix}], …}; an array for several URLs
  --sarif             print SARIF 2.1.0 for code scanning (URLs from --file point at their line)
  --fail-on LEVEL     exit 1 when a finding is at or above error (the default) or warn
  --write-probe URL   also probe writes to URL, a resource you own: PUT with a stale If-Match,
                      If-None-Match: * and no precondition, then restore it (never done otherwise)
  --budget N          requests per URL for the read probes, redirects included (default 12)
  --timeout T         deadline of each request (default 10s)
  --concurrency N     URLs checked at once (default 8)
  --per-host N        requests in flight to one host at a time (default 4)

exit status: 0 no finding at or above --fail-on, 1 some, 2 usage error`;

const OPTIONS = {
  file: { type: 'string', multiple: true },
  json: { type: 'boolean' },
  sarif: { type: 'boolean' },
  'fail-on': { type: 'string', default: 'error' },
  'write-probe': { type: 'string' },
  budget: { type: 'string', default: '12' },
  timeout: { type: 'string', default: '10s' },
  concurrency: { type: 'string', default: '8' },
  'per-host': { type: 'string', default: '4' },
} as const;

export async function checkCommand(argv: string[]): Promise<number> {
  let settings: Awaited<ReturnType<typeof settle>>;
  try {
    settings = await settle(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`etagkit check: ${error.message}\n\n${USAGE}`);
    return 2;
  }
  if (settings === 'help') {
    console.log(USAGE);
    return 0;
  }
  const { targets, sources, format, failOn, ...options } = settings;
  const progress = process.stderr.isTTY && targets.length > 1;
  const reports = await auditAll(targets, {
    ...options,
    onReport: progress
      ? (_report, done, total) => process.stderr.write(`\r\x1b[Kchecked ${done} of ${total} URLs`)
      : undefined,
  });
  if (progress) process.stderr.write('\r\x1b[K');
  if (format === 'json') process.stdout.write(`${JSON.stringify(toJson(reports), null, 2)}\n`);
  else if (format === 'sarif')
    process.stdout.write(`${JSON.stringify(toSarif(reports, { version: version(), sources }), null, 2)}\n`);
  else process.stdout.write(formatText(reports, { color: useColour(process.stdout, process.env) }));
  return exitCode(reports, failOn);
}

async function settle(argv: string[]) {
  const { values, positionals } = parseOptions(argv, OPTIONS);
  if (values.help) return 'help' as const;
  if (values.json && values.sarif) throw new UsageError('--json and --sarif cannot be used together');
  const failOn = values['fail-on'];
  if (failOn !== 'error' && failOn !== 'warn')
    throw new UsageError(`--fail-on must be error or warn, not ${quote(failOn)}`);

  const urls = new Map<string, AuditTarget & { url: URL }>();
  const sources = new Map<string, UrlSource>();
  const add = (url: URL) => urls.set(url.href, urls.get(url.href) ?? { url });
  for (const value of positionals) add(parseHttpUrl(value, 'each URL'));
  for (const file of values.file) {
    let text: string;
    try {
      text = await readTextFile(file);
    } catch (error) {
      throw new UsageError(
        `cannot read --file ${quote(file)}: ${(error as NodeJS.ErrnoException).code ?? error}`,
      );
    }
    const shownPath = relative(process.cwd(), resolve(file)).split(sep).join('/');
    text.split('\n').forEach((raw, i) => {
      const line = raw.trim();
      if (line === '' || line.startsWith('#')) return;
      const url = parseHttpUrl(line, `${file} line ${i + 1}`);
      add(url);
      if (!sources.has(url.href)) sources.set(url.href, { file: shownPath, line: i + 1 });
    });
  }
  if (values['write-probe'] !== undefined) {
    const url = parseHttpUrl(values['write-probe'], '--write-probe');
    urls.set(url.href, { url, writeProbe: true });
  }
  if (urls.size === 0) throw new UsageError('which URLs? give at least one, or --file');
  return {
    targets: [...urls.values()],
    sources,
    format: values.json ? ('json' as const) : values.sarif ? ('sarif' as const) : ('text' as const),
    failOn: failOn as 'error' | 'warn',
    budget: parseCount(values.budget, '--budget', { max: 1000 }),
    timeoutMs: parseTimeout(values.timeout),
    concurrency: parseCount(values.concurrency, '--concurrency', { max: 1000 }),
    perHost: parseCount(values['per-host'], '--per-host', { max: 256 }),
  };
}

/** Colour only on a terminal, and never when NO_COLOR is set to a non-empty value (https://no-color.org). */
export function useColour(stream: { isTTY?: boolean }, env: Record<string, string | undefined>): boolean {
  return stream.isTTY === true && !env.NO_COLOR;
}

function version(): string {
  // The same relative path from src/cli/ and dist/cli/.
  return JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version;
}
