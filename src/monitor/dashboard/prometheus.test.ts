import assert from 'node:assert/strict';
import { test } from 'node:test';
import { initialState } from '../history/store.ts';
import { hostMetrics } from '../metrics.ts';
import { formatPrometheus } from './prometheus.ts';

test('Prometheus text: HELP and TYPE once per metric, one sample per host, label values escaped', () => {
  const watch = (url: string, host: string, checks: number, bytesSaved: number) => ({
    id: 1,
    host,
    paused: false,
    definition: { url } as never,
    state: { ...initialState(60_000, 0), checks, notModified: checks - 1, bytesSaved },
  });
  const text = formatPrometheus(
    hostMetrics([
      watch('http://a.example/', 'a.example', 3, 100),
      watch('http://b.example/', 'b"\\\nc', 2, -50),
    ]),
  );
  assert.ok(text.endsWith('\n'));
  assert.equal(text.match(/^# TYPE etagkit_monitor_checks_total counter$/gm)?.length, 1);
  assert.match(text, /^etagkit_monitor_checks_total\{host="a\.example"\} 3$/m);
  assert.match(text, /^etagkit_monitor_not_modified_total\{host="a\.example"\} 2$/m);
  assert.match(text, /^etagkit_monitor_bytes_saved\{host="b\\"\\\\\\nc"\} -50$/m);
  assert.match(text, /^# TYPE etagkit_monitor_bytes_saved gauge$/m);
  // Every line is a comment or `name{labels} number`.
  for (const line of text.trimEnd().split('\n'))
    assert.match(line, /^(# (HELP|TYPE) \w+ .+|etagkit_monitor_\w+\{host="(?:[^"\\]|\\.)*"\} -?\d+)$/, line);
});
