/** Media types for the file server, by lower-case extension. Text types carry `charset=utf-8`. */
const TYPES: ReadonlyMap<string, string> = new Map(
  Object.entries({
    html: 'text/html; charset=utf-8',
    htm: 'text/html; charset=utf-8',
    css: 'text/css; charset=utf-8',
    js: 'text/javascript; charset=utf-8',
    mjs: 'text/javascript; charset=utf-8',
    json: 'application/json; charset=utf-8',
    map: 'application/json; charset=utf-8',
    webmanifest: 'application/manifest+json; charset=utf-8',
    txt: 'text/plain; charset=utf-8',
    md: 'text/markdown; charset=utf-8',
    csv: 'text/csv; charset=utf-8',
    xml: 'application/xml; charset=utf-8',
    svg: 'image/svg+xml; charset=utf-8',
    wasm: 'application/wasm',
    png: 'image/png',
    jpg: 'image/jpeg',
    jpeg: 'image/jpeg',
    gif: 'image/gif',
    webp: 'image/webp',
    avif: 'image/avif',
    ico: 'image/x-icon',
    pdf: 'application/pdf',
    woff: 'font/woff',
    woff2: 'font/woff2',
    ttf: 'font/ttf',
    otf: 'font/otf',
    mp3: 'audio/mpeg',
    ogg: 'audio/ogg',
    wav: 'audio/wav',
    mp4: 'video/mp4',
    webm: 'video/webm',
    zip: 'application/zip',
    gz: 'application/gzip',
    tar: 'application/x-tar',
  }),
);

const DEFAULT_TYPE = 'application/octet-stream';

/**
 * The media type for a file name, `application/octet-stream` when unknown. A Map, not an object: an extension
 * such as `constructor` or `__proto__` must not find Object.prototype's members.
 */
export function contentTypeFor(fileName: string): string {
  const dot = fileName.lastIndexOf('.');
  if (dot < 0) return DEFAULT_TYPE;
  return TYPES.get(fileName.slice(dot + 1).toLowerCase()) ?? DEFAULT_TYPE;
}

/** Whether compressing this media type is worth it (text and text-like formats; not images, fonts, archives). */
export function isCompressible(contentType: string): boolean {
  return (
    contentType.startsWith('text/') ||
    /^application\/(json|javascript|xml|wasm|manifest\+json)/.test(contentType) ||
    contentType.startsWith('image/svg+xml')
  );
}
