/** What the checks look at: the probes of one audit, by name, and the first 200's validators. */
import type { HeaderLines } from '../../client/policy.ts';
import type { HeaderList } from '../http1.ts';
import type { Validators } from '../probes.ts';
import type { Probe, ProbeResponse } from '../report.ts';

export interface Observations {
  /** The first GET that answered 200 (after redirects). */
  baseline: Probe & { response: ProbeResponse };
  probes: ReadonlyMap<string, Probe>;
  validators: Validators;
  /** The auditor's clock (ms), for Last-Modified when the response has no usable Date. */
  now: number;
}

/** The probe named `name` when it was sent and answered completely. */
export function answered(o: Observations, name: string): (Probe & { response: ProbeResponse }) | undefined {
  const probe = o.probes.get(name);
  return probe?.response && !probe.fault ? (probe as Probe & { response: ProbeResponse }) : undefined;
}

/** Header lines with lower-case names, the shape `client/policy.ts` reads. */
export function lines(headers: HeaderList): HeaderLines {
  return headers.map(([n, v]) => [n.toLowerCase(), v] as const);
}

/** A value quoted for a message, cut so that a hostile header cannot flood the report. */
export function shown(value: string): string {
  return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
}

/** The first pair of items (in order) that passes `test`. */
export function firstPair<T>(items: readonly T[], test: (a: T, b: T) => boolean): [T, T] | undefined {
  for (let i = 0; i < items.length; i++)
    for (let j = i + 1; j < items.length; j++) if (test(items[i]!, items[j]!)) return [items[i]!, items[j]!];
  return undefined;
}
