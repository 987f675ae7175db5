// The inWebo client against the faithful fake over mutual TLS: each action and scripted user, the
// documented NOK results in words, what the fake refuses (another service id, another client
// certificate), and each misbehaviour failing within the request timeout.
import t, { type Test } from 'tap';
import { InweboClient, describeResult, type InweboClientSettings } from '../../../src/plugins/inwebo/client.js';
import { parseClientCertificate } from '../../../src/plugins/inwebo/client-certificate.js';
import { DEVICE_NAME, WRONG_OTP, startFakeInwebo, type FakeInwebo } from '../../fakes/inwebo.js';
import { testPki } from '../../fakes/tls.js';
import { clientFailures, failsWithinTimeout } from '../helpers/service-failures.js';

function client(inwebo: FakeInwebo, extra: Partial<InweboClientSettings> = {}) {
  const settings: InweboClientSettings = {
    apiUrl: inwebo.apiUrl,
    serviceId: inwebo.serviceId,
    clientCert: parseClientCertificate(inwebo.clientCert),
    requestTimeoutMs: 1000,
    https: { ca: inwebo.ca },
    ...extra,
  };
  return new InweboClient(settings, new AbortController().signal);
}

async function fake(t: Test) {
  const inwebo = await startFakeInwebo(t);
  inwebo.users.set('alice', { otps: ['123456'], waiting: 2 });
  inwebo.users.set('refuser', { push: 'refuse' });
  inwebo.users.set('sleeper', { push: 'timeout' });
  inwebo.users.set('nopush', { push: 'nopush' });
  inwebo.users.set('noapp', { push: 'noma' });
  return inwebo;
}

t.test('authenticateExtended: the query inWebo expects; an OTP valid once; a wrong one; an unknown login', async (t) => {
  const inwebo = await fake(t);
  const inweboClient = client(inwebo);
  t.same(await inweboClient.authenticateExtended('alice', '123456'), { err: 'OK', name: DEVICE_NAME });
  t.same(inwebo.requests[0], { method: 'GET', path: '/FS', params: { action: 'authenticateExtended', serviceId: '4242', userId: 'alice', format: 'json', token: '123456' }, err: 'OK' });
  t.same(await inweboClient.authenticateExtended('alice', '123456'), { err: WRONG_OTP, name: '' }, 'used once');
  t.match(await inweboClient.authenticateExtended('nobody', '123456'), { err: 'NOK:NOLOGIN' });
  t.match(await inweboClient.authenticateExtended('a b&c=ü', '1'), { err: 'NOK:NOLOGIN' });
  t.equal(inwebo.requests.at(-1)?.params.userId, 'a b&c=ü', 'the login encoded as a query parameter');
});

t.test('push: pushAuthenticate, then checkPushResult until it is answered', async (t) => {
  const inweboClient = client(await fake(t));
  const push = await inweboClient.pushAuthenticate('alice');
  if (!('sessionId' in push)) throw new Error('no session');
  t.match(await inweboClient.checkPushResult('alice', push.sessionId), { err: 'NOK:WAITING' });
  t.match(await inweboClient.checkPushResult('alice', push.sessionId), { err: 'NOK:WAITING' });
  t.same(await inweboClient.checkPushResult('alice', push.sessionId), { err: 'OK', name: DEVICE_NAME });
  for (const [login, err] of [['refuser', 'NOK:REFUSED'], ['sleeper', 'NOK:TIMEOUT']] as const) {
    const started = await inweboClient.pushAuthenticate(login);
    if (!('sessionId' in started)) throw new Error('no session');
    await inweboClient.checkPushResult(login, started.sessionId);
    t.match(await inweboClient.checkPushResult(login, started.sessionId), { err }, login);
  }
  t.match(await inweboClient.pushAuthenticate('nopush'), { err: 'NOK:NOPUSH' });
  t.match(await inweboClient.pushAuthenticate('noapp'), { err: 'NOK:NOMA' });
  t.match(await inweboClient.pushAuthenticate('nobody'), { err: 'NOK:NOLOGIN' });
  await t.rejects(inweboClient.checkPushResult('alice', 'no-such-session'), { name: 'MfaCommunicationError', message: /malformed \(NOK:SN\)/ });
});

t.test('results in words', async (t) => {
  t.equal(describeResult('NOK:NOPUSH'), 'no device of the user can receive push notifications (NOK:NOPUSH)');
  t.equal(describeResult('NOK:REFUSED'), 'the user refused the push notification (NOK:REFUSED)');
  t.equal(describeResult('NOK:TIMEOUT'), 'the push notification expired unanswered (NOK:TIMEOUT)');
  t.equal(describeResult('NOK:something new'), 'refused (NOK:something new)');
});

t.test('what the fake refuses, as inWebo would', async (t) => {
  const inwebo = await fake(t);
  await t.rejects(client(inwebo, { serviceId: '1' }).authenticateExtended('alice', '1'), { name: 'MfaCommunicationError', message: /does not know this service_id, .* \(NOK:srv unknown\)/ });
  const stranger = testPki().local; // signed by a CA inWebo's API does not trust for clients
  // inWebo hangs up on it, which a client cannot tell from an outage (hence the validity check of client-certificate.ts).
  await t.rejects(client(inwebo, { clientCert: stranger }).authenticateExtended('alice', '1'), { name: 'MfaServiceUnreachable' }, 'another client certificate: refused in the handshake');
  t.equal(inwebo.requests.length, 1, 'the stranger never got a request through');
});

t.test('misbehaviour: each fails, as an outage or a communication error, within the request timeout', async (t) => {
  const inwebo = await fake(t);
  const cases = clientFailures({
    '429': ['MfaCommunicationError', /HTTP 429 \(rate limited\)/],
    'wrong-content-type': ['MfaCommunicationError', /content type "text\/html"/],
    redirect: ['MfaCommunicationError', /HTTP 302 redirect to https:\/\/evil\.example/],
  });
  for (const [fault, ...failure] of cases) {
    inwebo.fail(fault);
    await failsWithinTimeout(t, fault, () => client(inwebo).authenticateExtended('alice', '1'), failure);
  }
});

t.test('a server certificate for another name, or another CA: a communication error', async (t) => {
  const inwebo = await startFakeInwebo(t, { certificate: testPki().other });
  await t.rejects(client(inwebo).authenticateExtended('alice', '1'), { name: 'MfaCommunicationError', message: /certificate not trusted/ });
  const right = await fake(t);
  await t.rejects(client(right, { https: { ca: testPki().foreignCa } }).authenticateExtended('alice', '1'), { name: 'MfaCommunicationError', message: /certificate not trusted/ });
});
