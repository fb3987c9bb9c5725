/**
 * A small, bounded, safe unpickler for pickle protocols 0–5.
 *
 * Nothing in a pickle is ever executed. GLOBAL/STACK_GLOBAL produce inert `PyGlobal` values;
 * REDUCE/NEWOBJ/BUILD ask the caller's hooks what a known constructor means. Safety is by
 * allow-list (allowlist.ts, as torch's weights_only loader): a pickle that *calls*
 * (REDUCE/INST/OBJ) a global outside the list, or passes a non-listed global to a listed call,
 * is refused; NEWOBJ of an unlisted plain class (which calls no code of ours or theirs here)
 * becomes an inert `PyObject` leaf that names its class. Globals that can only mean code
 * execution (os.system, builtins.eval, subprocess.*, …) are refused even as references.
 *
 * Bounds: every length is checked against the remaining input before anything is allocated;
 * memo indices, stack size, MARK depth and operation count are capped, and objects created,
 * values pushed and memo entries are budgeted in proportion to the pickle's size (a deflated
 * data.pkl is small on disk but may be large inflated: the budget follows the inflated size,
 * at a rate no real checkpoint comes near, under an absolute ceiling). Dicts are `Map`s, so
 * keys such as `__proto__` cannot leak into prototypes, and BUILD state on a dict goes to
 * `attrs`, never into its items. Integers stay exact (bigint beyond 2^53, signed LONG1/LONG4).
 */
import { ByteCursor } from '../../io/cursor.js';
import { isAllowedCall, isAllowedValue, isKnownClass } from './allowlist.js';

export class PickleError extends Error {
  constructor(
    message: string,
    readonly position?: number,
    /** For a refusal on safety grounds: the global that would be called or reached. */
    readonly refused?: string,
  ) {
    super(message);
    this.name = 'PickleError';
  }
}

/** Bytes from the pickle; large payloads keep only their position (`data` absent). */
export class PyBytes {
  constructor(
    /** Absolute position of the payload in the file. */
    readonly offset: number,
    readonly length: number,
    /** The bytes, when small enough to keep. */
    readonly data: Uint8Array | undefined,
  ) {}
}

/** A global reference (module, name). Inert. */
export class PyGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}
  get qualname(): string {
    return `${this.module}.${this.name}`;
  }
}

/** An inert placeholder for an object the unpickler does not interpret. */
export class PyObject {
  state: PyValue | undefined = undefined;
  listItems: PyValue[] | undefined = undefined;
  dictItems: PyDict | undefined = undefined;
  constructor(
    readonly cls: PyGlobal | PyValue,
    readonly args: PyValue[],
    readonly how: 'reduce' | 'newobj' | 'inst',
  ) {}
  get className(): string {
    return this.cls instanceof PyGlobal ? this.cls.qualname : '<computed class>';
  }
}

/** A Python dict (insertion-ordered). Keys are primitives; others are keyed by a repr string. */
export class PyDict {
  // Created on first use: a hostile pickle may hold a million empty dicts, and V8 Maps are costly
  private items: Map<PyKey, PyValue> | undefined = undefined;
  get map(): Map<PyKey, PyValue> {
    return (this.items ??= new Map());
  }
  /** State set by BUILD (attributes, e.g. an OrderedDict's `_metadata`); never dict items. */
  attrs: PyValue | undefined = undefined;
  set(key: PyValue, value: PyValue): void {
    this.map.set(toKey(key), value);
  }
  get(key: PyKey): PyValue | undefined {
    return this.items?.get(key);
  }
}

export class PySet {
  constructor(
    readonly items: PyValue[],
    readonly frozen: boolean,
  ) {}
}

/** Values a hook can return that the unpickler carries around untouched. */
export interface HostValue {
  readonly hostKind: string;
}

export type PyKey = string | number | bigint | boolean | null;

export type PyValue = null | boolean | number | bigint | string | PyBytes | PyValue[] | PyDict | PySet | PyObject | PyGlobal | HostValue;

/** Tuples are plain arrays, marked here so that callers can tell them from lists. */
export const TUPLES = new WeakSet<PyValue[]>();

function tuple(items: PyValue[]): PyValue[] {
  TUPLES.add(items);
  return items;
}

export function isHost(v: unknown): v is HostValue {
  return typeof v === 'object' && v !== null && typeof (v as HostValue).hostKind === 'string';
}

function toKey(key: PyValue): PyKey {
  if (key === null || typeof key === 'string' || typeof key === 'number' || typeof key === 'bigint' || typeof key === 'boolean') {
    return key;
  }
  return reprKey(key, 0);
}

function reprKey(v: PyValue, depth: number): string {
  if (depth > 8) return '…';
  if (v === null) return 'None';
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (Array.isArray(v)) {
    const inner = v
      .slice(0, 16)
      .map((x) => reprKey(x, depth + 1))
      .join(', ');
    return TUPLES.has(v) ? `(${inner}${v.length === 1 ? ',' : ''})` : `[${inner}]`;
  }
  if (v instanceof PyGlobal) return v.qualname;
  if (v instanceof PyObject) return `<${v.className}>`;
  if (v instanceof PyBytes) return `<${v.length} bytes>`;
  return `<${(v as { constructor?: { name?: string } }).constructor?.name ?? 'object'}>`;
}

/** Source of pickle bytes. Positions are absolute (file offsets). */
export interface PickleInput {
  readonly pos: number;
  readonly end: number;
  byte(): number;
  /** Exactly `n` bytes (n already checked against `end`). */
  take(n: number): Uint8Array;
  skip(n: number): void;
}

/** A pickle held in memory; `base` is its absolute position in the file. */
export class BufferInput implements PickleInput {
  private p = 0;
  constructor(
    private readonly buf: Uint8Array,
    private readonly base = 0,
  ) {}
  get pos(): number {
    return this.base + this.p;
  }
  get end(): number {
    return this.base + this.buf.length;
  }
  byte(): number {
    if (this.p >= this.buf.length) throw new PickleError('unexpected end of pickle data', this.pos);
    return this.buf[this.p++]!;
  }
  take(n: number): Uint8Array {
    if (this.p + n > this.buf.length) throw new PickleError('unexpected end of pickle data', this.pos);
    const out = this.buf.subarray(this.p, this.p + n);
    this.p += n;
    return out;
  }
  skip(n: number): void {
    if (this.p + n > this.buf.length) throw new PickleError('unexpected end of pickle data', this.pos);
    this.p += n;
  }
}

/** Reads a pickle from a file range through a small buffer (for the legacy format). */
export class FileInput implements PickleInput {
  private chunk: Uint8Array = new Uint8Array(0);
  private chunkStart = 0;
  private p: number;
  constructor(
    private readonly readAt: (position: number, length: number) => Uint8Array,
    start: number,
    readonly end: number,
    private readonly chunkSize = 1 << 16,
  ) {
    this.p = start;
  }
  get pos(): number {
    return this.p;
  }
  private fill(n: number): void {
    if (this.p + n > this.end) throw new PickleError('unexpected end of pickle data', this.p);
    if (this.p >= this.chunkStart && this.p + n <= this.chunkStart + this.chunk.length) return;
    const len = Math.min(this.end - this.p, Math.max(n, this.chunkSize));
    this.chunk = this.readAt(this.p, len);
    this.chunkStart = this.p;
  }
  byte(): number {
    this.fill(1);
    return this.chunk[this.p++ - this.chunkStart]!;
  }
  take(n: number): Uint8Array {
    this.fill(n);
    const at = this.p - this.chunkStart;
    this.p += n;
    return this.chunk.subarray(at, at + n);
  }
  skip(n: number): void {
    if (this.p + n > this.end) throw new PickleError('unexpected end of pickle data', this.p);
    this.p += n;
  }
}

export interface PickleLimits {
  /** Most opcodes executed. */
  maxOps: number;
  /** Largest memo index. */
  maxMemoIndex: number;
  /** Most values on the stack plus marked stacks. */
  maxStack: number;
  /** Deepest MARK nesting. */
  maxMarkDepth: number;
  /** Largest single string/bytes/long payload. */
  maxStringBytes: number;
  /** Bytes payloads above this keep only their position. */
  keepBytesUpTo: number;
  /** Most objects created (containers, strings, bytes, globals, constructed values). */
  maxObjects: number;
  /** Most values pushed in total (every opcode that pushes counts once). */
  maxPushes: number;
  /** Most memo entries. */
  maxMemoEntries: number;
  /** Longest LONG1/LONG4 payload, and longest text INT/LONG literal (torch needs ≤ 16 bytes). */
  maxLongBytes: number;
}

export const DEFAULT_LIMITS: PickleLimits = {
  maxOps: 200_000_000,
  maxMemoIndex: 1 << 26,
  // CPython's pickler batches APPENDS/SETITEMS by 1000, so real stacks stay small
  maxStack: 1_000_000,
  maxMarkDepth: 10_000,
  maxStringBytes: 256 * 1024 * 1024,
  keepBytesUpTo: 1 << 20,
  maxObjects: 4_000_000,
  maxPushes: 10_000_000,
  maxMemoEntries: 4_000_000,
  maxLongBytes: 1024,
};

/**
 * Budgets for a pickle of `size` bytes. A real state_dict spends ~100 pickle bytes per tensor
 * on ~8 objects and ~20 pushes (≈1 object per 12 bytes, 1 push per 5 bytes); hostile pickles
 * spend 1 byte per object (EMPTY_DICT, MEMOIZE, NONE). The budgets allow a generous constant
 * plus 1 object per 8 bytes and 1 push per 4 bytes, under the absolute DEFAULT_LIMITS ceilings.
 */
export function budgetFor(size: number): Pick<PickleLimits, 'maxObjects' | 'maxPushes' | 'maxMemoEntries'> {
  const objects = Math.min(DEFAULT_LIMITS.maxObjects, 250_000 + Math.floor(size / 8));
  return {
    maxObjects: objects,
    maxPushes: Math.min(DEFAULT_LIMITS.maxPushes, 2_000_000 + Math.floor(size / 4)),
    maxMemoEntries: objects,
  };
}

export interface UnpicklerHooks {
  /** Resolves a persistent id (BINPERSID/PERSID). Required when the pickle uses them. */
  persistentLoad?(pid: PyValue): PyValue;
  /** Called for REDUCE/NEWOBJ/NEWOBJ_EX/INST/OBJ on a global; return undefined for a placeholder. */
  construct?(cls: PyGlobal, args: PyValue[], how: 'reduce' | 'newobj' | 'inst'): PyValue | undefined;
  /** Called for BUILD; return true when handled. */
  build?(obj: PyValue, state: PyValue): boolean;
  /** Called once per unlisted class kept as an inert placeholder (NEWOBJ of a plain class). */
  unknownClass?(qualname: string): void;
}

/** Modules whose every global is refused (and their submodules). */
const FORBIDDEN_MODULES = new Set([
  'os',
  'posix',
  'nt',
  'subprocess',
  'sys',
  'shutil',
  'socket',
  'pty',
  'importlib',
  'runpy',
  'code',
  'codeop',
  'pickle',
  '_pickle',
  'cPickle',
  'marshal',
  'ctypes',
  'webbrowser',
  'commands',
  'pdb',
  'bdb',
  'timeit',
  'multiprocessing',
  'popen2',
  'pydoc',
  'tempfile',
  'io',
  '_io',
  'urllib',
  'urllib2',
  'http',
  'ftplib',
  'telnetlib',
  'smtplib',
  'requests',
  'operator',
  'torch.hub',
  'torch.distributed',
  'torch.ops',
  'torch._ops',
  'torch.classes',
]);
/** Names refused in builtins/__builtin__. */
const FORBIDDEN_BUILTINS = new Set([
  'eval',
  'exec',
  'execfile',
  'compile',
  'open',
  'file',
  '__import__',
  'getattr',
  'setattr',
  'delattr',
  'globals',
  'locals',
  'vars',
  'input',
  'raw_input',
  'breakpoint',
  'exit',
  'quit',
  'reload',
  'apply',
  'help',
]);

/** The reason a global is refused, or undefined when it is allowed (as an inert reference). */
export function forbiddenGlobal(module: string, name: string): string | undefined {
  const parts = module.split('.');
  for (let i = 1; i <= parts.length; i++) {
    if (FORBIDDEN_MODULES.has(parts.slice(0, i).join('.'))) return 'code execution or system access';
  }
  if ((module === 'builtins' || module === '__builtin__' || module === '__builtins__') && FORBIDDEN_BUILTINS.has(name)) {
    return 'code execution';
  }
  const allowedDunder = (module === 'copyreg' || module === 'copy_reg') && (name === '__newobj__' || name === '__newobj_ex__');
  if (!allowedDunder && /(^|\.)__\w+__($|\.)/.test(name)) return 'dunder attribute access';
  if (name.includes('.') && /(^|\.)(system|eval|exec|popen|spawn\w*|run|call)(\.|$)/.test(name)) return 'attribute chain to code';
  return undefined;
}

const MARK = Symbol('mark');

const TEXT = new TextDecoder('utf-8', { fatal: false });
const LATIN1 = new TextDecoder('latin1');

export interface UnpickleResult {
  value: PyValue;
  /** Absolute position just after STOP. */
  end: number;
  protocol: number;
}

/** Unpickles one pickle from `input`. Throws PickleError for anything malformed or refused. */
export function unpickle(input: PickleInput, hooks: UnpicklerHooks = {}, limits: Partial<PickleLimits> = {}): UnpickleResult {
  const L: PickleLimits = { ...DEFAULT_LIMITS, ...budgetFor(input.end - input.pos), ...limits };
  let stack: (PyValue | typeof MARK)[] = [];
  const marks: (PyValue | typeof MARK)[][] = [];
  const memo = new Map<number, PyValue>();
  let protocol = 0;
  let ops = 0;
  let total = 0; // values across all stacks (approximate bound)
  let pushes = 0;
  let objects = 0;
  const unknownClasses = new Set<string>();

  const start = input.pos;
  const fail = (msg: string): never => {
    throw new PickleError(msg, input.pos);
  };
  const refuse = (global: string, msg: string): never => {
    throw new PickleError(`refusing to load: ${msg}`, input.pos, global);
  };
  const push = (v: PyValue): void => {
    if (++total > L.maxStack) fail(`pickle stack exceeds ${L.maxStack} values`);
    if (++pushes > L.maxPushes) fail(`pickle pushes more than ${L.maxPushes} values, beyond the budget for its ${input.end - start} bytes`);
    stack.push(v);
  };
  /** Pushes a value the pickle just created (counted against the object budget). */
  const pushNew = (v: PyValue): void => {
    if (++objects > L.maxObjects) fail(`pickle creates more than ${L.maxObjects} objects, beyond the budget for its ${input.end - start} bytes`);
    push(v);
  };
  const pop = (): PyValue => {
    if (stack.length === 0) fail('pickle stack underflow');
    const v = stack.pop()!;
    total--;
    if (v === MARK) fail('unexpected MARK on the pickle stack');
    return v as PyValue;
  };
  const top = (): PyValue => {
    if (stack.length === 0) fail('pickle stack underflow');
    const v = stack[stack.length - 1]!;
    if (v === MARK) fail('unexpected MARK on the pickle stack');
    return v as PyValue;
  };
  const popMark = (): PyValue[] => {
    const items = stack as PyValue[];
    if (marks.length === 0) fail('pickle MARK stack underflow');
    stack = marks.pop()!;
    total -= items.length;
    return items;
  };
  const u8 = (): number => input.byte();
  const u16 = (): number => {
    const b = input.take(2);
    return b[0]! | (b[1]! << 8);
  };
  const u32 = (): number => {
    const b = input.take(4);
    return (b[0]! | (b[1]! << 8) | (b[2]! << 16)) + b[3]! * 0x1000000;
  };
  const i32 = (): number => {
    const b = input.take(4);
    return b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24);
  };
  const u64 = (): number => {
    const b = input.take(8);
    const lo = (b[0]! | (b[1]! << 8) | (b[2]! << 16)) + b[3]! * 0x1000000;
    const hi = (b[4]! | (b[5]! << 8) | (b[6]! << 16)) + b[7]! * 0x1000000;
    if (hi >= 0x200000) fail('pickle length field is out of range');
    return hi * 0x100000000 + lo;
  };
  const checkLen = (n: number, what: string): number => {
    if (n > L.maxStringBytes) fail(`pickle ${what} of ${n} bytes exceeds the ${L.maxStringBytes}-byte limit`);
    if (input.pos + n > input.end) fail(`pickle ${what} of ${n} bytes runs past the end of the data`);
    return n;
  };
  const line = (): string => {
    const parts: number[] = [];
    for (;;) {
      const c = u8();
      if (c === 0x0a) break;
      if (parts.length >= 65536) fail('pickle text line too long');
      parts.push(c);
    }
    return LATIN1.decode(Uint8Array.from(parts));
  };
  const text = (n: number): string => TEXT.decode(input.take(checkLen(n, 'string')));
  const bytes = (n: number): PyBytes => {
    checkLen(n, 'bytes');
    const at = input.pos;
    if (n <= L.keepBytesUpTo) return new PyBytes(at, n, input.take(n).slice());
    input.skip(n);
    return new PyBytes(at, n, undefined);
  };
  const memoPut = (idx: number, v: PyValue): void => {
    if (idx < 0 || idx > L.maxMemoIndex) fail(`pickle memo index ${idx} exceeds the limit of ${L.maxMemoIndex}`);
    // CPython's pickler memoizes each object it writes once: never more entries than objects made
    const cap = Math.min(L.maxMemoEntries, objects + 1024);
    if (memo.size >= cap && !memo.has(idx)) {
      fail(`pickle memo exceeds ${cap} entries, more than the objects it created`);
    }
    memo.set(idx, v);
  };
  const memoGet = (idx: number): PyValue => {
    const v = memo.get(idx);
    if (v === undefined) fail(`pickle memo index ${idx} is not defined`);
    return v as PyValue;
  };
  const makeGlobal = (module: string, name: string): PyGlobal => {
    const why = forbiddenGlobal(module, name);
    if (why) refuse(`${module}.${name}`, `the pickle references ${module}.${name} (${why})`);
    return new PyGlobal(module, name);
  };
  const refuseArgs = (cls: PyGlobal, argv: PyValue[]): void => {
    // A listed call may iterate or inspect its arguments under CPython: no unlisted global
    // (a module, a function) may reach it, directly or one container down.
    const check = (v: PyValue, depth: number): void => {
      if (v instanceof PyGlobal) {
        if (!isAllowedValue(v.module, v.name)) {
          refuse(v.qualname, `the pickle passes ${v.qualname} to ${cls.qualname}; ${v.qualname} is not on the allow-list (see docs/pytorch-safety.md)`);
        }
      } else if (depth < 2 && Array.isArray(v)) {
        for (let i = 0; i < v.length && i < 4096; i++) check(v[i]!, depth + 1);
      }
    };
    for (const a of argv) check(a, 0);
  };
  const construct = (cls: PyValue, args: PyValue, how: 'reduce' | 'newobj' | 'inst'): PyValue => {
    const argv: PyValue[] = Array.isArray(args) ? args : [args];
    if (!(cls instanceof PyGlobal)) {
      return refuse(
        `a computed value (${reprKey(cls, 0)})`,
        `the pickle ${how === 'newobj' ? 'instantiates' : 'calls'} a computed value (${reprKey(cls, 0)}), not a named global`,
      );
    }
    const known = how === 'newobj' ? isKnownClass(cls.module, cls.name) : isAllowedCall(cls.module, cls.name);
    if (!known) {
      if (how !== 'newobj') {
        return refuse(
          cls.qualname,
          `the pickle calls ${cls.qualname}, which is not on the allow-list of torch/numpy constructors (see docs/pytorch-safety.md)`,
        );
      }
      // NEWOBJ of a plain class: an inert leaf; nothing of the class is called here
      if (!unknownClasses.has(cls.qualname)) {
        unknownClasses.add(cls.qualname);
        hooks.unknownClass?.(cls.qualname);
      }
      return new PyObject(cls, argv, how);
    }
    refuseArgs(cls, argv);
    if ((cls.name === '_reconstructor' || cls.name === '__newobj__') && (cls.module === 'copyreg' || cls.module === 'copy_reg')) {
      // _reconstructor(cls, object, None) and __newobj__(cls, *args) are object.__new__(cls)
      const target = argv[0] ?? null;
      if (cls.name === '_reconstructor') {
        const base = argv[1];
        if (!(base instanceof PyGlobal) || (base.qualname !== 'builtins.object' && base.qualname !== '__builtin__.object') || (argv[2] ?? null) !== null) {
          return refuse(base instanceof PyGlobal ? base.qualname : 'copyreg._reconstructor', `copyreg._reconstructor with a base other than object`);
        }
      }
      return construct(target, tuple(argv.slice(cls.name === '__newobj__' ? 1 : 3)), 'newobj');
    }
    if (hooks.construct) {
      const v = hooks.construct(cls, argv, how);
      if (v !== undefined) return v;
    }
    return new PyObject(cls, argv, how);
  };
  const decodeLong = (b: Uint8Array): number | bigint => {
    if (b.length === 0) return 0;
    if (b.length <= 6) {
      let v = 0;
      for (let i = b.length - 1; i >= 0; i--) v = v * 256 + b[i]!;
      if (b[b.length - 1]! & 0x80) v -= 2 ** (8 * b.length);
      return v;
    }
    let hex = '';
    for (let i = b.length - 1; i >= 0; i--) hex += b[i]!.toString(16).padStart(2, '0');
    let v = BigInt(`0x${hex}`);
    if (b[b.length - 1]! & 0x80) v -= 1n << BigInt(8 * b.length);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  };
  const parseIntText = (s: string): number | bigint => {
    const t = s.trim().replace(/L$/, '');
    if (t.length > L.maxLongBytes * 3) fail(`pickle integer literal of ${t.length} digits exceeds the ${L.maxLongBytes * 3}-digit limit`);
    if (!/^[-+]?\d+$/.test(t)) fail(`bad integer literal in pickle: ${JSON.stringify(s.slice(0, 40))}`);
    const v = BigInt(t);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  };
  const setItems = (target: PyValue, items: PyValue[]): void => {
    if (items.length % 2 !== 0) fail('SETITEMS with an odd number of items');
    let dict: PyDict;
    if (target instanceof PyDict) dict = target;
    else if (target instanceof PyObject) dict = target.dictItems ??= new PyDict();
    else {
      fail('SETITEM on a value that is not a dict');
      return;
    }
    for (let i = 0; i < items.length; i += 2) dict.set(items[i]!, items[i + 1]!);
  };
  const appendItems = (target: PyValue, items: PyValue[]): void => {
    let list: PyValue[];
    if (Array.isArray(target) && !TUPLES.has(target)) list = target;
    else if (target instanceof PyObject) list = target.listItems ??= [];
    else {
      fail('APPEND on a value that is not a list');
      return;
    }
    for (const x of items) list.push(x); // never spread: batches can be large
  };

  for (;;) {
    if (++ops > L.maxOps) fail(`pickle exceeds ${L.maxOps} operations`);
    const op = u8();
    switch (op) {
      case 0x80: {
        // PROTO
        protocol = u8();
        if (protocol > 5) fail(`unsupported pickle protocol ${protocol}`);
        break;
      }
      case 0x95: {
        // FRAME
        const n = u64();
        if (input.pos + n > input.end) fail('pickle frame runs past the end of the data');
        break;
      }
      case 0x2e: {
        // STOP
        const v = pop();
        return { value: v, end: input.pos, protocol };
      }
      // --- ints, floats, constants
      case 0x4e:
        push(null);
        break; // NONE
      case 0x88:
        push(true);
        break; // NEWTRUE
      case 0x89:
        push(false);
        break; // NEWFALSE
      case 0x4b:
        push(u8());
        break; // BININT1
      case 0x4d:
        push(u16());
        break; // BININT2
      case 0x4a:
        push(i32());
        break; // BININT
      case 0x8a:
        push(decodeLong(input.take(checkLen(u8(), 'long'))));
        break; // LONG1
      case 0x8b: {
        // LONG4
        const n = i32();
        if (n < 0) fail('negative LONG4 length');
        if (n > L.maxLongBytes) fail(`pickle long integer of ${n} bytes exceeds the ${L.maxLongBytes}-byte limit`);
        push(decodeLong(input.take(checkLen(n, 'long'))));
        break;
      }
      case 0x47: {
        // BINFLOAT (big-endian f64)
        const b = input.take(8);
        push(new ByteCursor(b, '', { littleEndian: false, what: 'BINFLOAT' }).f64());
        break;
      }
      case 0x49: {
        // INT (text)
        const s = line();
        if (s === '00') push(false);
        else if (s === '01') push(true);
        else push(parseIntText(s));
        break;
      }
      case 0x4c:
        push(parseIntText(line()));
        break; // LONG (text)
      case 0x46: {
        // FLOAT (text)
        const s = line().trim();
        const v = Number(s);
        if (Number.isNaN(v) && !/^[-+]?nan$/i.test(s)) fail(`bad float literal in pickle: ${JSON.stringify(s.slice(0, 40))}`);
        push(v);
        break;
      }
      // --- strings and bytes
      case 0x58:
        pushNew(text(u32()));
        break; // BINUNICODE
      case 0x8c:
        pushNew(text(u8()));
        break; // SHORT_BINUNICODE
      case 0x8d:
        pushNew(text(u64()));
        break; // BINUNICODE8
      case 0x56: {
        // UNICODE (raw-unicode-escape text)
        const s = line();
        pushNew(s.replace(/\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})/g, (_m, a: string, b: string) => String.fromCodePoint(parseInt(a ?? b, 16))));
        break;
      }
      case 0x54: {
        // BINSTRING (py2 str)
        const n = i32();
        if (n < 0) fail('negative BINSTRING length');
        pushNew(LATIN1.decode(input.take(checkLen(n, 'string'))));
        break;
      }
      case 0x55:
        pushNew(LATIN1.decode(input.take(checkLen(u8(), 'string'))));
        break; // SHORT_BINSTRING
      case 0x53: {
        // STRING (quoted repr)
        const s = line().trim();
        const q = s[0];
        if ((q !== "'" && q !== '"') || s[s.length - 1] !== q || s.length < 2) fail('bad STRING literal in pickle');
        pushNew(
          s
            .slice(1, -1)
            .replace(/\\x([0-9a-fA-F]{2})|\\(.)/g, (_m, h: string, c: string) =>
              h ? String.fromCharCode(parseInt(h, 16)) : c === 'n' ? '\n' : c === 't' ? '\t' : c === 'r' ? '\r' : c,
            ),
        );
        break;
      }
      case 0x42:
        pushNew(bytes(u32()));
        break; // BINBYTES
      case 0x43:
        pushNew(bytes(u8()));
        break; // SHORT_BINBYTES
      case 0x8e:
        pushNew(bytes(u64()));
        break; // BINBYTES8
      case 0x96:
        pushNew(bytes(u64()));
        break; // BYTEARRAY8
      case 0x97:
        fail('pickle uses out-of-band buffers (NEXT_BUFFER), which a file cannot provide');
        break;
      case 0x98:
        break; // READONLY_BUFFER: no-op on our values
      // --- containers
      case 0x7d:
        pushNew(new PyDict());
        break; // EMPTY_DICT
      case 0x5d:
        pushNew([]);
        break; // EMPTY_LIST
      case 0x29:
        pushNew(tuple([]));
        break; // EMPTY_TUPLE
      case 0x8f:
        pushNew(new PySet([], false));
        break; // EMPTY_SET
      case 0x85: {
        const a = pop();
        pushNew(tuple([a]));
        break;
      } // TUPLE1
      case 0x86: {
        const b = pop();
        const a = pop();
        pushNew(tuple([a, b]));
        break;
      } // TUPLE2
      case 0x87: {
        const c = pop();
        const b = pop();
        const a = pop();
        pushNew(tuple([a, b, c]));
        break;
      } // TUPLE3
      case 0x28: {
        // MARK
        if (marks.length >= L.maxMarkDepth) fail(`pickle nesting exceeds ${L.maxMarkDepth} levels`);
        marks.push(stack);
        stack = [];
        break;
      }
      case 0x74:
        pushNew(tuple(popMark()));
        break; // TUPLE
      case 0x6c:
        pushNew(popMark());
        break; // LIST
      case 0x64: {
        // DICT
        const items = popMark();
        const d = new PyDict();
        setItems(d, items);
        pushNew(d);
        break;
      }
      case 0x91:
        pushNew(new PySet(popMark(), true));
        break; // FROZENSET
      case 0x90: {
        // ADDITEMS
        const items = popMark();
        const s = top();
        if (!(s instanceof PySet)) fail('ADDITEMS on a value that is not a set');
        for (const x of items) (s as PySet).items.push(x);
        break;
      }
      case 0x61: {
        const v = pop();
        appendItems(top(), [v]);
        break;
      } // APPEND
      case 0x65: {
        const items = popMark();
        appendItems(top(), items);
        break;
      } // APPENDS
      case 0x73: {
        const v = pop();
        const k = pop();
        setItems(top(), [k, v]);
        break;
      } // SETITEM
      case 0x75: {
        const items = popMark();
        setItems(top(), items);
        break;
      } // SETITEMS
      // --- stack manipulation
      case 0x30:
        pop();
        break; // POP
      case 0x31:
        popMark();
        break; // POP_MARK
      case 0x32:
        push(top());
        break; // DUP
      // --- memo
      case 0x70:
        memoPut(Number(parseIntText(line())), top());
        break; // PUT
      case 0x71:
        memoPut(u8(), top());
        break; // BINPUT
      case 0x72:
        memoPut(u32(), top());
        break; // LONG_BINPUT
      case 0x94:
        memoPut(memo.size, top());
        break; // MEMOIZE
      case 0x67:
        push(memoGet(Number(parseIntText(line()))));
        break; // GET
      case 0x68:
        push(memoGet(u8()));
        break; // BINGET
      case 0x6a:
        push(memoGet(u32()));
        break; // LONG_BINGET
      // --- globals and objects
      case 0x63: {
        // GLOBAL
        const module = line();
        const name = line();
        pushNew(makeGlobal(module, name));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL needs two strings');
        pushNew(makeGlobal(module as string, name as string));
        break;
      }
      case 0x82:
      case 0x83:
      case 0x84: // EXT1/2/4
        fail('pickle uses the copyreg extension registry (EXT opcodes), which is not supported');
        break;
      case 0x52: {
        // REDUCE
        const args = pop();
        const cls = pop();
        pushNew(construct(cls, args, 'reduce'));
        break;
      }
      case 0x81: {
        // NEWOBJ
        const args = pop();
        const cls = pop();
        pushNew(construct(cls, args, 'newobj'));
        break;
      }
      case 0x92: {
        // NEWOBJ_EX
        pop(); // kwargs
        const args = pop();
        const cls = pop();
        pushNew(construct(cls, args, 'newobj'));
        break;
      }
      case 0x69: {
        // INST
        const module = line();
        const name = line();
        const cls = makeGlobal(module, name);
        pushNew(construct(cls, tuple(popMark()), 'inst'));
        break;
      }
      case 0x6f: {
        // OBJ
        const items = popMark();
        if (items.length === 0) fail('OBJ without a class');
        pushNew(construct(items[0]!, tuple(items.slice(1)), 'inst'));
        break;
      }
      case 0x62: {
        // BUILD
        const state = pop();
        const obj = top();
        if (hooks.build?.(obj, state)) break;
        if (obj instanceof PyObject) obj.state = state;
        else if (obj instanceof PyDict) obj.attrs = state;
        // BUILD on anything else (host values, lists) carries no data we use
        break;
      }
      case 0x51: {
        // BINPERSID
        const pid = pop();
        if (!hooks.persistentLoad) fail('pickle has persistent ids but no resolver');
        pushNew(hooks.persistentLoad!(pid));
        break;
      }
      case 0x50: {
        // PERSID
        const pid = line();
        if (!hooks.persistentLoad) fail('pickle has persistent ids but no resolver');
        pushNew(hooks.persistentLoad!(pid));
        break;
      }
      default:
        fail(`unknown pickle opcode 0x${op.toString(16).padStart(2, '0')}`);
    }
  }
}
