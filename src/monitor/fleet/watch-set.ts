/** The watch file as the fleet's watch list: what it names is watched, what it no longer names is paused. */
import type { FleetHistoryStore } from '../history/store.ts';
import { initialState } from '../history/store.ts';
import { firstDue } from '../schedule.ts';
import type { WatchDefinition } from '../types.ts';

/**
 * Adds or updates every definition (a known URL keeps its state and history) and pauses the others, as a single
 * monitor does with its file. Resolves how many were paused.
 */
export async function syncWatchSet(
  store: FleetHistoryStore,
  definitions: readonly WatchDefinition[],
  now: number,
): Promise<{ watched: number; paused: number }> {
  await Promise.all(
    definitions.map((d) =>
      store.saveWatch(d, initialState(d.intervalMs, firstDue(d.url, d.intervalMs, now))),
    ),
  );
  const paused = await store.pauseUnlisted(definitions.map((d) => d.url));
  return { watched: definitions.length, paused };
}
