/**
 * A local HTTP server on 127.0.0.1 for the remote-file tests: serves files by Range (or
 * misbehaves on purpose, by the first path segment), counts requests per path and records
 * the Authorization header each request carried.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SeenRequest {
  path: string;
  range: string | undefined;
  authorization: string | undefined;
  status: number;
}

/** A file lookup: the bytes at a path below the mode segment, or undefined (404). */
export type Files = (path: string) => Uint8Array | undefined;

/**
 * Modes (first path segment):
 * - `r`: Range honoured (206), 200 without a Range header.
 * - `norange`: always 200 with the whole body.
 * - `e401`, `e403`, `e404`: that status.
 * - `flaky`: the first request for each path answers 500, later ones as `r`.
 * - `reset`: the first request for each path has its connection destroyed, later ones as `r`.
 * - `fail500`: always 500.
 * - `truncate`: 206 with correct headers, then half the body and the connection closed.
 * - `badrange`: 206 whose Content-Range starts one byte later than asked.
 * - `badlength`: 206 with a correct Content-Range but Content-Length 10^12.
 * - `huge200`: 200 announcing 10^12 bytes (sends a little, keeps the connection open).
 * - `drip`: 206 with correct headers, then one byte every 200 ms.
 */
export class RangeServer {
  readonly requests: SeenRequest[] = [];
  private server: Server;
  private seen = new Map<string, number>();
  /** Extra handlers by mode (the hub test adds `hub`). */
  handlers = new Map<string, (req: IncomingMessage, res: ServerResponse, rest: string) => number>();
  port = 0;

  constructor(private files: Files) {
    this.server = createServer((req, res) => this.handle(req, res));
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  get base(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  /** Requests whose path is `path` (or starts with it, when `prefix`). */
  count(path: string, prefix = false): number {
    return this.requests.filter((r) => (prefix ? r.path.startsWith(path) : r.path === path)).length;
  }

  private handle(req: IncomingMessage, res: ServerResponse): unknown {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const [, mode = '', ...restParts] = path.split('/');
    const rest = restParts.join('/');
    const record = (status: number) => this.requests.push({ path, range: req.headers.range, authorization: req.headers.authorization, status });
    const custom = this.handlers.get(mode);
    if (custom) {
      record(custom(req, res, rest));
      return;
    }
    const nth = (this.seen.get(path) ?? 0) + 1;
    this.seen.set(path, nth);
    const file = this.files(rest);
    /** Answers `status` with an empty body; true, so a branch can `return fail(…)`. */
    const fail = (status: number): true => {
      record(status);
      res.writeHead(status, { 'content-length': 0 });
      res.end();
      return true;
    };
    if (mode === 'e401' || mode === 'e403' || mode === 'e404' || mode === 'fail500') return fail(mode === 'fail500' ? 500 : Number(mode.slice(1)));
    if (mode === 'flaky' && nth === 1) return fail(500);
    if (mode === 'reset' && nth === 1) {
      record(0);
      req.socket.destroy();
      return;
    }
    if (!file) return fail(404);
    if (mode === 'huge200') {
      record(200);
      res.writeHead(200, { 'content-length': String(10 ** 12) });
      res.write(Buffer.alloc(1024));
      return; // never ends: the client must refuse and hang up
    }
    const range = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
    if (mode === 'norange' || !range) {
      record(200);
      res.writeHead(200, { 'content-length': file.length });
      res.end(file);
      return;
    }
    const first = Number(range[1]);
    const last = Math.min(Number(range[2]), file.length - 1);
    if (first >= file.length) {
      record(416);
      res.writeHead(416, { 'content-range': `bytes */${file.length}`, 'content-length': 0 });
      res.end();
      return;
    }
    const body = file.subarray(first, last + 1);
    const shift = mode === 'badrange' ? 1 : 0;
    const headers = {
      'content-range': `bytes ${first + shift}-${last}/${file.length}`,
      'content-length': mode === 'badlength' ? String(10 ** 12) : String(body.length),
      etag: '"v1"',
    };
    record(206);
    res.writeHead(206, headers);
    if (mode === 'truncate') {
      res.write(body.subarray(0, body.length >> 1));
      res.socket?.end();
      return;
    }
    if (mode === 'drip') {
      let at = 0;
      const timer = setInterval(() => {
        if (at >= body.length || res.destroyed) {
          clearInterval(timer);
          res.end();
          return;
        }
        res.write(body.subarray(at, at + 1));
        at++;
      }, 200);
      res.on('close', () => clearInterval(timer));
      return;
    }
    res.end(body);
  }
}
