/**
 * Remote model paths: `https://…`, `http://` on a loopback address (local servers and tests),
 * and `hf://[datasets/|spaces/]org/repo[@revision][/path]`, which names a file of a Hugging
 * Face Hub repository (`{endpoint}/{repo}/resolve/{revision}/{path}`, endpoint from
 * HF_ENDPOINT as huggingface_hub reads it). The token (HF_TOKEN) belongs to the hub's
 * origin only: the HTTP layer never sends it to another host (a CDN it redirects to).
 */
import { DiffaiError } from '../errors.js';

/** What a remote path resolves to. */
export interface RemoteTarget {
  /** The path as the user gave it (messages and descriptors name this). */
  label: string;
  /** The URL to request (a string: states cross to helper threads). */
  url: string;
  /** Headers sent to `authOrigin` only (the hub token). */
  auth?: Record<string, string>;
  /** The origin credentials may go to. */
  authOrigin?: string;
}

const DEFAULT_HF_ENDPOINT = 'https://huggingface.co';
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

/** True for a path diffai reads over HTTP (it never touches the local file system). */
export function isRemotePath(path: string): boolean {
  return /^(https?|hf):\/\//i.test(path);
}

/** A `hf://` path: repository, revision, file path inside the repository ('' for the root). */
export interface HubPath {
  /** `models` (no prefix), `datasets` or `spaces`. */
  kind: 'models' | 'datasets' | 'spaces';
  repo: string;
  revision: string;
  file: string;
}

/**
 * Parses `hf://[datasets/|spaces/]org/repo[@revision][/path]`. A revision with slashes is
 * one of the hub's refs (`refs/pr/7`, `refs/convert/parquet`); other revisions are one
 * segment (a branch, tag or commit).
 */
export function parseHubPath(path: string): HubPath {
  const rest = path.replace(/^hf:\/\//i, '');
  const bad = (why: string) => new DiffaiError(path, `not a Hugging Face path (${why}); expected hf://org/repo[@revision]/path/in/repo`);
  const m = /^(?:(datasets|spaces)\/)?([^/@]+)\/([^/@]+)(?:@(refs\/(?:pr|convert)\/[^/]+|[^/]+))?(?:\/(.*))?$/.exec(rest);
  if (!m) throw bad('no org/repo');
  const [, kind, org, name, revision, file] = m;
  const segments = (file ?? '').split('/').filter((s) => s !== '');
  if (segments.some((s) => s === '..' || s === '.') || /[\\\0?#]/.test(file ?? '') || /[\\\0?#%]/.test(org! + name! + (revision ?? '')))
    throw bad('bad characters or segments');
  return { kind: (kind as HubPath['kind'] | undefined) ?? 'models', repo: `${org}/${name}`, revision: revision ?? 'main', file: segments.join('/') };
}

/** The hf:// path of `file` in the same repository and revision as `hub`. */
export function hubPathOf(hub: HubPath, file: string): string {
  const prefix = hub.kind === 'models' ? '' : `${hub.kind}/`;
  const revision = hub.revision === 'main' ? '' : `@${hub.revision}`;
  return `hf://${prefix}${hub.repo}${revision}${file === '' ? '' : `/${file}`}`;
}

/** The hub's base URL: HF_ENDPOINT, else huggingface.co. */
function hubEndpoint(label: string): URL {
  const raw = process.env.HF_ENDPOINT?.trim() || DEFAULT_HF_ENDPOINT;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new DiffaiError(label, `HF_ENDPOINT is not a URL: ${JSON.stringify(raw.slice(0, 100))}`);
  }
  checkScheme(url, label, 'HF_ENDPOINT');
  return url;
}

/** https anywhere; plain http only on a loopback address (nothing secret crosses a network in clear). */
export function checkScheme(url: URL, label: string, what = 'URL'): void {
  if (url.protocol === 'https:') return;
  if (url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname)) return;
  if (url.protocol === 'http:') throw new DiffaiError(label, `${what}: plain http is accepted only on a loopback address (127.0.0.1, localhost); use https`);
  throw new DiffaiError(label, `${what}: unsupported scheme ${url.protocol.replace(/:$/, '')}`);
}

/** Resolves a remote path to the URL to request (and the hub token, for hf:// paths). */
export function resolveRemote(path: string): RemoteTarget {
  if (/^hf:\/\//i.test(path)) {
    const hub = parseHubPath(path);
    if (hub.file === '') throw new DiffaiError(path, 'names a repository, not a file');
    const endpoint = hubEndpoint(path);
    const base = endpoint.href.endsWith('/') ? endpoint.href : `${endpoint.href}/`;
    const prefix = hub.kind === 'models' ? '' : `${hub.kind}/`;
    const file = hub.file.split('/').map(encodeURIComponent).join('/');
    const url = new URL(`${prefix}${hub.repo}/resolve/${encodeURIComponent(hub.revision)}/${file}`, base);
    const token = process.env.HF_TOKEN?.trim();
    // A header cannot carry control or non-ASCII characters: say so once (never echoing the token) rather than fail every request as a connection error.
    if (token && !/^[\x21-\x7e]+$/.test(token))
      throw new DiffaiError(
        path,
        'HF_TOKEN holds a character an HTTP header cannot carry (a space, control or non-ASCII character); set it to the token alone',
      );
    return token ? { label: path, url: url.href, auth: { authorization: `Bearer ${token}` }, authOrigin: endpoint.origin } : { label: path, url: url.href };
  }
  let url: URL;
  try {
    url = new URL(path);
  } catch {
    throw new DiffaiError(path, 'not a valid URL');
  }
  checkScheme(url, path);
  if (url.username || url.password) throw new DiffaiError(path, 'credentials in the URL are not accepted (they would be printed in messages)');
  return { label: path, url: url.href };
}

/** The remote path of `relative` beside `path` (a shard named by an index), or undefined when it would leave the directory. */
export function remoteSibling(path: string, relative: string): string {
  if (/^hf:\/\//i.test(path)) {
    const hub = parseHubPath(path);
    const dir = hub.file.includes('/') ? hub.file.slice(0, hub.file.lastIndexOf('/') + 1) : '';
    return hubPathOf(hub, dir + relative);
  }
  const url = new URL(path);
  return new URL(relative.split('/').map(encodeURIComponent).join('/'), url).href;
}
