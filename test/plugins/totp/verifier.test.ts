// TOTP verification: drift window, replay refusal (RFC 6238 §5.2), algorithms and digit counts.
import t, { type Test } from 'tap';
import { FileStateStore } from '../../../src/plugins/sdk/index.js';
import { hotp, type HashAlgorithm } from '../../../src/plugins/totp/hotp.js';
import { TotpVerifier } from '../../../src/plugins/totp/verifier.js';
import { fakeClock } from '../fixtures/fake-context.js';

const seed = new TextEncoder().encode('12345678901234567890');
const STEP = 55_555_555; // a time step; the clock starts 10 s into it

function setup(t: Test, settings: { algorithm?: HashAlgorithm; digits?: number; window?: number } = {}) {
  const clock = fakeClock(STEP * 30_000 + 10_000);
  const full = { algorithm: settings.algorithm ?? 'SHA1', digits: settings.digits ?? 6, periodSeconds: 30, window: settings.window ?? 1 };
  const verifier = new TotpVerifier(new FileStateStore(t.testdir()), full, clock);
  const code = (step: number) => hotp(seed, step, full.digits, full.algorithm);
  return { clock, verifier, code };
}

t.test('the current step and one either side are accepted, two are not', async (t) => {
  for (const [delta, ok] of [[-2, false], [-1, true], [0, true], [1, true], [2, false]] as const) {
    const { verifier, code } = setup(t);
    const check = await verifier.verify('alice', seed, code(STEP + delta));
    t.equal(check.ok, ok, `step ${delta >= 0 ? '+' : ''}${delta}`);
    if (check.ok) t.equal(check.step, STEP + delta);
    else t.equal(check.reason, 'mismatch');
  }
});

t.test('window=0 accepts only the current step; a larger window more', async (t) => {
  const strict = setup(t, { window: 0 });
  t.equal((await strict.verifier.verify('alice', seed, strict.code(STEP - 1))).ok, false);
  t.equal((await strict.verifier.verify('alice', seed, strict.code(STEP))).ok, true);
  const loose = setup(t, { window: 3 });
  t.equal((await loose.verifier.verify('alice', seed, loose.code(STEP - 3))).ok, true);
});

t.test('replay: a code at or below the last accepted step is refused', async (t) => {
  const { verifier, code, clock } = setup(t);
  t.same(await verifier.verify('alice', seed, code(STEP)), { ok: true, step: STEP });
  t.same(await verifier.verify('alice', seed, code(STEP)), { ok: false, reason: 'replay' }, 'the same code again');
  t.same(await verifier.verify('alice', seed, code(STEP - 1)), { ok: false, reason: 'replay' }, 'an older, still-in-window code');
  t.same(await verifier.verify('bob', seed, code(STEP)), { ok: true, step: STEP }, 'per identity');
  t.same(await verifier.verify('alice', seed, code(STEP + 1)), { ok: true, step: STEP + 1 }, 'the next code');
  clock.advance(30);
  t.same(await verifier.verify('alice', seed, code(STEP + 1)), { ok: false, reason: 'replay' }, 'still refused a step later');
  t.same(await verifier.verify('alice', seed, code(STEP + 2)), { ok: true, step: STEP + 2 });
});

t.test('the same code raced from two logins is accepted once', async (t) => {
  const { verifier, code } = setup(t);
  const checks = await Promise.all(Array.from({ length: 6 }, () => verifier.verify('alice', seed, code(STEP))));
  t.equal(checks.filter((check) => check.ok).length, 1);
});

t.test('algorithms and digit counts', async (t) => {
  for (const algorithm of ['SHA1', 'SHA256', 'SHA512'] as const) {
    for (const digits of [6, 7, 8]) {
      const { verifier, code } = setup(t, { algorithm, digits });
      t.equal((await verifier.verify('alice', seed, code(STEP))).ok, true, `${algorithm}/${digits}`);
    }
  }
  const sha256 = setup(t, { algorithm: 'SHA256' });
  t.equal((await sha256.verifier.verify('alice', seed, hotp(seed, STEP, 6, 'SHA1'))).ok, false, 'a SHA1 code is no SHA256 code');
});

t.test('malformed codes are refused before any comparison', async (t) => {
  const { verifier, code } = setup(t);
  const good = code(STEP);
  for (const bad of ['', good.slice(1), `${good}0`, ` ${good}`, good.replace(/\d$/, 'x'), '１２３４５６']) {
    t.same(await verifier.verify('alice', seed, bad), { ok: false, reason: 'malformed' }, JSON.stringify(bad));
  }
});
