/**
 * The overview: first a sentence saying what changed, then the latest changes with their first changed lines,
 * then every watch — most urgent first — with search, status and host filters, and sortable columns.
 */
import { useMemo, useState } from 'preact/hooks';
import type { Overview, OverviewRow } from '../data.ts';
import { config, send } from './api.ts';
import { bytes, percent, relativeTime, splitUrl } from './format.ts';
import { LatestChanges } from './latest.tsx';
import { ErrorNote, Figure, Sparkline, StatusBadge } from './parts.tsx';
import { useNow, usePoll } from './poll.ts';
import { STATUS_LABEL, STATUS_ORDER, type Status, sparkBuckets, statusOf, watchHref } from './status.ts';

type SortKey = 'status' | 'url' | 'lastChange' | 'lastCheck' | 'ratio' | 'saved';
type Filter = Status | 'all' | 'paused';
const SHOWN = 300;
const opened = Date.now();

export function OverviewView({ onUnauthorized }: { onUnauthorized: () => void }) {
  const { data, error, refresh } = usePoll<Overview>('/api/overview');
  useNow(); // re-render as time passes: "changed" and "3 min ago" are relative to now
  return (
    <>
      {error && <ErrorNote error={error} onUnauthorized={onUnauthorized} />}
      {data ? (
        <Loaded data={data} now={Date.now()} refresh={refresh} />
      ) : (
        !error && <p class="loading">Loading…</p>
      )}
    </>
  );
}

function Loaded({ data, now, refresh }: { data: Overview; now: number; refresh: () => void }) {
  const rows = useMemo(() => data.rows.map((r) => ({ ...r, status: statusOf(r, now) })), [data, now]);
  const count = (s: Status) => rows.filter((r) => r.status === s).length;
  const changed = count('changed');
  const paused = rows.filter((r) => r.paused).length;
  const t = data.totals;
  return (
    <>
      <section class="summary" aria-labelledby="headline">
        <h1 id="headline" data-testid="headline">
          {rows.length === 0
            ? 'Nothing watched yet'
            : changed === 0
              ? 'Nothing changed in the last 24 hours'
              : `${changed} ${changed === 1 ? 'watch' : 'watches'} changed in the last 24 hours`}
        </h1>
        <p class="subline">
          {rows.length} watched
          {count('error') > 0 && <span class="t-error"> · {count('error')} failing</span>}
          {count('unreliable') > 0 && (
            <span class="t-unreliable"> · {count('unreliable')} with unreliable validators</span>
          )}
          {paused > 0 && <span> · {paused} paused</span>}
        </p>
        <dl class="figures">
          <Figure label="Checks" value={t.checks.toLocaleString('en')} />
          <Figure
            label="Answered 304"
            value={percent(t.notModifiedRatio)}
            hint="Share of checks the servers answered 304 Not Modified: no body sent"
          />
          <Figure label="Transferred" value={bytes(t.bytes)} />
          <Figure
            label="Saved"
            value={bytes(t.bytesSaved)}
            hint="Bytes a poller without validators would have downloaded in addition"
          />
        </dl>
      </section>
      {data.latest.length > 0 && <LatestChanges latest={data.latest} now={now} />}
      {config.mode === 'live' && <AddWatch refresh={refresh} />}
      <WatchTable rows={rows} now={now} />
    </>
  );
}

function AddWatch({ refresh }: { refresh: () => void }) {
  const [url, setUrl] = useState('');
  const [every, setEvery] = useState('');
  const [problem, setProblem] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  return (
    <form
      class="add"
      aria-label="Add a watch"
      onSubmit={async (e) => {
        e.preventDefault();
        setBusy(true);
        try {
          await send('POST', '/api/watches', {
            url: url.trim(),
            ...(every.trim() ? { interval: every.trim() } : {}),
          });
          setUrl('');
          setEvery('');
          setProblem(undefined);
          refresh();
        } catch (error) {
          setProblem((error as Error).message);
        } finally {
          setBusy(false);
        }
      }}
    >
      <label class="grow">
        <span>Watch a URL</span>
        <input
          type="url"
          required
          placeholder="https://example.com/page"
          value={url}
          onInput={(e) => setUrl(e.currentTarget.value)}
        />
      </label>
      <label>
        <span>Every</span>
        <input
          class="short"
          placeholder="5m"
          value={every}
          onInput={(e) => setEvery(e.currentTarget.value)}
        />
      </label>
      <button type="submit" disabled={busy}>
        Add watch
      </button>
      {problem && (
        <p class="note error" role="alert">
          {problem}
        </p>
      )}
    </form>
  );
}

type Row = OverviewRow & { status: Status };

const COMPARE: Record<SortKey, (a: Row, b: Row) => number> = {
  status: (a, b) =>
    STATUS_ORDER.indexOf(a.status) - STATUS_ORDER.indexOf(b.status) ||
    (b.lastChangeAt ?? 0) - (a.lastChangeAt ?? 0) ||
    a.url.localeCompare(b.url),
  url: (a, b) => a.url.localeCompare(b.url),
  lastChange: (a, b) => (b.lastChangeAt ?? 0) - (a.lastChangeAt ?? 0),
  lastCheck: (a, b) => (b.lastCheckAt ?? 0) - (a.lastCheckAt ?? 0),
  ratio: (a, b) => b.notModifiedRatio - a.notModifiedRatio,
  saved: (a, b) => b.bytesSaved - a.bytesSaved,
};

function WatchTable({ rows, now }: { rows: Row[]; now: number }) {
  const [search, setSearch] = useState('');
  const [filter, setFilter] = useState<Filter>('all');
  const [host, setHost] = useState('');
  const [sort, setSort] = useState<{ key: SortKey; reverse: boolean }>({ key: 'status', reverse: false });
  const [showAll, setShowAll] = useState(false);
  const hosts = useMemo(() => [...new Set(rows.map((r) => r.host))].sort(), [rows]);
  const needle = search.trim().toLowerCase();
  const shown = rows
    .filter(
      (r) =>
        (filter === 'all' || (filter === 'paused' ? r.paused : r.status === filter)) &&
        (host === '' || r.host === host) &&
        (needle === '' || r.url.toLowerCase().includes(needle)),
    )
    .sort((a, b) => (sort.reverse ? -1 : 1) * COMPARE[sort.key](a, b));
  const filters: Filter[] = ['all', ...STATUS_ORDER, 'paused'];
  const counts = (f: Filter) =>
    f === 'all'
      ? rows.length
      : f === 'paused'
        ? rows.filter((r) => r.paused).length
        : rows.filter((r) => r.status === f).length;
  const header = (key: SortKey, label: string, className?: string) => (
    <th
      class={className}
      aria-sort={sort.key === key ? (sort.reverse ? 'ascending' : 'descending') : undefined}
      scope="col"
    >
      <button
        type="button"
        onClick={() => setSort(sort.key === key ? { key, reverse: !sort.reverse } : { key, reverse: false })}
      >
        {label}
        <span aria-hidden="true">{sort.key === key ? (sort.reverse ? ' ▲' : ' ▼') : ''}</span>
      </button>
    </th>
  );
  return (
    <section aria-labelledby="watches-title">
      <div class="table-head">
        <h2 id="watches-title">Watches</h2>
        <div class="filters">
          <input
            type="search"
            placeholder="Search URLs"
            aria-label="Search URLs"
            value={search}
            onInput={(e) => setSearch(e.currentTarget.value)}
          />
          <select aria-label="Host" value={host} onChange={(e) => setHost(e.currentTarget.value)}>
            <option value="">All hosts</option>
            {hosts.map((h) => (
              <option key={h} value={h}>
                {h}
              </option>
            ))}
          </select>
        </div>
      </div>
      <fieldset class="chips" aria-label="Filter by status">
        {filters
          .filter((f) => f === 'all' || counts(f) > 0 || f === filter)
          .map((f) => (
            <button
              key={f}
              type="button"
              class={`chip ${f}`}
              aria-pressed={filter === f}
              onClick={() => setFilter(f)}
            >
              {f === 'all' ? 'All' : f === 'paused' ? 'Paused' : STATUS_LABEL[f]}{' '}
              <span class="count">{counts(f)}</span>
            </button>
          ))}
      </fieldset>
      {shown.length === 0 ? (
        <p class="empty">
          {rows.length === 0
            ? 'No watches yet: add one above, or list URLs in the watch file.'
            : 'No watch matches.'}
        </p>
      ) : (
        <table class="watches" data-testid="watches">
          <thead>
            <tr>
              {header('status', 'Status')}
              {header('url', 'URL')}
              {header('lastChange', 'Last change')}
              <th scope="col">Changes, 7 days</th>
              {header('lastCheck', 'Last check')}
              {header('ratio', '304s', 'num')}
              {header('saved', 'Saved', 'num')}
            </tr>
          </thead>
          <tbody>
            {(showAll ? shown : shown.slice(0, SHOWN)).map((r) => {
              const { host: h, rest } = splitUrl(r.url);
              return (
                <tr
                  key={r.url}
                  class={r.lastChangeAt !== null && r.lastChangeAt > opened ? 'fresh' : undefined}
                  data-url={r.url}
                >
                  <td data-label="Status">
                    <StatusBadge status={r.status} paused={r.paused} />
                  </td>
                  <td class="url" data-label="URL">
                    <a href={watchHref(r.url)}>
                      <strong>{h}</strong>
                      <span class="path">{rest}</span>
                    </a>
                    {r.error && <span class="row-error">{r.error}</span>}
                  </td>
                  <td
                    data-label="Last change"
                    title={r.lastChangeAt ? new Date(r.lastChangeAt).toLocaleString() : undefined}
                  >
                    {relativeTime(r.lastChangeAt, now)}
                  </td>
                  <td data-label="Changes, 7 days">
                    <Sparkline buckets={sparkBuckets(r.changeTimes, now)} />
                  </td>
                  <td
                    data-label="Last check"
                    title={r.lastCheckAt ? new Date(r.lastCheckAt).toLocaleString() : undefined}
                  >
                    {relativeTime(r.lastCheckAt, now)}
                  </td>
                  <td class="num" data-label="304s">
                    {r.checks === 0 ? '—' : percent(r.notModifiedRatio)}
                  </td>
                  <td class="num" data-label="Saved">
                    {bytes(r.bytesSaved)}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {!showAll && shown.length > SHOWN && (
        <button type="button" class="more" onClick={() => setShowAll(true)}>
          Show all {shown.length} watches
        </button>
      )}
    </section>
  );
}
