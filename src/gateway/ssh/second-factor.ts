// The second factor of one SSH connection: after the first factor, the policy's AA plugin decides.
// Its NEEDINFO questions become keyboard-interactive prompts (echo as the question says); when the
// first factor used another method, the client is told "partial success, continue with
// keyboard-interactive" (RFC 4252 §5.1), which OpenSSH does by itself.
import type ssh2 from 'ssh2';
import type { Logger } from '../../log/logger.js';
import type { Question } from '../../aa/sandbox/index.js';
import type { AaConversation, LoginFacts, Refusal } from '../aa/aa-conversation.js';
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
          this.outcome.accept(ctx);
        },
        (err: Error) => {
          this.busy = false;
          this.outcome.refuse(ctx, { kind: 'deny', reason: `second factor failed: ${err.message}` });
        },
      );
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

/** Who is logging in, as the AA plugin is told. */
export function loginFacts(login: AuthenticatedLogin): LoginFacts {
  const { serverUser, serverDomain, keyValuePairs } = login.username;
  return { gatewayUser: login.gatewayUser, serverUser, ...(serverDomain !== undefined ? { serverDomain } : {}), keyValuePairs };
}
