/**
 * Reading the text files users hand to the CLI (URL lists, watch files). Editors on Windows save them with a
 * byte order mark, or as UTF-16: the mark says how to decode, and is not part of the text.
 */
import { readFile } from 'node:fs/promises';

/** The text of `bytes`: UTF-16 LE or BE when a byte order mark says so, else UTF-8 (a UTF-8 BOM dropped). */
export function decodeText(bytes: Uint8Array): string {
  const encoding =
    bytes[0] === 0xff && bytes[1] === 0xfe
      ? 'utf-16le'
      : bytes[0] === 0xfe && bytes[1] === 0xff
        ? 'utf-16be'
        : 'utf-8';
  // TextDecoder drops the encoding's own BOM (ignoreBOM is false), and only that one.
  return new TextDecoder(encoding).decode(bytes);
}

/** Reads a text file, decoding it by its byte order mark (see decodeText). */
export async function readTextFile(path: string): Promise<string> {
  return decodeText(await readFile(path));
}
