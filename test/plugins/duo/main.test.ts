// The Duo plugin through the SDK with its default.cfg, against the fake Duo over HTTPS: push
// (approved, denied, timed out, pending past the timeout, no push device), passcodes (ok, used
// then asked again, wrong), sms, bypass, deny and enroll, an unreachable service with
// ignore_conn_err, 429 back-off, each misbehaviour and a certificate mismatch denying within the
// timeout, and a real tinyproxy on the way.
import t, { type Test } from 'tap';
import { Plugin } from '../../../src/plugins/duo/main.js';
import { MESSAGES, startFakeDuo, type FakeDuo } from '../../fakes/duo.js';
import { testPki } from '../../fakes/tls.js';
import { freeTcpPort } from '../../helpers/tinyproxy.js';
import { checkDefaultCfgAndManifest, metadata, outcome, pluginFile, pluginUnderTest, withOptions } from '../helpers/plugin-under-test.js';
import { MISBEHAVIOUR, acceptsThroughTinyproxy, deniesEachMisbehaviour, outagesDeny, unreachableDenies, untrustedCertificateDenies } from '../helpers/service-failures.js';

const defaultCfg = pluginFile('duo', 'default.cfg');

/** default.cfg pointed at `duo` (its CA from the credential store), `[duo]` options changed by `options`. */
function setup(t: Test, duo: Pick<FakeDuo, 'host' | 'ikey' | 'skey' | 'ca'>, options: Record<string, string> = {}, extra = '') {
  return pluginUnderTest(t, {
    Plugin,
    configuration: withOptions(defaultCfg.replace('#host=api-XXXXXXXX.duosecurity.com', `host=${duo.host}`) + extra, options),
    secrets: { 'duo/ikey': duo.ikey, 'duo/skey': duo.skey, 'tls/ca_cert': duo.ca },
  });
}

async function fakeDuo(t: Test) {
  const duo = await startFakeDuo(t);
  duo.users.set('alice', { passcodes: ['111111', '222222'], smsPasscode: '333333' });
  duo.users.set('denier', { push: 'deny' });
  duo.users.set('sleeper', { push: 'timeout' });
  duo.users.set('pending', { push: 'pending' });
  duo.users.set('tokenonly', { devices: [{ device: 'DT1', type: 'token', capabilities: ['mobile_otp'] }] });
  duo.users.set('bypass', { preauth: 'allow' });
  duo.users.set('denied', { preauth: 'deny' });
  return duo;
}

t.test('default.cfg: small, valid; MANIFEST', (t) =>
  checkDefaultCfgAndManifest(t, 'duo', ['duo', 'auth', 'connection_limit by=client_ip_gateway_user', 'authentication_cache', 'logging'], async (config) => {
    t.equal(await config.getInt('duo', 'timeout', 0), 60);
    t.equal(await config.getBoolean('duo', 'ignore_conn_err', true), false);
  }));

t.test('with the fake Duo', async (t) => {
  const duo = await fakeDuo(t);

  t.test('push: the empty answer, approved, denied, timed out', async (t) => {
    const { authenticate, logged } = setup(t, duo);
    const asked = await authenticate({});
    t.same(asked.question, ['otp', 'Press Enter for Duo push, or type a passcode or "sms": ', true]);
    const approved = await authenticate({ cookie: asked.cookie, key_value_pairs: { otp: '' } });
    t.equal(approved.verdict, 'ACCEPT');
    t.same(metadata(approved), { authentication: 'push', mfa_identity: 'alice' });
    t.same(duo.requests.slice(-3).map((r) => [r.path, r.params.factor, r.params.async]), [['/auth/v2/preauth', undefined, undefined], ['/auth/v2/auth', 'push', '1'], ['/auth/v2/auth_status', undefined, undefined]]);
    t.equal(outcome(await authenticate({ gateway_user: 'denier', key_value_pairs: { otp: '' } })), 'Authentication failed');
    t.equal(outcome(await authenticate({ gateway_user: 'sleeper', key_value_pairs: { otp: '' } })), 'Authentication failed');
    t.ok(logged('info', /Duo push for sleeper: timeout/));
    t.equal(outcome(await authenticate({ gateway_user: 'tokenonly', key_value_pairs: { otp: '' } })), 'Authentication failed');
    t.ok(logged('warning', /tokenonly has no push capable device enrolled/));
  });

  t.test('push never answered: polled until the [duo] timeout', async (t) => {
    const { authenticate, logged } = setup(t, duo, { timeout: '2' });
    const started = performance.now();
    t.equal(outcome(await authenticate({ gateway_user: 'pending', key_value_pairs: { otp: '' } })), 'Authentication timed out');
    t.ok(performance.now() - started < 2500);
    t.ok(logged('warning', /timed out after 2 s/));
  });

  t.test('passcodes: ok, already used then asked once more, wrong', async (t) => {
    const { authenticate, logged } = setup(t, duo);
    t.equal(outcome(await authenticate({ key_value_pairs: { otp: '111111' } })), 'ACCEPT');
    const again = await authenticate({ key_value_pairs: { otp: '111111' } });
    t.equal(again.verdict, 'NEEDINFO');
    t.same(again.question, ['duo_passcode', 'This passcode has already been used. Enter a new one: ', true]);
    const usedAgain = await authenticate({ cookie: again.cookie, key_value_pairs: { otp: '111111', duo_passcode: '111111' } });
    t.equal(outcome(usedAgain), 'Authentication failed', 'asked once only');
    const retry = await authenticate({ key_value_pairs: { otp: '111111' } });
    const accepted = await authenticate({ cookie: retry.cookie, key_value_pairs: { otp: '111111', duo_passcode: '222222' } });
    t.equal(accepted.verdict, 'ACCEPT');
    t.same(metadata(accepted), { authentication: 'otp', mfa_identity: 'alice' });
    t.equal(outcome(await authenticate({ key_value_pairs: { otp: '999999' } })), 'Authentication failed');
    t.ok(logged('info', new RegExp(MESSAGES.invalidPasscode.replace('.', '\\.'))));
  });

  t.test('sms: sends passcodes, then asks for one', async (t) => {
    const { authenticate } = setup(t, duo);
    const asked = await authenticate({ key_value_pairs: { otp: 'sms' } });
    t.same(asked.question, ['duo_passcode', 'Enter passcode from text message: ', true]);
    t.match(duo.requests.at(-1), { path: '/auth/v2/auth', params: { factor: 'sms', device: 'auto' } });
    t.equal(outcome(await authenticate({ cookie: asked.cookie, key_value_pairs: { otp: 'sms', duo_passcode: '333333' } })), 'ACCEPT');
  });

  t.test('preauth: bypass accepts, deny and enroll deny with Duo\'s message logged', async (t) => {
    const { authenticate, logged } = setup(t, duo);
    t.equal(outcome(await authenticate({ gateway_user: 'bypass', key_value_pairs: { otp: '' } })), 'ACCEPT');
    t.ok(logged('info', /bypass is a bypass user/));
    t.equal(outcome(await authenticate({ gateway_user: 'denied', key_value_pairs: { otp: '123' } })), 'Authentication failed');
    t.ok(logged('warning', new RegExp(`Duo denies denied \\(preauth deny\\): ${MESSAGES.deny}`)));
    t.equal(outcome(await authenticate({ gateway_user: 'stranger', key_value_pairs: { otp: '' } })), 'Authentication failed');
    t.ok(logged('warning', new RegExp(`Duo denies stranger \\(preauth enroll\\): ${MESSAGES.enroll}`)));
  });

  t.test('HTTP 429: backs off and gets through', async (t) => {
    const { authenticate } = setup(t, duo);
    duo.fail('429', 1, '/auth/v2/preauth');
    t.equal(outcome(await authenticate({ key_value_pairs: { otp: '' } })), 'ACCEPT');
  });

  t.test('misbehaviour denies with the reason logged, within the timeout, even with ignore_conn_err=yes', async (t) => {
    // A 429 is backed off from (above), not a misbehaviour.
    const cases = MISBEHAVIOUR.filter(([fault]) => fault !== '429');
    await deniesEachMisbehaviour(t, (options) => setup(t, duo, options), (fault) => duo.fail(fault), cases);
    const wrongKey = setup(t, { ...duo, skey: 'x'.repeat(40) });
    t.equal(outcome(await wrongKey.authenticate({ key_value_pairs: { otp: '' } })), 'Communication error');
    t.ok(wrongKey.logged('error', /40103 Invalid signature/));
  });

  t.test('through tinyproxy', (t) => acceptsThroughTinyproxy(t, duo.port, (options, extra) => setup(t, duo, options, extra)));
});

t.test('unreachable: DENY, or ACCEPT without MFA when ignore_conn_err=yes; 5xx and drops alike', async (t) => {
  const nowhere = { host: `127.0.0.1:${await freeTcpPort()}`, ikey: 'i', skey: 's', ca: testPki().ca };
  await unreachableDenies(t, (options) => setup(t, nowhere, options), 'alice');
  const duo = await fakeDuo(t);
  await outagesDeny(t, (options) => setup(t, duo, options), (fault) => duo.fail(fault));
});

t.test('a certificate for another name: DENY even with ignore_conn_err=yes', async (t) => {
  const duo = await startFakeDuo(t, { certificate: testPki().other });
  duo.users.set('alice', {});
  await untrustedCertificateDenies(t, (options) => setup(t, duo, options));
});
