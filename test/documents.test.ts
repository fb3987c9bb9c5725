/**
 * The documents' integrations run unmodified (issue 14, item 2): the MLflow snippets with a
 * stub `mlflow` module that records calls, the GitHub Actions steps under GitHub's
 * `bash --noprofile --norc -eo pipefail` with jq, and the pre-commit hook in a temporary git
 * repository with no terminal. The snippets are verbatim copies (test/documents/README.md);
 * `diffai` on PATH is a shim running this checkout's bin/diffai.js. Expected counts come from
 * the generator's reference (fixtures/core/reference_stats.json).
 */
import { type SpawnSyncOptions, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import yaml from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, requireBuild } from './helpers/cli.js';
import { f32Bytes } from './helpers/dtypes.js';
import { REFERENCE, ROOT, core, safetensorsBytes, tempDir } from './helpers/files.js';

const DOCS = join(ROOT, 'test', 'documents');
const tmp = tempDir('diffai-docs-');
const shimDir = tmp.path('bin');

/** The first of `names` found on PATH, or undefined. */
function onPath(...names: string[]): string | undefined {
  for (const name of names) {
    const r = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
    if (r.status === 0 && r.stdout.trim()) return r.stdout.trim();
  }
  return undefined;
}
const PYTHON = onPath('python3');
const JQ = onPath('jq');
const GIT = onPath('git');
const BASH = onPath('bash');
/** A test's title, marked with why it is skipped where a tool it needs is missing. */
const needs = (title: string, tools: Record<string, string | undefined>) => {
  const missing = Object.entries(tools)
    .filter(([, path]) => path === undefined)
    .map(([name]) => name);
  return missing.length === 0 ? title : `${title} [SKIPPED: ${missing.join(', ')} not on PATH]`;
};

const ENV = (): NodeJS.ProcessEnv => ({
  ...process.env,
  PATH: `${shimDir}${delimiter}${process.env.PATH}`,
  NO_COLOR: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_AUTHOR_NAME: 'Test',
  GIT_AUTHOR_EMAIL: 'test@example.invalid',
  GIT_COMMITTER_NAME: 'Test',
  GIT_COMMITTER_EMAIL: 'test@example.invalid',
});

function run(cmd: string, args: string[], options: SpawnSyncOptions = {}): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: ENV(), stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000, ...options });
  if (r.error) throw r.error;
  return { status: r.status, stdout: String(r.stdout), stderr: String(r.stderr) };
}

beforeAll(() => {
  requireBuild();
  mkdirSync(shimDir);
  writeFileSync(join(shimDir, 'diffai'), `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} "$@"\n`);
  chmodSync(join(shimDir, 'diffai'), 0o755);
});
afterAll(() => tmp.cleanup());

// ------------------------------------------------------------------ models for the scripts

const BASE = 'digits_mlp.safetensors';
const f32 = (name: string, shape: number[], fill: (i: number) => number) => {
  const n = shape.reduce((a, b) => a * b, 1);
  return { name, dtype: 'f32' as const, shape, bytes: f32Bytes(Array.from({ length: n }, (_, i) => fill(i))) };
};
/** A classifier model; `classes` sets the head's shape, `shift` moves every value. */
const classifier = (classes: number, shift: number) =>
  safetensorsBytes([
    f32('features.0.weight', [8, 4], (i) => i / 32 + shift),
    f32('classifier.weight', [classes, 8], (i) => Math.sin(i) + shift),
    f32('classifier.bias', [classes], (i) => i / 10 + shift),
  ]);
/** Twelve layers; `shift` moves every value, so all twelve tensors change. */
const twelveLayers = (shift: number) => safetensorsBytes(Array.from({ length: 12 }, (_, k) => f32(`layers.${k}.weight`, [4, 4], (i) => i + k + shift)));

/** Expected counts for digits_mlp vs `other`, from the generator's reference. */
function referenceCounts(other: string): { stats: number; shapes: number; total: number } {
  const a = REFERENCE.files[BASE]!;
  const b = REFERENCE.files[other]!;
  const pair = REFERENCE.pairs[`${BASE}|${other}`]!;
  const common = Object.keys(a.tensors).filter((n) => n in b.tensors);
  const shapes = common.filter((n) => a.tensors[n]!.shape.join() !== b.tensors[n]!.shape.join()).length;
  const stats = common.filter((n) => pair[n] && pair[n]!.changed_elements > 0).length;
  const onlyOneSide = Object.keys(a.tensors).length + Object.keys(b.tensors).length - 2 * common.length;
  const meta = new Set([...Object.keys(a.metadata ?? {}), ...Object.keys(b.metadata ?? {})]);
  const metaChanged = [...meta].filter((k) => a.metadata?.[k] !== b.metadata?.[k]).length;
  return { stats, shapes, total: stats + shapes + onlyOneSide + metaChanged };
}

// ------------------------------------------------------------------ MLflow

const MLFLOW_STUB = `"""Stand-in for mlflow: records every call, in order, to $MLFLOW_STUB_LOG as JSON."""
import json, os
_calls = []
def _record(*call):
    _calls.append(list(call))
    with open(os.environ["MLFLOW_STUB_LOG"], "w") as f:
        json.dump(_calls, f)
class _Run:
    def __enter__(self):
        _record("start_run")
        return self
    def __exit__(self, *exc):
        _record("end_run")
        return False
def start_run(*args, **kwargs):
    return _Run()
def log_dict(dictionary, artifact_file):
    _record("log_dict", dictionary, artifact_file)
def log_metric(key, value):
    _record("log_metric", key, value)
`;

/** Runs `log_model_diff(a, b)` as defined by the snippet file (executed as written) and returns the recorded calls. */
function mlflowCalls(snippet: string, a: string, b: string): unknown[][] {
  const stubDir = tmp.path('mlflow-stub');
  if (!existsSync(stubDir)) mkdirSync(stubDir);
  writeFileSync(join(stubDir, 'mlflow.py'), MLFLOW_STUB);
  const log = tmp.path(`mlflow-${Math.random().toString(36).slice(2)}.json`);
  const driver = `import sys\nsys.path.insert(0, ${JSON.stringify(stubDir)})\nexec(compile(open(sys.argv[1]).read(), sys.argv[1], "exec"))\nlog_model_diff(sys.argv[2], sys.argv[3])\n`;
  const r = run(PYTHON!, ['-c', driver, join(DOCS, snippet), a, b], { env: { ...ENV(), MLFLOW_STUB_LOG: log } });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(readFileSync(log, 'utf8')) as unknown[][];
}

describe('MLflow integration (the documents’ snippets, with a stub mlflow)', () => {
  it.skipIf(!PYTHON)(needs('the guide’s snippet logs the diff and counts TensorStatsChanged/TensorShapeChanged', { python3: PYTHON }), () => {
    for (const other of ['digits_mlp_finetuned.safetensors', 'digits_mlp_reshaped.safetensors']) {
      const ref = referenceCounts(other);
      const calls = mlflowCalls('mlflow_guide.py', core(BASE), core(other));
      expect(
        calls.map((c) => c[0]),
        other,
      ).toEqual(['start_run', 'log_dict', 'log_metric', 'log_metric', 'log_metric', 'end_run']);
      const logged = calls[1]![1] as unknown[];
      expect(calls[1]![2]).toBe('model_comparison.json');
      expect(calls.slice(2, 5), other).toEqual([
        ['log_metric', 'total_changes', ref.total],
        ['log_metric', 'stats_changes', ref.stats],
        ['log_metric', 'shape_changes', ref.shapes],
      ]);
      expect(logged.length).toBe(ref.total);
    }
    // The two pairs really exercise both counters.
    expect([referenceCounts('digits_mlp_finetuned.safetensors').stats, referenceCounts('digits_mlp_reshaped.safetensors').shapes]).toEqual([6, 3]);
  });

  it.skipIf(!PYTHON)(needs('the analysis guide’s snippet (with --stats) logs the same number of changes', { python3: PYTHON }), () => {
    const ref = referenceCounts('digits_mlp_finetuned.safetensors');
    const calls = mlflowCalls('mlflow_functions.py', core(BASE), core('digits_mlp_finetuned.safetensors'));
    expect(calls.map((c) => c[0])).toEqual(['start_run', 'log_dict', 'log_metric', 'end_run']);
    expect(calls[2]).toEqual(['log_metric', 'total_changes', ref.total]);
  });
});

// ------------------------------------------------------------------ GitHub Actions

interface Workflow {
  jobs: Record<string, { steps: Array<{ name?: string; run?: string }> }>;
}

/** The `run:` scripts of the workflow's steps after checkout and install, each as GitHub runs `shell: bash`. */
function runSteps(workflow: string, workspace: string): Array<{ name: string; status: number | null; stdout: string; stderr: string }> {
  const wf = yaml.load(readFileSync(join(DOCS, workflow), 'utf8')) as Workflow;
  const steps = wf.jobs['model-diff']!.steps.filter((s) => s.run !== undefined && s.name !== 'Install diffai');
  const results = [];
  for (const [k, step] of steps.entries()) {
    const script = join(workspace, `step-${k}.sh`);
    writeFileSync(script, step.run!);
    const r = run(BASH!, ['--noprofile', '--norc', '-eo', 'pipefail', script], { cwd: workspace });
    results.push({ name: step.name!, ...r });
    if (r.status !== 0) break; // a failed step ends the job
  }
  return results;
}

function workspace(name: string, baseline: Uint8Array | string, candidate: Uint8Array | string): string {
  const dir = tmp.path(name);
  mkdirSync(join(dir, 'models'), { recursive: true });
  for (const [file, content] of [
    ['baseline.safetensors', baseline],
    ['candidate.safetensors', candidate],
  ] as const) {
    if (typeof content === 'string') copyFileSync(content, join(dir, 'models', file));
    else writeFileSync(join(dir, 'models', file), content);
  }
  return dir;
}

describe('GitHub Actions workflow (the documents’ steps under bash -eo pipefail)', () => {
  const tools = { bash: BASH, jq: JQ };
  const ready = BASH !== undefined && JQ !== undefined;

  it.skipIf(!ready)(needs('unchanged models: every step passes, no warning', tools), () => {
    const steps = runSteps('github_actions.yml', workspace('gha-same', core(BASE), core(BASE)));
    expect(steps.map((s) => [s.name, s.status])).toEqual([
      ['Compare models', 0],
      ['Analyze changes', 0],
    ]);
    expect(steps[1]!.stdout).toBe('');
    expect(readFileSync(tmp.path('gha-same/model_diff.json'), 'utf8')).toBe('[]\n');
  });

  it.skipIf(!ready)(needs('a fine-tune that changed values: the compare step passes (exit 0 under bash -e), the checks run', tools), () => {
    const steps = runSteps('github_actions.yml', workspace('gha-tuned', core(BASE), core('digits_mlp_finetuned.safetensors')));
    expect(steps.map((s) => [s.name, s.status])).toEqual([
      ['Compare models', 0],
      ['Analyze changes', 0],
    ]);
    expect(steps[1]!.stdout).toBe(''); // 7 changes: under the threshold of 10
  });

  it.skipIf(!ready)(needs('many changes: the job passes with the warning and the count', tools), () => {
    const steps = runSteps('github_actions.yml', workspace('gha-many', twelveLayers(0), twelveLayers(0.5)));
    expect(steps.map((s) => [s.name, s.status])).toEqual([
      ['Compare models', 0],
      ['Analyze changes', 0],
    ]);
    expect(steps[1]!.stdout.trim()).toMatch(/Many parameter changes detected: 12$/);
  });

  it.skipIf(!ready)(needs('a changed classifier shape: the analyze step fails the job with its message', tools), () => {
    const steps = runSteps('github_actions.yml', workspace('gha-classifier', classifier(10, 0), classifier(12, 0)));
    expect(steps.map((s) => [s.name, s.status])).toEqual([
      ['Compare models', 0],
      ['Analyze changes', 1],
    ]);
    expect(steps[1]!.stdout).toContain('"TensorShapeChanged"');
    expect(steps[1]!.stdout).toMatch(/Critical layer shape changes detected/);
  });

  it.skipIf(!BASH)(needs('the analysis guide’s workflow (--stats): the compare step writes the JSON and passes', { bash: BASH }), () => {
    const dir = workspace('gha-stats', core(BASE), core('digits_mlp_finetuned.safetensors'));
    const steps = runSteps('github_actions_stats.yml', dir);
    expect(steps.map((s) => [s.name, s.status])).toEqual([['Compare models', 0]]);
    const diff = JSON.parse(readFileSync(join(dir, 'model_diff.json'), 'utf8')) as unknown[];
    expect(diff.length).toBe(referenceCounts('digits_mlp_finetuned.safetensors').total);
  });
});

// ------------------------------------------------------------------ pre-commit hook

describe('the documents’ pre-commit hook, without a terminal', () => {
  const tools = { git: GIT, jq: JQ, bash: BASH };
  const ready = GIT !== undefined && JQ !== undefined && BASH !== undefined;

  it.skipIf(!ready)(needs('a value change commits without a question; a shape change is refused, not hung on the prompt', tools), () => {
    const repo = tmp.path('repo');
    mkdirSync(repo);
    const git = (...args: string[]) => run(GIT!, args, { cwd: repo });
    expect(git('init', '-q').status).toBe(0);
    writeFileSync(join(repo, 'model.safetensors'), classifier(10, 0));
    git('add', 'model.safetensors');
    expect(git('commit', '-q', '-m', 'first model').status).toBe(0);
    copyFileSync(join(DOCS, 'pre-commit'), join(repo, '.git', 'hooks', 'pre-commit'));
    chmodSync(join(repo, '.git', 'hooks', 'pre-commit'), 0o755);

    // Values moved, shapes kept: no architecture change, the commit goes through.
    writeFileSync(join(repo, 'model.safetensors'), classifier(10, 0.25));
    git('add', 'model.safetensors');
    // git sends a hook's output to stderr.
    const values = git('commit', '-m', 'fine-tuned');
    expect(values.status, values.stderr).toBe(0);
    expect(values.stderr).toMatch(/Analyzing model changes in model\.safetensors/);
    expect(values.stderr).not.toMatch(/Architecture changes detected/);
    expect(git('log', '--format=%s').stdout).toBe('fine-tuned\nfirst model\n');

    // The head grew: the hook shows the diff and, with no answer on stdin, refuses.
    writeFileSync(join(repo, 'model.safetensors'), classifier(12, 0.25));
    git('add', 'model.safetensors');
    const shape = git('commit', '-m', 'new head');
    expect(shape.status).toBe(1);
    expect(shape.stderr).toMatch(/Architecture changes detected in model\.safetensors/);
    expect(shape.stderr).toContain('  ~ classifier.weight: shape=[10, 8] -> [12, 8]');
    expect(git('log', '--format=%s').stdout).toBe('fine-tuned\nfirst model\n');
  });
});
