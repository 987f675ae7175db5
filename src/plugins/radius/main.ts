// The built-in RADIUS plugin, after SPS's radius-mfa: the SDK's MFA flow with the password
// checked by a RADIUS server (PAP or CHAP). An Access-Challenge becomes a NEEDINFO question (its
// Reply-Message, echo off unless the server's Prompt says Echo) whose answer goes back with the
// challenge's State, kept base64 in the cookie meanwhile.
import { MfaCommunicationError, MfaPlugin, MfaServiceUnreachable, type MfaChallenge } from '../sdk/index.js';
import { challengePrompt, RadiusClient, RadiusTimeoutError, type RadiusAnswer } from './protocol/index.js';
import { RADIUS_SECTION, readRadiusSettings } from './settings.js';

/** The key of a challenge's answer; it comes before `rp` and `otp`, so the answer is what is sent next. */
const ANSWER_KEY = 'radius_password';

export class Plugin extends MfaPlugin {
  protected override readonly backendSection = RADIUS_SECTION;
  protected override readonly passwordKeys = [ANSWER_KEY, 'rp', 'otp'];
  protected override readonly identityKeys = ['radius_username', 'ru'];

  protected override async otpVerify(identity: string, code: string, signal: AbortSignal, challengeState?: string): Promise<boolean | MfaChallenge> {
    const client = new RadiusClient(await readRadiusSettings(this.config));
    const state = challengeState === undefined ? undefined : Buffer.from(challengeState, 'base64');
    let answer: RadiusAnswer;
    try {
      answer = await client.authenticate({ username: identity, password: code, state, signal });
    } catch (err) {
      if (!(err instanceof RadiusTimeoutError)) throw err;
      // Replies that fail verification come from a server with another secret (or a forger):
      // that is no outage, so never a reason for ignore_conn_err to let anyone in.
      throw err.discardedReplies > 0 ? new MfaCommunicationError(err.message) : new MfaServiceUnreachable(err.message);
    }
    this.log.debug(`RADIUS ${answer.kind} for ${identity}${answer.replyMessage ? `: ${answer.replyMessage}` : ''}`);
    if (answer.kind !== 'challenge') return answer.kind === 'accept';
    return { question: [ANSWER_KEY, challengePrompt(answer.replyMessage), !answer.echo], state: answer.state.toString('base64') };
  }
}
