/**
 * JSON output that a terminal cannot be steered by. JSON.stringify escapes C0 controls but
 * leaves DEL, the C1 controls (a lone U+009B is a CSI on some terminals), the line and
 * paragraph separators, the bidirectional overrides and isolates, and the BOM raw; names come
 * from files, so JSON output writes those as `\uXXXX` too. That is still the same JSON: a
 * parser reads the exact name back. They can only stand inside strings, so text and bytes are
 * rewritten without knowing the structure.
 */
import type { OutputPiece } from './stream-writer.js';

const UNSAFE = /[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/g;

function escapeUnit(c: string): string {
  return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

/** JSON text with the characters above escaped. */
export function jsonTerminalSafe(text: string): string {
  UNSAFE.lastIndex = 0;
  return UNSAFE.test(text) ? text.replace(UNSAFE, escapeUnit) : text;
}

/** UTF-8 lead bytes of every sequence UNSAFE matches: DEL, C2 (U+0080–U+009F), E2 (U+2028–U+2069), EF (U+FEFF). */
const LEADS = [0x7f, 0xc2, 0xe2, 0xef];

/** Bytes at the end of `b` that begin a UTF-8 sequence the piece does not finish (0 to 3). */
function unfinishedTail(b: Uint8Array): number {
  for (let k = 1; k <= Math.min(3, b.length); k++) {
    const c = b[b.length - k]!;
    if (c < 0x80) return 0;
    if (c >= 0xc0) return (c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2) > k ? k : 0;
  }
  return 0;
}

/**
 * Rewrites a stream of JSON output pieces. Byte pieces without any lead byte above pass as
 * they are (a few memchr calls per megabyte); others are escaped and passed on as text. A
 * sequence cut between two byte pieces is held back and joined to the next piece.
 */
export class JsonPieceEscaper {
  private carry: Buffer | undefined;

  piece(p: OutputPiece): OutputPiece {
    if (typeof p === 'string') return this.flush() + jsonTerminalSafe(p);
    const held = this.carry;
    let b = Buffer.from(p.buffer, p.byteOffset, p.byteLength);
    if (held) b = Buffer.concat([held, b]);
    const cut = unfinishedTail(b);
    this.carry = cut > 0 ? Buffer.from(b.subarray(b.length - cut)) : undefined;
    if (cut > 0) b = b.subarray(0, b.length - cut);
    if (LEADS.some((c) => b.includes(c))) return jsonTerminalSafe(b.toString('utf8'));
    return held || cut > 0 ? b : p;
  }

  /** Bytes held back when the stream ends inside a character (not from a well-formed writer). */
  flush(): string {
    const rest = this.carry;
    this.carry = undefined;
    return rest ? jsonTerminalSafe(rest.toString('utf8')) : '';
  }
}

export function* jsonSafeChunks(pieces: Iterable<OutputPiece>): Generator<OutputPiece> {
  const escaper = new JsonPieceEscaper();
  for (const p of pieces) yield escaper.piece(p);
  const rest = escaper.flush();
  if (rest !== '') yield rest;
}

export async function* jsonSafeChunksAsync(pieces: AsyncIterable<OutputPiece>): AsyncGenerator<OutputPiece> {
  const escaper = new JsonPieceEscaper();
  for await (const p of pieces) yield escaper.piece(p);
  const rest = escaper.flush();
  if (rest !== '') yield rest;
}
