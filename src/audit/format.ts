/**
 * Reports for people and for machines: a terminal report grouped by severity, and the `--json` shape of
 * DESIGN.md (`{url, findings:[{id,severity,message,evidence}]}`, an array for several URLs). SARIF lives in
 * `sarif.ts`.
 */
import { type Fix, STACK_NAMES } from './fixes.ts';
import type { Finding, Report } from './report.ts';
import { atLeast, type Severity } from './rules.ts';

export interface JsonReport {
  url: string;
  finalUrl: string;
  findings: Pick<Finding, 'id' | 'severity' | 'message' | 'evidence' | 'fix'>[];
  trust: Report['trust'];
  requests: number;
  skipped: string[];
  ms: number;
}

/** The `--json` document: one object for one URL, an array for several. */
export function toJson(reports: readonly Report[]): JsonReport | JsonReport[] {
  const out = reports.map(
    (r): JsonReport => ({
      url: r.url,
      finalUrl: r.finalUrl,
      findings: r.findings.map(({ id, severity, message, evidence, fix }) => ({
        id,
        severity,
        message,
        evidence,
        fix,
      })),
      trust: r.trust,
      requests: r.requests,
      skipped: r.skipped,
      ms: r.timings.ms,
    }),
  );
  return out.length === 1 ? out[0]! : out;
}

/** The exit status for CI: 1 when any finding is at or above `failOn`, else 0. */
export function exitCode(reports: readonly Report[], failOn: Severity): 0 | 1 {
  return reports.some((r) => r.findings.some((f) => atLeast(f.severity, failOn))) ? 1 : 0;
}

const HEADINGS: Record<Severity, [string, string]> = {
  error: ['error', 'errors'],
  warn: ['warning', 'warnings'],
  info: ['note', 'notes'],
};

const COLOURS = { error: 31, warn: 33, info: 36, bold: 1, dim: 2 } as const;

/** The terminal report. `color` adds ANSI colours (the CLI decides: a TTY, and NO_COLOR unset). */
export function formatText(reports: readonly Report[], options: { color?: boolean } = {}): string {
  const paint = (style: keyof typeof COLOURS, text: string) =>
    options.color ? `\x1b[${COLOURS[style]}m${text}\x1b[0m` : text;
  const out: string[] = [];
  for (const r of reports) {
    const target = r.finalUrl === r.url ? '' : ` → ${r.finalUrl}`;
    out.push(
      paint('bold', `${r.url}${target}`) +
        paint('dim', `  (${count(r.requests, ['request', 'requests'])}, ${r.timings.ms} ms)`),
    );
    for (const severity of ['error', 'warn', 'info'] as const) {
      const group = r.findings.filter((f) => f.severity === severity);
      if (group.length === 0) continue;
      out.push(`  ${paint(severity, `${count(group.length, HEADINGS[severity])}`)}`);
      for (const f of group) {
        out.push(`    ${paint(severity, f.id)}  ${f.message}`);
        for (const line of f.evidence) out.push(paint('dim', `        ${line}`));
        for (const line of fixLines(f.fix)) out.push(`        ${line}`);
      }
    }
    if (r.findings.length === 0) out.push('  no findings');
    out.push(
      paint('dim', `  trust: ETag ${r.trust.etag}, Last-Modified ${r.trust.lastModified}`) +
        (r.skipped.length > 0 ? paint('dim', `; not sent (request budget): ${r.skipped.join(', ')}`) : ''),
      '',
    );
  }
  out.push(summary(reports));
  return `${out.join('\n')}\n`;
}

function fixLines(fix: Fix): string[] {
  return Object.entries(fix).map(([stack, hint]) =>
    stack === 'general' ? `→ ${hint}` : `→ ${STACK_NAMES[stack as keyof Fix]}: ${hint}`,
  );
}

/** `3 URLs: 1 error, 2 warnings, no notes`. */
export function summary(reports: readonly Report[]): string {
  const all = reports.flatMap((r) => r.findings);
  const parts = (['error', 'warn', 'info'] as const).map((s) =>
    count(all.filter((f) => f.severity === s).length, HEADINGS[s]),
  );
  return `${count(reports.length, ['URL', 'URLs'])}: ${parts.join(', ')}`;
}

function count(n: number, [one, many]: [string, string]): string {
  return n === 0 ? `no ${many}` : `${n} ${n === 1 ? one : many}`;
}
