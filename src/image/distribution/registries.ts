import type { AuthConfig, AuthResponse } from '../../types/index.js';
import { RegistryClient, type RegistryOptions } from './client.js';
import { RegistryError, statusLine, wrapForRequest } from './errors.js';
import { parseChallenges } from './headers.js';
import { DOCKER_HUB, registryHost, type RemoteName } from './names.js';
import { RemoteRepository, type Repository } from './repository.js';
import { drain } from './transport.js';


/**
 * The daemon's registry client: connection pools per host, TLS settings from certs.d, proxies,
 * mirrors, and bearer tokens cached per host and scope until they expire.
 */
export class Registries {
  readonly #client: RegistryClient;

  constructor(opts: RegistryOptions) {
    this.#client = new RegistryClient(opts);
  }

  /**
   * A client for one repository. `auth` comes from the request's X-Registry-Auth (or none);
   * `actions` are the scope asked of a token server (`repository:<path>:pull,push`).
   */
  repository(name: RemoteName, auth: AuthConfig | undefined, actions: ('pull' | 'push')[]): Repository {
    return new RemoteRepository(this.#client, name, auth, actions);
  }

  /**
   * POST /auth: checks the credentials against `<serveraddress>/v2/` (Basic, or the bearer flow
   * with an offline_token request). Wrong credentials -> RegistryError with status 401 and
   * dockerd's text (`login attempt to http://h:5000/v2/ failed with status: 401 Unauthorized`,
   * or the token server's message).
   */
  async login(auth: AuthConfig): Promise<AuthResponse> {
    const domain = registryHost(auth.serveraddress ?? '');
    let last: unknown;
    // Never the mirrors: Docker Hub's credentials are for Docker Hub.
    for (const { base, tls } of await this.#client.probeBases(domain)) {
      const v2 = new URL(`${base}/v2/`);
      let challenges;
      try {
        const ping = await this.#client.transport.send('GET', v2, tls);
        drain(ping.body);
        challenges = ping.status === 401 ? parseChallenges(ping.headers['www-authenticate']) : [];
      } catch (err) {
        last = err;
        if (err instanceof RegistryError && err.status === 0) continue;
        throw err;
      }
      // The registry answered over this scheme: whatever happens now is the answer.
      let identityToken = '';
      const headers: Record<string, string> = {};
      const bearer = challenges.find((c) => c.scheme === 'bearer');
      const basic = challenges.find((c) => c.scheme === 'basic');
      if (bearer) {
        try {
          const t = await this.#client.tokens.fetch(bearer, [], auth, tls, true);
          headers.authorization = `Bearer ${t.token}`;
          identityToken = t.refreshToken ?? auth.identitytoken ?? '';
        } catch (err) {
          if (err instanceof RegistryError) {
            const wrapped = wrapForRequest('GET', v2, err);
            throw err.errorCode === 'UNAUTHORIZED' || err.status === 401 ? new RegistryError(wrapped.message, 401, 'UNAUTHORIZED', { cause: err }) : wrapped;
          }
          throw err;
        }
      } else if (basic && auth.username) {
        headers.authorization = `Basic ${Buffer.from(`${auth.username}:${auth.password ?? ''}`).toString('base64')}`;
      }
      const res = await this.#client.transport.send('GET', v2, tls, { headers });
      drain(res.body);
      if (res.status !== 200) {
        throw new RegistryError(`login attempt to ${v2.href} failed with status: ${statusLine(res.status)}`, res.status, res.status === 401 ? 'UNAUTHORIZED' : undefined);
      }
      return { Status: 'Login Succeeded', IdentityToken: identityToken };
    }
    throw last ?? new RegistryError(`no endpoint to log in to ${domain === DOCKER_HUB ? 'Docker Hub' : domain}`, 0);
  }

  /** Closes idle connections (daemon shutdown). */
  async close(): Promise<void> {
    await this.#client.close();
  }
}
