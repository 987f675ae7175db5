// The second factor of one SSH connection: after the first factor, the policy's AA plugin decides.
// Its NEEDINFO questions become keyboard-interactive prompts (echo as the question says); when the
// first factor used another method, the client is told "partial success, continue with
// keyboard-interactive" (RFC 4252 §5.1), which OpenSSH does by itself.
import type ssh2 from 'ssh2';
import type { AuditLog } from '../../log/events/audit-log.js';
import type { Logger } from '../../log/logger.js';
import type { Question } from '../../aa/sandbox/index.js';
import type { AaConversation, AuthenticationStep, LoginFacts, Refusal } from '../aa/aa-conversation.js';
import type { AuthenticatedLogin } from './first-factor.js';

export interface SecondFactorOutcome {
  accept(ctx: ssh2.AuthContext): void;
  /** Ends the attempt: the conversation with the plugin is over. */
  refuse(ctx: ssh2.AuthContext, refusal: Refusal): void;
}

const continueWith: ssh2.AuthenticationType[] = ['keyboard-interactive'];

export class SecondFactor {
  /** A question waiting for the client to come back with keyboard-interactive. */
  private pending?: Question;
  /** A plugin call or a prompt is under way. */
  private busy = false;

  constructor(
    private readonly conversation: AaConversation,
    private readonly login: AuthenticatedLogin,
    private readonly outcome: SecondFactorOutcome,
    private readonly log: Logger,
    private readonly audit: AuditLog,
  ) {}

  /** Runs `authenticate` on the request that passed the first factor. */
  begin(ctx: ssh2.AuthContext): void {
    this.run(ctx);
  }

  /** A later request of this connection (ssh2 guarantees the same username). */
  resume(ctx: ssh2.AuthContext): void {
    // OpenSSH waits for each answer; a client that does not is cut off rather than raced.
    if (this.busy) return this.outcome.refuse(ctx, { kind: 'deny', reason: 'a new authentication request arrived while the second factor was under way' });
    if (ctx.method !== 'keyboard-interactive' || !this.pending) return ctx.reject(continueWith, true);
    this.ask(ctx, this.pending);
  }

  private run(ctx: ssh2.AuthContext): void {
    this.busy = true;
    const { login } = this;
    this.conversation
      .authenticate(loginFacts(login))
      .then(
        (step) => {
          this.busy = false;
          if (step.kind === 'deny') return this.outcome.refuse(ctx, step);
          if (step.kind === 'ask') {
            if (ctx.method === 'keyboard-interactive') return this.ask(ctx, step.question);
            this.pending = step.question;
            return ctx.reject(continueWith, true);
          }
          if (step.gatewayUser !== undefined && step.gatewayUser !== login.gatewayUser) {
            this.log.info({ aaConfig: this.conversation.sessionInfo.aaConfig, from: login.gatewayUser, gatewayUser: step.gatewayUser }, 'AA plugin set the gateway user');
            login.gatewayUser = step.gatewayUser;
          }
          if (step.gatewayGroups) login.gatewayGroups = step.gatewayGroups;
          this.report(step);
          this.outcome.accept(ctx);
        },
        (err: Error) => {
          this.busy = false;
          this.outcome.refuse(ctx, { kind: 'deny', reason: `second factor failed: ${err.message}` });
        },
      );
  }

  /** mfa-accepted for an ACCEPT, with how the plugin says it authenticated; mfa-bypassed when no real second factor was asked. */
  private report(step: Extract<AuthenticationStep, { kind: 'accept' }>): void {
    const facts = { gatewayUser: this.login.gatewayUser.slice(0, 256), aaConfig: this.conversation.sessionInfo.aaConfig, plugin: this.conversation.pluginName };
    if (step.abstained) return this.audit.emit('mfa-bypassed', { ...facts, bypass: 'plugin-abstained' });
    const { authentication, mfaIdentity } = acceptanceOf(step.metadata);
    this.audit.emit('mfa-accepted', { ...facts, authentication: authentication ?? null, mfaIdentity: mfaIdentity ?? null });
    if (authentication !== undefined && bypasses.has(authentication)) this.audit.emit('mfa-bypassed', { ...facts, bypass: authentication });
  }

  private ask(ctx: ssh2.KeyboardAuthContext, question: Question): void {
    this.pending = undefined;
    this.busy = true;
    ctx.prompt([{ prompt: question.prompt, echo: !question.disable_echo }], (answers: string[] | Error) => {
      this.busy = false;
      // A new request aborted this one (RFC 4252 allows it): the question waits for that request.
      if (answers instanceof Error) {
        this.pending = question;
        return;
      }
      if (!Array.isArray(answers) || answers.length !== 1 || typeof answers[0] !== 'string') {
        return this.outcome.refuse(ctx, { kind: 'deny', reason: `expected one answer to "${question.key}", got ${Array.isArray(answers) ? answers.length : 'none'}` });
      }
      const refusal = this.conversation.answer(question, answers[0]);
      if (refusal) return this.outcome.refuse(ctx, refusal);
      this.run(ctx);
    });
  }
}

/** How an SDK plugin says it accepted without asking for a second factor. */
const bypasses = new Set(['whitelist', 'authentication_cache', 'ignore_conn_err']);

/**
 * `authentication` and `mfa_identity` of an ACCEPT's additional_metadata, when it is the SDK's JSON
 * object; anything else (no metadata, other text, other types) says nothing.
 */
export function acceptanceOf(metadata: string | undefined): { authentication?: string; mfaIdentity?: string } {
  if (metadata === undefined) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(metadata);
  } catch {
    return {};
  }
  if (typeof parsed !== 'object' || parsed === null) return {};
  const fields = parsed as Record<string, unknown>;
  const acceptance: { authentication?: string; mfaIdentity?: string } = {};
  if (typeof fields.authentication === 'string' && fields.authentication !== '') acceptance.authentication = fields.authentication.slice(0, 64);
  if (typeof fields.mfa_identity === 'string' && fields.mfa_identity !== '') acceptance.mfaIdentity = fields.mfa_identity.slice(0, 256);
  return acceptance;
}

/** Who is logging in, as the AA plugin is told. */
export function loginFacts(login: AuthenticatedLogin): LoginFacts {
  const { serverUser, serverDomain, keyValuePairs } = login.username;
  return { gatewayUser: login.gatewayUser, serverUser, ...(serverDomain !== undefined ? { serverDomain } : {}), keyValuePairs };
}
