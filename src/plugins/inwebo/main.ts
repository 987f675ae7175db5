// The built-in inWebo plugin, after SPS's inwebo-mfa: the SDK's MFA flow with inWebo's REST API.
// An OTP from the inWebo app is checked with authenticateExtended; an empty answer is a push
// (pushAuthenticate, then checkPushResult every rest_poll_interval while it says NOK:WAITING,
// until OK, another result or the SDK's timeout). Each NOK:<cause> is logged in words.
import { setTimeout as sleep } from 'node:timers/promises';
import { MfaPlugin } from '../sdk/index.js';
import { InweboClient, WAITING, describeResult } from './client.js';
import { INWEBO_SECTION, readInweboSettings } from './settings.js';

export class Plugin extends MfaPlugin {
  protected override readonly backendSection = INWEBO_SECTION;

  protected override async otpVerify(identity: string, code: string, signal: AbortSignal): Promise<boolean> {
    const client = new InweboClient(await readInweboSettings(this.config), signal);
    const answer = await client.authenticateExtended(identity, code);
    if (answer.err === 'OK') {
      this.log.info(`inWebo accepted the OTP of ${identity} from device "${answer.name}"`);
      return true;
    }
    this.log.info(`inWebo refused the OTP of ${identity}: ${describeResult(answer.err)}`);
    return false;
  }

  protected override async pushVerify(identity: string, signal: AbortSignal): Promise<boolean> {
    const settings = await readInweboSettings(this.config);
    const client = new InweboClient(settings, signal);
    const push = await client.pushAuthenticate(identity);
    if (!('sessionId' in push)) {
      this.log.warning(`inWebo push for ${identity} not sent: ${describeResult(push.err)}`);
      return false;
    }
    for (;;) {
      const result = await client.checkPushResult(identity, push.sessionId);
      if (result.err === 'OK') {
        this.log.info(`inWebo push for ${identity} approved on device "${result.name}"`);
        return true;
      }
      if (result.err !== WAITING) {
        this.log.info(`inWebo push for ${identity}: ${describeResult(result.err)}`);
        return false;
      }
      await sleep(settings.pollIntervalMs, undefined, { signal });
    }
  }
}
