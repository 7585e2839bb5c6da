import { mkdir, open, readFile, realpath, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { AuthConfig } from '../types/index.js';

/*
 * Registry credentials in docker's client config file (`config.json`, its `auths` map), so that
 * `docker login` and `wharf login` share them. The file's other keys belong to docker (and to
 * the user): they are written back exactly as read.
 */

/** Docker Hub's key in `auths` (registry.IndexServer). */
export const INDEX_SERVER = 'https://index.docker.io/v1/';

export { configDir } from './configdir.js';

/** `auths` key for a registry domain: Docker Hub's full address, others `host[:port]`. */
export function authKeyForDomain(domain: string): string {
  return domain === 'docker.io' || domain === 'index.docker.io' ? INDEX_SERVER : domain;
}

/** `https://h:5000/v2/` -> `h:5000`, `h:5000/x` -> `h:5000` (docker's ConvertToHostname). */
export function convertToHostname(address: string): string {
  if (address.includes('://')) {
    try {
      const u = new URL(address);
      if (u.hostname) return u.port ? `${u.hostname}:${u.port}` : u.hostname;
    } catch {
      // Not a URL after all: cut at the first slash below.
    }
  }
  return address.split('/')[0];
}

/** One entry of `auths` as the file holds it. */
interface StoredEntry {
  auth?: string;
  email?: string;
  identitytoken?: string;
  registrytoken?: string;
  [other: string]: unknown;
}

function decodeAuth(auth: string, key: string, file: string): { username: string; password: string } {
  const text = Buffer.from(auth, 'base64').toString('utf8');
  const i = text.indexOf(':');
  if (i <= 0) throw new Error(`Invalid auth configuration file: the "auth" of ${JSON.stringify(key)} in ${file} is not base64 of "user:password"`);
  return { username: text.slice(0, i), password: text.slice(i + 1).replace(/\0+$/, '') };
}

/** docker's credsStore/credHelpers keys: wharf reads only `auths`. */
export type HelperWarning = (message: string) => void;

/** The client config file, read once; `save()` rewrites it atomically with mode 0600. */
export class ConfigFile {
  readonly path: string;
  #data: Record<string, unknown>;
  #warned = false;
  readonly #warn: HelperWarning;

  private constructor(path: string, data: Record<string, unknown>, warn: HelperWarning) {
    this.path = path;
    this.#data = data;
    this.#warn = warn;
  }

  /** An empty config that would be saved as `<dir>/config.json`. */
  static empty(dir: string, warn: HelperWarning = () => {}): ConfigFile {
    return new ConfigFile(join(dir, 'config.json'), {}, warn);
  }

  /** Reads `<dir>/config.json`; a missing file is an empty config. */
  static async load(dir: string, warn: HelperWarning = () => {}): Promise<ConfigFile> {
    const path = join(dir, 'config.json');
    let text = '';
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`Error loading config file: ${path}: ${(err as Error).message}`, { cause: err });
    }
    let data: unknown = {};
    if (text.trim()) {
      try {
        data = JSON.parse(text);
      } catch (err) {
        throw new Error(`Error loading config file: ${path}: ${(err as Error).message}`, { cause: err });
      }
    }
    if (!data || typeof data !== 'object' || Array.isArray(data)) throw new Error(`Error loading config file: ${path}: not a JSON object`);
    return new ConfigFile(path, data as Record<string, unknown>, warn);
  }

  get #auths(): Record<string, StoredEntry> {
    const a = this.#data.auths;
    return a && typeof a === 'object' && !Array.isArray(a) ? (a as Record<string, StoredEntry>) : {};
  }

  /** Says once that a credential helper the file names is not used. */
  #checkHelpers(key: string): void {
    if (this.#warned) return;
    const store = typeof this.#data.credsStore === 'string' ? this.#data.credsStore : '';
    const helpers = this.#data.credHelpers as Record<string, unknown> | undefined;
    const helper = helpers && typeof helpers === 'object' && typeof helpers[key] === 'string' ? (helpers[key] as string) : '';
    const name = helper || store;
    if (!name) return;
    this.#warned = true;
    this.#warn(`WARNING: ${this.path} sets ${helper ? `credHelpers["${key}"]` : 'credsStore'} to "${name}", but wharf does not support credential helpers; using the file's "auths" instead`);
  }

  /**
   * The credentials for a registry key, as docker's file store finds them: the key itself, else
   * an entry whose address has that hostname (old files keyed by `https://host/v1/`). Empty when none.
   */
  getAuth(key: string): AuthConfig {
    this.#checkHelpers(key);
    const auths = this.#auths;
    let found = Object.hasOwn(auths, key) ? key : undefined;
    found ??= Object.keys(auths).find((k) => convertToHostname(k) === key);
    if (found === undefined) return {};
    const e = auths[found] ?? {};
    const out: AuthConfig = { serveraddress: found };
    if (typeof e.auth === 'string' && e.auth) Object.assign(out, decodeAuth(e.auth, found, this.path));
    if (typeof e.email === 'string' && e.email) out.email = e.email;
    if (typeof e.identitytoken === 'string' && e.identitytoken) out.identitytoken = e.identitytoken;
    if (typeof e.registrytoken === 'string' && e.registrytoken) out.registrytoken = e.registrytoken;
    return out;
  }

  /**
   * Stores credentials under `auth.serveraddress`; false (and nothing written) when the file
   * already held exactly these. Keys of the entry wharf does not know are kept.
   */
  async storeAuth(auth: AuthConfig): Promise<boolean> {
    const key = auth.serveraddress!;
    this.#checkHelpers(key);
    const old = Object.hasOwn(this.#auths, key) ? this.#auths[key] : undefined;
    const entry: StoredEntry = { ...old };
    for (const k of ['auth', 'email', 'identitytoken', 'registrytoken']) delete entry[k];
    if (auth.username || auth.password) entry.auth = Buffer.from(`${auth.username ?? ''}:${auth.password ?? ''}`).toString('base64');
    if (auth.email) entry.email = auth.email;
    if (auth.identitytoken) entry.identitytoken = auth.identitytoken;
    if (auth.registrytoken) entry.registrytoken = auth.registrytoken;
    if (old && JSON.stringify(sorted(old)) === JSON.stringify(sorted(entry))) return false;
    this.#data = { ...this.#data, auths: { ...this.#auths, [key]: entry } };
    await this.save();
    return true;
  }

  /** Removes the credentials of each key; the file is rewritten only if one was there. */
  async eraseAuth(keys: string[]): Promise<boolean> {
    const auths = { ...this.#auths };
    const present = keys.filter((k) => Object.hasOwn(auths, k));
    if (!present.length) return false;
    for (const k of present) delete auths[k];
    this.#data = { ...this.#data, auths };
    await this.save();
    return true;
  }

  /**
   * Temp file beside it, fsync, rename: a crash leaves the old file or the new one. A symlinked
   * config.json (dotfile managers) is written through, as docker does.
   */
  async save(): Promise<void> {
    const target = await realpath(this.path).catch(() => this.path);
    const dir = dirname(target);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const tmp = join(dir, `.${basename(target)}.${process.pid}.${Date.now().toString(36)}.tmp`);
    const fh = await open(tmp, 'wx', 0o600);
    try {
      await fh.writeFile(JSON.stringify(this.#data, null, '\t'));
      await fh.sync();
      await fh.close();
      await rename(tmp, target);
    } catch (err) {
      await fh.close().catch(() => {});
      await rm(tmp, { force: true });
      throw err;
    }
  }
}

const sorted = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

/** docker's warning after it stored a password in the file (not after a token). */
export const unencryptedWarning = (path: string): string =>
  `\nWARNING! Your credentials are stored unencrypted in '${path}'.\nConfigure a credential helper to remove this warning. See\nhttps://docs.docker.com/go/credential-store/\n\n`;
