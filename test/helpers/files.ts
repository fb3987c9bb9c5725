/**
 * File helpers for the tests: fixture paths and references, temporary directories, a tiny
 * safetensors writer (valid and deliberately malformed files) and an independent reader.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decode, type TestDType } from './dtypes.js';
import type { Exact } from './exact.js';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CORE = join(ROOT, 'fixtures', 'core');
export const core = (name: string) => join(CORE, name);

export interface RefTensor {
  mean: number | null;
  std: number | null;
  min: number | null;
  max: number | null;
  shape: number[];
  dtype: string;
  total_params: number;
  nan_count: number;
  posinf_count: number;
  neginf_count: number;
  zero_count: number;
  l2_norm: number;
}
export interface RefPair {
  max_abs_diff: number;
  mean_abs_diff: number;
  rel_l2_change: number | null;
  cosine_similarity: number | null;
  changed_elements: number;
  compared_elements: number;
}
export interface Reference {
  files: Record<string, { size: number; metadata: Record<string, string> | null; tensors: Record<string, RefTensor> }>;
  pairs: Record<string, Record<string, RefPair>>;
}

/** fixtures/core/reference_stats.json (u64 max is parsed as the nearest double, 2^64). */
export const REFERENCE: Reference = JSON.parse(readFileSync(join(CORE, 'reference_stats.json'), 'utf8'));

export function tempDir(prefix = 'diffai-test-'): { dir: string; path: (name: string) => string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, path: (name) => join(dir, name), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface TensorSpec {
  name: string;
  dtype: TestDType | string;
  shape: number[];
  bytes: Uint8Array;
}

/** Header length (u64 LE) + JSON header padded with spaces to a multiple of 8 + data. */
export function safetensorsBytes(tensors: TensorSpec[], metadata?: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  for (const t of tensors) {
    const st = t.dtype.toUpperCase();
    header[t.name] = { dtype: st, shape: t.shape, data_offsets: [offset, offset + t.bytes.length] };
    offset += t.bytes.length;
  }
  const data = new Uint8Array(offset);
  let at = 0;
  for (const t of tensors) {
    data.set(t.bytes, at);
    at += t.bytes.length;
  }
  return rawSafetensors(JSON.stringify(header), data);
}

/** A safetensors-shaped file from a literal header text (padded to 8) and data. */
export function rawSafetensors(headerText: string, data: Uint8Array = new Uint8Array(0), headerLength?: bigint): Uint8Array {
  let text = headerText;
  while (Buffer.byteLength(text) % 8 !== 0) text += ' ';
  const json = Buffer.from(text, 'utf8');
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, headerLength ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

export function writeSafetensors(path: string, tensors: TensorSpec[], metadata?: Record<string, string>): string {
  writeFileSync(path, safetensorsBytes(tensors, metadata));
  return path;
}

/** Independent reader: name → { dtype (lowercase), shape, exact values }. */
export function readSafetensorsValues(path: string): Map<string, { dtype: TestDType; shape: number[]; values: Exact[] }> {
  const buf = readFileSync(path);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8')) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  const out = new Map<string, { dtype: TestDType; shape: number[]; values: Exact[] }>();
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const dtype = entry.dtype.toLowerCase() as TestDType;
    const bytes = new Uint8Array(buf.buffer, buf.byteOffset + 8 + n + entry.data_offsets[0], entry.data_offsets[1] - entry.data_offsets[0]);
    out.set(name, { dtype, shape: entry.shape, values: decode(bytes.slice(), dtype) });
  }
  return out;
}
