/**
 * How to fix each finding on the stacks people run: Express, Fastify, nginx, Apache httpd, a CDN, and etagkit
 * itself. Findings about the URL or the audit (not the server's validators) have one general hint.
 */
import type { FindingId } from './rules.ts';

export type Stack = 'express' | 'fastify' | 'nginx' | 'apache' | 'cdn' | 'etagkit';
export type Fix = Partial<Record<Stack | 'general', string>>;

export const STACK_NAMES: Record<Stack | 'general', string> = {
  general: 'fix',
  express: 'Express',
  fastify: 'Fastify',
  nginx: 'nginx',
  apache: 'Apache',
  cdn: 'CDN',
  etagkit: 'etagkit',
};

const RESPECT_STRONG =
  'Cloudflare weakens strong ETags when it compresses unless "Respect Strong ETags" is on; other CDNs pass the origin tag through';

export const FIXES: Record<FindingId, Fix> = {
  'fetch-failed': {
    general: 'Check the URL, DNS, the certificate and that the server answers; the message says what failed.',
  },
  'status-not-ok': {
    general: 'Audit a URL that answers 200 (the page or API resource itself, not a login or error page).',
  },
  redirected: {
    general: 'Link to the final URL directly: every client pays a round trip for the redirect first.',
  },
  'probe-failed': {
    general: 'Run the check again; if the same probe fails, the server mishandles that request.',
  },
  'body-truncated': {
    general: 'Nothing to fix on the server; the auditor reads at most the cap of each body.',
  },

  'no-validator': {
    express:
      "res.send()/res.json() add an ETag unless app.set('etag', false); streamed bodies need etagkit/express conditional({ validate }).",
    fastify:
      'Register @fastify/etag, or etagkit/fastify with a validate() that reads a version or updatedAt.',
    nginx:
      'Static files get ETag and Last-Modified by default (etag on;); proxied responses only have what the upstream sends.',
    apache:
      'Static files: FileETag MTime Size, and no "Header unset ETag"; proxied and CGI output needs the application to send them.',
    cdn: 'CDNs pass the origin validators through: fix the origin, or put `etagkit proxy --add-etags=on` in front of it.',
    etagkit:
      'conditional(handler, { validate: () => ({ etag: etagFromVersion(row.updatedAt), lastModified: row.updatedAt }) }).',
  },
  'etag-malformed': {
    express:
      "An ETag is a quoted string: res.set('ETag', formatEntityTag(v)) or an app.set('etag', fn) that returns one.",
    fastify: "reply.header('etag', '\"' + version + '\"'): the double quotes are part of the tag.",
    nginx: 'An add_header ETag must produce the quotes: add_header ETag \'"$version"\';',
    apache: 'A Header set ETag rule must produce the quotes; FileETag produces valid tags by itself.',
    cdn: 'Look for edge rules or workers that rewrite ETag.',
    etagkit: 'formatEntityTag() quotes the tag and refuses characters an entity-tag cannot hold.',
  },
  'weak-etag-only': {
    express:
      "Express makes weak tags by default: app.set('etag', 'strong') (with compression(), see strong-etag-across-encodings).",
    fastify: '@fastify/etag is strong unless { weak: true }.',
    nginx:
      'gzip, sub_filter and ssi weaken strong tags because they change the body; gzip_static on; serves precompressed files with strong tags.',
    apache:
      'mod_deflate keeps tags strong by adding a -gzip suffix; do not weaken them with Header edit rules.',
    cdn: RESPECT_STRONG,
    etagkit: 'etagkit tags are strong, and suffixed per content coding ("v1-gzip").',
  },
  'etag-unstable': {
    express:
      'Express hashes the body: make the rendered bytes deterministic, or derive the tag from a version (etagkit/express validate).',
    fastify:
      '@fastify/etag hashes the payload: make it deterministic, or derive the tag from a version (etagkit/fastify validate).',
    nginx: 'nginx tags are mtime and size: deploy files with the same mtimes to every server (rsync -t).',
    apache: 'FileETag MTime Size (an INode tag differs per server), and the same mtimes on every server.',
    cdn: 'Edges fetching from different origin servers see different tags: make the origin tags identical on every server.',
    etagkit: 'etagFromStats() uses size and mtime, etagFromContent() the bytes: both agree across machines.',
  },
  'etag-reused': {
    express:
      "If the body legitimately varies per request (nonces, timestamps), use weak tags (app.set('etag', 'weak')).",
    fastify:
      'If the payload varies per request, @fastify/etag { weak: true }, or tag the version that the page shows.',
    nginx: 'A tag set with add_header must change with the content; for static files nginx does this itself.',
    apache: 'A tag set with Header set must change with the content.',
    cdn: 'An edge that rewrites the body (minification, injection) must change or weaken the tag.',
    etagkit: 'etagFromContent() hashes the bytes; for a version tag over a varying page use { weak: true }.',
  },
  'last-modified-invalid': {
    express: "res.set('Last-Modified', date.toUTCString()) produces IMF-fixdate.",
    fastify: "reply.header('last-modified', date.toUTCString()).",
    nginx: 'nginx formats Last-Modified of files itself; an add_header Last-Modified must be an IMF-fixdate.',
    apache:
      'Apache formats Last-Modified of files itself; a Header set Last-Modified must be an IMF-fixdate.',
    cdn: 'Look for edge rules that rewrite Last-Modified.',
    etagkit: 'formatHttpDate(date); conditional() formats validate().lastModified for you.',
  },
  'last-modified-future': {
    express:
      'Clamp it: new Date(Math.min(updatedAt, Date.now())).toUTCString(), and keep the server clock synchronised.',
    fastify: 'Clamp Last-Modified to the current time, and keep the server clock synchronised (NTP).',
    nginx: 'Files with mtimes in the future (deploy tools, clock skew): touch them, and synchronise clocks.',
    apache: 'Files with mtimes in the future (deploy tools, clock skew): touch them, and synchronise clocks.',
    cdn: 'The origin clock or file mtimes are ahead: fix them at the origin.',
    etagkit:
      'etagkit serve sends the file mtime: fix files dated in the future; give validate() the real update time.',
  },
  'head-validators-differ': {
    express:
      'Express answers HEAD with the GET route; a separate app.head() route must send the same ETag and Last-Modified.',
    fastify:
      'Fastify answers HEAD from the GET route (exposeHeadRoutes); a custom HEAD route must send the same validators.',
    nginx: 'Static files agree; for proxied apps fix the upstream HEAD handler.',
    apache: 'Static files agree; for proxied apps fix the backend HEAD handler.',
    cdn: 'Some edges answer HEAD from a different cache entry: purge, or fix the origin.',
    etagkit: 'conditional() runs HEAD through the GET path, so both get the same tag.',
  },
  'head-has-body': {
    general:
      'A HEAD response ends after its header section; whatever writes bytes after it (custom socket code, a proxy) must stop.',
  },

  'inm-ignored': {
    express:
      'res.send()/res.json() answer 304 via req.fresh; res.write(), pipes and streams do not: wrap them with etagkit/express conditional().',
    fastify: 'Register @fastify/etag (answers 304 by default) or etagkit/fastify.',
    nginx:
      'Static files answer 304 by default; proxied responses need the upstream to answer 304, or proxy_cache with proxy_cache_revalidate on.',
    apache:
      'Static files answer 304 by default; mod_proxy and CGI backends must evaluate If-None-Match themselves.',
    cdn: 'The edge answers conditionally only from a stored response: let it store (Cache-Control), and make the origin answer 304.',
    etagkit: 'conditional() evaluates RFC 9110 §13.2.2 before your handler runs.',
  },
  'inm-false-304': {
    express:
      'Answer 304 only when a listed tag matches (req.fresh or weakCompare), never because If-None-Match is present.',
    fastify: 'Answer 304 only when a listed tag matches weakly; never on the mere presence of If-None-Match.',
    nginx: 'Look for rules such as if ($http_if_none_match) { return 304; }.',
    apache: 'Look for RewriteRule/If rules that answer 304 on the presence of If-None-Match.',
    cdn: 'Look for edge rules that answer 304 to any conditional request.',
    etagkit: 'evaluatePreconditions() compares each listed tag weakly.',
  },
  'ims-overrides-inm': {
    express: 'When If-None-Match is present, ignore If-Modified-Since (req.fresh does this).',
    fastify: 'When If-None-Match is present, ignore If-Modified-Since.',
    nginx: 'Static files do this right; a proxied upstream must check If-None-Match first.',
    apache: 'Static files do this right; a backend must check If-None-Match first.',
    cdn: 'Edge revalidation logic must let If-None-Match decide when both are present.',
    etagkit: 'evaluatePreconditions() follows the order of §13.2.2.',
  },
  'inm-weak-comparison': {
    express: 'Compare If-None-Match weakly: W/"x" and "x" match (req.fresh does).',
    fastify: 'Compare If-None-Match weakly: strip W/ from both sides before comparing.',
    nginx: 'nginx compares If-None-Match weakly since 1.7.3: upgrade, or fix the upstream that answers.',
    apache: 'A backend must compare If-None-Match weakly.',
    cdn: 'An edge that weakens tags must also accept the weak form back.',
    etagkit: 'weakCompare(); conditional() uses it for If-None-Match.',
  },
  'inm-list-ignored': {
    express:
      'If-None-Match is a list: parse it (parseEntityTagList) instead of comparing the whole field with one tag.',
    fastify: 'If-None-Match is a list: parse it, with a tokenizer since tags may contain commas.',
    nginx: 'nginx parses lists for static files; fix the upstream that answers.',
    apache: 'Apache parses lists for static files; fix the backend that answers.',
    cdn: 'Edge rules must parse If-None-Match as a list.',
    etagkit: 'parseEntityTagList() scans lists with a tokenizer.',
  },
  'inm-star-ignored': {
    express: 'If-None-Match: * matches any current representation: a GET with it gets 304.',
    fastify: 'If-None-Match: * matches any current representation: a GET with it gets 304.',
    nginx: 'nginx handles * for static files; fix the upstream that answers.',
    apache: 'Apache handles * for static files; fix the backend that answers.',
    cdn: 'Edge rules must treat * as matching any stored response.',
    etagkit: 'evaluatePreconditions() handles *.',
  },
  'ims-ignored': {
    express:
      'Compare at one-second resolution: toHttpSeconds(lastModified) <= toHttpSeconds(ims) (mtimes carry milliseconds).',
    fastify: 'Answer 304 when Last-Modified, truncated to seconds, is not after If-Modified-Since.',
    nginx:
      'if_modified_since must not be off (exact is the default; before also accepts later client dates).',
    apache: 'Static files answer it; backends must evaluate If-Modified-Since themselves.',
    cdn: 'The edge answers conditionally only from a stored response; make the origin answer 304.',
    etagkit: 'evaluatePreconditions() compares dates at one-second resolution.',
  },
  'ims-false-304': {
    express:
      'Answer 304 only when Last-Modified is not after If-Modified-Since; an earlier date means the client copy is stale.',
    fastify: 'Answer 304 only when Last-Modified is not after If-Modified-Since.',
    nginx: 'Look for rules answering 304 to any If-Modified-Since.',
    apache: 'Look for rules answering 304 to any If-Modified-Since.',
    cdn: 'Look for edge rules answering 304 to any conditional request.',
    etagkit: 'evaluatePreconditions() compares dates as §13.1.3 says.',
  },
  'ims-invalid-date': {
    express:
      "Express's req.fresh (the fresh module) uses Date.parse, which accepts ISO 8601: etagkit/express accepts only HTTP-dates.",
    fastify:
      'Parse If-Modified-Since with parseHttpDate() (the three formats of §5.6.7), not Date.parse or new Date().',
    nginx: 'Fix the upstream date parsing; nginx itself ignores invalid dates.',
    apache: 'Fix the backend date parsing.',
    cdn: 'Fix the edge rule or origin that parses the date.',
    etagkit: 'parseHttpDate() accepts exactly the three HTTP-date formats.',
  },
  'if-match-ignored': {
    express:
      'res.send() ignores If-Match; etagkit/express conditional() answers 412. Check writes with --write-probe.',
    fastify: '@fastify/etag ignores If-Match; etagkit/fastify answers 412. Check writes with --write-probe.',
    nginx: 'nginx evaluates If-Match for static files; a proxied upstream must do it itself.',
    apache: 'Apache evaluates If-Match for static files; backends must do it themselves.',
    cdn: 'The edge forwards If-Match: the origin must evaluate it.',
    etagkit: 'conditional() evaluates If-Match with strong comparison for every method.',
  },

  '304-missing-etag': {
    express:
      'Let res.send() make the 304 (it keeps the ETag); a hand-made res.status(304).end() must set it.',
    fastify: 'A hand-made 304 must set the ETag the 200 would carry.',
    nginx: 'Static 304s carry the ETag; a proxied upstream must send it on its 304s.',
    apache: 'Static 304s carry the ETag; a backend must send it on its 304s.',
    cdn: 'Look for edge rules that strip ETag from 304 responses.',
    etagkit: 'conditional() repeats ETag, Cache-Control, Content-Location, Date, Expires and Vary on 304s.',
  },
  '304-etag-mismatch': {
    express:
      "Send on the 304 the tag that matched (the current one), e.g. the compressed variant's tag for a compressed client.",
    fastify: 'Send on the 304 the tag that matched.',
    nginx: 'An upstream that rewrites tags must rewrite them on 304s the same way.',
    apache: 'mod_deflate suffixes -gzip on 200s: make 304s consistent (DeflateAlterETag, 2.4.58+).',
    cdn: 'An edge that rewrites tags on 200s must do the same on 304s.',
    etagkit: 'conditional() echoes the matching tag, suffix included.',
  },
  '304-has-body': {
    express:
      'Node drops bodies of 304s; bytes after the head come from below Node (a proxy, custom socket code).',
    fastify:
      'Node drops bodies of 304s; bytes after the head come from below Node (a proxy, custom socket code).',
    nginx:
      'Check upstreams that send 304 with Transfer-Encoding: chunked or a body; nginx forwards what it cannot frame.',
    apache: 'Check backends that send 304 with a body.',
    cdn: 'Ask the CDN about its 304 framing; it must send no body after a 304.',
    etagkit: 'conditional() and etagkit serve send 304s with no body.',
  },
  '304-missing-headers': {
    express: 'Set Cache-Control and Vary before res.send() so the 304 keeps them.',
    fastify: 'Set Cache-Control and Vary in a hook that also runs for 304 replies.',
    nginx: 'add_header applies to 304; fields added by an upstream must be sent by it on 304s.',
    apache: 'Use Header always set for fields that must reach 304 responses.',
    cdn: 'Look for edge rules that only add fields to 200 responses.',
    etagkit:
      "conditional(handler, { headers: { 'cache-control': 'no-cache', vary: 'Accept' } }) repeats them on 304s.",
  },
  '304-content-length': {
    express: 'Do not set Content-Length on a 304 yourself.',
    fastify: 'Do not set Content-Length on a 304 yourself.',
    nginx: 'Check upstreams that send Content-Length: 0 on 304s.',
    apache: 'Check backends that send Content-Length: 0 on 304s.',
    cdn: 'Ask the CDN about Content-Length on 304s.',
    etagkit: 'conditional() sends no Content-Length on 304s.',
  },

  'strong-etag-across-encodings': {
    express:
      "compression() leaves the ETag as it is: keep Express's default weak tags, or use etagkit/express, which suffixes the coding.",
    fastify:
      '@fastify/compress leaves the ETag as it is: @fastify/etag { weak: true }, or etagkit/fastify, which suffixes the coding.',
    nginx:
      "nginx's gzip weakens strong tags itself; an upstream that compresses must give each coding its own tag.",
    apache: 'mod_deflate suffixes -gzip (DeflateAlterETag AddSuffix, the default); NoChange reuses the tag.',
    cdn: RESPECT_STRONG,
    etagkit: 'tagForEncoding(); conditional() and etagkit serve suffix the coding ("v1-gzip").',
  },
  'vary-missing': {
    express: "compression() adds Vary itself; a hand-rolled gzip must call res.vary('Accept-Encoding').",
    fastify: '@fastify/compress adds Vary itself; hand-rolled compression must add Vary: Accept-Encoding.',
    nginx: 'gzip_vary on;',
    apache: 'mod_deflate adds it; if something strips it: Header append Vary Accept-Encoding.',
    cdn: 'CDNs key on Accept-Encoding internally, caches between them and clients do not: send Vary from the origin.',
    etagkit:
      'etagkit serve and the adapters add Vary: Accept-Encoding to any response that could be compressed.',
  },
  'inm-ignored-encoded': {
    express: 'Accept the compressed tag back: etagkit/express strips the coding suffix before comparing.',
    fastify: 'Accept the compressed tag back: etagkit/fastify strips the coding suffix before comparing.',
    nginx: 'A compressing upstream must accept its own compressed tags in If-None-Match.',
    apache:
      "mod_deflate's -gzip tags: DeflateAlterETag Remove (2.4.58+), or RequestHeader edit If-None-Match '-gzip\"' '\"'.",
    cdn: 'An edge that rewrites tags must undo the rewrite in If-None-Match.',
    etagkit: 'normalizeConditionalHeaders() strips the coding suffix before comparing.',
  },

  'cache-control-missing': {
    express:
      "res.set('Cache-Control', 'no-cache') to revalidate every time, or 'max-age=N'; express.static takes maxAge.",
    fastify: "reply.header('cache-control', 'no-cache'); @fastify/static takes maxAge.",
    nginx: 'add_header Cache-Control "no-cache"; or expires 1h;',
    apache: 'Header set Cache-Control "no-cache", or mod_expires (ExpiresDefault).',
    cdn: 'Set the lifetime at the origin; edge TTL overrides apply to the edge only.',
    etagkit:
      "conditional(handler, { headers: { 'cache-control': 'no-cache' } }); etagkit serve sends no-cache.",
  },
  'max-age-zero': {
    express: "res.set('Cache-Control', 'no-cache') instead of max-age=0.",
    fastify: "reply.header('cache-control', 'no-cache') instead of max-age=0.",
    nginx: 'add_header Cache-Control "no-cache"; rather than expires 0 / max-age=0.',
    apache: 'Header set Cache-Control "no-cache" rather than max-age=0.',
    cdn: 'no-cache at the origin; the edge revalidates every request.',
    etagkit: "headers: { 'cache-control': 'no-cache' }.",
  },
  'immutable-missing': {
    express: "express.static(dir, { immutable: true, maxAge: '1y' }) for fingerprinted assets.",
    fastify: "@fastify/static { immutable: true, maxAge: '1y' } for fingerprinted assets.",
    nginx: 'In the assets location: add_header Cache-Control "public, max-age=31536000, immutable";',
    apache:
      'In a <FilesMatch> for fingerprinted files: Header set Cache-Control "public, max-age=31536000, immutable".',
    cdn: 'Cache fingerprinted paths for a year at the edge too.',
    etagkit: "serveFiles(assetsDir, { cacheControl: 'public, max-age=31536000, immutable' }).",
  },
  'private-missing': {
    express:
      "res.set('Cache-Control', 'private, no-cache') on routes that set cookies or show per-user data.",
    fastify:
      "reply.header('cache-control', 'private, no-cache') on routes that set cookies or show per-user data.",
    nginx:
      'add_header Cache-Control "private"; for personalised locations; proxy_cache skips Set-Cookie responses only by default.',
    apache: 'Header set Cache-Control "private" for personalised paths.',
    cdn: 'Make sure the CDN bypasses the cache for responses that set cookies.',
    etagkit: "conditional(handler, { headers: { 'cache-control': 'private, no-cache' } }).",
  },

  'write-if-match-ignored': {
    express:
      'etagkit/express conditional({ validate }) answers 412 to a stale If-Match before the handler runs.',
    fastify: 'etagkit/fastify with validate answers 412 to a stale If-Match before the handler runs.',
    nginx: 'Proxied writes: the application must evaluate If-Match.',
    apache: 'Proxied writes: the application must evaluate If-Match.',
    cdn: 'The CDN forwards writes: the origin must evaluate If-Match.',
    etagkit:
      'conditional(handler, { validate }) evaluates If-Match for writes; etagkit serve --writable does too.',
  },
  'write-inm-star-ignored': {
    express: 'etagkit/express conditional({ validate }) with exists: true answers 412 to If-None-Match: *.',
    fastify: 'etagkit/fastify with validate returning exists: true answers 412 to If-None-Match: *.',
    nginx: 'Proxied writes: the application must evaluate If-None-Match.',
    apache: 'Proxied writes: the application must evaluate If-None-Match.',
    cdn: 'The CDN forwards writes: the origin must evaluate If-None-Match.',
    etagkit: 'conditional() and etagkit serve --writable treat If-None-Match: * as create-only.',
  },
  'write-if-match-rejected': {
    express:
      'Compare If-Match with the tag you actually send (a weak or coding-suffixed tag never matches strongly).',
    fastify:
      'Compare If-Match with the tag you actually send (a weak or coding-suffixed tag never matches strongly).',
    nginx: 'nginx gzip weakens tags, and a weak tag never satisfies If-Match: do not compress write targets.',
    apache:
      'mod_deflate -gzip tags do not match the identity tag: DeflateAlterETag Remove, or no compression on write targets.',
    cdn: RESPECT_STRONG,
    etagkit: 'conditional() strips coding suffixes before comparing If-Match.',
  },
  'write-precondition-not-required': {
    express:
      'etagkit/express conditional({ validate, requirePreconditions: true }) answers 428 to unconditional writes.',
    fastify: 'etagkit/fastify { requirePreconditions: true } answers 428 to unconditional writes.',
    nginx: 'Proxied writes: the application must require If-Match (428 without it).',
    apache: 'Proxied writes: the application must require If-Match (428 without it).',
    cdn: 'The origin must require If-Match.',
    etagkit: 'requirePreconditions: true, or etagkit serve --writable --require-preconditions.',
  },
  'write-no-etag': {
    express: "After a write, res.set('ETag', newTag); etagkit/express sends it for you after validate().",
    fastify: 'After a write, send the new ETag; etagkit/fastify sends it for you after validate().',
    nginx: 'The application must send the new ETag on its write responses.',
    apache: 'The application must send the new ETag on its write responses.',
    cdn: 'The origin must send the new ETag on its write responses.',
    etagkit: 'conditional() calls validate() again after a 2xx write and sends the new tag.',
  },
  'write-restore-failed': {
    general: 'Restore the resource by hand from the evidence (the original status and length are listed).',
  },
};
