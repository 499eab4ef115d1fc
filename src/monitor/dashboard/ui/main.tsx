/**
 * The dashboard page: a header that says whether the view is live, and three views chosen by the address's
 * fragment — the overview (`#/`), the timeline (`#/timeline`) and one watch (`#/watch/<url>`).
 */
import 'uplot/dist/uPlot.min.css';
import './styles.css';
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { config, pollStats, setToken, takeTokenFromAddress } from './api.ts';
import { percent } from './format.ts';
import { OverviewView } from './overview.tsx';
import { TimelineView } from './timeline.tsx';
import { WatchView } from './watch.tsx';

type Route = { view: 'overview' } | { view: 'timeline' } | { view: 'watch'; url: string };

function parseRoute(hash: string): Route {
  if (hash.startsWith('#/watch/')) return { view: 'watch', url: decodeURIComponent(hash.slice(8)) };
  if (hash === '#/timeline') return { view: 'timeline' };
  return { view: 'overview' };
}

function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const onChange = () => {
      setRoute(parseRoute(location.hash));
      window.scrollTo(0, 0);
    };
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return route;
}

/** "Live", with how the page's own polls were answered: the product's validators at work on itself. */
function LiveStatus() {
  const [, redraw] = useState(0);
  useEffect(() => {
    const listener = () => redraw((n) => n + 1);
    pollStats.listeners.add(listener);
    return () => void pollStats.listeners.delete(listener);
  }, []);
  const { polls, notModified } = pollStats;
  return (
    <p
      class="live"
      title="The page asks for news with If-None-Match; a 304 means nothing changed and no data was sent."
    >
      <span class={`dot ${config.mode === 'live' ? 'on' : 'off'}`} aria-hidden="true" />
      <span>{config.mode === 'live' ? 'Live' : 'Read-only history'}</span>
      {polls > 0 && (
        <span class="muted" data-testid="poll-stats">
          {' · '}
          {polls} polls, {percent(notModified / polls)} answered 304
        </span>
      )}
    </p>
  );
}

function TokenPrompt() {
  const [value, setValue] = useState('');
  return (
    <form
      class="panel token"
      onSubmit={(e) => {
        e.preventDefault();
        setToken(value.trim());
        location.reload();
      }}
    >
      <h2>This dashboard needs its token</h2>
      <p>
        It was started with --ui-token (or ETAGKIT_UI_TOKEN). Enter it to continue; it is kept for this tab
        only.
      </p>
      <label>
        Token{' '}
        <input
          type="password"
          autocomplete="off"
          value={value}
          onInput={(e) => setValue(e.currentTarget.value)}
        />
      </label>{' '}
      <button type="submit">Open</button>
    </form>
  );
}

function App() {
  const route = useRoute();
  const [needToken, setNeedToken] = useState(false);
  const onUnauthorized = () => setNeedToken(true);
  return (
    <>
      <header class="top">
        <a class="brand" href="#/">
          etagkit <span>watch</span>
        </a>
        <nav aria-label="Views">
          <a href="#/" aria-current={route.view === 'overview' ? 'page' : undefined}>
            Overview
          </a>
          <a href="#/timeline" aria-current={route.view === 'timeline' ? 'page' : undefined}>
            Timeline
          </a>
        </nav>
        <LiveStatus />
      </header>
      <main>
        {needToken ? (
          <TokenPrompt />
        ) : route.view === 'watch' ? (
          <WatchView url={route.url} onUnauthorized={onUnauthorized} />
        ) : route.view === 'timeline' ? (
          <TimelineView onUnauthorized={onUnauthorized} />
        ) : (
          <OverviewView onUnauthorized={onUnauthorized} />
        )}
      </main>
    </>
  );
}

takeTokenFromAddress();
const root = document.getElementById('app')!;
root.textContent = ''; // the "Loading…" shown until this script ran
render(<App />, root);
