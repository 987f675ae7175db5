// The built-in Starling plugin, after SPS's starling-2fa: the SDK's MFA flow with One Identity
// Starling 2FA. The MFA identity is the Starling id (usermapping), or, with auto-provisioning, the
// id of the Starling user made from the person's LDAP phone and email. A code is checked with
// Starling's verify; an empty answer sends an approval request carrying the connection's details,
// polled until approved, denied, expired at Starling ("server") or past push_timeout ("client").
// SPS's "join" of the appliance to Starling is replaced by `[starling] client_id, client_secret`.
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { MfaPlugin, type ConnectionArgs, type HookResult } from '../sdk/index.js';
import { StarlingClient } from './client.js';
import { UserProvisioning } from './provisioning.js';
import { readProvisionSettings, readStarlingSettings, STARLING_SECTION, type StarlingSettings } from './settings.js';
import { AccessTokens } from './token.js';

/** SPS's wording, which people know from their Starling app. */
const APPROVAL_MESSAGE = 'SPS Gateway Authentication';

export class Plugin extends MfaPlugin {
  protected override readonly backendSection = STARLING_SECTION;
  /** The connection of this hook call, for the approval request's details. */
  private connection: ConnectionArgs = {};

  override authenticate(args: ConnectionArgs = {}): Promise<HookResult> {
    this.connection = args;
    return super.authenticate(args);
  }

  protected override async otpVerify(identity: string, code: string, signal: AbortSignal): Promise<boolean> {
    const { client, userId } = await this.starling(identity, signal);
    if (userId === undefined) return false;
    const answer = await client.verify(userId, code);
    if (answer !== 'accepted') this.log.info(`Starling: ${answer === 'rejected' ? 'invalid OTP' : 'user not found'} for ${userId}`);
    return answer === 'accepted';
  }

  protected override async pushVerify(identity: string, signal: AbortSignal): Promise<boolean> {
    const { client, userId, settings } = await this.starling(identity, signal);
    if (userId === undefined) return false;
    const deadline = performance.now() + settings.pushTimeoutS * 1000;
    const requestId = await client.requestApproval(userId, { message: APPROVAL_MESSAGE, secondsToExpire: settings.pushTimeoutS, details: this.details() });
    if (requestId === undefined) {
      this.log.info(`Starling: user not found for ${userId}`);
      return false;
    }
    for (;;) {
      const status = await client.approvalStatus(requestId);
      if (status === 'approved') return true;
      if (status !== 'pending') {
        this.log.info(`Starling push for ${userId}: ${status === 'denied' ? 'request denied by user' : 'push request timed out (server)'}`);
        return false;
      }
      const left = deadline - performance.now();
      if (left <= 0) {
        this.log.info(`Starling push for ${userId}: push request timed out (client) after ${settings.pushTimeoutS} s`);
        return false;
      }
      await sleep(Math.min(settings.pollIntervalMs, left), undefined, { signal });
    }
  }

  /** The client, and the Starling id to ask about (undefined: Starling refused to provision the user). */
  private async starling(identity: string, signal: AbortSignal): Promise<{ client: StarlingClient; userId: string | undefined; settings: StarlingSettings }> {
    const settings = await readStarlingSettings(this.config);
    const client = new StarlingClient(settings, new AccessTokens(this.stateStore, settings, this.clock, signal), signal);
    const provisioning = await readProvisionSettings(this.config);
    // LDAP knows the person by their gateway name; without one, by the identity (e.g. gu=).
    const provisioned = provisioning
      ? await new UserProvisioning(provisioning, this.context.ldap, this.stateStore, this.clock, this.log).starlingId(this.connection.gateway_user || identity, client)
      : undefined;
    if (provisioned === false) return { client, userId: undefined, settings };
    const userId = provisioned ?? identity;
    if (!/^\d+$/.test(userId)) this.log.warning(`MFA identity "${userId}" is not a numeric Starling id: map users with [usermapping] or enable [starling_auto_provision]`);
    return { client, userId, settings };
  }

  /** What the person sees in the Starling app; SPS writes N/A for what is unknown. */
  private details(): Record<string, string> {
    const { gateway_user: gatewayUser, server_username: serverUser, client_ip: clientIp, protocol } = this.connection;
    return {
      Gateway: hostname(),
      'Gateway User': gatewayUser || 'N/A',
      'Server User': serverUser || 'N/A',
      'Client IP': clientIp || 'N/A',
      Protocol: protocol || 'N/A',
    };
  }
}
