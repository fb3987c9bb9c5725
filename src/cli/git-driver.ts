/**
 * Git integration (README "Git"):
 * - `diffai textconv FILE`: one model as text, for `diff.<driver>.textconv`;
 * - `diffai git-diff PATH OLD-FILE OLD-HEX OLD-MODE NEW-FILE NEW-HEX NEW-MODE [NEW-PATH MSG]`:
 *   the GIT_EXTERNAL_DIFF / `diff.<driver>.command` protocol. `/dev/null` stands for the
 *   missing side of an added or deleted file; a single argument is an unmerged path.
 *   Files that are not models (GIT_EXTERNAL_DIFF sees every changed file) get a unified
 *   text diff from `diff -u`. Exit 0 whenever the comparison ran, since git stops at an
 *   external diff that exits non-zero.
 */
import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { MODEL_EXTENSIONS } from '../diff/directory.js';
import { DiffaiError } from '../errors.js';
import { detectCompression } from '../io/compression.js';
import { READERS, readHead } from '../formats/registry.js';
import type { ModelDescription } from '../formats/types.js';
import { diffDescribed, inspectDescribed } from '../library.js';
import { withModels } from '../load.js';
import { choosePalette } from '../render/color.js';
import { render } from '../render/registry.js';
import { renderTextconv } from '../render/textconv.js';
import { loadOptionsFrom, type InputArgs } from './input-options.js';
import { write, stdoutIsTerminal } from './output.js';
import { termSafe } from '../terminal.js';

const NULL_FILE = '/dev/null';

export interface TextconvArgs extends InputArgs {
  file: string;
  threads?: number;
}

export async function runTextconv(args: TextconvArgs): Promise<number> {
  const report = await withModels([args.file], { format: args.format }, ([m]) => inspectDescribed(m!, { threads: args.threads }));
  await write(renderTextconv(report));
  return 0;
}

export interface GitDiffArgs extends InputArgs {
  gitArgs: string[];
  threads?: number;
  color?: boolean;
  stats?: boolean;
  epsilon?: number;
}

export async function runGitDiff(args: GitDiffArgs): Promise<number> {
  const argv = args.gitArgs.map(String);
  if (argv.length === 1) {
    await write(`* Unmerged path ${termSafe(argv[0]!)}\n`);
    return 0;
  }
  if (argv.length !== 7 && argv.length !== 9) {
    throw new DiffaiError(undefined, `git-diff: expected git's 7 arguments (path old-file old-hex old-mode new-file new-hex new-mode), got ${argv.length}`);
  }
  const [path, oldFile, , , newFile] = argv as [string, string, string, string, string];
  const newPath = argv.length === 9 ? argv[7]! : path;
  const present = [oldFile, newFile].filter((f) => f !== NULL_FILE);
  // A model by its name (so a corrupt model is reported, not text-diffed) or by its bytes.
  const isModel = [path, newPath, ...present].some((p) => MODEL_EXTENSIONS.test(p)) || present.some(sniffsAsModel);
  if (!isModel) return textDiff(path, newPath, oldFile, newFile);
  const header = `diffai a/${termSafe(path)} b/${termSafe(newPath)}${oldFile === NULL_FILE ? ' (new file)' : newFile === NULL_FILE ? ' (deleted file)' : ''}\n`;
  const options = { ...loadOptionsFrom(args), threads: args.threads, epsilon: args.epsilon ?? 0 };
  const report = await withModels(present, options, async (models) => {
    const [a, b] =
      oldFile === NULL_FILE ? [emptyLike(models[0]!), models[0]!] : newFile === NULL_FILE ? [models[0]!, emptyLike(models[0]!)] : [models[0]!, models[1]!];
    return diffDescribed(a, b, options);
  });
  const body = await render(report, 'text', { stats: args.stats ?? false, palette: choosePalette(args.color, stdoutIsTerminal()) });
  await write(header + body);
  return 0;
}

/** A model with nothing in it, standing for the missing side of an added or deleted file. */
function emptyLike(m: ModelDescription): ModelDescription {
  return { path: NULL_FILE, format: m.format, tensors: [], leaves: Object.create(null), warnings: [] };
}

function sniffsAsModel(file: string): boolean {
  if (!statSync(file, { throwIfNoEntry: false })?.isFile()) return false;
  const head = readHead(file);
  return READERS.some((r) => r.sniff(head, file)) || detectCompression(head) !== undefined;
}

/** Not a model: a unified diff from `diff -u`, labelled as git labels paths. */
async function textDiff(path: string, newPath: string, oldFile: string, newFile: string): Promise<number> {
  const r = spawnSync(
    'diff',
    ['-u', '--label', oldFile === NULL_FILE ? NULL_FILE : `a/${path}`, '--label', newFile === NULL_FILE ? NULL_FILE : `b/${newPath}`, oldFile, newFile],
    {
      encoding: 'buffer',
      maxBuffer: 256 * 1024 * 1024,
    },
  );
  if (r.error || (r.status !== 0 && r.status !== 1)) {
    await write(
      `diffai a/${termSafe(path)} b/${termSafe(newPath)}: not a model file, and \`diff -u\` could not compare it${r.error ? ` (${r.error.message})` : ''}\n`,
    );
    return 0;
  }
  await write(`diff a/${termSafe(path)} b/${termSafe(newPath)}\n${r.stdout.toString('utf8')}`);
  return 0;
}
