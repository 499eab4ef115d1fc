import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Metrics } from './metrics.ts';

test('Prometheus text: HELP and TYPE for every metric, labelled counters, a cumulative histogram', () => {
  const m = new Metrics();
  m.request('hit');
  m.request('hit');
  m.request('miss');
  m.upstreamStatus(200);
  m.upstreamStatus('error');
  m.latency(0.003);
  m.latency(0.2);
  m.latency(60);
  const text = m.prometheus();
  assert.match(text, /^etagkit_proxy_requests_total\{outcome="hit"\} 2$/m);
  assert.match(text, /^etagkit_proxy_upstream_requests_total\{status="error"\} 1$/m);
  assert.match(text, /^etagkit_proxy_upstream_latency_seconds_bucket\{le="0.005"\} 1$/m);
  assert.match(text, /^etagkit_proxy_upstream_latency_seconds_bucket\{le="0.25"\} 2$/m);
  assert.match(text, /^etagkit_proxy_upstream_latency_seconds_bucket\{le="\+Inf"\} 3$/m);
  assert.match(text, /^etagkit_proxy_upstream_latency_seconds_count 3$/m);
  for (const line of text.trimEnd().split('\n'))
    assert.match(
      line,
      /^(# (HELP|TYPE) etagkit_proxy_\w+ .+|etagkit_proxy_\w+(\{[a-z]+="[^"]+"\})? [\d.e+-]+)$/,
    );
  assert.ok(text.endsWith('\n'));
});
