/**
 * Whole-file compression recognised by magic bytes. gzip is decompressed through a spool
 * (node's zlib); the others have no decoder in Node's standard library, so the user is told
 * the compression and the command that decompresses it.
 */
export interface Compression {
  name: 'gzip' | 'xz' | 'zstd' | 'bzip2';
  /** The standard tool that decompresses it (`-k` keeps the input, `-c` writes to stdout). */
  tool: 'gunzip' | 'unxz' | 'unzstd' | 'bunzip2';
}

const MAGICS: Array<{ bytes: number[]; compression: Compression }> = [
  { bytes: [0x1f, 0x8b, 0x08], compression: { name: 'gzip', tool: 'gunzip' } },
  { bytes: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], compression: { name: 'xz', tool: 'unxz' } },
  { bytes: [0x28, 0xb5, 0x2f, 0xfd], compression: { name: 'zstd', tool: 'unzstd' } },
  { bytes: [0x42, 0x5a, 0x68], compression: { name: 'bzip2', tool: 'bunzip2' } },
];

/** The compression whose magic starts `head`, if any. */
export function detectCompression(head: Uint8Array): Compression | undefined {
  for (const m of MAGICS) {
    if (head.length < m.bytes.length || !m.bytes.every((b, i) => head[i] === b)) continue;
    // bzip2: "BZh" then the block size digit 1-9
    if (m.compression.name === 'bzip2' && !(head[3]! >= 0x31 && head[3]! <= 0x39)) continue;
    return m.compression;
  }
  return undefined;
}

/** How to decompress a file (`unxz -k 'model.pt.xz'`) or, for standard input, a pipe stage. */
export function decompressHint(c: Compression, path: string, stdin: boolean): string {
  if (stdin) return `decompress it in the pipe (… | ${c.tool} -c | diffai - …)`;
  return `decompress it first: ${c.tool} -k '${path.replace(/'/g, `'\\''`)}'`;
}
