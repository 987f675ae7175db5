// The RADIUS plugin through the SDK with its default.cfg, against a real FreeRADIUS: the password
// from the login name or asked, PAP and CHAP, the challenge round trip with its State in the
// cookie, the RADIUS user name, an unreachable server with ignore_conn_err, MANIFEST.
import { readFileSync } from 'node:fs';
import t, { type Test } from 'tap';
import { Plugin } from '../../../src/plugins/radius/main.js';
import { readRadiusSettings } from '../../../src/plugins/radius/settings.js';
import { PluginConfiguration, type ConnectionArgs, type HookResult } from '../../../src/plugins/sdk/index.js';
import { freeUdpPort, RADIUS_USERS, startFreeRadius, type TestFreeRadius } from '../../helpers/freeradius.js';
import { fakeContext } from '../fixtures/fake-context.js';

const pluginFile = (name: string) => readFileSync(new URL(`../../../src/plugins/radius/${name}`, import.meta.url), 'utf8');
const defaultCfg = pluginFile('default.cfg');
const { alice, bob, carol } = RADIUS_USERS;

/** default.cfg pointed at `server`, with `[radius]` options changed by `options`. */
function setup(t: Test, server: Pick<TestFreeRadius, 'port' | 'secret'>, options: Record<string, string> = {}) {
  let text = defaultCfg.replace('#server=radius.example.org', 'server=127.0.0.1').replace('port=1812', `port=${server.port}`);
  for (const [option, value] of Object.entries(options)) text = text.replace(new RegExp(`^${option}=.*$`, 'm'), `${option}=${value}`);
  const context = fakeContext(t);
  context.secrets.set('radius/secret', server.secret);
  const authenticate = (args: ConnectionArgs) =>
    new Plugin(text, context).authenticate({ session_id: 's', protocol: 'ssh', client_ip: '10.0.0.1', gateway_user: 'alice', ...args });
  return { context, authenticate };
}

const outcome = (result: HookResult) => (result.verdict === 'DENY' ? result.reason : result.verdict);
const metadata = (result: HookResult) => JSON.parse(result.additional_metadata ?? 'null') as unknown;

t.test('default.cfg: small, valid, the documented defaults; MANIFEST', async (t) => {
  t.ok(Buffer.byteLength(defaultCfg) <= 10 * 1024);
  const secret = async (section: string, option: string) => (section === 'radius' && option === 'secret' ? 's3cret' : undefined);
  const config = PluginConfiguration.parse(defaultCfg, secret);
  t.same(config.sectionNames(), ['radius', 'auth', 'connection_limit by=client_ip_gateway_user', 'authentication_cache', 'logging']);
  await t.rejects(readRadiusSettings(config), /\[radius\] server: is required/, 'the server is for the administrator to fill in');
  const withServer = PluginConfiguration.parse(defaultCfg.replace('#server=', 'server='), secret);
  t.same(await readRadiusSettings(withServer), {
    host: 'radius.example.org',
    port: 1812,
    secret: 's3cret',
    authType: 'pap',
    retries: 3,
    timeoutMs: 5000,
    nasIdentifier: 'gatehouse',
  });
  t.equal(await withServer.getBoolean('radius', 'ignore_conn_err', true), false);
  t.match(pluginFile('MANIFEST'), /^name: radius\n(.*\n)*type: aa\napi: "1\.2"\nentry_point: main\.js\n/m);
});

t.test('with FreeRADIUS', async (t) => {
  const server = await startFreeRadius(t);

  t.test('the password from otp= in the login name, over PAP and CHAP', async (t) => {
    for (const auth_type of ['pap', 'chap']) {
      const { authenticate } = setup(t, server, { auth_type });
      const accepted = await authenticate({ key_value_pairs: { otp: alice.password } });
      t.equal(accepted.verdict, 'ACCEPT', auth_type);
      t.same(metadata(accepted), { authentication: 'otp', mfa_identity: 'alice' });
      t.equal(outcome(await authenticate({ key_value_pairs: { otp: 'wrong' } })), 'Authentication failed');
      t.equal(outcome(await authenticate({ gateway_user: carol.username, key_value_pairs: { otp: carol.password } })), 'Authentication failed');
    }
  });

  t.test('asked for interactively, echo off, then checked', async (t) => {
    const { authenticate } = setup(t, server);
    const asked = await authenticate({});
    t.equal(asked.verdict, 'NEEDINFO');
    t.same(asked.question, ['otp', 'RADIUS password: ', true]);
    t.equal(outcome(await authenticate({ cookie: asked.cookie, key_value_pairs: { otp: alice.password } })), 'ACCEPT');
  });

  t.test('rp= and radius_password= come before otp=', async (t) => {
    const { authenticate } = setup(t, server);
    t.equal(outcome(await authenticate({ key_value_pairs: { otp: 'wrong', rp: alice.password } })), 'ACCEPT');
    t.equal(outcome(await authenticate({ key_value_pairs: { rp: 'wrong', radius_password: alice.password } })), 'ACCEPT');
    t.equal(outcome(await authenticate({ key_value_pairs: { otp: alice.password, rp: 'wrong' } })), 'Authentication failed');
  });

  t.test('Access-Challenge: a question with the Reply-Message, State in the cookie, answered on a fresh instance', async (t) => {
    const { authenticate } = setup(t, server);
    const first = await authenticate({ gateway_user: bob.username });
    t.same(first.question, ['otp', 'RADIUS password: ', true]);
    const challenge = await authenticate({ gateway_user: bob.username, cookie: first.cookie, key_value_pairs: { otp: 'first factor' } });
    t.equal(challenge.verdict, 'NEEDINFO');
    t.same(challenge.question, ['radius_password', `${bob.challenge} `, true], 'Reply-Message as the prompt (a space before the answer); Prompt No-Echo: echo off');
    t.match(challenge.cookie, { __plugin_sdk_private: { challenge_state: bob.state.toString('base64') } });

    const answer = { otp: 'first factor', radius_password: bob.answer };
    const accepted = await authenticate({ gateway_user: bob.username, cookie: challenge.cookie, key_value_pairs: answer });
    t.equal(accepted.verdict, 'ACCEPT');
    t.same(metadata(accepted), { authentication: 'otp', mfa_identity: 'bob' });

    const wrong = await authenticate({ gateway_user: bob.username, cookie: challenge.cookie, key_value_pairs: { ...answer, radius_password: '41' } });
    t.equal(outcome(wrong), 'Authentication failed');
    const again = await authenticate({ gateway_user: bob.username, cookie: first.cookie, key_value_pairs: answer });
    t.equal(again.verdict, 'NEEDINFO', 'without the State the answer starts a new challenge');
  });

  t.test('the RADIUS user name: radius_username=, then ru=, then the MFA identity', async (t) => {
    const { authenticate, context } = setup(t, server);
    const as = (pairs: Record<string, string>) => authenticate({ gateway_user: 'someone', key_value_pairs: { otp: alice.password, ...pairs } });
    const viaRu = await as({ ru: 'alice' });
    t.equal(viaRu.verdict, 'ACCEPT');
    t.same(metadata(viaRu), { authentication: 'otp', mfa_identity: 'alice' });
    t.equal(viaRu.gateway_user, undefined, 'the gateway user stays "someone"');
    t.equal(outcome(await as({ radius_username: 'alice', ru: 'carol' })), 'ACCEPT');
    t.equal(outcome(await as({ radius_username: 'carol', ru: 'alice' })), 'Authentication failed');
    t.equal(outcome(await as({})), 'Authentication failed', '"someone" is no RADIUS user');
    t.ok(context.logs.some(([level, message]) => level === 'warning' && message === 'MFA (otp) failed for someone'));
  });

  t.test('replies without Message-Authenticator: DENY even with ignore_conn_err=yes', async (t) => {
    const unpatched = await startFreeRadius(t, { messageAuthenticatorInReplies: false });
    const { authenticate, context } = setup(t, unpatched, { conn_retries: '1', conn_timeout: '1', ignore_conn_err: 'yes' });
    t.equal(outcome(await authenticate({ key_value_pairs: { otp: alice.password } })), 'Communication error');
    t.ok(context.logs.some(([level, message]) => level === 'error' && /discarded 1 reply, the last for no Message-Authenticator/.test(message)));
  });
});

t.test('an unreachable server: DENY, or ACCEPT without MFA when ignore_conn_err=yes', async (t) => {
  const nobody = { port: await freeUdpPort(), secret: 'whatever' };
  const strict = setup(t, nobody, { conn_retries: '2', conn_timeout: '1' });
  const started = performance.now();
  t.equal(outcome(await strict.authenticate({ key_value_pairs: { otp: alice.password } })), 'Backend service unreachable');
  t.ok(performance.now() - started >= 1990, 'two attempts of a second each');
  t.ok(strict.context.logs.some(([level, message]) => level === 'error' && message.includes(`no valid reply from RADIUS server 127.0.0.1:${nobody.port} after 2 attempts`)));

  const lenient = setup(t, nobody, { conn_retries: '1', conn_timeout: '1', ignore_conn_err: 'yes' });
  const accepted = await lenient.authenticate({ key_value_pairs: { otp: alice.password } });
  t.equal(accepted.verdict, 'ACCEPT');
  t.same(metadata(accepted), { authentication: 'ignore_conn_err', mfa_identity: 'alice' });
  t.ok(lenient.context.logs.some(([level, message]) => level === 'warning' && message.includes('accepted WITHOUT MFA')));
});

t.test('configuration mistakes DENY and say where', async (t) => {
  const { authenticate, context } = setup(t, { port: 1812, secret: 's' }, { auth_type: 'mschap' });
  t.equal(outcome(await authenticate({ key_value_pairs: { otp: 'x' } })), 'Plugin configuration error');
  t.ok(context.logs.some(([, message]) => /\[radius\] auth_type: expected one of pap, chap, got "mschap"/.test(message)));
  context.secrets.delete('radius/secret');
  const noSecret = new Plugin(defaultCfg.replace('#server=', 'server='), context);
  t.equal(outcome(await noSecret.authenticate({ gateway_user: 'alice', protocol: 'ssh', key_value_pairs: { otp: 'x' } })), 'Plugin configuration error');
  t.ok(context.logs.some(([, message]) => /\[radius\] secret: is "\$" but the credential store has no entry for host "radius", user "secret"/.test(message)));
});
