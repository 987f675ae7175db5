// The built-in TOTP plugin (RFC 6238): the SDK's MFA flow with codes checked on the appliance,
// offline, against seeds from the credential store, with replays refused.
import { MfaPlugin } from '../sdk/index.js';
import { decodeBase32 } from './base32.js';
import { SEED_CREDENTIAL_HOST } from './seed.js';
import { readTotpSettings, TOTP_SECTION } from './settings.js';
import { TotpVerifier } from './verifier.js';

export class Plugin extends MfaPlugin {
  protected override readonly backendSection = TOTP_SECTION;

  protected override async otpVerify(identity: string, code: string): Promise<boolean> {
    const settings = await readTotpSettings(this.config);
    const stored = await this.context.secret(SEED_CREDENTIAL_HOST, identity);
    if (!stored) {
      this.log.warning(`no TOTP seed for ${identity}: add one to the credential store (host "${SEED_CREDENTIAL_HOST}", user "${identity}")`);
      return false;
    }
    let seed: Uint8Array;
    try {
      seed = decodeBase32(stored);
    } catch (err) {
      this.log.error(`the TOTP seed of ${identity} in the credential store is unusable: ${(err as Error).message}`);
      return false;
    }
    const check = await new TotpVerifier(this.stateStore, settings, this.clock).verify(identity, seed, code);
    if (!check.ok) this.log.info(`TOTP code of ${identity} refused: ${check.reason}`);
    return check.ok;
  }
}
