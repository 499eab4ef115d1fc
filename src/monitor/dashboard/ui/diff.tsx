/** What changed between two versions of a watch: pickers, unified or side-by-side text, JSON changes by path. */
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import type { SnapshotDiff } from '../../diff.ts';
import type { VersionRef } from '../../history/store.ts';
import { sideBySideRows, unifiedRows } from './diff-rows.ts';
import { relativeTime } from './format.ts';
import { ErrorNote } from './parts.tsx';
import { usePoll } from './poll.ts';

const ROWS_SHOWN = 2000;

export function DiffSection({
  url,
  versions,
  now,
  onUnauthorized,
}: {
  url: string;
  versions: VersionRef[];
  now: number;
  onUnauthorized: () => void;
}) {
  const [picked, setPicked] = useState<{ from?: number; to?: number }>({});
  const [layout, setLayout] = useState<'unified' | 'split'>('unified');
  if (versions.length < 2)
    return (
      <section aria-labelledby="diff-title">
        <h2 id="diff-title">What changed</h2>
        <p class="empty">
          {versions.length === 0
            ? 'No content recorded yet.'
            : 'Only one version so far: nothing has changed since the first check.'}
        </p>
      </section>
    );
  const to = picked.to ?? versions[0]!.version;
  const from = picked.from ?? versions.find((v) => v.version < to)?.version ?? versions.at(-1)!.version;
  return (
    <section aria-labelledby="diff-title">
      <div class="section-head">
        <h2 id="diff-title">What changed</h2>
        <div class="diff-controls">
          <VersionSelect
            name="From"
            value={from}
            versions={versions}
            now={now}
            onPick={(v) => setPicked({ from: v, to })}
          />
          <VersionSelect
            name="to"
            value={to}
            versions={versions}
            now={now}
            onPick={(v) => setPicked({ from, to: v })}
          />
          <fieldset class="segmented" aria-label="Layout">
            <button type="button" aria-pressed={layout === 'unified'} onClick={() => setLayout('unified')}>
              Unified
            </button>
            <button type="button" aria-pressed={layout === 'split'} onClick={() => setLayout('split')}>
              Side by side
            </button>
          </fieldset>
        </div>
      </div>
      <DiffBody url={url} from={from} to={to} layout={layout} onUnauthorized={onUnauthorized} />
    </section>
  );
}

function VersionSelect({
  name,
  value,
  versions,
  now,
  onPick,
}: {
  name: string;
  value: number;
  versions: VersionRef[];
  now: number;
  onPick: (version: number) => void;
}) {
  return (
    <label>
      {name}{' '}
      <select
        value={value}
        onChange={(e) => onPick(Number(e.currentTarget.value))}
        aria-label={`${name} version`}
      >
        {versions.map((v) => (
          <option key={v.version} value={v.version}>
            Version {v.version} · {relativeTime(Date.parse(v.time), now)}
          </option>
        ))}
      </select>
    </label>
  );
}

function DiffBody({
  url,
  from,
  to,
  layout,
  onUnauthorized,
}: {
  url: string;
  from: number;
  to: number;
  layout: 'unified' | 'split';
  onUnauthorized: () => void;
}) {
  const { data, error } = usePoll<SnapshotDiff>(
    `/api/diff?url=${encodeURIComponent(url)}&from=${from}&to=${to}`,
  );
  const [all, setAll] = useState(false);
  if (error) return <ErrorNote error={error} onUnauthorized={onUnauthorized} />;
  if (!data) return <p class="loading">Computing the difference…</p>;
  if (data.patch === '')
    return (
      <p class="empty">
        Versions {from} and {to} are the same.
      </p>
    );
  // Binary content, or texts too different to diff in time: the monitor's one-line summary.
  if (!data.patch.includes('\n@@')) return <pre class="diff-note">{data.patch}</pre>;
  return (
    <div data-testid="diff">
      {data.changes && data.changes.length > 0 && <JsonChanges changes={data.changes} />}
      {layout === 'unified' ? (
        <Unified patch={data.patch} all={all} />
      ) : (
        <Split patch={data.patch} all={all} />
      )}
      {!all && unifiedRows(data.patch).length > ROWS_SHOWN && (
        <button type="button" class="more" onClick={() => setAll(true)}>
          Show the whole difference
        </button>
      )}
    </div>
  );
}

function JsonChanges({ changes }: { changes: NonNullable<SnapshotDiff['changes']> }) {
  const show = (v: unknown) => (v === undefined ? '' : JSON.stringify(v));
  return (
    <table class="json-changes" aria-label="JSON changes by path">
      <thead>
        <tr>
          <th scope="col">Path</th>
          <th scope="col">Change</th>
          <th scope="col">Before</th>
          <th scope="col">After</th>
        </tr>
      </thead>
      <tbody>
        {changes.map((c) => (
          <tr key={c.path} class={c.op}>
            <td>
              <code>{c.path || '/'}</code>
            </td>
            <td>{c.op}</td>
            <td>
              <del>{show(c.before)}</del>
            </td>
            <td>
              <ins>{show(c.after)}</ins>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

const SIGN = { removed: '−', added: '+', context: ' ', hunk: '' } as const;

/** Unified: old and new line numbers, a sign, the line. Side by side: number and line, twice. */
function DiffTable({ layout, children }: { layout: 'unified' | 'split'; children: ComponentChildren }) {
  return (
    <table class={`diff ${layout}`}>
      <colgroup>
        <col class="ln" />
        {layout === 'unified' ? <col class="ln" /> : <col />}
        <col class={layout === 'unified' ? 'sign' : 'ln'} />
        <col />
      </colgroup>
      <tbody>{children}</tbody>
    </table>
  );
}

function Unified({ patch, all }: { patch: string; all: boolean }) {
  const rows = unifiedRows(patch);
  return (
    <DiffTable layout="unified">
      {(all ? rows : rows.slice(0, ROWS_SHOWN)).map((r, i) =>
        r.kind === 'hunk' ? (
          <Hunk key={i} text={r.text} />
        ) : (
          <tr key={i} class={r.kind}>
            <td class="ln">{r.oldLine ?? ''}</td>
            <td class="ln">{r.newLine ?? ''}</td>
            <td class="sign" aria-hidden="true">
              {SIGN[r.kind]}
            </td>
            <td class="code">
              {r.kind === 'removed' ? <del>{r.text}</del> : r.kind === 'added' ? <ins>{r.text}</ins> : r.text}
            </td>
          </tr>
        ),
      )}
    </DiffTable>
  );
}

function Split({ patch, all }: { patch: string; all: boolean }) {
  const rows = sideBySideRows(patch);
  return (
    <DiffTable layout="split">
      {(all ? rows : rows.slice(0, ROWS_SHOWN)).map((r, i) =>
        r.kind === 'hunk' ? (
          <Hunk key={i} text={r.text!} />
        ) : (
          <tr key={i}>
            <td class="ln">{r.left?.line ?? ''}</td>
            <td class={`code ${r.left?.removed ? 'removed' : r.left ? 'context' : 'blank'}`}>
              {r.left?.removed ? <del>{r.left.text}</del> : r.left?.text}
            </td>
            <td class="ln">{r.right?.line ?? ''}</td>
            <td class={`code ${r.right?.added ? 'added' : r.right ? 'context' : 'blank'}`}>
              {r.right?.added ? <ins>{r.right.text}</ins> : r.right?.text}
            </td>
          </tr>
        ),
      )}
    </DiffTable>
  );
}

function Hunk({ text }: { text: string }) {
  return (
    <tr class="hunk">
      <td colSpan={4}>{text}</td>
    </tr>
  );
}
