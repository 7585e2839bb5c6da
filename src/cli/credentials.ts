import { ApiError } from '../client/index.js';
import type { AuthConfig } from '../types/index.js';
import { authKeyForDomain, ConfigFile, INDEX_SERVER } from './auth.js';
import { Exit } from './errors.js';
import { ask, askSecret } from './prompt.js';
import type { IO } from './session.js';

/*
 * What pull, push, run and login share about credentials: reading the config file, the
 * credentials for an image's registry, and docker's questions when a login is needed.
 */

/**
 * The config file of `dir`. An unreadable one is, as for docker, a warning and an empty config
 * for commands that only read it; `strict` (login, logout, which write it) refuses to go on, so
 * that a file with a typo is not replaced by one holding only the new credentials.
 */
export async function loadConfig(dir: string, io: IO, opts: { strict?: boolean } = {}): Promise<ConfigFile> {
  const warn = (m: string) => void io.stderr.write(`${m}\n`);
  try {
    return await ConfigFile.load(dir, warn);
  } catch (err) {
    if (opts.strict) throw err;
    warn(`WARNING: ${(err as Error).message}`);
    return ConfigFile.empty(dir, warn);
  }
}

/** The stored credentials for a registry domain (`docker.io`, `127.0.0.1:5000`); `{}` when none. */
export function authForDomain(config: ConfigFile, domain: string): AuthConfig {
  return config.getAuth(authKeyForDomain(domain));
}

/** docker's tui note: ` Info -> ` (a chip on a terminal), the text indented under it. */
export function note(out: IO['stderr'], text: string): void {
  const tty = Boolean(out.isTTY);
  const header = tty ? '\x1b[1m\x1b[106m\x1b[30mi\x1b[0m\x1b[0m \x1b[96mInfo → \x1b[0m\x1b[0m' : ' Info -> ';
  const width = tty ? 'i Info → '.length : header.length;
  const lines = text.split('\n').map((l, i) => `${i ? ' '.repeat(width) : ''}${tty ? `\x1b[3m${l}\x1b[0m` : l}\n`);
  out.write(`\n${header}${lines.join('')}`);
}

const REGISTER_SUGGEST =
  "Log in with your Docker ID or email address to push and pull images from Docker Hub. If you don't have a Docker ID, head over to https://hub.docker.com/ to create one.";
const PAT_SUGGEST =
  'You can log in with your password or a Personal Access Token (PAT). Using a limited-scope PAT grants better security and is required for organizations using SSO. Learn more at https://docs.docker.com/go/access-tokens/';

/**
 * docker's PromptUserForCredentials: asks for what the flags did not give (the username
 * offering the stored one), with docker's texts and errors.
 */
export async function promptForCredentials(
  io: IO,
  given: { username?: string; password?: string; defaultUsername?: string; serverAddress: string; hints?: boolean },
): Promise<AuthConfig> {
  let username = (given.username ?? '').trim();
  const hub = given.serverAddress === INDEX_SERVER;
  if (!username) {
    if (hub) {
      io.stdout.write(`${REGISTER_SUGGEST}\n`);
      if (given.hints ?? true) io.stdout.write(`${PAT_SUGGEST}\n\n`);
    }
    const def = (given.defaultUsername ?? '').trim();
    username = await ask(io, def ? `Username (${def}): ` : 'Username: ');
    username ||= def;
    if (!username) throw new Exit(1, 'Error: Non-null Username Required');
  }
  let password = (given.password ?? '').trim();
  if (!password) {
    if (hub) note(io.stderr, 'A Personal Access Token (PAT) can be used instead.\nTo create a PAT, visit https://app.docker.com/settings\n\n');
    password = await askSecret(io, 'Password: ');
    io.stdout.write('\n');
    if (!password) throw new Exit(1, 'Error: Password Required');
  }
  return { username, password, serveraddress: given.serverAddress };
}

/**
 * Runs a pull or push with the stored credentials and, when the daemon answers 401 and there is
 * a terminal to ask on, once more with credentials asked for ("Login prior to pull:"), as
 * docker's RequestPrivilege does. Without a terminal the daemon's refusal is the answer.
 */
export async function withLoginRetry<T>(io: IO, config: ConfigFile, domain: string, what: 'pull' | 'push', run: (auth: AuthConfig) => Promise<T>, hints?: boolean): Promise<T> {
  const stored = authForDomain(config, domain);
  try {
    return await run(stored);
  } catch (err) {
    if (!(err instanceof ApiError && err.statusCode === 401) || !io.stdin.isTTY) throw err;
  }
  io.stdout.write(`\nLogin prior to ${what}:\n`);
  const serverAddress = authKeyForDomain(domain);
  // docker asks as if for Docker Hub whatever the registry; the registry's own key is asked for here.
  return run(await promptForCredentials(io, { defaultUsername: stored.username, serverAddress, hints }));
}
