// The Duo client against the faithful fake: signed requests accepted, each endpoint and scripted
// user, what the fake refuses (wrong skey, ikey, clock), 429 back-off, and each misbehaviour.
import t, { type Test } from 'tap';
import { DuoClient, type DuoClientSettings } from '../../../src/plugins/duo/client.js';
import { MESSAGES, PHONE, startFakeDuo, type FakeDuo } from '../../fakes/duo.js';
import { clientFailures, failsWithinTimeout } from '../helpers/service-failures.js';

function client(duo: FakeDuo, extra: Partial<DuoClientSettings> = {}, signal = new AbortController().signal) {
  const settings: DuoClientSettings = { ikey: duo.ikey, skey: duo.skey, host: duo.host, requestTimeoutMs: 1000, https: { ca: duo.ca }, backoff: { firstMs: 20, maxMs: 80 }, ...extra };
  return new DuoClient(settings, signal);
}

async function fake(t: Test) {
  const duo = await startFakeDuo(t);
  duo.users.set('alice', { passcodes: ['123456'], smsPasscode: '777777' });
  duo.users.set('bypass', { preauth: 'allow' });
  duo.users.set('denied', { preauth: 'deny' });
  duo.users.set('denier', { push: 'deny' });
  duo.users.set('sleeper', { push: 'timeout' });
  duo.users.set('pending', { push: 'pending' });
  return duo;
}

t.test('preauth for each scripted result', async (t) => {
  const duo = await fake(t);
  const duoClient = client(duo);
  t.same(await duoClient.preauth('alice'), { result: 'auth', statusMessage: 'Account is active', devices: [PHONE] });
  t.match(await duoClient.preauth('bypass'), { result: 'allow' });
  t.match(await duoClient.preauth('denied'), { result: 'deny', statusMessage: MESSAGES.deny });
  t.match(await duoClient.preauth('nobody'), { result: 'enroll', statusMessage: MESSAGES.enroll });
  t.match(await duoClient.preauth('ünïcode +&= name'), { result: 'enroll' }, 'parameter encoding the fake decodes as a server does');
  t.same(duo.requests.at(-1)?.params, { username: 'ünïcode +&= name' });
});

t.test('passcodes: valid once, then "already used"; wrong; sms sends one', async (t) => {
  const duoClient = client(await fake(t));
  const passcode = (code: string) => duoClient.auth({ username: 'alice', factor: 'passcode', passcode: code });
  t.match(await passcode('123456'), { result: 'allow', statusMessage: MESSAGES.success });
  t.match(await passcode('123456'), { result: 'deny', statusMessage: MESSAGES.usedPasscode });
  t.match(await passcode('000000'), { result: 'deny', statusMessage: MESSAGES.invalidPasscode });
  t.match(await duoClient.auth({ username: 'alice', factor: 'sms', device: 'auto' }), { result: 'deny', status: 'sent' });
  t.match(await passcode('777777'), { result: 'allow' });
});

t.test('push: async, then auth_status', async (t) => {
  const duoClient = client(await fake(t));
  const push = async (username: string) => duoClient.authStatus(await duoClient.authAsync({ username, factor: 'push', device: 'auto' }));
  t.match(await push('alice'), { result: 'allow', status: 'allow' });
  t.match(await push('denier'), { result: 'deny', status: 'deny' });
  t.match(await push('sleeper'), { result: 'deny', status: 'timeout' });
  t.match(await push('pending'), { result: 'waiting', status: 'pushed' });
  await t.rejects(duoClient.authStatus('no-such-txid'), { name: 'MfaCommunicationError', message: /HTTP 400 40002 Invalid request parameters \(txid\)/ });
});

t.test('what the fake refuses, as Duo would', async (t) => {
  const duo = await fake(t);
  await t.rejects(client(duo, { skey: 'x'.repeat(40) }).preauth('alice'), { name: 'MfaCommunicationError', message: /HTTP 401 40103 Invalid signature in request credentials/ });
  await t.rejects(client(duo, { ikey: 'DIXXXXXXXXXXXXXXXXXX' }).preauth('alice'), { message: /HTTP 401 40101/ });
  const realNow = Date.now;
  Date.now = () => realNow() - 400_000; // our clock 400 s behind
  t.teardown(() => void (Date.now = realNow));
  await t.rejects(client(duo).preauth('alice'), { message: /HTTP 401 40105 Request has expired/ });
});

t.test('HTTP 429: backs off and retries, then gives up', async (t) => {
  const duo = await fake(t);
  duo.fail('429', 2);
  t.match(await client(duo).preauth('alice'), { result: 'auth' });
  t.equal(duo.requests.length, 3);
  duo.fail('429', 10);
  await t.rejects(client(duo).preauth('alice'), { name: 'MfaCommunicationError', message: /still rate limited/ });
  t.equal(duo.requests.length, 3 + 4, 'the first try and three retries (20, 40, 80 ms)');
});

t.test('misbehaviour: each fails, as an outage or a communication error, within the request timeout', async (t) => {
  const duo = await fake(t);
  // A 429 is backed off from (above).
  const cases = clientFailures({
    'wrong-content-type': ['MfaCommunicationError', /content type "text\/html"/],
    redirect: ['MfaCommunicationError', /HTTP 302 redirect to https:\/\/evil\.example/],
  });
  for (const [fault, ...failure] of cases) {
    duo.fail(fault);
    await failsWithinTimeout(t, fault, () => client(duo).preauth('alice'), failure);
  }
});
