// [authentication_cache]: the documented rule, each bound at its edge, with a fake clock.
import t, { type Test } from 'tap';
import { readAuthenticationCacheSettings } from '../../../src/plugins/sdk/authentication-cache.js';
import { AuthenticationCache, FileStateStore, mayReuse, PluginConfiguration, type AuthenticationCacheSettings } from '../../../src/plugins/sdk/index.js';
import { fakeClock } from '../fixtures/fake-context.js';

function setup(t: Test, settings: Partial<AuthenticationCacheSettings> = {}) {
  const clock = fakeClock();
  const cache = new AuthenticationCache(new FileStateStore(t.testdir()), { softTimeoutSeconds: 15, hardTimeoutSeconds: 90, reuseLimit: 5, ...settings }, clock);
  return { clock, cache };
}

t.test('nothing to reuse before an MFA', async (t) => {
  const { cache } = setup(t);
  t.equal(await cache.tryReuse('alice', '10.0.0.1'), false);
});

t.test('reuse_limit: exactly that many logins skip MFA', async (t) => {
  const { clock, cache } = setup(t, { reuseLimit: 5 });
  await cache.recordMfa('alice', '10.0.0.1');
  for (let login = 1; login <= 5; login++) {
    clock.advance(10);
    t.equal(await cache.tryReuse('alice', '10.0.0.1'), true, `reuse ${login}`);
  }
  clock.advance(10);
  t.equal(await cache.tryReuse('alice', '10.0.0.1'), false, 'the sixth needs MFA');
  await cache.recordMfa('alice', '10.0.0.1');
  clock.advance(1);
  t.equal(await cache.tryReuse('alice', '10.0.0.1'), true, 'a new MFA starts a new count');
});

t.test('soft_timeout: a gap of exactly soft_timeout is fine, one millisecond more is not', async (t) => {
  const { clock, cache } = setup(t);
  await cache.recordMfa('alice', '10.0.0.1');
  clock.advance(15);
  t.equal(await cache.tryReuse('alice', '10.0.0.1'), true, 'gap = 15 s after the MFA');
  clock.advance(15);
  t.equal(await cache.tryReuse('alice', '10.0.0.1'), true, 'the gap is measured from the last login, not the MFA');
  clock.now += 15_001;
  t.equal(await cache.tryReuse('alice', '10.0.0.1'), false, 'gap = 15.001 s');
  clock.advance(1);
  t.equal(await cache.tryReuse('alice', '10.0.0.1'), false, 'a refused login does not count as a login');
});

t.test('hard_timeout: counts from the MFA, however often the user reconnects', async (t) => {
  // The vendor SDK resets on every accept, so reconnecting every 15 s would skip MFA forever.
  const { clock, cache } = setup(t, { reuseLimit: 1000 });
  await cache.recordMfa('alice', '10.0.0.1');
  for (let elapsed = 15; elapsed <= 90; elapsed += 15) {
    clock.advance(15);
    t.equal(await cache.tryReuse('alice', '10.0.0.1'), true, `${elapsed} s after the MFA`);
  }
  clock.now += 1;
  t.equal(await cache.tryReuse('alice', '10.0.0.1'), false, '90.001 s after the MFA, gap only 1 ms');
});

t.test('keyed by gateway user (case-sensitive) and client IP', async (t) => {
  const { clock, cache } = setup(t);
  await cache.recordMfa('alice', '10.0.0.1');
  clock.advance(1);
  t.equal(await cache.tryReuse('alice', '10.0.0.2'), false, 'other IP');
  t.equal(await cache.tryReuse('bob', '10.0.0.1'), false, 'other user');
  t.equal(await cache.tryReuse('Alice', '10.0.0.1'), false, 'other case');
  t.equal(await cache.tryReuse('alice', '10.0.0.1'), true);
});

t.test('reuse_limit 0 turns the cache off', async (t) => {
  const { clock, cache } = setup(t, { reuseLimit: 0 });
  t.equal(cache.enabled, false);
  await cache.recordMfa('alice', '10.0.0.1');
  clock.advance(1);
  t.equal(await cache.tryReuse('alice', '10.0.0.1'), false);
});

t.test('the rule as a table, including a clock that went backwards', async (t) => {
  const settings = { softTimeoutSeconds: 15, hardTimeoutSeconds: 90, reuseLimit: 2 };
  const cases: [string, { mfaAt: number; lastLoginAt: number; reuseCount: number }, number, boolean][] = [
    ['fresh', { mfaAt: 0, lastLoginAt: 0, reuseCount: 0 }, 1000, true],
    ['limit reached', { mfaAt: 0, lastLoginAt: 0, reuseCount: 2 }, 1000, false],
    ['soft edge', { mfaAt: 0, lastLoginAt: 50_000, reuseCount: 1 }, 65_000, true],
    ['soft passed', { mfaAt: 0, lastLoginAt: 50_000, reuseCount: 1 }, 65_001, false],
    ['hard edge', { mfaAt: 0, lastLoginAt: 89_000, reuseCount: 1 }, 90_000, true],
    ['hard passed', { mfaAt: 0, lastLoginAt: 89_000, reuseCount: 1 }, 90_001, false],
    ['clock went back', { mfaAt: 10_000, lastLoginAt: 10_000, reuseCount: 0 }, 9_999, false],
  ];
  for (const [name, entry, now, expected] of cases) t.equal(mayReuse(entry, settings, now), expected, name);
});

t.test('settings: SDK defaults and the documented range', async (t) => {
  const read = (text: string) => readAuthenticationCacheSettings(PluginConfiguration.parse(text, async () => undefined));
  t.same(await read(''), { softTimeoutSeconds: 15, hardTimeoutSeconds: 90, reuseLimit: 0 });
  t.same(await read('[authentication_cache]\nsoft_timeout=0\nhard_timeout=2147483647\nreuse_limit=5'), { softTimeoutSeconds: 0, hardTimeoutSeconds: 2147483647, reuseLimit: 5 });
  await t.rejects(read('[authentication_cache]\nreuse_limit=-1'), { message: /^line 2, \[authentication_cache\] reuse_limit: expected an integer from 0 to 2147483647/ });
});
