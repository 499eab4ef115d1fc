/** Problem Details (RFC 9457) bodies for every error the file server and conditional() answer. */

export interface ProblemPlan {
  status: number;
  headers: Record<string, string>;
  body: { kind: 'bytes'; data: Uint8Array };
}

const encoder = new TextEncoder();

/** A complete error response: `application/problem+json` with title, status, detail and any extra members. */
export function problem(
  status: number,
  title: string,
  detail: string,
  extra: Record<string, unknown> = {},
): ProblemPlan {
  const data = encoder.encode(JSON.stringify({ type: 'about:blank', title, status, detail, ...extra }));
  return {
    status,
    headers: {
      'content-type': 'application/problem+json',
      'content-length': String(data.byteLength),
      'cache-control': 'no-store',
    },
    body: { kind: 'bytes', data },
  };
}
