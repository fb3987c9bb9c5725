/**
 * `diffai --help` and `diffai inspect --help`: usage, the option groups of options.ts,
 * examples and exit codes, wrapped to the terminal at spaces (a word is never split; one
 * longer than the line stands alone).
 */
import { type CommandName, type OptionSpec, groupsFor } from './options.js';

const USAGE: Record<CommandName, Array<[string, string]>> = {
  diff: [
    ['diffai A B [options]', 'compare two model files, sharded checkpoints or directories'],
    ['diffai A B C … [options]', 'a checkpoint sequence: each consecutive pair, plus sequence analyses'],
    ['diffai inspect FILE [options]', 'statistics of every tensor in one file'],
    ['diffai check FILE… (or --check)', 'validate files fully; name pickle globals that would run code (exit 2 if any is invalid or unsafe)'],
    ['diffai textconv FILE', 'one model as text, for git diff.<driver>.textconv'],
    ['diffai git-diff ARGS…', "git's external diff protocol (GIT_EXTERNAL_DIFF, diff.<driver>.command)"],
    ['diffai merge PARTS… [options]', 'the diff of a partitioned run (--partition K/N -o partials) from the parts of all its shares'],
  ],
  inspect: [['diffai inspect FILE [options]', 'statistics of every tensor in one file (exit 2 if it is invalid)']],
};

const EXAMPLES: Record<CommandName, Array<[string, string]>> = {
  diff: [
    ['diffai base.safetensors tuned.safetensors', 'what changed, tensor by tensor'],
    ['diffai a.pt b.pt --output json > diff.json', "for scripts (jq '.[] | select(.TensorShapeChanged)')"],
    ['diffai a.pt b.pt --exit-code --epsilon 1e-6', 'exit 1 when anything moved by more than 1e-6'],
    ['diffai ckpt_1.pt ckpt_2.pt ckpt_3.pt --convergence-analysis', 'a training run, checkpoint by checkpoint'],
    ['diffai prod.safetensors candidate.safetensors --fail-on anomalies', 'a CI gate'],
  ],
  inspect: [['diffai inspect model.safetensors -o json', 'every tensor with its statistics, role and ties']],
};

const TROUBLE: [string, string] = ['2', 'trouble: bad arguments, a missing, unreadable or invalid file'];
const EXIT_CODES: Record<CommandName, Array<[string, string]>> = {
  diff: [
    ['0', 'the comparison ran, whether or not the models differ'],
    ['1', 'with --exit-code (implied by -q/--quiet and --brief): the models differ; or an analysis gate (--fail-on) failed'],
    TROUBLE,
  ],
  inspect: [['0', 'the file is valid and was read'], TROUBLE],
};

/** Help of `command` for a terminal `width` columns wide. */
export function helpText(command: CommandName, width: number): string {
  const w = Math.max(40, Math.min(width, 120));
  const out: string[] = ['Usage:', ...table(USAGE[command], w), ''];
  if (command === 'diff') out.push(...wrap('Compare machine-learning model files tensor by tensor.', w), '');
  const groups = groupsFor(command);
  // One label column for every group, so the descriptions line up down the whole help.
  const labels = Math.max(...groups.flatMap((g) => g.options.map((o) => optionLabel(o).length)));
  for (const group of groups) {
    out.push(`${group.title}:`);
    out.push(
      ...table(
        group.options.map((o) => [optionLabel(o), o.describe]),
        w,
        labels,
      ),
    );
    out.push('');
  }
  out.push('Examples:');
  for (const [cmd, what] of EXAMPLES[command]) out.push(...wrap(cmd, w, '  ', '    '), ...wrap(what, w, '      '));
  out.push('', 'Exit status:', ...table(EXIT_CODES[command], w));
  return `${out.join('\n')}\n`;
}

/** The width help is wrapped to: the terminal's, else $COLUMNS, else 80. */
export function helpWidth(stream: NodeJS.WriteStream = process.stdout): number {
  return stream.columns || Number(process.env.COLUMNS) || 80;
}

function optionLabel(o: OptionSpec): string {
  const names = `${o.alias ? `-${o.alias}, ` : '    '}--${o.name}${o.negatable ? `, --no-${o.name}` : ''}`;
  return o.value ? `${names} ${o.value}` : names;
}

/**
 * Two columns: labels, then descriptions wrapped beside them; where the labels would leave
 * the descriptions too little room, each description goes under its label instead.
 */
function table(rows: Array<[string, string]>, width: number, labels = Math.max(...rows.map(([l]) => l.length))): string[] {
  const labelWidth = labels + 4;
  const side = labelWidth <= Math.min(36, width - 30);
  const out: string[] = [];
  for (const [label, text] of rows) {
    if (side) {
      const lines = wrap(text, width - labelWidth);
      out.push(`  ${label.padEnd(labelWidth - 2)}${lines[0] ?? ''}`, ...lines.slice(1).map((l) => `${' '.repeat(labelWidth)}${l}`));
    } else {
      out.push(`  ${label}`, ...wrap(text, width, '        '));
    }
  }
  return out;
}

/** Words of `text` in lines of at most `width` columns (first line after `first`, others after `rest`). */
export function wrap(text: string, width: number, first = '', rest = first): string[] {
  const lines: string[] = [];
  let line = first;
  let empty = true;
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (!empty && line.length + 1 + word.length > width) {
      lines.push(line);
      line = rest;
      empty = true;
    }
    line += empty ? word : ` ${word}`;
    empty = false;
  }
  if (!empty) lines.push(line);
  return lines;
}
