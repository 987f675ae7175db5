// The Starling client and its token cache against the faithful fake: client credentials (wrong
// secret refused), a token reused until `expires_in - 10`, then renewed; a token Starling refuses
// dropped and renewed once; verify, approval requests, user creation; 429 and each misbehaviour.
import t, { type Test } from 'tap';
import { StarlingClient } from '../../../src/plugins/starling/client.js';
import type { StarlingSettings } from '../../../src/plugins/starling/settings.js';
import { AccessTokens } from '../../../src/plugins/starling/token.js';
import { FileStateStore } from '../../../src/plugins/sdk/index.js';
import { INVALID_USER, startFakeStarling, TOKEN_PATH, type FakeStarling } from '../../fakes/starling.js';
import { fakeClock } from '../fixtures/fake-context.js';
import { clientFailures, failsWithinTimeout } from '../helpers/service-failures.js';

function setup(t: Test, starling: FakeStarling, extra: Partial<StarlingSettings> = {}) {
  const settings: StarlingSettings = {
    clientId: starling.clientId,
    clientSecret: starling.clientSecret,
    tokenUrl: starling.tokenUrl,
    apiUrl: starling.apiUrl,
    requestTimeoutMs: 1000,
    pushTimeoutS: 5,
    pollIntervalMs: 1000,
    https: { ca: starling.ca },
    ...extra,
  };
  const clock = fakeClock(Date.now());
  const store = new FileStateStore(t.testdir({}));
  const signal = new AbortController().signal;
  const tokens = new AccessTokens(store, settings, clock, signal);
  return { clock, tokens, client: new StarlingClient(settings, tokens, signal) };
}

async function fake(t: Test, options: Parameters<typeof startFakeStarling>[1] = {}) {
  const starling = await startFakeStarling(t, options);
  starling.users.set('1234567', { otps: ['111111'] });
  starling.users.set('7654321', { push: 'deny' });
  return starling;
}

t.test('client credentials: Basic auth form-encoded, a wrong secret refused', async (t) => {
  const starling = await fake(t);
  t.match(starling.clientSecret, /[:+&]/, 'the secret needs encoding');
  t.ok(await setup(t, starling).tokens.get());
  await t.rejects(setup(t, starling, { clientSecret: 'wrong' }).tokens.get(), { name: 'MfaCommunicationError', message: 'Starling token endpoint: HTTP 401 invalid_client Invalid client or Invalid client credentials' });
});

t.test('the token is reused until expires_in - 10, then renewed; another client gets its own', async (t) => {
  const starling = await fake(t, { tokenLifetimeS: 60 });
  const { tokens, clock } = setup(t, starling);
  const first = await tokens.get();
  t.equal(await tokens.get(), first);
  t.equal(starling.tokensIssued(), 1);
  clock.advance(49);
  t.equal(await tokens.get(), first, 'still 1 s of margin left');
  clock.advance(1);
  t.not(await tokens.get(), first, 'renewed 10 s before it expires');
  t.equal(starling.tokensIssued(), 2);
});

t.test('a token Starling refuses is dropped and renewed once; refused again, it fails', async (t) => {
  const starling = await fake(t);
  const { client } = setup(t, starling);
  t.equal(await client.verify('1234567', '111111'), 'accepted');
  starling.expireTokens();
  t.equal(await client.verify('1234567', '000000'), 'rejected');
  t.equal(starling.tokensIssued(), 2);
  const short = await fake(t, { tokenLifetimeS: 11 }); // cached 1 s: the cache is fine, the service expires them
  const { client: other } = setup(t, short);
  short.expireTokens();
  const expireEach = setInterval(() => short.expireTokens(), 1);
  t.teardown(() => clearInterval(expireEach));
  await t.rejects(other.verify('1234567', '111111'), { name: 'MfaCommunicationError', message: /a new access token was refused too .*Token is expired/ });
});

t.test('verify: accepted once, rejected, unknown user', async (t) => {
  const starling = await fake(t);
  const { client } = setup(t, starling);
  t.equal(await client.verify('1234567', '111111'), 'accepted');
  t.equal(await client.verify('1234567', '111111'), 'rejected', 'an OTP is valid once');
  t.equal(await client.verify('999', '111111'), 'unknown-user');
  t.match(starling.requests.at(-1), { method: 'GET', path: '/v1/Users/999/verify', query: { tokenResponse: '111111' } });
});

t.test('approval requests: pending, then the user\'s answer', async (t) => {
  const starling = await fake(t);
  const { client } = setup(t, starling);
  const details = { Gateway: 'gw', 'Gateway User': 'alice', 'Server User': 'root', 'Client IP': 'N/A', Protocol: 'ssh' };
  const approved = (await client.requestApproval('1234567', { message: 'SPS Gateway Authentication', secondsToExpire: 5, details })) as string;
  t.equal(await client.approvalStatus(approved), 'pending');
  t.same(starling.approvals.get(approved), { userId: '1234567', message: 'SPS Gateway Authentication', secondsToExpire: 5, details, status: 'pending' });
  await new Promise((resolve) => setTimeout(resolve, 100));
  t.equal(await client.approvalStatus(approved), 'approved');
  const denied = (await client.requestApproval('7654321', { message: 'm', secondsToExpire: 5, details })) as string;
  await new Promise((resolve) => setTimeout(resolve, 100));
  t.equal(await client.approvalStatus(denied), 'denied');
  t.equal(await client.requestApproval('999', { message: 'm', secondsToExpire: 5, details }), undefined, 'no such user');
  await t.rejects(client.approvalStatus('nope'), { name: 'MfaCommunicationError', message: 'Starling ApprovalRequests: HTTP 404 60004 Approval request not found' });
});

t.test('user creation: an id (the same for the same phone and email), or 60016', async (t) => {
  const starling = await fake(t);
  const { client } = setup(t, starling);
  const created = await client.createUser({ phone: '+36301234567', email: 'carol@example.org', displayName: 'Carol' });
  t.match(created, { id: /^\d{7}$/ });
  t.same(await client.createUser({ phone: '+36301234567', email: 'carol@example.org', displayName: 'Carol' }), created);
  t.same(await client.createUser({ phone: '06 30 123 4567', email: 'carol@example.org', displayName: 'Carol' }), { invalid: 'User could not be created: phone must be +<country><number> and email valid' });
  t.equal(INVALID_USER, 60016);
});

t.test('429 and each misbehaviour fail, as an outage or a communication error, within the request timeout', async (t) => {
  const starling = await fake(t);
  const cases = clientFailures({
    '429': ['MfaCommunicationError', /rate limited|HTTP 429/],
    'wrong-content-type': ['MfaCommunicationError', /content type "text\/plain"/],
    redirect: ['MfaCommunicationError', /HTTP 307 redirect to https:\/\/evil\.example/],
  });
  for (const [fault, ...failure] of cases) {
    for (const prefix of [TOKEN_PATH, '/v1/']) {
      const { client } = setup(t, starling);
      starling.fail(fault, 1, prefix);
      await failsWithinTimeout(t, `${fault} at ${prefix}`, () => client.verify('1234567', '000000'), failure);
    }
  }
});
