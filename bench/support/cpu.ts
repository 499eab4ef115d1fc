/**
 * CPU time of another process, read from Linux's `/proc/PID/stat` (utime + stime of all its threads, including
 * threads that have exited), so a server's cost can be sampled from outside without its cooperation — nginx
 * included. The kernel keeps these in clock ticks (10 ms at the usual 100 Hz): over a window of a second or more
 * of a busy server that is a percent or two, below the machine's noise.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

let ticksPerSecond: number | undefined;

function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100; // Linux's USER_HZ on every common architecture
    }
  }
  return ticksPerSecond;
}

/**
 * User + system CPU time that process `pid` has used so far, in microseconds; `undefined` when the platform has
 * no `/proc` (macOS, Windows) or the process is gone.
 */
export function cpuTimeMicros(pid: number): number | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may hold spaces or ')': count fields after its last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // proc(5): field 14 is utime, 15 stime; fields[0] here is field 3 (state).
  const ticks = Number(fields[14 - 3]) + Number(fields[15 - 3]);
  return Number.isFinite(ticks) ? (ticks * 1e6) / clockTicks() : undefined;
}
