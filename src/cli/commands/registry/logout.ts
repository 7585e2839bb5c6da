import type { Command } from 'commander';
import { convertToHostname, INDEX_SERVER } from '../../auth.js';
import { exitWith, newCommand, requireArgs } from '../../command.js';
import { loadConfig } from '../../credentials.js';
import type { IO, Session } from '../../session.js';

export interface LogoutOptions {
  configDir: string;
}

/**
 * `logout [SERVER]`: removes the stored credentials of SERVER (Docker Hub by default), under
 * every key docker ever stored them (`host`, `http://host`, `https://host`). Not being logged in
 * is no error: docker 28 says the same and exits 0.
 */
export async function logout(args: [string?], opts: LogoutOptions, io: IO): Promise<number> {
  const server = args[0] || INDEX_SERVER;
  const hub = server === INDEX_SERVER;
  const host = hub ? server : convertToHostname(server);
  const keys = hub ? [server] : [...new Set([server, host, `http://${host}`, `https://${host}`])];
  io.stdout.write(`Removing login credentials for ${host}\n`);
  const config = await loadConfig(opts.configDir, io, { strict: true });
  try {
    await config.eraseAuth(keys);
  } catch (err) {
    io.stderr.write(`WARNING: could not erase credentials:\n${server}: ${(err as Error).message}\n`);
  }
  return 0;
}

export function logoutCommand(s: Session): Command {
  const cmd = newCommand('logout', 'Log out from a registry.\nIf no server is specified, the default is defined by the daemon.', '[SERVER]');
  return cmd
    .summary('Log out from a registry')
    .argument('[args...]')
    .action(async (args: string[]) => {
      requireArgs(s, cmd, args, 0, 1);
      exitWith(await logout([args[0]], { configDir: s.configDir }, s.io));
    });
}
