/**
 * HTTP Range requests with Node's built-in fetch, checked as untrusted input: every answer
 * must be the 206 for exactly the bytes asked (Content-Range and Content-Length agree with
 * the request and with the size seen first), bodies that end early or stall are errors,
 * and a server that ignores Range is refused unless the whole file is small. 5xx, 429 and
 * connection resets are retried with exponential backoff (bounded). Redirects are followed
 * by hand so the hub token is sent to the hub's origin only, never to the CDN it points to.
 */
import { DiffaiError } from '../errors.js';
import { checkScheme, type RemoteTarget } from './remote-path.js';

/** What is known about one remote file; shared by every handle (and handed to helper threads). */
export interface RemoteState {
  target: RemoteTarget;
  /** File size, from the first Content-Range. */
  size?: number;
  /** ETag of the first answer: a later different one means the file changed under us. */
  etag?: string;
  /** Where the last redirect chain ended (a CDN URL): later requests go there directly. */
  resolved?: string;
  /** The whole file, when the server ignored Range and the file is small. */
  whole?: Uint8Array;
}

/** Body bytes a stream receives ahead of its reader. */
const READ_AHEAD = 8 << 20;
/** A server that ignores Range may still serve a file this small whole. */
export const WHOLE_FILE_LIMIT = 1 << 20;
const MAX_REDIRECTS = 5;
const MAX_ATTEMPTS = 5;
const BACKOFF_MS = 250;
const MAX_BACKOFF_MS = 4000;
/** Default seconds without progress before a request is abandoned (DIFFAI_REMOTE_TIMEOUT). */
const DEFAULT_TIMEOUT_S = 30;

/** Seconds a request may wait for headers, and per MiB of body (a slow drip is a timeout too). */
export function timeoutSeconds(): number {
  const v = Number(process.env.DIFFAI_REMOTE_TIMEOUT);
  return Number.isFinite(v) && v > 0 ? v : DEFAULT_TIMEOUT_S;
}

/** A DiffaiError from an HTTP answer; `retry` marks transient trouble. */
export class RemoteError extends DiffaiError {
  constructor(
    file: string,
    message: string,
    readonly status?: number,
    readonly retry = false,
  ) {
    super(file, message);
  }
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  410: 'Gone',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/** `HTTP 404 Not Found` (our own wording: a server's reason phrase is not echoed). */
function httpStatus(status: number): string {
  return `HTTP ${status}${STATUS_TEXT[status] ? ` ${STATUS_TEXT[status]}` : ''}`;
}

function isHub(state: RemoteState): boolean {
  return /^hf:\/\//i.test(state.target.label);
}

/** What the hub's X-Error-Code says, in our words (the header's own text is not echoed). */
const HUB_ERRORS: Record<string, string> = {
  RepoNotFound: 'the repository does not exist, or it is private and needs HF_TOKEN',
  RevisionNotFound: 'the revision does not exist in the repository',
  EntryNotFound: 'the repository has no such file at this revision',
  GatedRepo: 'the repository is gated: accept its terms on the hub and set HF_TOKEN',
};

/** The one-line error for a failed status (`hubCode`: the hub's X-Error-Code header). */
function statusError(state: RemoteState, status: number, hubCode: string | null): RemoteError {
  const label = state.target.label;
  const hub = isHub(state);
  const tokenSet = state.target.auth !== undefined;
  const known = hub && hubCode !== null ? HUB_ERRORS[hubCode] : undefined;
  if (status === 401 || status === 403) {
    const hint = known
      ? `: ${known}`
      : hub
        ? tokenSet
          ? '; HF_TOKEN is set but was refused (does it have access to this repository? gated repositories need their terms accepted)'
          : '; the repository may not exist, or be private or gated: set HF_TOKEN to an access token'
        : '';
    return new RemoteError(label, `access denied (${httpStatus(status)})${hint}`, status);
  }
  if (status === 404 || status === 410) {
    const hint = known
      ? `: ${known}`
      : hub
        ? ` on the hub: check the repository, revision and path${tokenSet ? '' : ' (a private repository also answers so without HF_TOKEN)'}`
        : '';
    return new RemoteError(label, `not found (${httpStatus(status)})${hint}`, status);
  }
  const retry = status === 429 || status === 408 || (status >= 500 && status <= 599);
  return new RemoteError(label, `the server answered ${httpStatus(status)}`, status, retry);
}

/** Connection-level failures worth another attempt (resets, refused, DNS hiccups are not). */
const RETRY_CODES = new Set([
  'ECONNRESET',
  'EPIPE',
  'ECONNREFUSED',
  'ECONNABORTED',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'ETIMEDOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'EAI_AGAIN',
]);

function networkError(state: RemoteState, e: unknown): RemoteError {
  if (e instanceof RemoteError) return e;
  if (e instanceof DiffaiError) return new RemoteError(state.target.label, e.message);
  const cause = (e as { cause?: { code?: string } })?.cause;
  const code = cause?.code ?? (e as { code?: string })?.code;
  if (code === 'ENOTFOUND') return new RemoteError(state.target.label, `cannot resolve the host ${new URL(state.target.url).hostname}`);
  return new RemoteError(state.target.label, `connection failed${code ? ` (${code})` : ''}`, undefined, code === undefined || RETRY_CODES.has(code));
}

/** Runs `attempt` until it succeeds, retrying transient failures with exponential backoff. */
export async function withRetries<T>(state: RemoteState, attempt: () => Promise<T>): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await attempt();
    } catch (e) {
      const err = networkError(state, e);
      if (!err.retry || i >= MAX_ATTEMPTS) {
        throw i > 1 && err.retry ? new RemoteError(err.file!, `${err.message} (after ${i} attempts)`, err.status) : err;
      }
      await new Promise((r) => setTimeout(r, Math.min(MAX_BACKOFF_MS, BACKOFF_MS * 2 ** (i - 1))));
    }
  }
}

/** A timer that aborts a request unless progress re-arms it. */
class Watchdog {
  readonly controller = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  fired = false;

  arm(seconds: number): void {
    this.disarm();
    this.timer = setTimeout(() => {
      this.fired = true;
      this.controller.abort();
    }, seconds * 1000);
  }

  disarm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/** Bytes `start..end-1` of `header` `bytes a-b/total`, or undefined when it does not parse. */
function parseContentRange(header: string | null): { first: number; last: number; total: number } | { total: number; unsatisfied: true } | undefined {
  if (header === null) return undefined;
  const m = /^\s*bytes\s+(\d{1,16})-(\d{1,16})\/(\d{1,16}|\*)\s*$/i.exec(header);
  if (m) {
    if (m[3] === '*') return undefined; // a size we must know
    const [first, last, total] = [Number(m[1]), Number(m[2]), Number(m[3])];
    return Number.isSafeInteger(total) && first <= last && last < total ? { first, last, total } : undefined;
  }
  const u = /^\s*bytes\s+\*\/(\d{1,16})\s*$/i.exec(header);
  return u ? { total: Number(u[1]), unsatisfied: true } : undefined;
}

/**
 * An open range response: `read` fills a target from the body, in order. Bounded memory:
 * the body is pulled as it is consumed (TCP backpressure holds the rest at the server).
 */
export class RangeBody {
  /** Body bytes received ahead of the reader (at most READ_AHEAD), oldest first. */
  private queue: Uint8Array[] = [];
  private queued = 0;
  private ended = false;
  private failure: unknown;
  private pumping = false;
  private wake: (() => void) | undefined;

  constructor(
    private readonly state: RemoteState,
    private readonly reader: ReadableStreamDefaultReader<Uint8Array>,
    private readonly watchdog: Watchdog,
    /** File position of the next body byte, and the end of the range (exclusive). */
    public position: number,
    readonly end: number,
  ) {}

  /**
   * Keeps receiving while the engine computes (up to READ_AHEAD bytes ahead), so the
   * connection does not idle between chunk reads.
   */
  private pump(): void {
    if (this.pumping || this.ended || this.failure !== undefined || this.queued >= READ_AHEAD) return;
    this.pumping = true;
    void (async () => {
      try {
        while (this.queued < READ_AHEAD && !this.ended) {
          const next = await this.reader.read();
          if (next.done) this.ended = true;
          else {
            this.queue.push(next.value);
            this.queued += next.value.length;
          }
          this.wake?.();
        }
      } catch (e) {
        this.failure = e ?? new Error('read failed');
        this.wake?.();
      } finally {
        this.pumping = false;
      }
    })();
  }

  /** Fills `target` with the next bytes of the range; throws RemoteError (retryable for resets and early ends). */
  async read(target: Uint8Array): Promise<void> {
    if (this.position + target.length > this.end) throw new Error('RangeBody.read past its range');
    let filled = 0;
    // A slow drip is a timeout too: the deadline grows with the bytes asked for.
    this.watchdog.arm(timeoutSeconds() * (1 + target.length / (1 << 20)));
    try {
      while (filled < target.length) {
        const chunk = this.queue[0];
        if (!chunk) {
          if (this.watchdog.fired) throw this.timeout();
          if (this.failure !== undefined) {
            const err = networkError(this.state, this.failure);
            // The connection dropped mid-body: a truncated answer (asked again from here, bounded).
            throw new RemoteError(
              err.file!,
              `truncated response: the connection closed at byte ${this.position + filled} of the range ending at ${this.end}`,
              undefined,
              true,
            );
          }
          if (this.ended) {
            throw new RemoteError(
              this.state.target.label,
              `truncated response: the body ended at byte ${this.position + filled} of the range ending at ${this.end}`,
              undefined,
              true,
            );
          }
          const arrived = new Promise<void>((resolve) => {
            this.wake = resolve;
          });
          this.pump();
          await arrived;
          this.wake = undefined;
          continue;
        }
        const n = Math.min(chunk.length, target.length - filled);
        target.set(chunk.subarray(0, n), filled);
        if (n < chunk.length) this.queue[0] = chunk.subarray(n);
        else this.queue.shift();
        this.queued -= n;
        filled += n;
      }
    } finally {
      this.position += filled;
      this.watchdog.disarm();
    }
    this.pump();
  }

  /** Drops the next `n` bytes (a small gap between two tensors read from one stream). */
  async skip(n: number): Promise<void> {
    const scratch = new Uint8Array(Math.min(n, 64 << 10));
    for (let left = n; left > 0; left -= scratch.length) await this.read(left >= scratch.length ? scratch : scratch.subarray(0, left));
  }

  private timeout(): RemoteError {
    return new RemoteError(
      this.state.target.label,
      `timed out: data arrived too slowly (more than ${timeoutSeconds()} s per MiB; DIFFAI_REMOTE_TIMEOUT sets the seconds)`,
    );
  }

  close(): void {
    this.watchdog.disarm();
    this.reader.cancel().catch(() => undefined);
  }
}

/**
 * One request for bytes `start..end-1` (end clipped to the file size once known): follows
 * redirects (the token only to its origin), checks the answer and returns the open body.
 * Fills in `state.size`/`etag`/`resolved`; a small file served whole lands in `state.whole`
 * (and the result is undefined).
 */
async function openOnce(state: RemoteState, start: number, end: number): Promise<RangeBody | undefined> {
  const label = state.target.label;
  const watchdog = new Watchdog();
  let url = new URL(state.resolved ?? state.target.url);
  let fromCache = state.resolved !== undefined;
  let response: Response;
  for (let hop = 0; ; hop++) {
    const headers: Record<string, string> = { range: `bytes=${start}-${end - 1}`, 'accept-encoding': 'identity' };
    if (state.target.auth && url.origin === state.target.authOrigin) Object.assign(headers, state.target.auth);
    watchdog.arm(timeoutSeconds());
    try {
      response = await fetch(url, { headers, redirect: 'manual', signal: watchdog.controller.signal });
    } catch (e) {
      watchdog.disarm();
      if (watchdog.fired) throw new RemoteError(label, `timed out: no answer within ${timeoutSeconds()} s (DIFFAI_REMOTE_TIMEOUT sets the seconds)`);
      throw networkError(state, e);
    }
    watchdog.disarm();
    const location = response.headers.get('location');
    if (response.status >= 300 && response.status < 400 && location !== null) {
      await response.body?.cancel().catch(() => undefined);
      if (hop >= MAX_REDIRECTS) throw new RemoteError(label, `more than ${MAX_REDIRECTS} redirects`);
      let next: URL;
      try {
        next = new URL(location, url);
      } catch {
        throw new RemoteError(label, 'redirected to an invalid URL');
      }
      checkScheme(next, label, 'redirect target');
      url = next;
      continue;
    }
    // A cached CDN URL may have expired (signed URLs do): ask the original URL again, once.
    if (fromCache && (response.status === 401 || response.status === 403 || response.status === 404)) {
      await response.body?.cancel().catch(() => undefined);
      state.resolved = undefined;
      fromCache = false;
      url = new URL(state.target.url);
      hop = -1;
      continue;
    }
    break;
  }
  const drop = () => response.body?.cancel().catch(() => undefined);
  if (url.href !== state.target.url) state.resolved = url.href;
  const status = response.status;
  if (status === 416) {
    const cr = parseContentRange(response.headers.get('content-range'));
    await drop();
    if (cr && 'unsatisfied' in cr && cr.total === 0 && (state.size === undefined || state.size === 0)) {
      state.size = 0;
      return undefined;
    }
    throw new RemoteError(label, `the server refused the range ${start}-${end - 1} (HTTP 416)${cr ? ` for a file of ${cr.total} bytes` : ''}`);
  }
  if (status === 200) {
    const length = Number(response.headers.get('content-length') ?? Number.NaN);
    const known = Number.isSafeInteger(length) && length >= 0;
    if (!known || length > WHOLE_FILE_LIMIT || (state.size !== undefined && length !== state.size)) {
      await drop();
      throw new RemoteError(
        label,
        `the server does not support Range requests (it answered HTTP 200 with ${known ? `${length} bytes` : 'a body of unstated length'}); diffai reads remote files by range and downloads whole only files of at most ${WHOLE_FILE_LIMIT} bytes: download the file and give its local path`,
      );
    }
    const whole = new Uint8Array(length);
    const body = new RangeBody(state, response.body!.getReader(), watchdog, 0, length);
    try {
      await body.read(whole);
    } finally {
      body.close();
    }
    state.size = length;
    state.whole = whole;
    return undefined;
  }
  if (status !== 206) {
    await drop();
    throw statusError(state, status, response.headers.get('x-error-code'));
  }
  const cr = parseContentRange(response.headers.get('content-range'));
  const fail = async (why: string): Promise<never> => {
    await drop();
    throw new RemoteError(label, why);
  };
  if (!cr || 'unsatisfied' in cr) return fail('the server answered 206 without a valid Content-Range (bytes first-last/size)');
  if (state.size !== undefined && cr.total !== state.size) {
    return fail(`the file changed on the server while it was read (its size went from ${state.size} to ${cr.total} bytes)`);
  }
  const expectedLast = Math.min(end, cr.total) - 1;
  if (cr.first !== start || cr.last !== expectedLast) {
    return fail(`Content-Range mismatch: asked for bytes ${start}-${end - 1}, the server sent ${cr.first}-${cr.last} of ${cr.total}`);
  }
  const length = response.headers.get('content-length');
  if (length !== null && Number(length) !== cr.last - cr.first + 1) {
    return fail(`Content-Length ${length.slice(0, 20)} does not match the Content-Range ${cr.first}-${cr.last} (${cr.last - cr.first + 1} bytes)`);
  }
  const etag = response.headers.get('etag') ?? undefined;
  if (etag !== undefined && !etag.startsWith('W/')) {
    if (state.etag !== undefined && etag !== state.etag) return fail('the file changed on the server while it was read (its ETag changed)');
    state.etag ??= etag;
  }
  state.size = cr.total;
  if (!response.body) return fail('the server sent no body');
  return new RangeBody(state, response.body.getReader(), watchdog, start, cr.last + 1);
}

/** Opens bytes `start..end-1` (clipped to the file), retrying transient failures. Undefined: the file was served whole or is empty. */
export function openRange(state: RemoteState, start: number, end: number): Promise<RangeBody | undefined> {
  return withRetries(state, () => openOnce(state, start, end));
}

/** Bytes `start..end-1` (clipped to the file size) as one buffer; a body cut short is asked for again from where it stopped. */
export async function fetchRange(state: RemoteState, start: number, end: number): Promise<Uint8Array> {
  const out = new Uint8Array(state.size === undefined ? end - start : Math.max(0, Math.min(end, state.size) - start));
  let filled = 0;
  let resets = 0;
  while (true) {
    if (state.whole) return state.whole.slice(start, Math.min(end, state.whole.length));
    const body = await openRange(state, start + filled, end);
    if (!body) {
      if (state.whole) continue; // served whole: answered from state.whole above
      return new Uint8Array(0); // an empty file
    }
    try {
      const want = body.end - start;
      const target = want < out.length ? out.subarray(0, want) : out;
      await body.read(target.subarray(filled));
      return target;
    } catch (e) {
      // Only a reset or an early end is asked again (bounded); anything else is the answer.
      if (!(e instanceof RemoteError) || !e.retry || ++resets >= MAX_ATTEMPTS) throw e;
      filled = body.position - start;
    } finally {
      body.close();
    }
  }
}
