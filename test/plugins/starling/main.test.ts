// The Starling plugin through the SDK with its default.cfg, against the fake Starling over HTTPS:
// push (approved with the connection's details, denied, expired at Starling, past push_timeout),
// OTPs, the token reused across hook calls and renewed once expired, the non-numeric identity
// warning, auto-provisioning from a fake LDAP (the id cache, the invalid-user marker and its ttl),
// an unreachable service with ignore_conn_err, misbehaviour and a wrong certificate denying within
// the timeout, and a real tinyproxy on the way.
import { hostname } from 'node:os';
import t, { type Test } from 'tap';
import { Plugin } from '../../../src/plugins/starling/main.js';
import type { LdapDirectory } from '../../../src/plugins/sdk/index.js';
import { startFakeStarling, TOKEN_PATH, type FakeStarling } from '../../fakes/starling.js';
import { testPki } from '../../fakes/tls.js';
import { freeTcpPort } from '../../helpers/tinyproxy.js';
import { fakeClock } from '../fixtures/fake-context.js';
import { checkDefaultCfgAndManifest, metadata, outcome, pluginFile, pluginUnderTest, withOptions } from '../helpers/plugin-under-test.js';
import { acceptsThroughTinyproxy, deniesEachMisbehaviour, outagesDeny, unreachableDenies, untrustedCertificateDenies } from '../helpers/service-failures.js';

const defaultCfg = pluginFile('starling', 'default.cfg');
const ALICE = '1234567';

type Endpoint = Pick<FakeStarling, 'tokenUrl' | 'apiUrl' | 'clientId' | 'clientSecret' | 'ca'>;

/** default.cfg pointed at `starling` (its CA from the credential store), `[starling]` options changed by `options`. */
function setup(t: Test, starling: Endpoint, options: Record<string, string> = {}, extra = '', more: { ldap?: LdapDirectory } = {}) {
  const text = defaultCfg.replace('#token_url=https://sts.cloud.oneidentity.com/auth/realms/StarlingClients/protocol/openid-connect/token', `token_url=${starling.tokenUrl}`)
    .replace('#api_url=https://2faclient.cloud.oneidentity.com', `api_url=${starling.apiUrl}`) + extra;
  const clock = fakeClock(Date.now());
  const plugin = pluginUnderTest(t, {
    Plugin,
    configuration: `${withOptions(text, options)}\n[usermapping source=explicit]\nalice=$\ndenier=7654321\nignorer=5555555\nexpirer=4444444\n`,
    secrets: { 'starling/client_id': starling.clientId, 'starling/client_secret': starling.clientSecret, 'tls/ca_cert': starling.ca, 'usermapping source=explicit/alice': ALICE },
    context: more,
    clock,
    args: { server_username: 'root' },
  });
  return { ...plugin, clock };
}

async function fakeStarling(t: Test, options: Parameters<typeof startFakeStarling>[1] = {}) {
  const starling = await startFakeStarling(t, options);
  starling.users.set(ALICE, { otps: ['111111', '222222'] });
  starling.users.set('7654321', { push: 'deny' });
  starling.users.set('5555555', { push: 'ignore' });
  starling.users.set('4444444', { push: 'expire' });
  return starling;
}

t.test('default.cfg: small, valid; MANIFEST', (t) =>
  checkDefaultCfgAndManifest(t, 'starling', ['starling', 'auth', 'connection_limit by=client_ip_gateway_user', 'authentication_cache', 'logging'], async (config) => {
    t.equal(await config.getInt('starling', 'timeout', 0), 90);
    t.equal(await config.getInt('starling', 'push_timeout', 0), 60);
    t.equal(await config.getBoolean('starling', 'ignore_conn_err', true), false);
  }));

t.test('with the fake Starling', async (t) => {
  const starling = await fakeStarling(t);

  t.test('push: asked, approved with the connection details; denied; expired at Starling; past push_timeout', async (t) => {
    // A push_timeout these answers come well within, however slow the machine (each is seen at the first poll after the fake's 50 ms).
    const { authenticate, logged } = setup(t, starling, { push_timeout: '5' });
    const asked = await authenticate({});
    t.same(asked.question, ['otp', 'Press Enter for Starling push, or type the one-time password: ', true]);
    const approved = await authenticate({ cookie: asked.cookie, key_value_pairs: { otp: '' } });
    t.equal(approved.verdict, 'ACCEPT');
    t.same(metadata(approved), { authentication: 'push', mfa_identity: ALICE });
    const request = [...starling.approvals.values()].at(-1);
    t.same(request, {
      userId: ALICE,
      message: 'SPS Gateway Authentication',
      secondsToExpire: 5,
      details: { Gateway: hostname(), 'Gateway User': 'alice', 'Server User': 'root', 'Client IP': '10.0.0.1', Protocol: 'ssh' },
      status: 'approved',
    });
    t.equal(outcome(await authenticate({ gateway_user: 'denier', key_value_pairs: { otp: '' } })), 'Authentication failed');
    t.ok(logged('info', /push for 7654321: request denied by user/));
    t.equal(outcome(await authenticate({ gateway_user: 'expirer', key_value_pairs: { otp: '' } })), 'Authentication failed');
    t.ok(logged('info', /push for 4444444: push request timed out \(server\)/));

    // Past push_timeout, the plugin's own deadline ends the push. Starling expires the request only
    // 10 s after push_timeout here (else its clock races the plugin's: both would end it at 1 s),
    // and the plugin polls every 5 s, so waiting for Starling or for the next poll fails the bound.
    const lateStarling = await fakeStarling(t, { expiryLagMs: 10_000 });
    const pastTimeout = setup(t, lateStarling, { push_timeout: '1', poll_interval: '5' });
    const started = performance.now();
    t.equal(outcome(await pastTimeout.authenticate({ gateway_user: 'ignorer', key_value_pairs: { otp: '' } })), 'Authentication failed');
    const elapsed = performance.now() - started;
    t.ok(elapsed >= 1000 && elapsed < 1000 + 2500, `gave up at push_timeout (1 s), not later: ${Math.round(elapsed)} ms`);
    t.ok(pastTimeout.logged('info', /push for 5555555: push request timed out \(client\) after 1 s/));
  });

  t.test('details unknown are N/A', async (t) => {
    const { authenticate } = setup(t, starling);
    t.equal(outcome(await authenticate({ client_ip: undefined, protocol: undefined, server_username: undefined, key_value_pairs: { otp: '' } })), 'ACCEPT');
    t.match([...starling.approvals.values()].at(-1)?.details, { 'Server User': 'N/A', 'Client IP': 'N/A', Protocol: 'N/A' });
  });

  t.test('OTP: accepted once, wrong, unknown user; a non-numeric identity is warned about', async (t) => {
    const { authenticate, logged, context } = setup(t, starling);
    const accepted = await authenticate({ key_value_pairs: { otp: '111111' } });
    t.same(metadata(accepted), { authentication: 'otp', mfa_identity: ALICE });
    t.equal(outcome(await authenticate({ key_value_pairs: { otp: '111111' } })), 'Authentication failed');
    t.ok(logged('info', new RegExp(`invalid OTP for ${ALICE}`)));
    t.equal(outcome(await authenticate({ gateway_user: 'bob', key_value_pairs: { otp: '111111' } })), 'Authentication failed');
    t.ok(logged('info', /user not found for bob/));
    t.ok(logged('warning', /"bob" is not a numeric Starling id/));
    t.notMatch(JSON.stringify(context.logs), '111111', 'the OTP is never logged');
  });

  t.test('the access token is reused across hook calls and renewed once expired', async (t) => {
    const { authenticate, clock, logged } = setup(t, starling);
    const before = starling.tokensIssued();
    t.equal(outcome(await authenticate({ key_value_pairs: { otp: '222222' } })), 'ACCEPT');
    t.equal(outcome(await authenticate({ key_value_pairs: { otp: '' } })), 'ACCEPT');
    t.equal(starling.tokensIssued(), before + 1, 'one token for both');
    clock.advance(300);
    t.equal(outcome(await authenticate({ key_value_pairs: { otp: '' } })), 'ACCEPT');
    t.equal(starling.tokensIssued(), before + 2, 'past expires_in - 10: a new one');
    starling.expireTokens();
    t.equal(outcome(await authenticate({ key_value_pairs: { otp: '' } })), 'ACCEPT', 'expired early at Starling: renewed once');
    t.equal(starling.tokensIssued(), before + 3);
    t.notOk(logged('error', /./));
  });

  t.test('wrong client secret: DENY with the reason logged, even with ignore_conn_err=yes', async (t) => {
    const { authenticate, logged } = setup(t, { ...starling, clientSecret: 'wrong' }, { ignore_conn_err: 'yes' });
    t.equal(outcome(await authenticate({ key_value_pairs: { otp: '' } })), 'Communication error');
    t.ok(logged('error', /HTTP 401 invalid_client/));
  });

  t.test('misbehaviour and rate limits deny with the reason logged, within the timeout, even with ignore_conn_err=yes', (t) =>
    deniesEachMisbehaviour(t, (options) => setup(t, starling, options), (fault) => starling.fail(fault, 1, '/v1/')));

  t.test('through tinyproxy', (t) => acceptsThroughTinyproxy(t, starling.port, (options, extra) => setup(t, starling, options, extra)));
});

t.test('auto-provisioning from LDAP: created once and cached, refused users marked invalid for [memory_cache] ttl', async (t) => {
  const starling = await startFakeStarling(t);
  const directory: Record<string, Record<string, string>> = {
    carol: { telephoneNumber: '+36301234567', mail: 'carol@example.org', displayName: 'Carol Jones' },
    dave: { telephoneNumber: '06 30 765 4321', mail: 'dave@example.org' },
    erin: { mail: 'erin@example.org' },
  };
  const reads: string[] = [];
  const ldap: LdapDirectory = {
    userAttribute: async (server, user, attribute) => {
      reads.push(`${server}/${user}/${attribute}`);
      return directory[user]?.[attribute];
    },
    userGroups: async () => [],
  };
  const provision = '\n[starling_auto_provision]\nenabled=yes\n[ldap_server]\nname=corp\n[memory-cache]\nttl=60\n';
  const { authenticate, clock, logged } = setup(t, starling, {}, provision, { ldap });

  t.equal(outcome(await authenticate({ gateway_user: 'carol', key_value_pairs: { otp: '' } })), 'ACCEPT');
  const created = [...starling.users].find(([, user]) => user.created?.email === 'carol@example.org');
  t.same(created?.[1].created, { phone: '+36301234567', email: 'carol@example.org', displayName: 'Carol Jones' });
  t.equal([...starling.approvals.values()].at(-1)?.userId, created?.[0], 'the push went to the new Starling user');
  t.ok(reads.includes('corp/carol/telephoneNumber'));
  t.equal(outcome(await authenticate({ gateway_user: 'carol', key_value_pairs: { otp: '' } })), 'ACCEPT');
  t.equal(starling.requests.filter((r) => r.path === '/v1/Users').length, 1, 'the id is cached');

  t.equal(outcome(await authenticate({ gateway_user: 'dave', key_value_pairs: { otp: '' } })), 'Authentication failed');
  t.ok(logged('warning', /Starling refused to provision dave \(phone 06 30 765 4321, email dave@example\.org\)/));
  t.equal(outcome(await authenticate({ gateway_user: 'dave', key_value_pairs: { otp: '' } })), 'Authentication failed');
  t.equal(starling.requests.filter((r) => r.path === '/v1/Users').length, 2, 'the invalid marker spares Starling');
  directory.dave = { ...directory.dave, telephoneNumber: '+36307654321' } as Record<string, string>;
  t.equal(outcome(await authenticate({ gateway_user: 'dave', key_value_pairs: { otp: '' } })), 'ACCEPT', 'new details: a new key');
  directory.dave = { telephoneNumber: '06 30 765 4321', mail: 'dave@example.org' };
  t.equal(outcome(await authenticate({ gateway_user: 'dave', key_value_pairs: { otp: '' } })), 'Authentication failed');
  clock.advance(61);
  t.equal(outcome(await authenticate({ gateway_user: 'dave', key_value_pairs: { otp: '' } })), 'Authentication failed');
  t.equal(starling.requests.filter((r) => r.path === '/v1/Users').length, 4, 'after the ttl Starling is asked again');

  t.equal(outcome(await authenticate({ gateway_user: 'erin', key_value_pairs: { otp: '' } })), 'Authentication failed');
  t.ok(logged('info', /no telephoneNumber for erin: not provisioned/));
  t.ok(logged('info', /user not found for erin/), 'the push went to "erin", whom Starling does not know');
});

t.test('unreachable: DENY, or ACCEPT without MFA when ignore_conn_err=yes; 5xx and drops alike', async (t) => {
  const port = await freeTcpPort();
  const nowhere = { tokenUrl: `https://127.0.0.1:${port}${TOKEN_PATH}`, apiUrl: `https://127.0.0.1:${port}`, clientId: 'c', clientSecret: 's', ca: testPki().ca };
  await unreachableDenies(t, (options) => setup(t, nowhere, options), ALICE);
  const starling = await fakeStarling(t);
  await outagesDeny(t, (options) => setup(t, starling, options), (fault) => starling.fail(fault, 1, '/v1/'));
});

t.test('a certificate for another name: DENY even with ignore_conn_err=yes', async (t) => {
  const starling = await startFakeStarling(t, { certificate: testPki().other });
  await untrustedCertificateDenies(t, (options) => setup(t, starling, options));
});
