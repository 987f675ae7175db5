// The `[totp]` section: algorithm, digits, period, drift window and the issuer shown in apps.
import type { PluginConfiguration } from '../sdk/index.js';
import { hashAlgorithms, type HashAlgorithm } from './hotp.js';

export const TOTP_SECTION = 'totp';

export interface TotpSettings {
  algorithm: HashAlgorithm;
  digits: number;
  periodSeconds: number;
  /** Steps accepted on either side of the current one (RFC 6238 §5.2 recommends at most 1). */
  window: number;
  issuer: string;
}

export async function readTotpSettings(config: PluginConfiguration): Promise<TotpSettings> {
  return {
    algorithm: await config.getEnum(TOTP_SECTION, 'algorithm', hashAlgorithms, 'SHA1'),
    digits: await config.getInt(TOTP_SECTION, 'digits', 6, { min: 6, max: 8 }),
    periodSeconds: await config.getInt(TOTP_SECTION, 'period', 30, { min: 1, max: 300 }),
    window: await config.getInt(TOTP_SECTION, 'window', 1, { min: 0, max: 10 }),
    issuer: await config.get(TOTP_SECTION, 'issuer', 'Gatehouse'),
  };
}
