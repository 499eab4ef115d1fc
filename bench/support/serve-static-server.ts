/** Peer for `bench serve`: Express 5 + serve-static (what most Node apps use), on the port given in argv. */
import express from 'express';
import serveStatic from 'serve-static';

const [dir, port] = process.argv.slice(2);
const app = express();
app.use(serveStatic(dir!));
app.listen(Number(port), '127.0.0.1', () => console.log(`listening on http://127.0.0.1:${port}`));
