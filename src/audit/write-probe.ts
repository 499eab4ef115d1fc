/**
 * Write probes, for a URL the user names (`--write-probe URL`): does the server refuse a stale If-Match (412,
 * RFC 9110 §13.1.1), treat `If-None-Match: *` as create-only (§13.1.2), demand a precondition (428, RFC 6585
 * §3), accept the current tag? Every PUT carries the bytes the resource already has, so a write that slips
 * through changes nothing but its metadata; at the end the original is checked and, if need be, put back (or
 * the resource the probes created is deleted).
 */
import { parseEntityTag } from '../core/index.ts';
import type { HeaderList } from './http1.ts';
import { NO_SUCH_TAG } from './probes.ts';
import { evidence, type Finding, field, finding, type Probe } from './report.ts';

export interface WriteSpec {
  name: string;
  purpose: string;
  method: string;
  headers: HeaderList;
  body?: Uint8Array;
}

export type SendWrite = (
  spec: WriteSpec,
  keepBody: boolean,
) => Promise<{ probe: Probe; body?: Buffer | undefined }>;

/** Larger resources are not written: the probe must hold the original to put it back. */
export const MAX_RESTORABLE_BYTES = 1024 * 1024;

const IDENTITY: HeaderList = [['Accept-Encoding', 'identity']];
const SHOWN = ['etag', 'content-type', 'location'];

interface Original {
  body: Uint8Array;
  sha256: string;
  headers: HeaderList;
}

export async function runWriteProbes(url: URL, send: SendWrite): Promise<Finding[]> {
  const read = await send(
    {
      name: 'write-read',
      purpose: 'GET: what the write probes must restore',
      method: 'GET',
      headers: IDENTITY,
    },
    true,
  );
  const r = read.probe.response;
  if (read.probe.fault || !r) return [failed(`could not read ${url.href} first`, read.probe)];
  if (r.status === 404 || r.status === 410) return probeCreate(send);
  if (r.status !== 200)
    return [failed(`GET answered ${r.status}; write probes need a URL that answers 200 or 404`, read.probe)];
  if (r.truncated || r.bodyBytes > MAX_RESTORABLE_BYTES)
    return [
      failed(
        `the resource is larger than ${MAX_RESTORABLE_BYTES} bytes, too large to restore: no write was sent`,
        read.probe,
      ),
    ];
  const contentType = field(r.headers, 'content-type');
  return probeReplace(send, {
    body: read.body ?? new Uint8Array(),
    sha256: r.bodySha256,
    headers: contentType ? [['Content-Type', contentType]] : [],
  });
}

/** The resource exists: every PUT sends its own bytes back. */
async function probeReplace(send: SendWrite, original: Original): Promise<Finding[]> {
  const out: Finding[] = [];
  const put = (name: string, purpose: string, headers: HeaderList) =>
    send(
      { name, purpose, method: 'PUT', headers: [...original.headers, ...headers], body: original.body },
      false,
    );

  const stale = await put('write-stale-if-match', 'PUT with a stale If-Match: expect 412', [
    ['If-Match', NO_SUCH_TAG],
  ]);
  if (notSupported(stale.probe)) return [unsupported(stale.probe)];
  if (is2xx(stale.probe)) out.push(lostUpdate(stale.probe));
  const createOnly = await put(
    'write-create-only',
    'PUT with If-None-Match: * on an existing resource: expect 412',
    [['If-None-Match', '*']],
  );
  if (is2xx(createOnly.probe)) out.push(overwritten(createOnly.probe));
  const bare = await put('write-unconditional', 'PUT with no precondition: expect 428', []);
  if (is2xx(bare.probe)) out.push(unguarded(bare.probe));

  const written = [stale.probe, createOnly.probe, bare.probe];
  const tag = await currentTag(send);
  if (tag && !parseEntityTag(tag)?.weak) {
    const current = await put('write-current-if-match', 'PUT with If-Match: the current tag: expect 2xx', [
      ['If-Match', tag],
    ]);
    written.push(current.probe);
    if (current.probe.response?.status === 412)
      out.push(
        finding(
          'write-if-match-rejected',
          `PUT with If-Match: ${tag}, the tag GET just sent, got 412`,
          evidence(current.probe, SHOWN),
        ),
      );
  }
  out.push(...missingTag(written));
  out.push(...(await restore(send, original)));
  return out;
}

/** The resource does not exist: create it once with If-None-Match: *, probe, then delete it. */
async function probeCreate(send: SendWrite): Promise<Finding[]> {
  const body = new TextEncoder().encode('etagkit check: write probe (deleted when the probe ends)\n');
  const put = (name: string, purpose: string, headers: HeaderList) =>
    send(
      { name, purpose, method: 'PUT', headers: [['Content-Type', 'text/plain'], ...headers], body },
      false,
    );
  const out: Finding[] = [];
  const create = await put('write-create', 'PUT with If-None-Match: * on a missing resource: expect 201', [
    ['If-None-Match', '*'],
  ]);
  if (notSupported(create.probe)) return [unsupported(create.probe)];
  if (!is2xx(create.probe))
    return [failed(`a create-only PUT got ${create.probe.response?.status ?? 'no answer'}`, create.probe)];
  const again = await put('write-create-only', 'the same create-only PUT again: expect 412', [
    ['If-None-Match', '*'],
  ]);
  if (is2xx(again.probe)) out.push(overwritten(again.probe));
  const stale = await put('write-stale-if-match', 'PUT with a stale If-Match: expect 412', [
    ['If-Match', NO_SUCH_TAG],
  ]);
  if (is2xx(stale.probe)) out.push(lostUpdate(stale.probe));
  const bare = await put('write-unconditional', 'PUT with no precondition: expect 428', []);
  if (is2xx(bare.probe)) out.push(unguarded(bare.probe));
  out.push(...missingTag([create.probe, again.probe, stale.probe, bare.probe]));

  const tag = await currentTag(send);
  const removed = await send(
    {
      name: 'write-delete',
      purpose: 'DELETE what the probes created',
      method: 'DELETE',
      headers: tag ? [['If-Match', tag]] : [],
    },
    false,
  );
  const check = await send(
    { name: 'write-verify', purpose: 'GET: expect 404 again', method: 'GET', headers: IDENTITY },
    false,
  );
  const status = check.probe.response?.status;
  if (status !== 404 && status !== 410)
    out.push(
      finding(
        'write-restore-failed',
        `the resource the probes created is still there (DELETE got ${removed.probe.response?.status ?? 'no answer'}): delete it by hand`,
        [...evidence(removed.probe, SHOWN), ...evidence(check.probe, SHOWN)],
      ),
    );
  return out;
}

/** Checks the bytes are the original ones, and puts them back (with If-Match) when they are not. */
async function restore(send: SendWrite, original: Original): Promise<Finding[]> {
  const verify = () =>
    send(
      { name: 'write-verify', purpose: 'GET: expect the original bytes', method: 'GET', headers: IDENTITY },
      false,
    );
  const first = await verify();
  if (first.probe.response?.status === 200 && first.probe.response.bodySha256 === original.sha256) return [];
  const tag = field(first.probe.response?.headers ?? [], 'etag');
  const put = await send(
    {
      name: 'write-restore',
      purpose: 'PUT the original bytes back',
      method: 'PUT',
      headers: [...original.headers, ...(tag ? ([['If-Match', tag]] as HeaderList) : [])],
      body: original.body,
    },
    false,
  );
  const second = await verify();
  if (second.probe.response?.status === 200 && second.probe.response.bodySha256 === original.sha256)
    return [];
  return [
    finding(
      'write-restore-failed',
      `the resource no longer has its original ${original.body.byteLength} bytes, and putting them back failed`,
      [...evidence(put.probe, SHOWN), ...evidence(second.probe, SHOWN)],
    ),
  ];
}

async function currentTag(send: SendWrite): Promise<string | undefined> {
  const head = await send(
    { name: 'write-tag', purpose: 'HEAD: the current tag', method: 'HEAD', headers: IDENTITY },
    false,
  );
  return field(head.probe.response?.headers ?? [], 'etag')?.trim();
}

function is2xx(probe: Probe): boolean {
  const status = probe.response?.status ?? 0;
  return status >= 200 && status < 300;
}

function notSupported(probe: Probe): boolean {
  const status = probe.response?.status;
  return status === 405 || status === 501 || status === 403 || status === 401;
}

function unsupported(probe: Probe): Finding {
  return failed(
    `the server does not accept PUT here (${probe.response!.status}): no write probe could run`,
    probe,
  );
}

function failed(message: string, probe: Probe): Finding {
  return finding('probe-failed', `write probe: ${message}`, evidence(probe, SHOWN));
}

function lostUpdate(probe: Probe): Finding {
  return finding(
    'write-if-match-ignored',
    `PUT with If-Match: ${NO_SUCH_TAG} got ${probe.response!.status}: a writer holding an old version overwrites newer data`,
    evidence(probe, SHOWN),
  );
}

function overwritten(probe: Probe): Finding {
  return finding(
    'write-inm-star-ignored',
    `PUT with If-None-Match: * got ${probe.response!.status} although the resource exists`,
    evidence(probe, SHOWN),
  );
}

function unguarded(probe: Probe): Finding {
  return finding(
    'write-precondition-not-required',
    `PUT with no If-Match got ${probe.response!.status}: two clients editing at once overwrite each other`,
    evidence(probe, SHOWN),
  );
}

/** §9.3.4 lets a PUT response carry the new validator; clients need it to write again without a GET. */
function missingTag(probes: Probe[]): Finding[] {
  const success = probes.find(is2xx);
  if (!success || field(success.response!.headers, 'etag') !== undefined) return [];
  return [
    finding(
      'write-no-etag',
      `a ${success.response!.status} to PUT carried no ETag`,
      evidence(success, SHOWN),
    ),
  ];
}
