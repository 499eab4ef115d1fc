/**
 * The origin behind the proxies in `bench proxy`: constant 1 KB and 100 KB objects (max-age=3600, strong ETag),
 * `/storm/<name>` answering after 300 ms (so that a thousand requests pile up on a cold key), and
 * `/count/<name>` saying how many requests `/storm/<name>` received.
 *
 * `node bench/support/proxy-origin.ts <port>`
 */
import { createServer } from 'node:http';

const objects: Record<string, Buffer> = {
  '/1k': Buffer.alloc(1024, 'a'),
  '/100k': Buffer.alloc(100 * 1024, 'b'),
};
const storms = new Map<string, number>();

const port = Number(process.argv[2]);
createServer((req, res) => {
  const url = req.url ?? '/';
  const object = objects[url];
  if (object) {
    res.writeHead(200, {
      'content-type': 'application/octet-stream',
      'content-length': object.byteLength,
      'cache-control': 'max-age=3600',
      etag: `"${url.slice(1)}-v1"`,
    });
    res.end(object);
  } else if (url.startsWith('/storm/')) {
    storms.set(url, (storms.get(url) ?? 0) + 1);
    setTimeout(() => {
      res.writeHead(200, { 'cache-control': 'max-age=3600', 'content-type': 'text/plain', etag: '"storm"' });
      res.end('storm');
    }, 300);
  } else if (url.startsWith('/count/')) {
    res.end(String(storms.get(`/storm/${url.slice('/count/'.length)}`) ?? 0));
  } else {
    res.writeHead(404).end();
  }
}).listen(port, '127.0.0.1');
