// Tests of per-client-IP login throttling: backoff, lockout, expiry, normalisation and the memory bound.
import fc from 'fast-check';
import t from 'tap';
import {
  ClientRateLimiter,
  defaultRateLimitSettings,
  MAX_TRACKED_IPS,
  type RateLimitSettings,
} from '../../src/gateway/rate-limit.js';

const MINUTE = 60_000;

function setup(settings: Partial<RateLimitSettings> = {}) {
  const clock = { now: 1_700_000_000_000 };
  const limiter = new ClientRateLimiter(settings, () => clock.now);
  return { limiter, clock };
}

function delayOf(limiter: ClientRateLimiter, ip: string): number {
  const admission = limiter.admit(ip);
  if (!admission.allowed) throw new Error(`unexpectedly locked out: ${JSON.stringify(admission)}`);
  return admission.delayMs;
}

t.test('defaults', async (t) => {
  t.same(defaultRateLimitSettings, {
    freeAttempts: 3,
    baseDelayMs: 500,
    maxDelayMs: 30_000,
    lockoutAfter: 10,
    lockoutMs: 15 * MINUTE,
    windowMs: 15 * MINUTE,
  });
});

t.test('backoff sequence', async (t) => {
  const { limiter } = setup({ lockoutAfter: 100 });
  const delays = [delayOf(limiter, '10.0.0.1')];
  for (let i = 0; i < 12; i++) {
    limiter.recordFailure('10.0.0.1');
    delays.push(delayOf(limiter, '10.0.0.1'));
  }
  t.same(delays, [0, 0, 0, 0, 500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000]);
});

t.test('zero free attempts and zero base delay', async (t) => {
  const eager = setup({ freeAttempts: 0 }).limiter;
  eager.recordFailure('10.0.0.1');
  t.equal(delayOf(eager, '10.0.0.1'), 500);
  const none = setup({ baseDelayMs: 0, lockoutAfter: 10_000 }).limiter;
  for (let i = 0; i < 2000; i++) none.recordFailure('10.0.0.1');
  t.equal(delayOf(none, '10.0.0.1'), 0, 'no NaN from 0 * 2^k');
});

t.test('lockout and its expiry', async (t) => {
  const { limiter, clock } = setup();
  const results = [];
  for (let i = 0; i < 10; i++) {
    results.push(limiter.recordFailure('10.0.0.1'));
    clock.now += 1000;
  }
  t.same(
    results.map((r) => r.failures),
    [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
  );
  t.same(
    results.map((r) => r.lockedOut),
    [false, false, false, false, false, false, false, false, false, true],
  );
  // lockout started at the 10th failure, 1s ago
  t.same(limiter.admit('10.0.0.1'), { allowed: false, retryAfterMs: 15 * MINUTE - 1000, reason: 'locked-out' });

  t.same(limiter.recordFailure('10.0.0.1'), { lockedOut: false, failures: 10 }, 'late failure neither repeats nor extends');
  limiter.recordSuccess('10.0.0.1');
  t.equal(limiter.admit('10.0.0.1').allowed, false, 'a racing success does not lift the lockout');

  clock.now += 15 * MINUTE - 1001;
  t.same(limiter.admit('10.0.0.1'), { allowed: false, retryAfterMs: 1, reason: 'locked-out' });
  clock.now += 1;
  t.same(limiter.admit('10.0.0.1'), { allowed: true, delayMs: 0 }, 'a served lockout starts afresh');
  t.same(limiter.recordFailure('10.0.0.1'), { lockedOut: false, failures: 1 });
});

t.test('lockout counts only failures within the window', async (t) => {
  const { limiter, clock } = setup({ lockoutAfter: 3, windowMs: 10 * MINUTE });
  limiter.recordFailure('10.0.0.1');
  clock.now += 6 * MINUTE;
  limiter.recordFailure('10.0.0.1');
  clock.now += 5 * MINUTE; // the first failure is now 11 minutes old
  t.same(limiter.recordFailure('10.0.0.1'), { lockedOut: false, failures: 2 });
  t.same(limiter.recordFailure('10.0.0.1'), { lockedOut: true, failures: 3 });
});

t.test('window expiry forgets failures', async (t) => {
  const { limiter, clock } = setup();
  for (let i = 0; i < 5; i++) limiter.recordFailure('10.0.0.1');
  t.equal(delayOf(limiter, '10.0.0.1'), 1000);
  clock.now += 15 * MINUTE - 1;
  t.equal(delayOf(limiter, '10.0.0.1'), 1000, 'still inside the window');
  clock.now += 1;
  t.equal(delayOf(limiter, '10.0.0.1'), 0);
  t.equal(limiter.size(), 0, 'expired entry dropped');
});

t.test('success resets failures', async (t) => {
  const { limiter } = setup();
  for (let i = 0; i < 9; i++) limiter.recordFailure('10.0.0.1');
  limiter.recordSuccess('10.0.0.1');
  t.same(limiter.admit('10.0.0.1'), { allowed: true, delayMs: 0 });
  t.equal(limiter.size(), 0);
  t.same(limiter.recordFailure('10.0.0.1'), { lockedOut: false, failures: 1 });
  limiter.recordSuccess('10.9.9.9'); // unknown IP: no-op
  t.equal(limiter.size(), 1);
});

t.test('IPs are independent', async (t) => {
  const { limiter } = setup();
  for (let i = 0; i < 10; i++) limiter.recordFailure('10.0.0.1');
  limiter.recordFailure('10.0.0.2');
  t.equal(limiter.admit('10.0.0.1').allowed, false);
  t.same(limiter.admit('10.0.0.2'), { allowed: true, delayMs: 0 });
  t.same(limiter.admit('2001:db8::1'), { allowed: true, delayMs: 0 });
  t.equal(limiter.size(), 2);
});

t.test('IPv4-mapped IPv6 is the same client as IPv4', async (t) => {
  const { limiter } = setup();
  for (let i = 0; i < 4; i++) limiter.recordFailure('::ffff:127.0.0.1');
  t.equal(delayOf(limiter, '127.0.0.1'), 500);
  limiter.recordFailure('127.0.0.1');
  t.equal(delayOf(limiter, '::FFFF:127.0.0.1'), 1000);
  t.equal(limiter.size(), 1);
  limiter.recordSuccess('::ffff:127.0.0.1');
  t.equal(limiter.size(), 0);

  limiter.recordFailure('2001:DB8::1');
  t.same(limiter.recordFailure('2001:db8::1'), { lockedOut: false, failures: 2 }, 'IPv6 case-insensitive');
});

t.test('admit does not track unknown IPs', async (t) => {
  const { limiter } = setup();
  for (let i = 0; i < 1000; i++) limiter.admit(`10.0.${i >> 8}.${i & 255}`);
  t.equal(limiter.size(), 0);
});

t.test('settings', async (t) => {
  t.throws(() => new ClientRateLimiter({ baseDelayMs: -1 }), RangeError);
  t.throws(() => new ClientRateLimiter({ windowMs: Number.NaN }), RangeError);
  t.throws(() => new ClientRateLimiter({ lockoutAfter: 0 }), RangeError);
  const partial: Partial<RateLimitSettings> = { freeAttempts: undefined, lockoutAfter: 2 };
  const { limiter } = setup(partial);
  limiter.recordFailure('10.0.0.1');
  t.same(limiter.recordFailure('10.0.0.1'), { lockedOut: true, failures: 2 }, 'explicit undefined keeps the default');
});

const ipv4 = (i: number) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;

t.test('memory bound: expired entries are evicted first', async (t) => {
  const { limiter, clock } = setup();
  for (let i = 0; i < MAX_TRACKED_IPS / 2; i++) limiter.recordFailure(ipv4(i)); // will expire
  clock.now += 10 * MINUTE;
  for (let i = MAX_TRACKED_IPS / 2; i < MAX_TRACKED_IPS; i++) limiter.recordFailure(ipv4(i)); // still live
  t.equal(limiter.size(), MAX_TRACKED_IPS);
  clock.now += 6 * MINUTE;
  limiter.recordFailure('192.168.0.1');
  t.equal(limiter.size(), MAX_TRACKED_IPS / 2 + 1);
  t.same(limiter.recordFailure(ipv4(MAX_TRACKED_IPS - 1)), { lockedOut: false, failures: 2 }, 'live entry kept');
});

t.test('memory bound: then the least recently failed are evicted', async (t) => {
  const { limiter, clock } = setup();
  for (let i = 0; i < MAX_TRACKED_IPS; i++) {
    limiter.recordFailure(ipv4(i));
    if (i % 1000 === 0) clock.now += 1;
  }
  limiter.recordFailure(ipv4(0)); // touched: now the most recent
  let maxSize = 0;
  for (let i = 0; i < 20_000; i++) {
    limiter.recordFailure(`192.168.${i >> 8}.${i & 255}`);
    maxSize = Math.max(maxSize, limiter.size());
  }
  t.ok(maxSize <= MAX_TRACKED_IPS, `size stayed within the bound (max ${maxSize})`);
  t.same(limiter.recordFailure(ipv4(0)), { lockedOut: false, failures: 3 }, 'recently touched entry kept');
  t.same(limiter.recordFailure(ipv4(1)), { lockedOut: false, failures: 1 }, 'oldest entry evicted');
});

t.test('property: delays are monotonic in the failure count and bounded by maxDelay', async (t) => {
  t.doesNotThrow(() => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 20 }),
        fc.integer({ min: 0, max: 60_000 }),
        fc.integer({ min: 0, max: 600_000 }),
        fc.integer({ min: 1, max: 200 }),
        (freeAttempts, baseDelayMs, maxDelayMs, lockoutAfter) => {
          const { limiter } = setup({ freeAttempts, baseDelayMs, maxDelayMs, lockoutAfter });
          let previous = delayOf(limiter, '10.0.0.1');
          for (let failures = 1; failures < lockoutAfter; failures++) {
            limiter.recordFailure('10.0.0.1');
            const delay = delayOf(limiter, '10.0.0.1');
            if (!Number.isFinite(delay) || delay < previous || delay > maxDelayMs) return false;
            if (failures <= freeAttempts && delay !== 0) return false;
            previous = delay;
          }
          return limiter.recordFailure('10.0.0.1').lockedOut && !limiter.admit('10.0.0.1').allowed;
        },
      ),
    );
  }, 'property held');
});
