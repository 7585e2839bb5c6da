import type { Command } from 'commander';
import { ApiError, readAll, type Client } from '../../../client/index.js';
import type { AuthConfig, AuthResponse } from '../../../types/index.js';
import { convertToHostname, INDEX_SERVER, unencryptedWarning, type ConfigFile } from '../../auth.js';
import { exitWith, givenFlags, newCommand, requireArgs } from '../../command.js';
import { loadConfig, note, promptForCredentials } from '../../credentials.js';
import { errorText, Exit } from '../../errors.js';
import { hintsEnabled, type IO, type Session } from '../../session.js';

export interface LoginOptions {
  username?: string;
  password?: string;
  passwordStdin?: boolean;
  configDir: string;
  /** The program's name, in the note about logging in as someone else. */
  prog?: string;
  hints?: boolean;
}

export type LoginClient = Pick<Client, 'login'>;

/** docker's checks of the flags as given (before anything is read or asked). */
function checkFlags(opts: LoginOptions): void {
  if (opts.passwordStdin) {
    if (opts.password !== undefined) throw new Exit(1, 'conflicting options: cannot specify both --password and --password-stdin');
    if (opts.username === undefined) throw new Exit(1, 'the --password-stdin option requires --username to be set');
  }
  if (opts.username !== undefined && !opts.username) throw new Exit(1, 'username is empty');
  if (opts.password !== undefined && !opts.password) throw new Exit(1, 'password is empty');
}

/** Stores what a login gave: the identity token instead of the password when the registry issued one. */
async function store(config: ConfigFile, auth: AuthConfig, res: AuthResponse | undefined, io: IO): Promise<void> {
  const saved: AuthConfig = res?.IdentityToken ? { ...auth, password: undefined, identitytoken: res.IdentityToken } : auth;
  let changed: boolean;
  try {
    changed = await config.storeAuth(saved);
  } catch (err) {
    throw new Exit(1, `Error saving credentials: ${(err as Error).message}`);
  }
  // docker warns when it has just written a password (not a token) in the clear.
  if (changed && saved.password) io.stderr.write(unencryptedWarning(config.path));
}

/**
 * `login [SERVER]` as docker 28 does it: stored credentials are tried first when no flag gives
 * new ones; otherwise the flags, stdin (--password-stdin) or questions on the terminal. The
 * daemon checks them against the registry (POST /auth); they are stored in config.json.
 */
export async function login(client: LoginClient, args: [string?], opts: LoginOptions, io: IO): Promise<number> {
  checkFlags(opts);
  let password = opts.password ?? '';
  const username = opts.username ?? '';
  if (password) io.stderr.write('WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n');
  if (opts.passwordStdin) password = (await readAll(io.stdin)).toString('utf8').replace(/\n$/, '').replace(/\r$/, '');

  const server = args[0] && args[0] !== 'docker.io' ? args[0] : INDEX_SERVER;
  const hub = server === INDEX_SERVER;
  const serverAddress = hub ? server : convertToHostname(server);
  const config = await loadConfig(opts.configDir, io, { strict: true });
  const stored: AuthConfig = !username && !password ? { ...config.getAuth(serverAddress), identitytoken: undefined } : {};

  let status: string | undefined;
  let failed = true;
  if (stored.username && stored.password) {
    io.stderr.write(`Authenticating with existing credentials... [Username: ${stored.username}]\n`);
    note(io.stderr, `To login with a different account, run '${opts.prog ?? 'docker'} logout' followed by '${opts.prog ?? 'docker'} login'`);
    io.stderr.write('\n\n');
    const auth = { ...stored, serveraddress: serverAddress };
    let res: AuthResponse | undefined;
    try {
      res = await client.login(auth);
      failed = false;
    } catch (err) {
      if (err instanceof ApiError && err.statusCode === 401) io.stderr.write('Stored credentials invalid or expired\n');
      else io.stderr.write(`Login did not succeed, error: ${errorText(err)}\n`);
    }
    await store(config, auth, res, io);
    status = res?.Status;
  }
  if (failed) {
    if ((!username || !password) && !io.stdin.isTTY) throw new Exit(1, 'Error: Cannot perform an interactive login from a non TTY device');
    const auth = await promptForCredentials(io, { username, password, defaultUsername: stored.username, serverAddress, hints: opts.hints });
    const res = await client.login(auth);
    await store(config, auth, res, io);
    status = res.Status;
  }
  if (status) io.stdout.write(`${status}\n`);
  return 0;
}

export function loginCommand(s: Session): Command {
  const cmd = newCommand('login', 'Authenticate to a registry.\nDefaults to Docker Hub if no server is specified.', '[OPTIONS] [SERVER]');
  return cmd
    .summary('Authenticate to a registry')
    .argument('[args...]')
    .option('-p, --password <string>', 'Password or Personal Access Token (PAT)')
    .option('--password-stdin', 'Take the Password or Personal Access Token (PAT) from stdin')
    .option('-u, --username <string>', 'Username')
    .action(async (args: string[]) => {
      requireArgs(s, cmd, args, 0, 1);
      exitWith(await login({ login: (...a) => s.client.login(...a) }, [args[0]], { ...givenFlags<Omit<LoginOptions, 'configDir'>>(cmd), configDir: s.configDir, prog: s.prog, hints: hintsEnabled(s.env) }, s.io));
    });
}
