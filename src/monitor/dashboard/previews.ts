/**
 * "What changed", in a few lines, for the latest changes shown on top of the overview: the first removed and
 * added lines of the diff (or the first JSON changes by path). A version never changes once recorded, so each
 * preview is computed once and kept (a bounded map, oldest dropped first).
 */
import { diffVersions, type JsonChange } from '../diff.ts';
import type { HistoryStore } from '../history/store.ts';

export interface PreviewChange {
  path: string;
  op: JsonChange['op'];
  before?: string | undefined;
  after?: string | undefined;
}

export interface ChangePreview {
  url: string;
  host: string;
  /** The version the content changed to, and when that was seen (ms). */
  version: number;
  time: number;
  removed: string[];
  added: string[];
  /** More changed lines than shown. */
  more: number;
  /** For JSON: the first changes by JSON Pointer path, values as JSON text. */
  json?: PreviewChange[];
  kind: string;
}

const LINES = 3;
const LINE_CHARS = 160;
const KEPT = 500;

export class PreviewCache {
  readonly #store: HistoryStore;
  readonly #kept = new Map<string, ChangePreview | null>();

  constructor(store: HistoryStore) {
    this.#store = store;
  }

  /** The change to `version` of `url`, or null when its versions are no longer in the history. */
  async preview(url: string, version: number): Promise<ChangePreview | null> {
    const key = `${version} ${url}`;
    if (this.#kept.has(key)) return this.#kept.get(key)!;
    let preview: ChangePreview | null = null;
    try {
      const diff = await diffVersions(this.#store, url, undefined, version);
      if (diff.from.version !== diff.to.version) {
        const removed: string[] = [];
        const added: string[] = [];
        let changed = 0;
        for (const line of diff.patch.split('\n')) {
          if (line.startsWith('---') || line.startsWith('+++')) continue;
          if (line.startsWith('-') || line.startsWith('+')) {
            changed++;
            const into = line[0] === '-' ? removed : added;
            if (into.length < LINES) into.push(line.slice(1, 1 + LINE_CHARS));
          }
        }
        preview = {
          url,
          host: new URL(url).host,
          version,
          time: Date.parse(diff.to.time),
          removed,
          added,
          more: Math.max(0, changed - removed.length - added.length),
          kind: diff.kind,
          ...(diff.changes ? { json: diff.changes.slice(0, LINES).map(shorten) } : {}),
        };
      }
    } catch {} // pruned or missing versions: no preview
    this.#kept.set(key, preview);
    if (this.#kept.size > KEPT) this.#kept.delete(this.#kept.keys().next().value!);
    return preview;
  }
}

/** JSON values in a preview are JSON text cut to a line. */
function shorten({ path, op, before, after }: JsonChange): PreviewChange {
  const cut = (v: unknown) => {
    if (v === undefined) return undefined;
    const text = JSON.stringify(v);
    return text.length > LINE_CHARS ? `${text.slice(0, LINE_CHARS)}…` : text;
  };
  return { path, op, before: cut(before), after: cut(after) };
}
