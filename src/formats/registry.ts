/**
 * Format detection: every reader sniffs the first bytes of a file; the extension is only a
 * tie-breaker for messages. New formats register here.
 */
import { DiffaiError } from '../errors.js';
import { RandomAccessFile } from '../io/file.js';
import type { FormatReader, ModelDescription } from './types.js';
import { safetensorsReader } from './safetensors/reader.js';

export const READERS: FormatReader[] = [safetensorsReader];

/** Bytes of the file head handed to `sniff`. */
export const SNIFF_BYTES = 64;

export function readHead(path: string): Uint8Array {
  const file = RandomAccessFile.open(path);
  try {
    return file.readUpTo(0, SNIFF_BYTES);
  } finally {
    file.close();
  }
}

export function detectFormat(path: string): FormatReader {
  const head = readHead(path);
  if (head.length === 0) throw new DiffaiError(path, 'empty file');
  const reader = READERS.find((r) => r.sniff(head, path));
  if (!reader) throw new DiffaiError(path, `unrecognised file format (${describeMagic(head)})`);
  return reader;
}

export async function describeModel(path: string): Promise<ModelDescription> {
  return detectFormat(path).describe(path);
}

function describeMagic(head: Uint8Array): string {
  const hex = Buffer.from(head.subarray(0, 8)).toString('hex').replace(/(..)/g, '$1 ').trim();
  return `first bytes: ${hex}`;
}
