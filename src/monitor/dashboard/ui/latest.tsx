/** The latest changes over all watches, each with its first changed lines: what changed, at a glance. */
import type { ChangePreview } from '../previews.ts';
import { relativeTime, splitUrl } from './format.ts';
import { watchHref } from './status.ts';

export function LatestChanges({ latest, now }: { latest: ChangePreview[]; now: number }) {
  return (
    <section aria-labelledby="latest-title">
      <h2 id="latest-title">Latest changes</h2>
      <ul class="latest">
        {latest.map((p) => {
          const { host, rest } = splitUrl(p.url);
          return (
            <li key={`${p.url} ${p.version}`} class="change-card" data-testid="change-card">
              <a href={watchHref(p.url)} class="card-title">
                <strong>{host}</strong>
                <span class="path">{rest}</span>
              </a>
              <p class="muted">
                {relativeTime(p.time, now)} · version {p.version}
              </p>
              <ChangeLines preview={p} />
            </li>
          );
        })}
      </ul>
    </section>
  );
}

function ChangeLines({ preview }: { preview: ChangePreview }) {
  if (preview.json && preview.json.length > 0)
    return (
      <ul class="preview json">
        {preview.json.map((c) => (
          <li key={c.path}>
            <code class="path">{c.path || '/'}</code> {c.before !== undefined && <del>{c.before}</del>}
            {c.before !== undefined && c.after !== undefined && ' → '}
            {c.after !== undefined && <ins>{c.after}</ins>}
          </li>
        ))}
      </ul>
    );
  return (
    <div class="preview">
      {preview.removed.map((line, i) => (
        <del key={`d${i}`}>{line || ' '}</del>
      ))}
      {preview.added.map((line, i) => (
        <ins key={`i${i}`}>{line || ' '}</ins>
      ))}
      {preview.more > 0 && <span class="muted">and {preview.more} more changed lines</span>}
      {preview.removed.length + preview.added.length === 0 && (
        <span class="muted">{preview.kind} content changed</span>
      )}
    </div>
  );
}
