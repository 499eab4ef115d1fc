/**
 * A unified patch (from the monitor's jsdiff) laid out for display: rows with line numbers, either unified or
 * side by side (removed and added runs paired line by line). Pure; tested in diff-rows.test.ts.
 */
import { parsePatch } from 'diff';

export interface UnifiedRow {
  kind: 'context' | 'removed' | 'added' | 'hunk';
  oldLine?: number;
  newLine?: number;
  text: string;
}

export interface SideRow {
  kind: 'context' | 'changed' | 'hunk';
  left?: { line: number; text: string; removed: boolean };
  right?: { line: number; text: string; added: boolean };
  text?: string;
}

export function unifiedRows(patch: string): UnifiedRow[] {
  const rows: UnifiedRow[] = [];
  for (const file of parsePatch(patch))
    for (const hunk of file.hunks) {
      rows.push({
        kind: 'hunk',
        text: `Lines ${hunk.oldStart}–${hunk.oldStart + Math.max(0, hunk.oldLines - 1)} → ${hunk.newStart}–${hunk.newStart + Math.max(0, hunk.newLines - 1)}`,
      });
      let oldLine = hunk.oldStart;
      let newLine = hunk.newStart;
      for (const line of hunk.lines) {
        const sign = line[0];
        const text = line.slice(1);
        if (sign === '-') rows.push({ kind: 'removed', oldLine: oldLine++, text });
        else if (sign === '+') rows.push({ kind: 'added', newLine: newLine++, text });
        else if (sign === ' ') rows.push({ kind: 'context', oldLine: oldLine++, newLine: newLine++, text });
        // "\ No newline at end of file" carries no line of its own
      }
    }
  return rows;
}

export function sideBySideRows(patch: string): SideRow[] {
  const rows: SideRow[] = [];
  let removed: UnifiedRow[] = [];
  let added: UnifiedRow[] = [];
  const flush = () => {
    for (let i = 0; i < Math.max(removed.length, added.length); i++) {
      const l = removed[i];
      const r = added[i];
      rows.push({
        kind: 'changed',
        ...(l ? { left: { line: l.oldLine!, text: l.text, removed: true } } : {}),
        ...(r ? { right: { line: r.newLine!, text: r.text, added: true } } : {}),
      });
    }
    removed = [];
    added = [];
  };
  for (const row of unifiedRows(patch)) {
    if (row.kind === 'removed') {
      if (added.length > 0) flush(); // a removal after additions starts a new run
      removed.push(row);
    } else if (row.kind === 'added') added.push(row);
    else {
      flush();
      if (row.kind === 'hunk') rows.push({ kind: 'hunk', text: row.text });
      else
        rows.push({
          kind: 'context',
          left: { line: row.oldLine!, text: row.text, removed: false },
          right: { line: row.newLine!, text: row.text, added: false },
        });
    }
  }
  flush();
  return rows;
}
