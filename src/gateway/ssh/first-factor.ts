// Gateway authentication of one SSH connection: parses the username, checks the first factor (a
// password against the policy's backend — local users, LDAP or RADIUS — or a local user's public
// key), hands over to the policy's AA plugin when there is one (the second factor), and throttles
// failures per client IP. The client learns only "denied" (or the plugin's own deny reason); the
// log learns why.
import type ssh2 from 'ssh2';
import type { LocalUserDirectory } from '../../auth/local-users.js';
import { DirectoryUnavailableError, type PasswordAuthenticator, type PasswordCheck } from '../../auth/password-check.js';
import type { AuditLog } from '../../log/events/audit-log.js';
import type { Logger } from '../../log/logger.js';
import type { AaConversation, Refusal } from '../aa/aa-conversation.js';
import type { ClientRateLimiter } from '../rate-limit.js';
import { parseSshUsername, UsernameError, type ParsedUsername } from '../username.js';
import { SecondFactor } from './second-factor.js';

export type FirstFactorMethod = 'password' | 'keyboard-interactive' | 'publickey';

export interface AuthenticatedLogin {
  username: ParsedUsername;
  gatewayUser: string;
  /** From the directory (LDAP groups) or the AA plugin (`gateway_groups`); absent when nobody said. */
  gatewayGroups?: string[];
  method: FirstFactorMethod;
  /** Kept only in memory, for credential sources that pass the password through. */
  password?: string;
}

export interface FirstFactorOptions {
  /** Local users: their public keys are accepted when `publicKeys` is set. */
  users: LocalUserDirectory;
  /** Checks passwords: the local users, or the policy's LDAP or RADIUS server. */
  passwords: PasswordAuthenticator;
  /** Offer public-key login (local users only; not when the policy needs the person's password). */
  publicKeys: boolean;
  limiter: ClientRateLimiter;
  clientIp: string;
  /** The policy's AA plugin, asked after the first factor. */
  aa?: AaConversation;
  log: Logger;
  /** The connection's security events: login verdicts with their real reasons, lockouts. */
  audit: AuditLog;
  /** Ends the client connection (lockout, too many attempts, directory down). */
  disconnect: () => void;
}

/** Failed attempts one connection may make before it is dropped, as OpenSSH's MaxAuthTries. */
const maxFailuresPerConnection = 6;
/** Characters of a login name in an event: enough for any real one, bounded for hostile ones. */
const maxNameLength = 256;

/** Completes a successful first factor on `ctx`: the request being answered, which a challenge may have replaced. */
type Accept = (ctx: ssh2.AuthContext, method: FirstFactorMethod, password: string | undefined, groups: string[] | undefined) => void;

/** A directory's challenge waiting for the client to come back with keyboard-interactive. */
interface PendingChallenge {
  gatewayUser: string;
  check: Extract<PasswordCheck, { ok: 'challenge' }>;
  password: string;
  accepted: Accept;
}

export class FirstFactor {
  login?: AuthenticatedLogin;
  private failures = 0;
  private secondFactor?: SecondFactor;
  private challenge?: PendingChallenge;
  private readonly methods: ssh2.AuthenticationType[];

  constructor(private readonly options: FirstFactorOptions) {
    this.methods = options.publicKeys ? ['publickey', 'password', 'keyboard-interactive'] : ['keyboard-interactive', 'password'];
  }

  handle(ctx: ssh2.AuthContext): void {
    this.dispatch(ctx).catch((err: Error) => {
      this.options.log.error({ err: err.message }, 'authentication handler failed');
      this.refuse(ctx, 'internal-error', undefined, err.message);
    });
  }

  private async dispatch(ctx: ssh2.AuthContext): Promise<void> {
    if (this.secondFactor) return this.secondFactor.resume(ctx);
    if (ctx.method === 'none') return ctx.reject(this.methods);
    const challenge = this.challenge;
    if (challenge && ctx.method === 'keyboard-interactive') {
      this.challenge = undefined;
      return this.promptChallenge(ctx, challenge);
    }
    let username: ParsedUsername;
    try {
      username = parseSshUsername(ctx.username);
    } catch (err) {
      if (!(err instanceof UsernameError)) throw err;
      return this.refuseUsername(ctx, err);
    }
    const gatewayUser = username.keyValuePairs.gu ?? username.serverUser;
    const accepted: Accept = (done, method, password, groups) => {
      const login: AuthenticatedLogin = { username, gatewayUser, method, ...(password !== undefined ? { password } : {}), ...(groups ? { gatewayGroups: groups } : {}) };
      if (!this.options.aa) return this.succeed(done, login);
      this.options.log.info({ gatewayUser, method, backend: this.backend(method), ...(groups ? { gatewayGroups: groups.length } : {}) }, 'first factor accepted: the AA plugin decides next');
      this.secondFactor = new SecondFactor(this.options.aa, login, {
        accept: (finished) => this.succeed(finished, login),
        refuse: (finished, refusal) => this.refuseSecondFactor(finished, refusal, login),
      }, this.options.log, this.options.audit);
      this.secondFactor.begin(done);
    };

    switch (ctx.method) {
      case 'password':
        return this.checkPassword(ctx, gatewayUser, ctx.password, (groups) => accepted(ctx, 'password', ctx.password, groups), accepted);
      case 'keyboard-interactive':
        return this.promptPassword(ctx, gatewayUser, accepted);
      case 'publickey':
        return this.checkPublicKey(ctx, gatewayUser, () => accepted(ctx, 'publickey', undefined, undefined));
      default:
        return ctx.reject(this.methods);
    }
  }

  /** Asks the backend; an empty password is refused without asking (never an anonymous bind). */
  private async checkPassword(ctx: ssh2.AuthContext, gatewayUser: string, password: string, ok: (groups?: string[]) => void, accepted: Accept): Promise<void> {
    let result: PasswordCheck;
    try {
      result = password === '' ? { ok: false, reason: 'empty-password' } : await this.options.passwords.checkPassword(gatewayUser, password);
    } catch (err) {
      if (!(err instanceof DirectoryUnavailableError)) throw err;
      return this.directoryUnavailable(ctx, gatewayUser, err);
    }
    if (result.ok === true) return ok(result.groups);
    if (result.ok === false) return this.refuse(ctx, result.reason, gatewayUser);
    const pending: PendingChallenge = { gatewayUser, check: result, password, accepted };
    if (ctx.method === 'keyboard-interactive') return this.promptChallenge(ctx, pending);
    // A challenge needs a prompt: the client is sent on to keyboard-interactive, where it is asked.
    this.challenge = pending;
    ctx.reject(['keyboard-interactive']);
  }

  private promptPassword(ctx: ssh2.KeyboardAuthContext, gatewayUser: string, accepted: Accept): void {
    ctx.prompt([{ prompt: 'Password: ', echo: false }], (answers) => {
      const password = Array.isArray(answers) ? (answers[0] ?? '') : '';
      this.checkPassword(ctx, gatewayUser, password, (groups) => accepted(ctx, 'keyboard-interactive', password, groups), accepted).catch((err: Error) => {
        this.options.log.error({ err: err.message }, 'password check failed');
        this.refuse(ctx, 'internal-error', gatewayUser, err.message);
      });
    });
  }

  private promptChallenge(ctx: ssh2.KeyboardAuthContext, pending: PendingChallenge): void {
    const { gatewayUser, check, password, accepted } = pending;
    ctx.prompt([{ prompt: check.prompt, echo: check.echo }], (answers) => {
      const answer = Array.isArray(answers) ? (answers[0] ?? '') : '';
      check
        .respond(answer)
        .then(async (next) => {
          if (next.ok === true) return accepted(ctx, 'keyboard-interactive', password, next.groups);
          if (next.ok === false) return this.refuse(ctx, next.reason, gatewayUser);
          this.promptChallenge(ctx, { ...pending, check: next });
        })
        .catch((err: Error) => {
          if (err instanceof DirectoryUnavailableError) return this.directoryUnavailable(ctx, gatewayUser, err);
          this.options.log.error({ err: err.message }, 'challenge answer failed');
          this.refuse(ctx, 'internal-error', gatewayUser, err.message);
        });
    });
  }

  /** Who checked the first factor: `local` for public keys, else the policy's password backend. */
  private backend(method: string): string {
    return method === 'publickey' ? 'local' : this.options.passwords.name;
  }

  private checkPublicKey(ctx: ssh2.PublicKeyAuthContext, gatewayUser: string, accepted: () => void): void {
    if (!this.options.publicKeys) return ctx.reject(this.methods);
    const { users } = this.options;
    // An offer of an unknown key is not a failure: OpenSSH clients offer every key they hold.
    if (!users.findKey(gatewayUser, ctx.key)) {
      this.options.log.debug({ gatewayUser, algo: ctx.key.algo }, 'public key not authorized');
      return ctx.reject(this.methods);
    }
    if (!ctx.signature || !ctx.blob) return ctx.accept();
    if (users.verifyKeySignature(gatewayUser, ctx.key, ctx.blob, ctx.signature, ctx.hashAlgo)) return accepted();
    this.refuse(ctx, 'bad-signature', gatewayUser);
  }

  /** The whole login passed: the first factor and, when the policy has one, the AA plugin. */
  private succeed(ctx: ssh2.AuthContext, login: AuthenticatedLogin): void {
    this.login = login;
    this.options.audit.emit('login-succeeded', {
      gatewayUser: bounded(login.gatewayUser),
      // How many groups the directory or the plugin named; null when nobody said.
      gatewayGroups: login.gatewayGroups?.length ?? null,
      method: login.method,
      backend: this.backend(login.method),
      aaConfig: this.options.aa?.sessionInfo.aaConfig ?? null,
    });
    this.options.limiter.recordSuccess(this.options.clientIp);
    ctx.accept();
  }

  /**
   * The directory did not answer: the login is refused and the connection ended, but it does not
   * count against the client IP (the person did nothing wrong). A person at a keyboard-interactive
   * prompt is told why.
   */
  private directoryUnavailable(ctx: ssh2.AuthContext, gatewayUser: string, err: DirectoryUnavailableError): void {
    const { audit, passwords } = this.options;
    audit.emit('directory-unavailable', { gatewayUser: bounded(gatewayUser), backend: passwords.name, reason: err.message });
    audit.emit('login-failed', { gatewayUser: bounded(gatewayUser), method: ctx.method, backend: passwords.name, reason: 'directory-unavailable' });
    this.endWith(ctx, 'the authentication directory is unavailable; try again later');
  }

  /**
   * The plugin's DENY ends the connection: it counts as a failure against the client IP (so OTP
   * guessing meets the same backoff as password guessing), and a person at a keyboard-interactive
   * prompt is shown the plugin's reason.
   */
  private refuseSecondFactor(ctx: ssh2.AuthContext, refusal: Refusal, login: AuthenticatedLogin): void {
    const { limiter, clientIp, audit } = this.options;
    const { lockedOut, failures } = limiter.recordFailure(clientIp);
    const gatewayUser = bounded(login.gatewayUser);
    audit.emit('mfa-denied', { gatewayUser, aaConfig: this.options.aa?.sessionInfo.aaConfig ?? null, reason: refusal.reason });
    audit.emit('login-failed', { gatewayUser, method: login.method, backend: this.backend(login.method), reason: 'mfa-denied', failures });
    if (lockedOut) audit.emit('rate-limit-lockout', { failures });
    this.endWith(ctx, refusal.message ?? 'the second factor was not accepted');
  }

  /** Refuses and disconnects; the message reaches a person at a keyboard-interactive prompt. */
  private endWith(ctx: ssh2.AuthContext, message: string): void {
    const end = (): void => {
      ctx.reject([]);
      this.options.disconnect();
    };
    if (ctx.method === 'keyboard-interactive') {
      ctx.prompt([], 'Gatehouse', `gatehouse: ${printable(message)}`, end);
      return;
    }
    end();
  }

  private refuseUsername(ctx: ssh2.AuthContext, err: UsernameError): void {
    // The message names the offending part with a safe fragment of it: never a key/value value (an OTP).
    const detail = `${err.part}: ${err.message}`;
    // A person at a keyboard-interactive prompt can be told what is wrong with the name they typed.
    if (ctx.method === 'keyboard-interactive') {
      ctx.prompt([], 'Gatehouse', `gatehouse: ${err.message}`, () => this.refuse(ctx, 'malformed-username', undefined, detail));
      return;
    }
    this.refuse(ctx, 'malformed-username', undefined, detail);
  }

  /** A failed attempt, with the real reason (`wrong-password`, `unknown-user`, `radius-reject`, ...) for the log only. */
  private refuse(ctx: ssh2.AuthContext, reason: string, gatewayUser?: string, detail?: string): void {
    const { limiter, clientIp, audit } = this.options;
    this.failures += 1;
    const { lockedOut, failures } = limiter.recordFailure(clientIp);
    const method = ctx.method === 'none' ? null : ctx.method;
    audit.emit('login-failed', {
      gatewayUser: gatewayUser === undefined ? null : bounded(gatewayUser),
      method,
      backend: method === null || reason === 'malformed-username' ? null : this.backend(method),
      reason,
      detail: detail ?? null,
      failures,
    });
    if (lockedOut) audit.emit('rate-limit-lockout', { failures });
    const admission = limiter.admit(clientIp);
    if (!admission.allowed || this.failures >= maxFailuresPerConnection) {
      ctx.reject([]);
      this.options.disconnect();
      return;
    }
    const timer = setTimeout(() => ctx.reject(this.methods), admission.delayMs);
    timer.unref();
  }
}

/** A login name as events carry it: names are data (formatters escape them), but not unbounded. */
function bounded(name: string): string {
  return name.length > maxNameLength ? `${name.slice(0, maxNameLength)}…` : name;
}

/** A message made safe for the person's terminal: one line, no control sequences. */
function printable(message: string): string {
  const line = message.replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu, ' ');
  return line.length > 200 ? `${line.slice(0, 199)}…` : line;
}
