/** Durations written the way people write them in options and watch files: `500ms`, `30s`, `5m`, `2h`, `1d`. */

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Milliseconds for `500ms`, `30s`, `5m`, `2h`, `1d` (a bare number is seconds), or undefined when malformed. */
export function parseDurationMs(value: string): number | undefined {
  const m = /^(\d{1,9}(?:\.\d{1,3})?)(ms|s|m|h|d)?$/.exec(value);
  return m ? Math.round(Number(m[1]) * UNITS[m[2] ?? 's']!) : undefined;
}
