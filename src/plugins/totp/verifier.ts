// Checks a TOTP code within the drift window and refuses replays: the last accepted time step of
// each identity is kept in the plugin's state store, and a code at or below it is refused
// (RFC 6238 §5.2: the second use of an OTP must not be accepted).
import { timingSafeEqual } from 'node:crypto';
import type { Clock, StateStore } from '../sdk/index.js';
import { hotp, timeStep } from './hotp.js';
import type { TotpSettings } from './settings.js';

export type TotpCheck = { ok: true; step: number } | { ok: false; reason: 'malformed' | 'mismatch' | 'replay' };

export class TotpVerifier {
  constructor(
    private readonly store: StateStore,
    private readonly settings: Pick<TotpSettings, 'algorithm' | 'digits' | 'periodSeconds' | 'window'>,
    private readonly clock: Clock,
  ) {}

  async verify(identity: string, seed: Uint8Array, code: string): Promise<TotpCheck> {
    const { algorithm, digits, periodSeconds, window } = this.settings;
    if (!new RegExp(`^\\d{${digits}}$`).test(code)) return { ok: false, reason: 'malformed' };
    const now = timeStep(Math.floor(this.clock() / 1000), periodSeconds);
    // Every candidate is computed and compared, whatever matched, so timing says nothing.
    let matched = -1;
    for (let step = Math.max(0, now - window); step <= now + window; step++) {
      if (timingSafeEqual(Buffer.from(hotp(seed, step, digits, algorithm)), Buffer.from(code))) matched = Math.max(matched, step);
    }
    if (matched < 0) return { ok: false, reason: 'mismatch' };
    return this.store.update<TotpCheck>(`totp_last_step/${identity}`, (last) =>
      typeof last === 'number' && matched <= last
        ? { action: 'keep', result: { ok: false, reason: 'replay' } }
        : { action: 'write', value: matched, result: { ok: true, step: matched } },
    );
  }
}
