/**
 * The timeline: checks, 304s, changes and errors over the whole history, and the bytes the monitor received
 * against what a poller without validators would have — two uPlot charts sharing one time axis. Drag to zoom,
 * scroll to zoom, Shift+drag to pan, double-click to see everything again.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import type { Timeline } from '../data.ts';
import { bytes, duration, percent } from './format.ts';
import { ErrorNote } from './parts.tsx';
import { usePoll } from './poll.ts';

export function TimelineView({ onUnauthorized }: { onUnauthorized: () => void }) {
  const { data, error } = usePoll<Timeline>('/api/timeline');
  const [range, setRange] = useState<{ min: number; max: number } | undefined>();
  return (
    <>
      <h1>Timeline</h1>
      <p class="subline">
        Every watch together. Drag across a chart to zoom in, scroll to zoom, Shift+drag to pan, double-click
        to see everything.
      </p>
      {error && <ErrorNote error={error} onUnauthorized={onUnauthorized} />}
      {data && data.time.length === 0 && <p class="empty">No check recorded yet.</p>}
      {data && data.time.length > 0 && (
        <>
          <Totals data={data} range={range} />
          <Charts data={data} onRange={setRange} />
        </>
      )}
      {!data && !error && <p class="loading">Loading…</p>}
    </>
  );
}

/** Sums over the buckets in view. */
function Totals({ data, range }: { data: Timeline; range: { min: number; max: number } | undefined }) {
  let checks = 0;
  let notModified = 0;
  let changes = 0;
  let errors = 0;
  let received = 0;
  let unconditional = 0;
  data.time.forEach((t, i) => {
    if (range && (t < range.min - data.bucketMs || t > range.max)) return;
    checks += data.checks[i]!;
    notModified += data.notModified[i]!;
    changes += data.changes[i]!;
    errors += data.errors[i]!;
    received += data.bytes[i]!;
    unconditional += data.unconditionalBytes[i]!;
  });
  return (
    <p class="totals" data-testid="timeline-totals">
      {range ? 'In view' : 'All history'} ({duration(data.bucketMs)} buckets):{' '}
      <strong>{checks.toLocaleString('en')}</strong> checks,{' '}
      <strong>{checks ? percent(notModified / checks) : '—'}</strong> answered 304, <strong>{changes}</strong>{' '}
      changes, <strong>{errors}</strong> errors. Received <strong>{bytes(received)}</strong> where polling
      without validators would have received <strong>{bytes(unconditional)}</strong>
      {unconditional > 0 && ` (${percent(Math.max(0, 1 - received / unconditional))} less)`}.
    </p>
  );
}

const COLORS = {
  checks: '#64748b',
  notModified: '#15803d',
  changes: '#b45309',
  errors: '#b91c1c',
  bytes: '#1d4ed8',
  unconditional: '#6b7280',
};

function Charts({
  data,
  onRange,
}: {
  data: Timeline;
  onRange: (r: { min: number; max: number } | undefined) => void;
}) {
  const activity = useRef<HTMLDivElement>(null);
  const traffic = useRef<HTMLDivElement>(null);
  const plots = useRef<uPlot[]>([]);
  const latest = useRef(data);
  const zoomed = useRef(false);
  latest.current = data;

  // New data keeps the zoom the person chose; unzoomed charts grow with the history.
  useEffect(() => {
    const [a, b] = plots.current;
    if (!a || !b) return;
    a.setData([data.time, data.checks, data.notModified, data.changes, data.errors], !zoomed.current);
    b.setData([data.time, data.bytes, data.unconditionalBytes], !zoomed.current);
  }, [data]);

  useEffect(() => {
    const data = latest.current;
    const width = () => activity.current!.clientWidth;
    const bars = uPlot.paths.bars!({ size: [0.8, 24] });
    let syncing = false;
    const follow = (self: uPlot, key: string) => {
      if (key !== 'x' || syncing) return;
      syncing = true;
      const { min, max } = self.scales.x!;
      for (const other of plots.current) if (other !== self) other.setScale('x', { min: min!, max: max! });
      syncing = false;
      const shown = latest.current.time;
      zoomed.current = !(min! <= shown[0]! && max! >= shown.at(-1)!);
      onRange(zoomed.current ? { min: min!, max: max! } : undefined);
    };
    const common = (title: string): Partial<uPlot.Options> => ({
      title,
      width: width(),
      height: 240,
      ms: 1,
      scales: { x: { time: true } },
      cursor: { drag: { x: true, y: false }, sync: { key: 'etagkit-timeline' } },
      hooks: { setScale: [follow], ready: [panAndWheel] },
      legend: { live: true },
    });
    const a = new uPlot(
      {
        ...common('Checks per bucket'),
        series: [
          {},
          { label: 'Checks', stroke: COLORS.checks, width: 1.5, fill: 'rgba(100,116,139,0.08)' },
          { label: 'Answered 304', stroke: COLORS.notModified, width: 1.5, dash: [6, 3] },
          {
            label: 'Changes',
            stroke: COLORS.changes,
            fill: 'rgba(180,83,9,0.55)',
            paths: bars,
            points: { show: false },
          },
          {
            label: 'Errors',
            stroke: COLORS.errors,
            fill: 'rgba(185,28,28,0.6)',
            paths: bars,
            points: { show: false },
          },
        ],
        axes: [{}, { label: 'checks', size: 56 }],
      } as uPlot.Options,
      [data.time, data.checks, data.notModified, data.changes, data.errors],
      activity.current!,
    );
    const b = new uPlot(
      {
        ...common('Bytes received: the monitor vs polling without validators'),
        series: [
          {},
          {
            label: 'Monitor',
            stroke: COLORS.bytes,
            width: 2,
            fill: 'rgba(29,78,216,0.12)',
            value: (_u, v) => (v == null ? '—' : bytes(v)),
          },
          {
            label: 'Without validators',
            stroke: COLORS.unconditional,
            width: 1.5,
            dash: [4, 4],
            value: (_u, v) => (v == null ? '—' : bytes(v)),
          },
        ],
        axes: [{}, { label: 'bytes', size: 64, values: (_u, ticks) => ticks.map((t) => bytes(t)) }],
      } as uPlot.Options,
      [data.time, data.bytes, data.unconditionalBytes],
      traffic.current!,
    );
    plots.current = [a, b];
    const resize = new ResizeObserver(() => {
      for (const p of plots.current) p.setSize({ width: width(), height: 240 });
    });
    resize.observe(activity.current!);
    return () => {
      resize.disconnect();
      for (const p of plots.current) p.destroy();
      plots.current = [];
    };
  }, [onRange]);

  return (
    <div class="charts">
      <div ref={activity} class="chart" data-testid="chart-activity" />
      <div ref={traffic} class="chart" data-testid="chart-traffic" />
    </div>
  );
}

/** Wheel zoom around the pointer and Shift+drag pan on the x axis, within the data's range. */
function panAndWheel(u: uPlot): void {
  const over = u.over;
  const bounds = () => {
    const xs = u.data[0];
    return { lo: xs[0]!, hi: xs[xs.length - 1]! };
  };
  const clamp = (min: number, max: number) => {
    const { lo, hi } = bounds();
    const span = Math.min(max - min, hi - lo);
    const start = Math.min(Math.max(min, lo), hi - span);
    u.setScale('x', { min: start, max: start + span });
  };
  over.addEventListener(
    'wheel',
    (e) => {
      e.preventDefault();
      const { min, max } = u.scales.x as { min: number; max: number };
      const at = u.posToVal(e.offsetX, 'x');
      const factor = e.deltaY < 0 ? 0.75 : 1 / 0.75;
      clamp(at - (at - min) * factor, at + (max - at) * factor);
    },
    { passive: false },
  );
  over.addEventListener(
    'mousedown',
    (e) => {
      if (!e.shiftKey) return;
      e.stopPropagation(); // not a zoom selection
      const { min, max } = u.scales.x as { min: number; max: number };
      const perPx = (max - min) / over.clientWidth;
      const x0 = e.clientX;
      const move = (m: MouseEvent) => clamp(min - (m.clientX - x0) * perPx, max - (m.clientX - x0) * perPx);
      const up = () => {
        window.removeEventListener('mousemove', move);
        window.removeEventListener('mouseup', up);
      };
      window.addEventListener('mousemove', move);
      window.addEventListener('mouseup', up);
    },
    true,
  );
}
