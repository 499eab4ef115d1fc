/**
 * Temporary files of PUT bodies: where they live, and how those left by a crashed server are swept away.
 *
 * A body is received into `.etagkit-<pid>-<uuid>.tmp` beside its target (a rename within one directory is atomic
 * and never crosses file systems), then renamed into place: a reader sees the old file or the new one, never part
 * of one. The name starts with a dot, so no request can reach it (dotfiles and links to them are hidden). A server
 * killed mid-upload leaves the file behind; the next writable server removes every one whose process is gone.
 */
import type { Dirent } from 'node:fs';
import { opendir, unlink } from 'node:fs/promises';
import { join } from 'node:path';

const TEMP_NAME = /^\.etagkit-(?:(\d{1,10})-)?[\da-f-]{36}\.tmp$/;

/** A fresh temp file name in `directory`, owned by this process. */
export function tempPath(directory: string): string {
  return join(directory, `.etagkit-${process.pid}-${crypto.randomUUID()}.tmp`);
}

/**
 * Removes the temp files of processes that are no longer running (and unowned ones, from before owners were
 * recorded) from every directory under `root`. Hidden directories (`.git`) and symbolic links are not entered:
 * no write ever lands there. Resolves with the number of files removed.
 */
export async function sweepTempFiles(root: string): Promise<number> {
  let removed = 0;
  const pending = [root];
  for (let directory = pending.pop(); directory !== undefined; directory = pending.pop()) {
    let entries: AsyncIterable<Dirent>;
    try {
      entries = await opendir(directory, { bufferSize: 256 });
    } catch {
      continue; // gone meanwhile, or not ours to read
    }
    for await (const entry of entries) {
      if (entry.isDirectory()) {
        if (!entry.name.startsWith('.')) pending.push(join(directory, entry.name));
        continue;
      }
      const owner = entry.isFile() ? TEMP_NAME.exec(entry.name) : null;
      if (owner && !isRunning(Number(owner[1] ?? 0))) {
        await unlink(join(directory, entry.name)).catch(() => {});
        removed++;
      }
    }
  }
  return removed;
}

/** Whether `pid` is another running process (this one has not written anything yet when it sweeps). */
function isRunning(pid: number): boolean {
  if (pid === 0 || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'; // alive, but another user's
  }
}
