/**
 * Differences between two snapshots: a unified text diff (jsdiff, `diff` on npm) and, for JSON, a list of changes
 * by JSON Pointer path (microdiff).
 */
import { createTwoFilesPatch } from 'diff';
import microdiff from 'microdiff';
import { HistoryError, type HistoryStore, type Snapshot, type VersionRef } from './history/store.ts';

/** One difference between two JSON documents, at a JSON Pointer (RFC 6901) path. */
export interface JsonChange {
  path: string;
  op: 'added' | 'removed' | 'changed';
  before?: unknown;
  after?: unknown;
}

export interface SnapshotDiff {
  url: string;
  from: VersionRef;
  to: VersionRef;
  kind: Snapshot['kind'];
  /** Unified diff of the two texts (empty when they are equal); a summary line for binary content. */
  patch: string;
  /** For JSON content: what changed, path by path. */
  changes?: JsonChange[];
}

/**
 * The difference between two versions of a watch's content in a history (default: the one before the current,
 * and the current). Throws HistoryError naming what is missing.
 */
export async function diffVersions(
  store: HistoryStore,
  url: string,
  from?: number,
  to?: number,
): Promise<SnapshotDiff> {
  const versions = await store.versions(url);
  if (versions.length === 0) throw new HistoryError(`no history for ${url}`);
  const find = (n: number) => {
    const ref = versions.find((v) => v.version === n);
    if (!ref)
      throw new HistoryError(
        `${url} has no version ${n} in the history (kept: ${versions.map((v) => v.version).join(', ')})`,
      );
    return ref;
  };
  const newer = to === undefined ? versions[0]! : find(to);
  const older = from === undefined ? (versions.find((v) => v.version < newer.version) ?? newer) : find(from);
  const [a, b] = await Promise.all([store.snapshot(older.digest), store.snapshot(newer.digest)]);
  if (!a || !b) throw new HistoryError(`a snapshot of ${url} is missing from the history`);
  return diffSnapshots(url, older, a, newer, b);
}

/** Longest a text diff may compute before it is given up (pathological inputs make Myers' diff slow). */
const DIFF_TIMEOUT_MS = 2000;

export function diffSnapshots(
  url: string,
  from: VersionRef,
  a: Snapshot,
  to: VersionRef,
  b: Snapshot,
): SnapshotDiff {
  const base = { url, from, to, kind: b.kind };
  if (a.text === undefined || b.text === undefined)
    return {
      ...base,
      patch:
        a.digest === b.digest
          ? ''
          : `binary content: ${a.digest} (${a.size} bytes) → ${b.digest} (${b.size} bytes)\n`,
    };
  const patch = textDiff(
    a.text,
    b.text,
    `version ${from.version} (${from.time})`,
    `version ${to.version} (${to.time})`,
  );
  if (a.kind === 'json' && b.kind === 'json') {
    try {
      return { ...base, patch, changes: jsonDiff(JSON.parse(a.text), JSON.parse(b.text)) };
    } catch {} // not JSON after all (an empty pointer target): the text diff stands alone
  }
  return { ...base, patch };
}

/** A unified diff with three lines of context; empty when the texts are equal. */
export function textDiff(before: string, after: string, beforeLabel: string, afterLabel: string): string {
  if (before === after) return '';
  const patch = createTwoFilesPatch(
    beforeLabel,
    afterLabel,
    withNewline(before),
    withNewline(after),
    undefined,
    undefined,
    {
      context: 3,
      timeout: DIFF_TIMEOUT_MS,
    },
  );
  return patch ?? `the texts differ too much to diff within ${DIFF_TIMEOUT_MS} ms\n`;
}

function withNewline(text: string): string {
  return text === '' || text.endsWith('\n') ? text : `${text}\n`;
}

/** Changes between two JSON values, each at its JSON Pointer path. */
export function jsonDiff(before: unknown, after: unknown): JsonChange[] {
  if (!isContainer(before) || !isContainer(after) || Array.isArray(before) !== Array.isArray(after))
    return Object.is(before, after) || JSON.stringify(before) === JSON.stringify(after)
      ? []
      : [{ path: '', op: 'changed', before, after }];
  return microdiff(before, after).map((d) => {
    const path = d.path
      .map((token) => `/${String(token).replaceAll('~', '~0').replaceAll('/', '~1')}`)
      .join('');
    if (d.type === 'CREATE') return { path, op: 'added', after: d.value };
    if (d.type === 'REMOVE') return { path, op: 'removed', before: d.oldValue };
    return { path, op: 'changed', before: d.oldValue, after: d.value };
  });
}

function isContainer(value: unknown): value is Record<string, unknown> | unknown[] {
  return value !== null && typeof value === 'object';
}
