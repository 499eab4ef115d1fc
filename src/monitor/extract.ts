/**
 * From a response body to the content a watch compares: classify (HTML, JSON, text, binary), extract (a CSS
 * selector through htmlparser2 + css-select, a JSON Pointer), normalise (`ignore` patterns, whitespace) and
 * digest. Pure functions over bytes; nothing here does I/O.
 */
import { createHash } from 'node:crypto';
import { selectAll } from 'css-select';
import { type AnyNode, isTag, isText } from 'domhandler';
import { parseDocument } from 'htmlparser2';
import { compileIgnore, compileSelector, parsePointer } from './definition.ts';
import type { ContentKind, WatchDefinition } from './types.ts';

/** The watched content of one response: its kind, its normalised text (none for binary) and digests. */
export interface Extracted {
  kind: ContentKind;
  /** Normalised text: what is stored, diffed and digested. Undefined for binary content. */
  text: string | undefined;
  /** `sha256:<hex>` of `text` (of the raw body for binary content): the snapshot's address. */
  digest: string;
}

/** The body could not be read the way the watch asks (a selector on JSON, a pointer into invalid JSON, …). */
export class ExtractionError extends Error {
  override name = 'ExtractionError';
}

type Extraction = Pick<WatchDefinition, 'selector' | 'pointer' | 'ignore' | 'whitespace'>;

/** JSON nested deeper than this is refused rather than walked (a hostile document costs bounded stack). */
const MAX_JSON_DEPTH = 512;
/** Elements whose text is not content. */
const SKIPPED = new Set(['script', 'style', 'noscript', 'template', 'svg', 'head']);
/** Elements that start a new line of text. */
const BLOCKS = new Set(
  'address article aside blockquote br dd div dl dt fieldset figcaption figure footer form h1 h2 h3 h4 h5 h6 header hr li main nav ol p pre section table tbody thead tfoot tr td th title ul'.split(
    ' ',
  ),
);

export function sha256(data: string | Uint8Array): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** Fingerprint of the options that shape the extracted content: a change of it is not a content change. */
export function extractionKey(watch: Extraction): string {
  return sha256(
    JSON.stringify([watch.selector ?? null, watch.pointer ?? null, watch.ignore, watch.whitespace]),
  ).slice(7, 23);
}

/** What kind of content a response carries, from its media type and, without one, from its first bytes. */
export function classify(contentType: string | undefined, body: Uint8Array): ContentKind {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  const hasNul = body.subarray(0, 1024).includes(0);
  if (type === 'text/html' || type === 'application/xhtml+xml') return hasNul ? 'binary' : 'html';
  if (type === 'application/json' || type.endsWith('+json')) return hasNul ? 'binary' : 'json';
  if (
    type === '' ||
    type.startsWith('text/') ||
    type.endsWith('+xml') ||
    type === 'application/xml' ||
    type === 'application/javascript' ||
    type === 'application/x-www-form-urlencoded'
  )
    return hasNul ? 'binary' : 'text';
  return 'binary';
}

/**
 * Extracts and normalises a body for comparison. Throws ExtractionError when the watch's selector or pointer
 * does not fit the content (a selector on JSON, a pointer into a body that is not JSON).
 */
export function extract(body: Uint8Array, contentType: string | undefined, watch: Extraction): Extracted {
  const kind = classify(contentType, body);
  if (kind === 'binary') {
    if (watch.selector || watch.pointer)
      throw new ExtractionError(
        `the response is binary (${contentType ?? 'no Content-Type'}); a selector or pointer needs HTML or JSON`,
      );
    return { kind, text: undefined, digest: sha256(body) };
  }
  const source = decode(body, contentType);
  let text: string;
  let effective: ContentKind = kind;
  if (watch.pointer !== undefined) {
    text = jsonText(source, watch, true);
    effective = 'json';
  } else if (watch.selector !== undefined) {
    if (kind !== 'html')
      throw new ExtractionError(`a selector needs HTML, but the response is ${contentType ?? 'untyped'}`);
    text = normalizeText(htmlText(source, watch.selector), watch);
  } else if (kind === 'json') {
    try {
      text = jsonText(source, watch, false);
    } catch (error) {
      if (!(error instanceof SyntaxError)) throw error;
      effective = 'text'; // labelled JSON but not JSON: compare it as text
      text = normalizeText(source, watch);
    }
  } else if (kind === 'html') {
    text = normalizeText(htmlText(source, undefined), watch);
  } else {
    text = normalizeText(source, watch);
  }
  return { kind: effective, text, digest: sha256(text) };
}

function decode(body: Uint8Array, contentType: string | undefined): string {
  const charset = /;\s*charset\s*=\s*"?([\w.:-]{1,40})/i.exec(contentType ?? '')?.[1];
  try {
    return new TextDecoder(charset ?? 'utf-8').decode(body);
  } catch {
    return new TextDecoder('utf-8').decode(body); // an unknown charset label: read as UTF-8
  }
}

/** Removes every `ignore` match, then (unless `keep`) trims lines, folds blanks and drops empty lines. */
export function normalizeText(text: string, watch: Pick<Extraction, 'ignore' | 'whitespace'>): string {
  let out = text;
  for (const source of watch.ignore) out = out.replace(compileIgnore(source), '');
  if (watch.whitespace === 'keep') return out;
  const lines: string[] = [];
  for (const line of out.split('\n')) {
    const folded = line.replace(/[ \t\f\v\r\u00a0]+/g, ' ').trim();
    if (folded !== '') lines.push(folded);
  }
  return lines.join('\n');
}

/** The visible text of a document, or of the elements matching `selector`, one block per line. */
function htmlText(html: string, selector: string | undefined): string {
  const document = parseDocument(html);
  const roots: AnyNode[] =
    selector === undefined ? [document] : selectAll(compileSelector(selector), document);
  return roots.map(textOf).join('\n');
}

/** Text of a subtree, iteratively (deeply nested hostile markup cannot overflow the stack). */
function textOf(root: AnyNode): string {
  let out = '';
  const stack: (AnyNode | '\n')[] = [root];
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (node === '\n') {
      out += '\n';
      continue;
    }
    if (isText(node)) {
      out += node.data;
      continue;
    }
    if (isTag(node) && SKIPPED.has(node.name) && node !== root) continue;
    const block = isTag(node) && BLOCKS.has(node.name);
    if (block) {
      out += '\n';
      stack.push('\n');
    }
    if ('children' in node) for (let i = node.children.length - 1; i >= 0; i--) stack.push(node.children[i]!);
  }
  return out;
}

/**
 * JSON: the value at `pointer` (RFC 6901), re-serialised with sorted keys and two-space indentation, so that
 * key order and formatting are not changes; `ignore` patterns apply to string values only (the text stays JSON).
 * A pointer that resolves to nothing gives an empty text (the watched part is gone: that is a change).
 */
function jsonText(source: string, watch: Extraction, strict: boolean): string {
  let value: unknown;
  try {
    value = JSON.parse(source);
  } catch (error) {
    if (strict)
      throw new ExtractionError(
        `a pointer needs JSON, but the body does not parse: ${(error as Error).message}`,
      );
    throw error;
  }
  const target = watch.pointer === undefined ? value : resolvePointer(value, parsePointer(watch.pointer));
  if (target === undefined) return '';
  const patterns = watch.ignore.map(compileIgnore);
  return JSON.stringify(canonical(target, patterns, 0), null, 2);
}

/** RFC 6901 §4: array indexes are decimal without leading zeros; `-` and anything else resolve to nothing. */
export function resolvePointer(value: unknown, tokens: readonly string[]): unknown {
  let current = value;
  for (const token of tokens) {
    if (Array.isArray(current)) {
      if (!/^(0|[1-9]\d*)$/.test(token)) return undefined;
      current = current[Number(token)];
    } else if (current !== null && typeof current === 'object' && Object.hasOwn(current, token)) {
      current = (current as Record<string, unknown>)[token];
    } else return undefined;
  }
  return current;
}

function canonical(value: unknown, ignore: RegExp[], depth: number): unknown {
  if (depth > MAX_JSON_DEPTH) throw new ExtractionError(`JSON nested deeper than ${MAX_JSON_DEPTH} levels`);
  if (typeof value === 'string') return ignore.reduce((s, re) => s.replace(re, ''), value);
  if (Array.isArray(value)) return value.map((v) => canonical(v, ignore, depth + 1));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort())
      out[key] = canonical((value as Record<string, unknown>)[key], ignore, depth + 1);
    return out;
  }
  return value;
}
