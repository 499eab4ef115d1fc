/** Small pieces shared by the views: status badges, the sparkline, errors, figures. */
import type { ComponentChildren } from 'preact';
import { useEffect } from 'preact/hooks';
import type { ApiError } from './api.ts';
import { SPARK_BUCKETS, STATUS_LABEL, type Status } from './status.ts';

const ICON: Record<Status, string> = { changed: '●', error: '▲', unreliable: '◆', ok: '✓', pending: '○' };

export function StatusBadge({ status, paused }: { status: Status; paused?: boolean }) {
  return (
    <span class="badges">
      <span class={`badge ${status}`} data-status={status}>
        <span aria-hidden="true">{ICON[status]}</span> {STATUS_LABEL[status]}
      </span>
      {paused && <span class="badge paused">Paused</span>}
    </span>
  );
}

/** Changes per 6 hours over the last 7 days; today on the right. */
export function Sparkline({ buckets }: { buckets: number[] }) {
  const total = buckets.reduce((a, b) => a + b, 0);
  const max = Math.max(1, ...buckets);
  const w = 3;
  const gap = 1;
  const h = 18;
  return (
    <svg
      class="spark"
      width={SPARK_BUCKETS * (w + gap)}
      height={h + 2}
      role="img"
      aria-label={`${total} change${total === 1 ? '' : 's'} in the last 7 days`}
    >
      <title>{`${total} change${total === 1 ? '' : 's'} in the last 7 days (6-hour bars, today on the right)`}</title>
      <line x1="0" x2={SPARK_BUCKETS * (w + gap)} y1={h + 1} y2={h + 1} class="base" />
      {buckets.map((n, i) =>
        n === 0 ? null : (
          <rect
            key={i}
            x={i * (w + gap)}
            width={w}
            y={h + 1 - Math.max(3, (n / max) * h)}
            height={Math.max(3, (n / max) * h)}
          />
        ),
      )}
    </svg>
  );
}

/** An API error in words; a 401 hands over to the token prompt. */
export function ErrorNote({ error, onUnauthorized }: { error: ApiError; onUnauthorized: () => void }) {
  useEffect(() => {
    if (error.status === 401) onUnauthorized();
  }, [error, onUnauthorized]);
  return (
    <p class="note error" role="alert">
      {error.message}
    </p>
  );
}

export function Figure({ label, value, hint }: { label: string; value: ComponentChildren; hint?: string }) {
  return (
    <div class="figure" title={hint}>
      <dt>{label}</dt>
      <dd>{value}</dd>
    </div>
  );
}
