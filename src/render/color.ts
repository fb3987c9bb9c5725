/** ANSI colours, on only when asked for or when stdout is a terminal (NO_COLOR, FORCE_COLOR honoured). */
export interface Palette {
  added(s: string): string;
  removed(s: string): string;
  changed(s: string): string;
  dim(s: string): string;
}

const wrap = (code: number) => (s: string) => `\x1b[${code}m${s}\x1b[0m`;
export const COLOR: Palette = { added: wrap(32), removed: wrap(31), changed: wrap(33), dim: wrap(2) };
export const PLAIN: Palette = { added: (s) => s, removed: (s) => s, changed: (s) => s, dim: (s) => s };

/** `flag` is --color/--no-color when given. */
export function choosePalette(flag: boolean | undefined, isTTY: boolean, env: NodeJS.ProcessEnv = process.env): Palette {
  if (flag !== undefined) return flag ? COLOR : PLAIN;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return PLAIN;
  if (env.FORCE_COLOR !== undefined) return env.FORCE_COLOR === '0' || env.FORCE_COLOR === 'false' ? PLAIN : COLOR;
  return isTTY ? COLOR : PLAIN;
}
