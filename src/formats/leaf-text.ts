/**
 * The budget on text a file's entries (metadata strings) may hold. Each reader caps one
 * string, but a small file can still hold thousands of capped strings (ONNX metadata_props,
 * GGUF string arrays) or point many attributes at one stored string (HDF5's global heap);
 * every string kept counts against one budget per file. Real metadata is kilobytes.
 */
export const MAX_LEAF_TEXT_BYTES = 16 * 1024 * 1024;

export class LeafTextBudget {
  private left = MAX_LEAF_TEXT_BYTES;

  /** Takes `bytes` from the budget: false (and nothing taken) when they do not fit. */
  take(bytes: number): boolean {
    if (bytes > this.left) return false;
    this.left -= bytes;
    return true;
  }
}

/** What a string over the budget becomes: its size and digest, so a changed value still shows as changed. */
export function summarizedText(bytes: number, sha256Hex: string): string {
  return `<string of ${bytes} bytes, sha256 ${sha256Hex}>`;
}
