/**
 * A side-by-side HTTP table: every cell (a server process and a request) is warmed up, then measured once per
 * interleaved round, for req/s and for the server's CPU time per request. With the load generator on the same
 * cores as the server, req/s of a fast server is often autocannon's ceiling, not the server's; CPU per request
 * is what the server itself costs, and is what targets against fast servers are stated in.
 */
import type { Settings } from './bench.ts';
import { load } from './load.ts';
import { interleave, pairedRatio, type Spread, spread } from './rounds.ts';

export interface Cell {
  /** Unique within the table, e.g. `etagkit serve · 1k.bin 304`. */
  name: string;
  url: string;
  headers?: Record<string, string>;
  expectStatus: number;
  /** The process whose CPU time is sampled (one process per server: nginx runs with `master_process off`). */
  serverPid: number;
}

export interface CellRounds {
  /** One value per round, in round order. */
  requestsPerSecond: number[];
  /** Server CPU µs per request; NaN where /proc is missing. */
  cpuMicros: number[];
  serverCpuShare: number[];
  generatorCpuShare: number[];
}

export class Measured {
  readonly rounds: Map<string, CellRounds>;

  constructor(rounds: Map<string, CellRounds>) {
    this.rounds = rounds;
  }

  private of(name: string): CellRounds {
    const cell = this.rounds.get(name);
    if (!cell) throw new Error(`no cell "${name}"; measured: ${[...this.rounds.keys()].join(', ')}`);
    return cell;
  }

  rps(name: string): Spread {
    return spread(this.of(name).requestsPerSecond);
  }

  cpu(name: string): Spread | undefined {
    const values = this.of(name).cpuMicros;
    return values.some(Number.isNaN) ? undefined : spread(values);
  }

  /** a ÷ b in req/s, round by round. */
  rpsRatio(a: string, b: string): Spread {
    return pairedRatio(this.of(a).requestsPerSecond, this.of(b).requestsPerSecond);
  }

  /** a ÷ b in server CPU per request, round by round (below 1: a costs less). */
  cpuRatio(a: string, b: string): Spread | undefined {
    if (!this.cpu(a) || !this.cpu(b)) return undefined;
    return pairedRatio(this.of(a).cpuMicros, this.of(b).cpuMicros);
  }

  /**
   * One sentence on who was the bottleneck: autocannon's share of a core and the servers'. A server well under
   * one core while autocannon is near one is waiting for the load generator: read its CPU column, not its req/s.
   */
  bottleneck(): string {
    const all = [...this.rounds.values()];
    const gen = spread(all.flatMap((c) => c.generatorCpuShare));
    const server = all.flatMap((c) => c.serverCpuShare).filter((x) => !Number.isNaN(x));
    const pct = (s: Spread) => `${Math.round(s.low * 100)}–${Math.round(s.high * 100)} %`;
    return (
      `autocannon used ${pct(gen)} of a core` +
      (server.length ? `, the servers ${pct(spread(server))} (100 % = one core busy all the time)` : '')
    );
  }
}

/** Measures every cell in `rounds` interleaved rounds after a warm-up of each; `label` names the progress lines. */
export async function measureCells(cells: readonly Cell[], s: Settings, label: string): Promise<Measured> {
  const byName = new Map(cells.map((cell) => [cell.name, cell]));
  if (byName.size !== cells.length) throw new Error(`${label}: two cells have the same name`);
  const run = (name: string, seconds: number) => {
    const cell = byName.get(name)!;
    return load(cell.url, {
      headers: cell.headers,
      expectStatus: cell.expectStatus,
      seconds,
      connections: s.connections,
      serverPid: cell.serverPid,
    }).catch((error: Error) => {
      throw new Error(`${label}, cell "${name}": ${error.message}`);
    });
  };
  const measured = await interleave([...byName.keys()], {
    rounds: s.rounds,
    warmup: (name) => run(name, s.warmupSeconds),
    measure: (name) => run(name, s.seconds),
    onRound: (round) =>
      process.stderr.write(`${label}: round ${round + 1}/${s.rounds}, ${cells.length} cells\n`),
  });
  const rounds = new Map<string, CellRounds>();
  for (const [name, results] of measured) {
    rounds.set(name, {
      requestsPerSecond: results.map((r) => r.requestsPerSecond),
      cpuMicros: results.map((r) => r.serverMicrosPerRequest ?? Number.NaN),
      serverCpuShare: results.map((r) => r.serverCpuShare ?? Number.NaN),
      generatorCpuShare: results.map((r) => r.generatorCpuShare),
    });
  }
  return new Measured(rounds);
}

/** The sentence every HTTP table starts with: how it was measured. */
export function describeHttp(s: Settings): string {
  return (
    `autocannon (in the bench process), ${s.connections} connections, loopback; each server in its own process; ` +
    `${s.rounds} interleaved rounds of ${s.seconds} s per cell, order rotated each round, after ${s.warmupSeconds} s ` +
    `of warm-up per cell; median (lowest–highest round). Ratios are taken round by round. Server CPU = user + ` +
    `system time of the server process (all threads, /proc/PID/stat) over exactly each measured run, divided by ` +
    `the responses in it.`
  );
}
