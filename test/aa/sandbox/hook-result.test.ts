import t from 'tap';
import { interpretMissingHook, interpretReturn, limits, sandboxDenial } from '../../../src/aa/sandbox/hook-result.js';

t.test('ACCEPT and DENY pass through with their fields', async (t) => {
  t.strictSame(
    interpretReturn('authenticate', {
      verdict: 'ACCEPT',
      gateway_user: 'alice',
      gateway_groups: ['ops', 'dba'],
      additional_metadata: 'ticket T-1',
      reason: 'fine',
      cookie: { n: 1 },
      session_cookie: { IdentityProvider: 'x' },
    }),
    { verdict: 'ACCEPT', gateway_user: 'alice', gateway_groups: ['ops', 'dba'], additional_metadata: 'ticket T-1', reason: 'fine', cookie: { n: 1 }, session_cookie: { IdentityProvider: 'x' } },
  );
  t.strictSame(interpretReturn('authorize', { verdict: 'DENY', reason: 'no ticket' }), { verdict: 'DENY', reason: 'no ticket' });
});

t.test('extra keys are allowed and dropped; null fields count as absent', async (t) => {
  t.strictSame(interpretReturn('authenticate', { verdict: 'ACCEPT', gateway_user: null, question: null, colour: 'blue' }), { verdict: 'ACCEPT' });
});

t.test('a dict of additional_metadata is JSON-encoded, as the SDK does', async (t) => {
  t.strictSame(interpretReturn('authenticate', { verdict: 'ACCEPT', additional_metadata: { reason: 'x', n: 2 } }), {
    verdict: 'ACCEPT',
    additional_metadata: '{"reason":"x","n":2}',
  });
});

t.test('NEEDINFO questions: 2 elements echo, 3 elements say', async (t) => {
  t.strictSame(interpretReturn('authenticate', { verdict: 'NEEDINFO', question: ['otp', 'Code:'] }), {
    verdict: 'NEEDINFO',
    question: { key: 'otp', prompt: 'Code:', disable_echo: false },
  });
  t.strictSame(interpretReturn('authenticate', { verdict: 'NEEDINFO', question: ['otp', 'Code:', true] }), {
    verdict: 'NEEDINFO',
    question: { key: 'otp', prompt: 'Code:', disable_echo: true },
  });
  t.strictSame(interpretReturn('authorize', { verdict: 'NEEDINFO', question: ['tkt', 'Ticket:', false], cookie: { a: 1 } }), {
    verdict: 'NEEDINFO',
    question: { key: 'tkt', prompt: 'Ticket:', disable_echo: false },
    cookie: { a: 1 },
  });
});

t.test('a question on another verdict is dropped', async (t) => {
  t.strictSame(interpretReturn('authenticate', { verdict: 'ACCEPT', question: ['otp', 'Code:'] }), { verdict: 'ACCEPT' });
});

t.test('bad NEEDINFO questions deny with a reason', async (t) => {
  const cases: [unknown, RegExp][] = [
    [undefined, /NEEDINFO without a question/],
    [['otp', ''], /question\.1: must not be empty/],
    [['', 'Code:'], /question\.0: must be an identifier/],
    [['1st', 'Code:'], /question\.0/],
    [['o t p', 'Code:'], /question\.0/],
    [['otp'], /question/],
    [['otp', 'Code:', 'yes'], /question\.2/],
    [['otp', 'Code:', true, 'more'], /question/],
    [{ key: 'otp', prompt: 'Code:' }, /question/],
    [['otp', 'x'.repeat(limits.text + 1)], /question\.1/],
  ];
  for (const [question, reason] of cases) {
    const result = interpretReturn('authenticate', { verdict: 'NEEDINFO', question });
    t.equal(result.verdict, 'DENY', JSON.stringify(question)?.slice(0, 40));
    t.equal(result.failure, 'invalid-result');
    t.match(result.reason, reason);
  }
});

t.test('no verdict: explicit NONE abstains from authenticate; nothing at all denies', async (t) => {
  t.strictSame(interpretReturn('authenticate', { verdict: 'NONE' }), { verdict: 'NONE' });
  for (const nothing of [undefined, null]) {
    const result = interpretReturn('authenticate', nothing);
    t.equal(result.verdict, 'DENY');
    t.equal(result.failure, 'invalid-result');
    t.match(result.reason, /no verdict.*to abstain/);
    t.equal(interpretReturn('authorize', nothing).failure, 'invalid-result');
  }
  t.match(interpretReturn('authorize', { verdict: 'NONE' }), { verdict: 'DENY', failure: 'invalid-result', reason: /may not abstain/ });
});

t.test('session_ended: its return value carries nothing', async (t) => {
  for (const value of [undefined, { verdict: 'DENY' }, 42, 'garbage']) t.strictSame(interpretReturn('session_ended', value), { verdict: 'NONE' });
});

t.test('garbage denies with the reason, whatever its shape', async (t) => {
  const garbage: unknown[] = [
    42,
    'ACCEPT',
    true,
    [],
    ['ACCEPT'],
    {},
    { verdict: 'accept' },
    { verdict: 'MAYBE' },
    { verdict: 1 },
    { verdict: 'ACCEPT', gateway_user: '' },
    { verdict: 'ACCEPT', gateway_user: 7 },
    { verdict: 'ACCEPT', gateway_groups: 'ops' },
    { verdict: 'ACCEPT', gateway_groups: [1] },
    { verdict: 'ACCEPT', gateway_groups: Array.from({ length: limits.groups + 1 }, () => 'g') },
    { verdict: 'ACCEPT', reason: 'x'.repeat(limits.text + 1) },
    { verdict: 'ACCEPT', additional_metadata: 5 },
    { verdict: 'ACCEPT', additional_metadata: ['a'] },
    { verdict: 'ACCEPT', additional_metadata: 'x'.repeat(limits.metadataBytes + 1) },
    { verdict: 'ACCEPT', cookie: [] },
    { verdict: 'ACCEPT', cookie: 'c' },
    { verdict: 'ACCEPT', session_cookie: 3 },
    { verdict: 'ACCEPT', cookie: { big: 'x'.repeat(limits.cookieBytes) } },
  ];
  for (const value of garbage) {
    const result = interpretReturn('authenticate', value);
    t.equal(result.verdict, 'DENY', JSON.stringify(value).slice(0, 60));
    t.equal(result.failure, 'invalid-result');
    t.match(result.reason, /^authenticate returned an invalid result: /);
  }
});

t.test('cookies are bounded in size and depth; deep nesting is refused without recursion', async (t) => {
  let deep: unknown = {};
  for (let i = 0; i < 100_000; i++) deep = { d: deep };
  t.match(interpretReturn('authenticate', { verdict: 'ACCEPT', cookie: deep }), { verdict: 'DENY', reason: /cookie: must be a JSON object/ });
  t.match(interpretReturn('authenticate', { verdict: 'ACCEPT', additional_metadata: deep }), { verdict: 'DENY', reason: /additional_metadata/ });
  let ok: Record<string, unknown> = {};
  for (let i = 1; i < limits.cookieDepth; i++) ok = { d: ok };
  t.equal(interpretReturn('authenticate', { verdict: 'ACCEPT', cookie: ok }).verdict, 'ACCEPT');
  const nearLimit = { pad: 'x'.repeat(limits.cookieBytes - 20) };
  t.equal(interpretReturn('authenticate', { verdict: 'ACCEPT', session_cookie: nearLimit }).verdict, 'ACCEPT');
});

t.test('missing hooks: authenticate is mandatory, the others are not', async (t) => {
  t.match(interpretMissingHook('authenticate'), { verdict: 'DENY', failure: 'invalid-result', reason: /no authenticate hook/ });
  t.strictSame(interpretMissingHook('authorize'), { verdict: 'ACCEPT' });
  t.strictSame(interpretMissingHook('session_ended'), { verdict: 'NONE' });
});

t.test('sandbox denials carry a bounded reason', async (t) => {
  const denial = sandboxDenial('crashed', 'y'.repeat(10_000));
  t.equal(denial.verdict, 'DENY');
  t.equal(denial.failure, 'crashed');
  t.equal(denial.reason.length, limits.text);
});
