// Connection limiter: admit up to the limit, idempotent per session, release on session end.
import t from 'tap';
import { ConnectionLimiter, connectionLimitKey, FileStateStore } from '../../../src/plugins/sdk/index.js';

t.test('admits up to the limit and frees a slot when a session ends', async (t) => {
  const limiter = new ConnectionLimiter(new FileStateStore(t.testdir()));
  const key = connectionLimitKey('10.0.0.1', 'alice');
  t.equal(await limiter.admit(key, 's1', 2), true);
  t.equal(await limiter.admit(key, 's2', 2), true);
  t.equal(await limiter.admit(key, 's3', 2), false);
  t.equal(await limiter.admit(key, 's1', 2), true, 'a session already counted is admitted again (a retried authorize)');
  await limiter.release(key, 's1');
  await limiter.release(key, 'unknown');
  t.equal(await limiter.admit(key, 's3', 2), true);
  t.equal(await limiter.admit(key, 's4', 2), false);
  t.equal(await limiter.admit(connectionLimitKey('10.0.0.2', 'alice'), 's5', 2), true, 'per client IP');
  t.equal(await limiter.admit(connectionLimitKey('10.0.0.1', 'bob'), 's6', 2), true, 'per gateway user');
});

t.test('limit 0 is unlimited and counts nothing', async (t) => {
  const dir = t.testdir();
  const limiter = new ConnectionLimiter(new FileStateStore(dir));
  for (let i = 0; i < 5; i++) t.equal(await limiter.admit(connectionLimitKey('10.0.0.1', 'alice'), `s${i}`, 0), true);
  t.equal(await limiter.admit(connectionLimitKey('10.0.0.1', 'alice'), 'x', 1), true, 'nothing was counted meanwhile');
});

t.test('parallel admissions never exceed the limit', async (t) => {
  const limiter = new ConnectionLimiter(new FileStateStore(t.testdir()));
  const key = connectionLimitKey('10.0.0.1', 'alice');
  const admitted = await Promise.all(Array.from({ length: 12 }, (_, i) => limiter.admit(key, `s${i}`, 3)));
  t.equal(admitted.filter(Boolean).length, 3);
});

t.test('keys cannot be confused by separators in names', async (t) => {
  t.not(connectionLimitKey('10.0.0.1', 'a_b'), connectionLimitKey('10.0.0.1_a', 'b'));
});
