/**
 * One watch: where it stands, what changed (the diff of any two versions), how far its validators are trusted
 * and which ones the server sent, and every check with the reason it decided as it did. With a running monitor:
 * pause, resume, change the interval, remove.
 */
import { useState } from 'preact/hooks';
import type { WatchDetail } from '../data.ts';
import { config, send } from './api.ts';
import { DiffSection } from './diff.tsx';
import { bytes, duration, explainCheck, percent, relativeTime, splitUrl } from './format.ts';
import { ErrorNote, Figure, StatusBadge } from './parts.tsx';
import { useNow, usePoll } from './poll.ts';
import { statusOf } from './status.ts';

export function WatchView({ url, onUnauthorized }: { url: string; onUnauthorized: () => void }) {
  const { data, error, refresh } = usePoll<WatchDetail>(`/api/watch?url=${encodeURIComponent(url)}`);
  useNow();
  const now = Date.now();
  const { host, rest } = splitUrl(url);
  return (
    <>
      <p class="crumbs">
        <a href="#/">← All watches</a>
      </p>
      <header class="watch-head">
        <h1>
          <span class="host">{host}</span>
          <span class="path">{rest}</span>
        </h1>
        <a class="external" href={url} target="_blank" rel="noreferrer noopener">
          Open the page ↗
        </a>
      </header>
      {error && <ErrorNote error={error} onUnauthorized={onUnauthorized} />}
      {data && <Loaded data={data} now={now} refresh={refresh} onUnauthorized={onUnauthorized} />}
      {!data && !error && <p class="loading">Loading…</p>}
    </>
  );
}

function Loaded({
  data,
  now,
  refresh,
  onUnauthorized,
}: {
  data: WatchDetail;
  now: number;
  refresh: () => void;
  onUnauthorized: () => void;
}) {
  const s = data.state;
  const lastChangeAt = s.version > 1 ? (s.lastChangeAt ?? null) : null;
  return (
    <>
      <div class="watch-status">
        <StatusBadge status={statusOf({ health: data.health, lastChangeAt }, now)} paused={data.paused} />
        {data.health === 'error' && data.checks[0]?.error && (
          <span class="row-error">{data.checks[0].error}</span>
        )}
      </div>
      <dl class="figures">
        <Figure label="Last change" value={relativeTime(lastChangeAt, now)} />
        <Figure label="Last check" value={relativeTime(s.lastCheckAt, now)} />
        <Figure label="Version" value={s.version} />
        <Figure label="Checks" value={s.checks.toLocaleString('en')} />
        <Figure label="Answered 304" value={s.checks ? percent(s.notModified / s.checks) : '—'} />
        <Figure
          label="Saved"
          value={bytes(s.bytesSaved)}
          hint="Bytes a poller without validators would have downloaded in addition"
        />
        <Figure label="Interval" value={duration(s.intervalMs)} />
        <Figure label="Next check" value={data.paused ? 'paused' : relativeTime(s.nextDueAt, now)} />
      </dl>
      {config.mode === 'live' && <Actions data={data} refresh={refresh} />}
      <DiffSection url={data.url} versions={data.versions} now={now} onUnauthorized={onUnauthorized} />
      <Validators data={data} />
      <History data={data} now={now} />
    </>
  );
}

function Actions({ data, refresh }: { data: WatchDetail; refresh: () => void }) {
  const [every, setEvery] = useState(duration(data.definition.intervalMs).replace(' ', ''));
  const [problem, setProblem] = useState<string | undefined>();
  const [confirming, setConfirming] = useState(false);
  const target = `/api/watches?url=${encodeURIComponent(data.url)}`;
  const act = async (method: string, body?: unknown, after?: () => void) => {
    try {
      await send(method, target, body);
      setProblem(undefined);
      after ? after() : refresh();
    } catch (error) {
      setProblem((error as Error).message);
    }
  };
  return (
    <section class="actions" aria-label="Change this watch">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void act('PATCH', { interval: every.trim() });
        }}
      >
        <label>
          Check every{' '}
          <input
            class="short"
            value={every}
            onInput={(e) => setEvery(e.currentTarget.value)}
            aria-describedby="interval-hint"
          />
        </label>{' '}
        <button type="submit">Save interval</button>
        <span id="interval-hint" class="muted">
          {' '}
          from the next check on
        </span>
      </form>
      <button type="button" onClick={() => act('PATCH', { paused: !data.paused })}>
        {data.paused ? 'Resume' : 'Pause'}
      </button>
      {confirming ? (
        <fieldset class="confirm" aria-label="Confirm removal">
          Remove this watch and its whole history?{' '}
          <button
            type="button"
            class="danger"
            onClick={() => act('DELETE', undefined, () => (location.hash = '#/'))}
          >
            Remove
          </button>{' '}
          <button type="button" onClick={() => setConfirming(false)}>
            Keep
          </button>
        </fieldset>
      ) : (
        <button type="button" class="danger-outline" onClick={() => setConfirming(true)}>
          Remove…
        </button>
      )}
      {problem && (
        <p class="note error" role="alert">
          {problem}
        </p>
      )}
    </section>
  );
}

function trustSentence(data: WatchDetail): string {
  const s = data.state;
  if (s.trust === 'dishonest')
    return 'Not trusted: this server answered 304 (or kept its validator) while the content changed. Every check fetches the whole content.';
  const unstable = s.etagUnstable
    ? ' Its ETag changes while the bytes do not, so If-None-Match is no longer sent; If-Modified-Since and the content digest decide.'
    : '';
  if (s.trust === 'proven')
    return `Trusted: its 304s were confirmed by unconditional fetches (${s.honest} so far). One 304 a day is still verified.${unstable}`;
  if (s.etag === undefined && s.lastModified === undefined)
    return 'The server sends no validator (no ETag, no Last-Modified): every check downloads the whole content and compares digests.';
  return `Not proven yet: each 304 is verified by an unconditional fetch until two are confirmed (${s.honest} so far).${unstable}`;
}

function Validators({ data }: { data: WatchDetail }) {
  return (
    <section aria-labelledby="validators-title">
      <h2 id="validators-title">Validators</h2>
      <p data-testid="trust">{trustSentence(data)}</p>
      {data.validators.length > 0 && (
        <table class="plain">
          <thead>
            <tr>
              <th scope="col">ETag</th>
              <th scope="col">Last-Modified</th>
              <th scope="col" class="num">
                Checks
              </th>
              <th scope="col">Seen</th>
            </tr>
          </thead>
          <tbody>
            {data.validators.map((v) => (
              <tr key={`${v.etag} ${v.lastModified}`}>
                <td>
                  <code>{v.etag ?? '—'}</code>
                </td>
                <td>{v.lastModified ?? '—'}</td>
                <td class="num">{v.checks}</td>
                <td>
                  {new Date(v.firstSeen).toLocaleString()}
                  {v.firstSeen !== v.lastSeen && ` – ${new Date(v.lastSeen).toLocaleString()}`}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function History({ data, now }: { data: WatchDetail; now: number }) {
  return (
    <section aria-labelledby="history-title">
      <h2 id="history-title">Checks</h2>
      {data.checks.length === 0 ? (
        <p class="empty">Not checked yet.</p>
      ) : (
        <table class="history" data-testid="history">
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Result</th>
              <th scope="col">HTTP</th>
              <th scope="col">Why</th>
              <th scope="col" class="num">
                Version
              </th>
              <th scope="col" class="num">
                Bytes
              </th>
            </tr>
          </thead>
          <tbody>
            {data.checks.map((c) => (
              <tr key={c.id} class={`check ${c.status}`}>
                <td class="nowrap" title={new Date(c.time).toLocaleString()}>
                  {relativeTime(Date.parse(c.time), now)}
                </td>
                <td>
                  <span class={`result ${c.status}`}>{c.status}</span>
                  {c.detectedBy && <span class="muted"> by {c.detectedBy}</span>}
                </td>
                <td>
                  {c.httpStatus ?? '—'}
                  {c.truth && (
                    <span class="tag" title="An unconditional fetch verified the server's 304">
                      verified
                    </span>
                  )}
                </td>
                <td class="why">{explainCheck(c)}</td>
                <td class="num">{c.version}</td>
                <td class="num nowrap">{bytes(c.bytes)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
