/**
 * A body on its way from the upstream to the client and into the store at once. The bytes go to the client as
 * they arrive and are collected for the store up to the entry limit; past it collecting stops and the client's
 * pace sets the upstream's (backpressure), so memory per request is bounded by the entry limit. A client that
 * goes away aborts the upstream request unless other requests wait for the stored result.
 */
import { PassThrough, type Readable } from 'node:stream';
import { type ContentTagger, createContentTagger } from '../core/index.ts';

/** The complete body, and the strong entity-tag of its bytes when one was asked for. */
export interface Collected {
  bytes: Uint8Array;
  tag: string | undefined;
}

export interface FillOptions {
  /** Stop collecting for the store past this many bytes. */
  limit: number;
  /** Hash the bytes as they pass, for an entity-tag the proxy adds. */
  tag: boolean;
  /** Whether anyone besides the client still needs the body (requests waiting for the stored result). */
  needed: () => boolean;
}

export class Fill {
  /** Settles once the body is complete (with it) or cannot be stored (undefined). */
  readonly done: Promise<Collected | undefined>;
  readonly #upstream: Readable;
  readonly #options: FillOptions;
  #settle: (collected: Collected | undefined) => void = () => {};
  #chunks: Buffer[] = [];
  #length = 0;
  #collecting = true;
  #tagger: ContentTagger | undefined;
  /** Chunks not yet handed to a client (until one attaches). */
  #pending: Buffer[] | undefined = [];
  #client: PassThrough | undefined;
  #ended = false;
  #error: Error | undefined;
  #watchers: (() => void)[] = [];

  constructor(upstream: Readable, options: FillOptions) {
    this.#upstream = upstream;
    this.#options = options;
    this.#tagger = options.tag ? createContentTagger() : undefined;
    this.done = new Promise((resolve) => (this.#settle = resolve));
    upstream.on('data', (chunk: Buffer) => this.#data(chunk));
    upstream.on('end', () => this.#end());
    upstream.on('error', (error) => this.#fail(error));
    upstream.on('close', () => {
      if (!this.#ended) this.#fail(new Error('the upstream response ended early'));
    });
  }

  /** Bytes received so far. */
  get length(): number {
    return this.#length;
  }

  /** Resolves once the body is complete (true) or has passed `bytes` or failed (false). */
  completeWithin(bytes: number): Promise<boolean> {
    return new Promise((resolve) => {
      const check = (): void => {
        if (this.#ended && this.#collecting) resolve(true);
        else if (this.#error || this.#ended || !this.#collecting || this.#length > bytes) resolve(false);
        else this.#watchers.push(check);
      };
      check();
    });
  }

  /** No client will read this body (it got another answer): it is only collected for the store. */
  withoutClient(): void {
    this.#pending = undefined;
    if (!this.#collecting && !this.#ended) this.#upstream.destroy();
  }

  /** A stream of the whole body for one client: what arrived so far, then the rest as it comes. */
  attach(): PassThrough {
    const client = new PassThrough();
    this.#client = client;
    for (const chunk of this.#pending ?? []) client.write(chunk);
    this.#pending = undefined;
    if (this.#error) client.destroy(this.#error);
    else if (this.#ended) client.end();
    client.on('close', () => {
      if (this.#ended || this.#error) return;
      // The client went away (it may still get `end` later when it closes cleanly: then #ended is set first).
      this.#client = undefined;
      if (!this.#collecting || !this.#options.needed()) this.#upstream.destroy();
    });
    return client;
  }

  #data(chunk: Buffer): void {
    this.#length += chunk.byteLength;
    if (this.#collecting) {
      if (this.#length > this.#options.limit) {
        this.#collecting = false;
        this.#chunks = [];
        this.#tagger = undefined;
        this.#settle(undefined);
        if (!this.#client && this.#pending === undefined) {
          this.#upstream.destroy(); // nobody to stream to, and too big to store
          return;
        }
      } else {
        this.#chunks.push(chunk);
        this.#tagger?.update(chunk);
      }
    }
    if (this.#pending) this.#pending.push(chunk);
    else if (this.#client && !this.#client.write(chunk) && !this.#collecting) {
      // Past the entry limit the client sets the pace: nothing piles up in memory.
      this.#upstream.pause();
      this.#client.once('drain', () => this.#upstream.resume());
    }
    this.#notify();
  }

  #end(): void {
    this.#ended = true;
    if (this.#collecting) {
      // One chunk that is a view into a larger (pooled) buffer is copied, so a stored entry never pins it.
      const only = this.#chunks[0];
      const whole = only?.byteOffset === 0 && only.buffer.byteLength === this.#length;
      const bytes = this.#chunks.length === 1 && whole ? only : Buffer.concat(this.#chunks, this.#length);
      this.#chunks = [];
      this.#settle({ bytes, tag: this.#tagger?.digest() });
    }
    this.#client?.end();
    this.#notify();
  }

  #fail(error: Error): void {
    if (this.#ended || this.#error) return;
    this.#error = error;
    this.#collecting = false;
    this.#chunks = [];
    this.#settle(undefined);
    // A body cut short reaches the client as a broken connection, never as a shorter complete response.
    this.#client?.destroy(error);
    this.#notify();
  }

  #notify(): void {
    if (this.#watchers.length === 0) return;
    const watchers = this.#watchers;
    this.#watchers = [];
    for (const watcher of watchers) watcher();
  }
}
