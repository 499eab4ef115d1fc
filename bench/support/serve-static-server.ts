/** Peer for `bench serve`: Express 5 + serve-static (what most Node apps use), on a port of its choosing. */
import { createServer } from 'node:http';
import express from 'express';
import serveStatic from 'serve-static';
import { listenOnFreePort } from './listen.ts';

const [dir] = process.argv.slice(2);
const app = express();
app.use(serveStatic(dir!));
await listenOnFreePort(createServer(app));
