// The built-in Duo plugin, after SPS's duo-mfa: the SDK's MFA flow with Duo's Auth API v2.
// preauth first: `allow` (a bypass user) accepts, `deny` and `enroll` deny with Duo's message in
// the log, `auth` goes on. An empty answer is a push (a push-capable device is required; sent
// asynchronously and polled with auth_status until allowed, denied or the SDK's timeout); `sms`
// texts new passcodes and asks for one; anything else is a passcode, and one Duo says was already
// used is asked for once more.
import { setTimeout as sleep } from 'node:timers/promises';
import { AUTH_SECTION, MfaPlugin, type MfaChallenge } from '../sdk/index.js';
import { DuoClient, type Preauth } from './client.js';
import { DUO_SECTION, readDuoSettings } from './settings.js';

/** The key of a follow-up question's answer; it comes before `otp`, so the answer is what is sent next. */
const ANSWER_KEY = 'duo_passcode';
/** At most one auth_status a second, should Duo answer "waiting" at once instead of long-polling. */
const POLL_INTERVAL_MS = 1000;

export class Plugin extends MfaPlugin {
  protected override readonly backendSection = DUO_SECTION;
  protected override readonly passwordKeys = [ANSWER_KEY, 'otp'];

  protected override async otpVerify(identity: string, code: string, signal: AbortSignal, challengeState?: string): Promise<boolean | MfaChallenge> {
    const client = new DuoClient(await readDuoSettings(this.config), signal);
    const preauth = await this.preauth(client, identity);
    if (typeof preauth === 'boolean') return preauth;
    if (challengeState === undefined && code.toLowerCase() === 'sms') return this.sendSms(client, identity, preauth);
    const answer = await client.auth({ username: identity, factor: 'passcode', passcode: code });
    if (answer.result === 'allow') return true;
    this.log.info(`Duo refused the passcode of ${identity}: ${answer.statusMessage}`);
    // Duo's words, as SPS matches them; asked once more only, so a replayed code cannot loop.
    if (challengeState === undefined && /already been used/.test(answer.statusMessage)) return this.ask('This passcode has already been used. Enter a new one:', 'used');
    return false;
  }

  protected override async pushVerify(identity: string, signal: AbortSignal): Promise<boolean> {
    const client = new DuoClient(await readDuoSettings(this.config), signal);
    const preauth = await this.preauth(client, identity);
    if (typeof preauth === 'boolean') return preauth;
    if (!preauth.devices.some((device) => device.capabilities.includes('push'))) {
      this.log.warning(`Duo: ${identity} has no push capable device enrolled`);
      return false;
    }
    const txid = await client.authAsync({ username: identity, factor: 'push', device: 'auto' });
    for (;;) {
      const started = performance.now();
      const status = await client.authStatus(txid);
      if (status.result !== 'waiting') {
        this.log.info(`Duo push for ${identity}: ${status.status} (${status.statusMessage})`);
        return status.result === 'allow';
      }
      await sleep(Math.max(0, POLL_INTERVAL_MS - (performance.now() - started)), undefined, { signal });
    }
  }

  /** `auth` goes on; a bypass user is accepted (true); deny and enroll are refused (false). */
  private async preauth(client: DuoClient, identity: string): Promise<Preauth | boolean> {
    const preauth = await client.preauth(identity);
    if (preauth.result === 'auth') return preauth;
    if (preauth.result === 'allow') {
      this.log.info(`Duo: ${identity} is a bypass user, accepted without a second factor`);
      return true;
    }
    this.log.warning(`Duo denies ${identity} (preauth ${preauth.result}): ${preauth.statusMessage}`);
    return false;
  }

  private async sendSms(client: DuoClient, identity: string, preauth: Preauth): Promise<boolean | MfaChallenge> {
    if (!preauth.devices.some((device) => device.capabilities.includes('sms'))) {
      this.log.warning(`Duo: ${identity} has no device that can receive SMS`);
      return false;
    }
    const answer = await client.auth({ username: identity, factor: 'sms', device: 'auto' });
    if (answer.status !== 'sent') {
      this.log.warning(`Duo did not send SMS passcodes to ${identity}: ${answer.status} (${answer.statusMessage})`);
      return false;
    }
    return this.ask('Enter passcode from text message:', 'sms');
  }

  private async ask(prompt: string, state: string): Promise<MfaChallenge> {
    const disableEcho = await this.config.getBoolean(AUTH_SECTION, 'disable_echo', false);
    return { question: [ANSWER_KEY, `${prompt} `, disableEcho], state };
  }
}
