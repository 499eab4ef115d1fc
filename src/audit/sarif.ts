/**
 * SARIF 2.1.0 (OASIS), for code-scanning uploads. One run; one rule per finding id, with its fix hints as help;
 * one result per finding. A URL read from a file (`--file`) is located at its line there, so a code-scanning
 * alert points at the line to look at; a URL from the command line is its own artifact.
 */
import { FIXES, STACK_NAMES, type Stack } from './fixes.ts';
import type { Report } from './report.ts';
import { FINDING_IDS, RULES, type Severity } from './rules.ts';

/** Where a URL came from: a file (relative to the repository root, `/` separators) and a 1-based line. */
export interface UrlSource {
  file: string;
  line: number;
}

export interface SarifOptions {
  /** etagkit's version, for `tool.driver.version`. */
  version?: string;
  /** Source lines of URLs read from a file, by the URL as given. */
  sources?: ReadonlyMap<string, UrlSource>;
}

const LEVEL: Record<Severity, 'error' | 'warning' | 'note'> = {
  error: 'error',
  warn: 'warning',
  info: 'note',
};

export function toSarif(reports: readonly Report[], options: SarifOptions = {}) {
  const rules = FINDING_IDS.map((id) => {
    const rule = RULES[id];
    const hints = Object.entries(FIXES[id]).map(
      ([stack, hint]) => [STACK_NAMES[stack as Stack], hint] as const,
    );
    return {
      id,
      name: id.replace(/(^|-)([a-z0-9])/g, (_: string, _dash: string, c: string) => c.toUpperCase()),
      shortDescription: { text: rule.title },
      fullDescription: { text: `${rule.title} (${rule.reference}).` },
      help: {
        text: hints.map(([stack, hint]) => `${stack}: ${hint}`).join('\n'),
        markdown: hints.map(([stack, hint]) => `- **${stack}**: ${hint}`).join('\n'),
      },
      defaultConfiguration: { level: LEVEL[rule.severity] },
      properties: { tags: ['http', 'caching', 'conditional-requests'], reference: rule.reference },
    };
  });
  const results = reports.flatMap((report) =>
    report.findings.map((f) => ({
      ruleId: f.id,
      ruleIndex: FINDING_IDS.indexOf(f.id),
      level: LEVEL[f.severity],
      message: { text: `${report.url}: ${f.message}` },
      locations: [location(report, options.sources?.get(report.url))],
      partialFingerprints: { 'etagkitFinding/v1': `${report.url}#${f.id}` },
      properties: { url: report.url, finalUrl: report.finalUrl, evidence: f.evidence },
    })),
  );
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0' as const,
    runs: [
      {
        tool: {
          driver: {
            name: 'etagkit check',
            ...(options.version ? { version: options.version } : {}),
            informationUri: 'https://www.npmjs.com/package/etagkit',
            rules,
          },
        },
        results,
      },
    ],
  };
}

function location(report: Report, source: UrlSource | undefined) {
  if (source)
    return {
      physicalLocation: { artifactLocation: { uri: source.file }, region: { startLine: source.line } },
      logicalLocations: [{ fullyQualifiedName: report.url, kind: 'resource' }],
    };
  return { physicalLocation: { artifactLocation: { uri: report.url } } };
}
