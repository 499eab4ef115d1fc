/**
 * Changes from the page, through the running monitor (so its schedule follows): POST adds a watch, PATCH pauses,
 * resumes or re-times it, DELETE removes it with its history. Bodies are small JSON objects.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseDurationMs } from '../../core/duration.ts';
import { shown } from '../definition.ts';
import type { Monitor } from '../monitor.ts';
import { BadRequest, COMMON_HEADERS, queryOf, required, send, sendProblem } from './http.ts';

/** Largest request body accepted (a watch definition). */
const MAX_BODY = 16 * 1024;

export async function write(monitor: Monitor, method: string, req: IncomingMessage, res: ServerResponse) {
  const url = method === 'POST' ? undefined : required(queryOf(req), 'url');
  const body = method === 'DELETE' ? {} : await readJson(req);
  if (method === 'DELETE') {
    if (!(await monitor.remove(url!))) return sendProblem(res, 404, 'Not found', `${url} is not watched`);
    res.writeHead(204, COMMON_HEADERS).end();
    return;
  }
  if (method === 'POST') {
    const interval = body.interval === undefined ? undefined : duration(body.interval);
    const watch = await monitor.add({ url: stringField(body, 'url'), intervalMs: interval });
    return send(res, 201, 'application/json', JSON.stringify({ url: watch.definition.url }));
  }
  if (body.paused !== undefined && typeof body.paused !== 'boolean')
    throw new BadRequest(`paused must be true or false, not ${echo(body.paused)}`);
  const watch = (await monitor.list()).find((w) => w.definition.url === url);
  if (!watch) return sendProblem(res, 404, 'Not found', `${url} is not watched`);
  if (body.interval !== undefined) {
    const intervalMs = duration(body.interval);
    // The adaptive bounds follow the new interval; `add` keeps the history and would resume: pause again.
    const { minIntervalMs: _, maxIntervalMs: __, ...definition } = watch.definition;
    await monitor.add({ ...definition, intervalMs });
    if (watch.paused && body.paused !== false) await monitor.pause(watch.definition.url);
  }
  if (body.paused === true) await monitor.pause(watch.definition.url);
  if (body.paused === false) await monitor.resume(watch.definition.url);
  res.writeHead(204, COMMON_HEADERS).end();
}

function duration(value: unknown): number {
  const ms = typeof value === 'string' ? parseDurationMs(value.trim()) : undefined;
  if (ms === undefined)
    throw new BadRequest(`interval must be a duration such as 30s, 5m or 2h, not ${echo(value)}`);
  return ms;
}

/** A JSON value as an error quotes it: cut like every other echo, so a 16 KB body does not come back whole. */
function echo(value: unknown): string {
  return shown(typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value)));
}

function stringField(body: Record<string, unknown>, name: string): string {
  const value = body[name];
  if (typeof value !== 'string' || value === '') throw new BadRequest(`${name} is required (a string)`);
  return value;
}

/** A JSON object body of at most MAX_BODY bytes, sent as application/json (so no HTML form can send it). */
async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') throw new BadRequest('send the body as application/json');
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > MAX_BODY) throw new BadRequest(`the body is over ${MAX_BODY} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.byteLength;
    if (size > MAX_BODY) throw new BadRequest(`the body is over ${MAX_BODY} bytes`);
    chunks.push(chunk);
  }
  let body: unknown;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (error) {
    throw new BadRequest(`the body is not JSON: ${(error as Error).message}`);
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    throw new BadRequest('the body must be a JSON object');
  return body as Record<string, unknown>;
}
