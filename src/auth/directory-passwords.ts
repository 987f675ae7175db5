// The first factor against a directory: LDAP (search, then bind as the user) and RADIUS (with
// Access-Challenge as a further prompt), as PasswordAuthenticators for the SSH side.
import type { RadiusServerConfig } from '../config/schema.js';
import { challengePrompt, RadiusClient, RadiusTimeoutError, type RadiusAnswer } from '../plugins/radius/protocol/index.js';
import { LdapUnavailableError, type LdapDirectory } from './ldap/index.js';
import { DirectoryUnavailableError, type PasswordAuthenticator, type PasswordCheck } from './password-check.js';

export class LdapPasswords implements PasswordAuthenticator {
  readonly name: string;

  constructor(server: string, private readonly directory: LdapDirectory) {
    this.name = `ldap:${server}`;
  }

  async checkPassword(user: string, password: string): Promise<PasswordCheck> {
    try {
      const login = await this.directory.authenticate(user, password);
      return login.ok ? { ok: true, groups: login.groups } : { ok: false, reason: login.reason };
    } catch (err) {
      if (err instanceof LdapUnavailableError) throw new DirectoryUnavailableError(err.message);
      throw err;
    }
  }
}

export class RadiusPasswords implements PasswordAuthenticator {
  readonly name: string;

  /** `secret` reads the shared secret from the credential store at every login (it may be unlocked later). */
  constructor(private readonly server: RadiusServerConfig, private readonly secret: () => string | undefined) {
    this.name = `radius:${server.name}`;
  }

  checkPassword(user: string, password: string): Promise<PasswordCheck> {
    return this.ask(user, password);
  }

  private async ask(user: string, password: string, state?: Buffer): Promise<PasswordCheck> {
    const answer = await this.send(user, password, state);
    if (answer.kind === 'accept') return { ok: true };
    if (answer.kind === 'reject') return { ok: false, reason: 'radius-reject' };
    return { ok: 'challenge', prompt: challengePrompt(answer.replyMessage), echo: answer.echo, respond: (response) => this.ask(user, response, answer.state) };
  }

  private async send(user: string, password: string, state?: Buffer): Promise<RadiusAnswer> {
    let secret: string | undefined;
    try {
      secret = this.secret();
    } catch (err) {
      throw new DirectoryUnavailableError(`RADIUS server "${this.server.name}": its shared secret cannot be read (${(err as Error).message})`);
    }
    if (!secret) throw new DirectoryUnavailableError(`RADIUS server "${this.server.name}" has no shared secret in the credential store`);
    const { host, port, authType, retries, timeoutSeconds, nasIdentifier } = this.server;
    const client = new RadiusClient({ host, port, secret, authType, retries, timeoutMs: timeoutSeconds * 1000, nasIdentifier });
    try {
      return await client.authenticate({ username: user, password, ...(state ? { state } : {}) });
    } catch (err) {
      if (err instanceof RadiusTimeoutError) throw new DirectoryUnavailableError(err.message);
      throw err;
    }
  }
}
