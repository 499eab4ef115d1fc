/**
 * etagkit/audit: checks how a URL handles validators and conditional requests, in a handful of requests, and
 * says what is wrong and how to fix it.
 */
export { type AuditAllOptions, type AuditOptions, type AuditTarget, audit, auditAll } from './audit.ts';
export { FIXES, type Fix, type Stack } from './fixes.ts';
export { exitCode, formatText, type JsonReport, summary, toJson } from './format.ts';
export type { Finding, Probe, ProbeResponse, Reliance, Report, Trust } from './report.ts';
export { atLeast, FINDING_IDS, type FindingId, RULES, type Rule, type Severity } from './rules.ts';
export { type SarifOptions, toSarif, type UrlSource } from './sarif.ts';
