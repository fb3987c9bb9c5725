/**
 * The fast argument parser (src/cli/fast-args.ts) against yargs as main.ts configures it from
 * the option table: every line the fast path accepts must parse to exactly the object yargs
 * gives (deep equality, every key), and lines it cannot be sure of must be left to yargs.
 * The lines are generated from the option table and the commands, so a new option is
 * covered without editing this file.
 */
import { describe, expect, it } from 'vitest';
import { COMMANDS, type CommandSpec, positionalsOf } from '../src/cli/commands.js';
import { fastParse } from '../src/cli/fast-args.js';
import { parseWithYargs } from '../src/cli/main.js';
import { optionsFor, type OptionSpec } from '../src/cli/options.js';
import { summarizeArgv } from '../src/cli/option-check.js';

/** Positionals that fit each command (standard input among them), and one more where it takes more. */
function filesFor(command: CommandSpec): string[][] {
  const slots = positionalsOf(command);
  const required = slots.filter((s) => s.required).length;
  const base = ['a.safetensors', '-'].slice(0, required);
  return [slots.some((s) => s.variadic) ? [...base, '3'] : base].map((files) => (command.word ? [command.word, ...files] : files));
}

/** Every way of writing one option the table allows, with values that fit it. */
function spellings(spec: OptionSpec): string[][] {
  const names = [`--${spec.name}`, ...(spec.alias ? [`-${spec.alias}`] : [])];
  if (spec.name === 'help' || spec.name === 'version') return [[names[0]!]];
  if (spec.type === 'boolean') return [...names.map((n) => [n]), [`--no-${spec.name}`], [names[0]!, 'true']];
  const values = spec.choices ? [...spec.choices] : ['1e-3', '^x\\.y=$1'];
  const out: string[][] = [];
  for (const n of names) for (const v of values) out.push([n, v]);
  out.push([`--${spec.name}=${values[0]}`], [`--${spec.name}`, '-1'], [`--${spec.name}`]);
  if (spec.choices) out.push([names[0]!, 'no-such-choice']);
  if (spec.array) out.push([names[0]!, values[0]!, names[0]!, values[1] ?? values[0]!], [names[0]!, values[0]!, values[1] ?? values[0]!]);
  return out;
}

interface Case {
  argv: string[];
  /** The fast path must take it (plain spellings of options the command has). */
  mustAccept: boolean;
}

/** A small deterministic generator (mulberry32), so the mixed lines are the same on every run. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function cases(): Case[] {
  const out: Case[] = [];
  const all = COMMANDS.flatMap((c) => optionsFor(c.options));
  for (const command of COMMANDS) {
    const own = new Set(optionsFor(command.options));
    for (const files of filesFor(command)) {
      out.push({ argv: files, mustAccept: true });
      // Every spelling of every option with the two main commands; the others (which share
      // their option sets) get the mixed lines below.
      if (command.id !== 'diff' && command.id !== 'inspect') continue;
      for (const spec of new Set(all)) {
        for (const s of spellings(spec)) {
          const plain = own.has(spec) && spec.name !== 'help' && spec.name !== 'version' && !s.some((t) => t === '-1' || t === 'true' || t.includes('='));
          const complete = spec.type === 'boolean' || s.length > 1;
          const valid = !spec.choices || !s.includes('no-such-choice');
          // After the files, and before them (after the command's word; an array option's
          // values then run into the files).
          const at = command.word ? 1 : 0;
          out.push({ argv: [...files, ...s], mustAccept: plain && complete && valid });
          out.push({ argv: [...files.slice(0, at), ...s, ...files.slice(at)], mustAccept: plain && complete && valid && !spec.array });
        }
      }
    }
    // Mixed lines: up to four of the command's options in random places.
    const next = random(17 + command.positionals.length);
    const specs = [...own].filter((s) => s.name !== 'help' && s.name !== 'version');
    for (let k = 0; k < 60; k++) {
      const argv = [...filesFor(command)[0]!];
      for (let j = Math.floor(next() * 5); j > 0; j--) {
        const choices = spellings(specs[Math.floor(next() * specs.length)]!);
        const s = choices[Math.floor(next() * choices.length)]!;
        argv.splice(command.word ? 1 + Math.floor(next() * argv.length) : Math.floor(next() * (argv.length + 1)), 0, ...s);
      }
      out.push({ argv, mustAccept: false });
    }
  }
  return out;
}

/** yargs' reading of a line as main.ts runs it (after the unknown-option check), or the error it gives. */
async function viaYargs(argv: string[]): Promise<{ parsed?: unknown; error?: string }> {
  try {
    const summary = summarizeArgv(argv);
    if (summary.help || summary.version) return { error: 'help or version' };
    return { parsed: await parseWithYargs(argv) };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

describe('fast argument parser against yargs (lines generated from the option table)', () => {
  const all = cases();

  it('every line the fast path takes parses to exactly what yargs gives', async () => {
    let accepted = 0;
    for (const { argv } of all) {
      const fast = fastParse(argv);
      if (!fast) continue;
      accepted++;
      const slow = await viaYargs(argv);
      expect(slow.error, `yargs refuses a line the fast path takes: ${JSON.stringify(argv)}`).toBeUndefined();
      expect(fast, JSON.stringify(argv)).toEqual(slow.parsed);
    }
    console.log(`fast path took ${accepted} of ${all.length} generated lines`);
    // The generated lines are mostly plain ones: the fast path must take a good share.
    expect(accepted).toBeGreaterThan(all.length / 3);
  }, 120_000);

  it('takes every plain spelling of every option its command has', () => {
    const refused = all.filter((c) => c.mustAccept && !fastParse(c.argv)).map((c) => c.argv.join(' '));
    expect(refused).toEqual([]);
  });

  it('leaves to yargs what it cannot be sure of', () => {
    for (const argv of [
      ['a', 'b', '--'],
      ['a', 'b', '-qv'],
      ['a', 'b', '--stats', 'false'],
      ['a', 'b', '-o', 'json', '-o', 'yaml'],
      ['a', 'b', '--epsilon', '-1'],
      ['a', 'b', '--output=json', '--output', 'yaml'],
      ['a', 'b', '--no-output'],
      ['a', 'b', '--no-such-option'],
      ['a', 'b', '--help'],
      ['a', '--version'],
      ['a'],
      ['inspect', 'a', 'b'],
      ['inspect', 'a', '--stats'],
      ['inspect'],
      ['check'],
      ['a', 'b', '--path', ''],
    ])
      expect(fastParse(argv), argv.join(' ')).toBeUndefined();
  });
});
