// Gateway authentication of one SSH connection: parses the username, checks the password or public
// key of the gateway user (the first factor), hands over to the policy's AA plugin when there is
// one (the second factor), and throttles failures per client IP.
// The client learns only "denied" (or the plugin's own deny reason); the log learns why.
import type ssh2 from 'ssh2';
import type { LocalUserDirectory } from '../../auth/local-users.js';
import type { Logger } from '../../log/logger.js';
import type { AaConversation, Refusal } from '../aa/aa-conversation.js';
import type { ClientRateLimiter } from '../rate-limit.js';
import { parseSshUsername, UsernameError, type ParsedUsername } from '../username.js';
import { SecondFactor } from './second-factor.js';

export type FirstFactorMethod = 'password' | 'keyboard-interactive' | 'publickey';

export interface AuthenticatedLogin {
  username: ParsedUsername;
  gatewayUser: string;
  /** Set by the AA plugin (`gateway_groups`); null when nobody said. */
  gatewayGroups?: string[];
  method: FirstFactorMethod;
  /** Kept only in memory, for credential sources that pass the password through. */
  password?: string;
}

export interface FirstFactorOptions {
  users: LocalUserDirectory;
  limiter: ClientRateLimiter;
  clientIp: string;
  /** Passthrough policies need the person's password, so public keys are not offered. */
  needsPassword: boolean;
  /** The policy's AA plugin, asked after the first factor. */
  aa?: AaConversation;
  log: Logger;
  /** Ends the client connection (lockout, too many attempts). */
  disconnect: () => void;
}

/** Failed attempts one connection may make before it is dropped, as OpenSSH's MaxAuthTries. */
const maxFailuresPerConnection = 6;

export class FirstFactor {
  login?: AuthenticatedLogin;
  private failures = 0;
  private secondFactor?: SecondFactor;
  private readonly methods: ssh2.AuthenticationType[];

  constructor(private readonly options: FirstFactorOptions) {
    this.methods = options.needsPassword ? ['password', 'keyboard-interactive'] : ['publickey', 'password', 'keyboard-interactive'];
  }

  handle(ctx: ssh2.AuthContext): void {
    this.dispatch(ctx).catch((err: Error) => {
      this.options.log.error({ err: err.message }, 'authentication handler failed');
      this.refuse(ctx, 'internal-error');
    });
  }

  private async dispatch(ctx: ssh2.AuthContext): Promise<void> {
    if (this.secondFactor) return this.secondFactor.resume(ctx);
    if (ctx.method === 'none') return ctx.reject(this.methods);
    let username: ParsedUsername;
    try {
      username = parseSshUsername(ctx.username);
    } catch (err) {
      if (!(err instanceof UsernameError)) throw err;
      return this.refuseUsername(ctx, err);
    }
    const gatewayUser = username.keyValuePairs.gu ?? username.serverUser;
    const accepted = (method: FirstFactorMethod, password?: string): void => {
      const login: AuthenticatedLogin = { username, gatewayUser, method, ...(password !== undefined ? { password } : {}) };
      this.options.log.info({ gatewayUser, method }, 'gateway authentication succeeded');
      if (!this.options.aa) return this.succeed(ctx, login);
      this.secondFactor = new SecondFactor(this.options.aa, login, {
        accept: (done) => {
          this.options.log.info({ gatewayUser: login.gatewayUser, aaConfig: this.options.aa?.sessionInfo.aaConfig }, 'second factor accepted');
          this.succeed(done, login);
        },
        refuse: (done, refusal) => this.refuseSecondFactor(done, refusal, login.gatewayUser),
      }, this.options.log);
      this.secondFactor.begin(ctx);
    };

    switch (ctx.method) {
      case 'password':
        return (await this.passwordMatches(gatewayUser, ctx.password)) ? accepted('password', ctx.password) : this.refuse(ctx, 'wrong-password', gatewayUser);
      case 'keyboard-interactive':
        return this.promptPassword(ctx, gatewayUser, accepted);
      case 'publickey':
        return this.checkPublicKey(ctx, gatewayUser, () => accepted('publickey'));
      default:
        return ctx.reject(this.methods);
    }
  }

  private succeed(ctx: ssh2.AuthContext, login: AuthenticatedLogin): void {
    this.login = login;
    this.options.limiter.recordSuccess(this.options.clientIp);
    ctx.accept();
  }

  /**
   * The plugin's DENY ends the connection: it counts as a failure against the client IP (so OTP
   * guessing meets the same backoff as password guessing), and a person at a keyboard-interactive
   * prompt is shown the plugin's reason.
   */
  private refuseSecondFactor(ctx: ssh2.AuthContext, refusal: Refusal, gatewayUser: string): void {
    const { limiter, clientIp, log } = this.options;
    const { lockedOut, failures } = limiter.recordFailure(clientIp);
    if (lockedOut) log.warn({ event: 'rate-limit-lockout', clientIp, failures }, 'client IP locked out after repeated failures');
    log.warn({ event: 'mfa-denied', gatewayUser, aaConfig: this.options.aa?.sessionInfo.aaConfig, reason: refusal.reason }, 'second factor denied');
    const end = (): void => {
      ctx.reject([]);
      this.options.disconnect();
    };
    if (ctx.method === 'keyboard-interactive') {
      ctx.prompt([], 'Gatehouse', `gatehouse: ${printable(refusal.message ?? 'the second factor was not accepted')}`, end);
      return;
    }
    end();
  }

  private async passwordMatches(gatewayUser: string, password: string): Promise<boolean> {
    if (password === '') return false;
    const result = await this.options.users.checkPassword(gatewayUser, password);
    if (!result.ok) this.options.log.warn({ gatewayUser, reason: result.reason }, 'gateway password refused');
    return result.ok;
  }

  private promptPassword(ctx: ssh2.KeyboardAuthContext, gatewayUser: string, accepted: (m: FirstFactorMethod, p: string) => void): void {
    ctx.prompt([{ prompt: 'Password: ', echo: false }], (answers) => {
      const password = answers?.[0] ?? '';
      this.passwordMatches(gatewayUser, password).then(
        (ok) => (ok ? accepted('keyboard-interactive', password) : this.refuse(ctx, 'wrong-password', gatewayUser)),
        (err: Error) => {
          this.options.log.error({ err: err.message }, 'password check failed');
          this.refuse(ctx, 'internal-error', gatewayUser);
        },
      );
    });
  }

  private checkPublicKey(ctx: ssh2.PublicKeyAuthContext, gatewayUser: string, accepted: () => void): void {
    if (this.options.needsPassword) return ctx.reject(this.methods);
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

  private refuseUsername(ctx: ssh2.AuthContext, err: UsernameError): void {
    this.options.log.warn({ part: err.part, reason: err.message }, 'malformed username');
    // A person at a keyboard-interactive prompt can be told what is wrong with the name they typed.
    if (ctx.method === 'keyboard-interactive') {
      ctx.prompt([], 'Gatehouse', `gatehouse: ${err.message}`, () => this.refuse(ctx, 'malformed-username'));
      return;
    }
    this.refuse(ctx, 'malformed-username');
  }

  private refuse(ctx: ssh2.AuthContext, reason: string, gatewayUser?: string): void {
    const { limiter, clientIp, log } = this.options;
    this.failures += 1;
    const { lockedOut, failures } = limiter.recordFailure(clientIp);
    if (lockedOut) log.warn({ event: 'rate-limit-lockout', clientIp, failures }, 'client IP locked out after repeated failures');
    log.info({ gatewayUser, reason, failures }, 'gateway authentication failed');
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

/** A plugin's message made safe for the person's terminal: one line, no control sequences. */
function printable(message: string): string {
  const line = message.replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu, ' ');
  return line.length > 200 ? `${line.slice(0, 199)}…` : line;
}
