/**
 * Every command-line option, in the groups `--help` shows. One table serves yargs (which
 * parses), the help text (which lists) and the unknown-option check (which suggests), so
 * they cannot disagree. Adding an option: one entry in its group here.
 */
import { ANALYSES, ANALYSIS_NAMES, ANALYSIS_OPTIONS } from '../analysis/registry.js';
import { FORCED_FORMATS } from '../formats/registry.js';
import { OUTPUT_FORMATS } from '../render/registry.js';

export type CommandName = 'diff' | 'inspect';

export interface OptionSpec {
  name: string;
  alias?: string;
  type: 'boolean' | 'string';
  /** Repeatable (`--fail-on a --fail-on b`). */
  array?: boolean;
  choices?: readonly string[];
  default?: string;
  /** Placeholder for the value in help (`--epsilon E`). */
  value?: string;
  describe: string;
  /** A boolean whose `--no-<name>` form is listed in help. */
  negatable?: boolean;
  /** The commands that take it (default: both). */
  commands?: readonly CommandName[];
}

export interface OptionGroup {
  title: string;
  options: OptionSpec[];
}

const DIFF: CommandName[] = ['diff'];

/** The values of --fail-on: the gates analyses declare in the registry. */
export const FAIL_ON: readonly string[] = ANALYSIS_NAMES.flatMap((n) => (ANALYSES[n] as { gate?: string }).gate ?? []);

export const OPTION_GROUPS: OptionGroup[] = [
  {
    title: 'Output',
    options: [
      {
        name: 'output',
        alias: 'o',
        type: 'string',
        choices: [...OUTPUT_FORMATS, 'partials'],
        default: 'text',
        value: 'FORMAT',
        describe: `Output format: ${OUTPUT_FORMATS.join(', ')} (default: text); partials: the mergeable results of a --partition run`,
      },
      { name: 'stats', type: 'boolean', describe: 'Also show min and max on changed-values lines', commands: DIFF },
      { name: 'sort-by-change-magnitude', type: 'boolean', describe: 'Changed tensors first, by relative L2 change, largest first', commands: DIFF },
      {
        name: 'color',
        type: 'boolean',
        negatable: true,
        describe: 'Colour text output or not (default: only when stdout is a terminal; NO_COLOR and FORCE_COLOR are honoured)',
      },
    ],
  },
  {
    title: 'Filters',
    options: [
      { name: 'path', type: 'string', value: 'SUBSTR', describe: 'Only tensors and keys whose name contains SUBSTR (a warning when none does)' },
      {
        name: 'ignore-keys-regex',
        type: 'string',
        value: 'RE',
        describe: 'Skip tensors and keys whose name matches RE (metadata keys are also tried without "__metadata__."; a warning when none matches)',
      },
      { name: 'epsilon', type: 'string', value: 'E', describe: 'Values within E of each other count as equal (default: 0, exact)', commands: DIFF },
      { name: 'shape-only', type: 'boolean', describe: 'Compare names, shapes and dtypes from the headers; read no tensor data' },
      { name: 'recursive', alias: 'r', type: 'boolean', describe: 'Accepted for compatibility: directories are always compared recursively', commands: DIFF },
    ],
  },
  {
    title: 'Input',
    options: [
      {
        name: 'format',
        type: 'string',
        choices: FORCED_FORMATS,
        value: 'FMT',
        describe: `Read every file as this format (${FORCED_FORMATS.join(', ')}; default: recognised by its bytes); bytes of another format are an error`,
      },
      {
        name: 'stream',
        type: 'boolean',
        describe:
          'Accepted for compatibility: tensors are always streamed in ~1 MiB chunks, never loaded whole (a path may be - for standard input; gzip is decompressed)',
      },
      {
        name: 'check',
        type: 'boolean',
        describe: 'diffai --check FILE…: validate every file fully and name pickle globals that would run code (as diffai check)',
        commands: DIFF,
      },
    ],
  },
  {
    title: 'Matching names',
    options: [
      {
        name: 'strip-prefix',
        type: 'string',
        array: true,
        value: 'PREFIX',
        describe: 'Remove PREFIX from every name on both sides before matching (repeatable; e.g. module. of DDP)',
      },
      {
        name: 'rename',
        type: 'string',
        array: true,
        value: "'RE=REPL'",
        describe: 'Rename on both sides before matching: every match of RE becomes REPL ($1 … groups; repeatable, in order)',
      },
      { name: 'rename-a', type: 'string', array: true, value: "'RE=REPL'", describe: 'Like --rename, for the first file only (applied before --rename)' },
      {
        name: 'rename-b',
        type: 'string',
        array: true,
        value: "'RE=REPL'",
        describe: 'Like --rename, for the second and later files only (applied before --rename)',
      },
    ],
  },
  {
    title: 'Analyses',
    options: [
      ...ANALYSIS_NAMES.map((n): OptionSpec => ({ name: ANALYSES[n].flag, type: 'boolean', describe: ANALYSES[n].describe, commands: DIFF })),
      {
        name: 'fail-on',
        type: 'string',
        array: true,
        value: 'WHAT',
        describe: `CI gates, a list (${FAIL_ON.join(',')}): exit 1 when the analysis fails (run even when not shown)`,
        commands: DIFF,
      },
      // --rtol, --clusters, --rank-k …: declared with their analysis (src/analysis/registry.ts)
      ...ANALYSIS_OPTIONS.map(
        (o): OptionSpec => ({
          name: o.flag,
          type: 'string',
          value: o.value,
          describe: o.describe,
          ...(o.choices ? { choices: o.choices } : {}),
          commands: DIFF,
        }),
      ),
    ],
  },
  {
    title: 'Reports and exit status',
    options: [
      { name: 'markdown-output', type: 'boolean', describe: 'Markdown output (same as --output markdown)' },
      {
        name: 'generate-report',
        type: 'string',
        value: '[FILE]',
        describe:
          'Also write the whole report to FILE: .html a self-contained page, .md Markdown with SVG charts beside it (default diffai-report.html, or .md with Markdown output)',
      },
      { name: 'include-charts', type: 'boolean', describe: 'Charts: inline SVG in HTML, SVG files beside a Markdown report, sparklines in text' },
      {
        name: 'review-friendly',
        type: 'boolean',
        describe: 'Review view: changed items only, structural and tie changes first, largest changes, grouped by block',
        commands: DIFF,
      },
      {
        name: 'exit-code',
        type: 'boolean',
        describe: 'Exit 1 when the models differ (as git diff --exit-code); without it a comparison that ran exits 0',
        commands: DIFF,
      },
      { name: 'quiet', alias: 'q', type: 'boolean', describe: 'Print nothing; implies --exit-code', commands: DIFF },
      { name: 'brief', type: 'boolean', describe: 'Print only "Files A and B differ" when they do; implies --exit-code', commands: DIFF },
    ],
  },
  {
    title: 'Performance',
    options: [
      {
        name: 'threads',
        type: 'string',
        value: 'N',
        describe: 'Engine threads (default: half the available cores, as each keeps another core busy reading; more than the cores is capped with a warning)',
      },
      {
        name: 'partition',
        type: 'string',
        value: 'K/N',
        describe: 'Compute share K of N of the tensor work (split by bytes) and write it with -o partials; diffai merge PARTS… prints the whole diff',
        commands: DIFF,
      },
    ],
  },
  {
    title: 'General',
    options: [
      { name: 'verbose', alias: 'v', type: 'boolean', describe: 'File details and timing on stderr; stack traces on errors' },
      { name: 'help', alias: 'h', type: 'boolean', describe: 'Show this help' },
      { name: 'version', type: 'boolean', describe: "Show diffai's version" },
    ],
  },
];

/** The options `command` takes, group by group (groups left empty are dropped). */
export function groupsFor(command: CommandName): OptionGroup[] {
  return OPTION_GROUPS.map((g) => ({ ...g, options: g.options.filter((o) => (o.commands ?? ['diff', 'inspect']).includes(command)) })).filter(
    (g) => g.options.length > 0,
  );
}

export function optionsFor(command: CommandName): OptionSpec[] {
  return groupsFor(command).flatMap((g) => g.options);
}
