/**
 * The entity-tags the README shows are entity-tags (RFC 9110 §8.8.3): quoted, with `W/` before the quote for a
 * weak one. A reader copies them into headers and code, so a tag missing a quote teaches the wrong format.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parseEntityTag } from '../src/core/index.ts';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

/** `…` stands for elided characters: any etagc will do in its place. */
const parses = (tag: string) => parseEntityTag(tag.replaceAll('…', 'x')) !== undefined;

describe('README entity-tags (RFC 9110 §8.8.3)', () => {
  it('every tag in backticks is quoted, with W/ outside the quotes', () => {
    // A code span of tag characters that ends in a quote: `"v1-gzip"`, `W/"v1"`, and `…-br"` were it there.
    const spans = [...readme.matchAll(/`((?:W\/)?"?[\w.…-]*")`/g)].map((m) => m[1]!);
    assert.ok(spans.length > 0);
    for (const span of spans) assert.ok(parses(span), `not an entity-tag: ${span}`);
  });

  it('every ETag, If-Match and If-None-Match value shown is one', () => {
    const shown = [
      ...readme.matchAll(/(?:ETag|If-Match|If-None-Match)(?::| such as) '?((?:W\/)?"[^"\s]*"?)/gi),
    ];
    assert.ok(shown.length > 0);
    for (const [, tag] of shown) assert.ok(parses(tag!), `not an entity-tag: ${tag}`);
  });
});
