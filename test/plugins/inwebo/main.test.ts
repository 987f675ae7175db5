// The inWebo plugin through the SDK with its default.cfg, against the fake inWebo over mutual TLS:
// push (approved after waiting, refused, expired, pending past the timeout, no push device, no
// app, unknown login), OTPs (ok, reused, wrong), the client certificate and service id from the
// credential store and what a wrong one does, an unreachable service with ignore_conn_err, each
// misbehaviour and a certificate mismatch denying within the timeout, and a real tinyproxy.
import t, { type Test } from 'tap';
import { Plugin } from '../../../src/plugins/inwebo/main.js';
import { DEVICE_NAME, startFakeInwebo, type FakeInwebo } from '../../fakes/inwebo.js';
import { testPki } from '../../fakes/tls.js';
import { freeTcpPort } from '../../helpers/tinyproxy.js';
import { checkDefaultCfgAndManifest, metadata, outcome, pluginFile, pluginUnderTest, withOptions } from '../helpers/plugin-under-test.js';
import { acceptsThroughTinyproxy, deniesEachMisbehaviour, outagesDeny, unreachableDenies, untrustedCertificateDenies } from '../helpers/service-failures.js';

const defaultCfg = pluginFile('inwebo', 'default.cfg');

/** default.cfg pointed at `inwebo` (certificate and CA from the credential store), `[inwebo]` options changed by `options`. */
function setup(t: Test, inwebo: Pick<FakeInwebo, 'apiUrl' | 'serviceId' | 'clientCert' | 'ca'>, options: Record<string, string> = {}, extra = '') {
  return pluginUnderTest(t, {
    Plugin,
    configuration: withOptions(defaultCfg.replace('#service_id=<numeric Service ID>', `service_id=${inwebo.serviceId}`) + extra, { api_url: inwebo.apiUrl, ...options }),
    secrets: { 'inwebo/client_cert': inwebo.clientCert, 'tls/ca_cert': inwebo.ca },
  });
}

async function fakeInwebo(t: Test) {
  const inwebo = await startFakeInwebo(t);
  inwebo.users.set('alice', { otps: ['111111'], waiting: 1 });
  inwebo.users.set('refuser', { push: 'refuse', waiting: 0 });
  inwebo.users.set('sleeper', { push: 'timeout', waiting: 0 });
  inwebo.users.set('pending', { push: 'pending' });
  inwebo.users.set('nopush', { push: 'nopush' });
  inwebo.users.set('noapp', { push: 'noma' });
  return inwebo;
}

t.test('default.cfg: small, valid; MANIFEST', (t) =>
  checkDefaultCfgAndManifest(t, 'inwebo', ['inwebo', 'auth', 'connection_limit by=client_ip_gateway_user', 'authentication_cache', 'logging'], async (config) => {
    t.equal(await config.get('inwebo', 'api_url'), 'https://api.myinwebo.com/FS');
    t.equal(await config.getInt('inwebo', 'timeout', 0), 60);
    t.equal(await config.getBoolean('inwebo', 'ignore_conn_err', true), false);
  }));

t.test('with the fake inWebo', async (t) => {
  const inwebo = await fakeInwebo(t);

  t.test('push: the empty answer, approved after a wait; refused; expired; not sendable', async (t) => {
    const { authenticate, logged } = setup(t, inwebo);
    const asked = await authenticate({});
    t.same(asked.question, ['otp', 'Press Enter for inWebo push, or type a one-time password: ', true]);
    const approved = await authenticate({ cookie: asked.cookie, key_value_pairs: { otp: '' } });
    t.equal(approved.verdict, 'ACCEPT');
    t.same(metadata(approved), { authentication: 'push', mfa_identity: 'alice' });
    t.same(inwebo.requests.slice(-3).map((r) => [r.params.action, r.err]), [['pushAuthenticate', 'OK'], ['checkPushResult', 'NOK:WAITING'], ['checkPushResult', 'OK']]);
    t.ok(logged('info', new RegExp(`push for alice approved on device "${DEVICE_NAME}"`)));
    const cases = [
      ['refuser', 'info', /push for refuser: the user refused the push notification \(NOK:REFUSED\)/],
      ['sleeper', 'info', /push for sleeper: the push notification expired unanswered \(NOK:TIMEOUT\)/],
      ['nopush', 'warning', /push for nopush not sent: no device of the user can receive push notifications \(NOK:NOPUSH\)/],
      ['noapp', 'warning', /push for noapp not sent: the user has no activated inWebo mobile app \(NOK:NOMA\)/],
      ['stranger', 'warning', /push for stranger not sent: no such login in the inWebo service \(NOK:NOLOGIN\)/],
    ] as const;
    for (const [user, level, message] of cases) {
      t.equal(outcome(await authenticate({ gateway_user: user, key_value_pairs: { otp: '' } })), 'Authentication failed', user);
      t.ok(logged(level, message), `${user}: logged`);
    }
  });

  t.test('push never answered: polled until the [inwebo] timeout', async (t) => {
    const { authenticate, logged } = setup(t, inwebo, { timeout: '2' });
    const started = performance.now();
    t.equal(outcome(await authenticate({ gateway_user: 'pending', key_value_pairs: { otp: '' } })), 'Authentication timed out');
    t.ok(performance.now() - started < 2500);
    t.ok(logged('warning', /timed out after 2 s/));
  });

  t.test('OTP: accepted once, then refused; wrong', async (t) => {
    const { authenticate, logged } = setup(t, inwebo);
    const accepted = await authenticate({ key_value_pairs: { otp: '111111' } });
    t.same(metadata(accepted), { authentication: 'otp', mfa_identity: 'alice' });
    t.match(inwebo.requests.at(-1), { params: { action: 'authenticateExtended', token: '111111', userId: 'alice', serviceId: inwebo.serviceId } });
    t.equal(outcome(await authenticate({ key_value_pairs: { otp: '111111' } })), 'Authentication failed');
    t.equal(outcome(await authenticate({ key_value_pairs: { otp: '999999' } })), 'Authentication failed');
    t.ok(logged('info', /inWebo refused the OTP of alice: refused \(NOK:FAILED\)/));
  });

  t.test('configuration mistakes deny, the log says where', async (t) => {
    const cases: [Record<string, string>, Partial<FakeInwebo>, RegExp][] = [
      [{}, { serviceId: '99' }, /communication error \(inWebo pushAuthenticate: inWebo does not know this service_id/],
      [{}, { serviceId: 'abc' }, /\[inwebo\] service_id: expected the numeric Service ID/],
      [{}, { clientCert: testPki().local.cert }, /\[inwebo\] client_cert: expected one private key block, found 0/],
      [{ api_url: 'http://127.0.0.1/FS' }, {}, /\[inwebo\] api_url: expected an https:\/\/ URL/],
    ];
    for (const [options, change, message] of cases) {
      const { authenticate, logged } = setup(t, { ...inwebo, ...change }, options);
      t.equal((await authenticate({ key_value_pairs: { otp: '' } })).verdict, 'DENY');
      t.ok(logged('error', message), String(message));
    }
  });

  t.test('misbehaviour denies with the reason logged, within the timeout, even with ignore_conn_err=yes', (t) =>
    deniesEachMisbehaviour(t, (options) => setup(t, inwebo, options), (fault) => inwebo.fail(fault)));

  t.test('through tinyproxy', (t) => acceptsThroughTinyproxy(t, inwebo.port, (options, extra) => setup(t, inwebo, options, extra)));
});

t.test('unreachable: DENY, or ACCEPT without MFA when ignore_conn_err=yes; 5xx and drops alike', async (t) => {
  const inwebo = await fakeInwebo(t);
  const nowhere = { ...inwebo, apiUrl: `https://127.0.0.1:${await freeTcpPort()}/FS` };
  await unreachableDenies(t, (options) => setup(t, nowhere, options), 'alice');
  await outagesDeny(t, (options) => setup(t, inwebo, options), (fault) => inwebo.fail(fault));
});

t.test('a server certificate for another name: DENY even with ignore_conn_err=yes', async (t) => {
  const inwebo = await startFakeInwebo(t, { certificate: testPki().other });
  await untrustedCertificateDenies(t, (options) => setup(t, inwebo, options));
});
