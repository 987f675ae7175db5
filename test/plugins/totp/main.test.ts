// The TOTP plugin end to end with its default.cfg: prompt, codes, replay, seeds, MANIFEST.
import { readFileSync } from 'node:fs';
import t, { type Test } from 'tap';
import { PluginConfiguration, type ConnectionArgs, type HookResult } from '../../../src/plugins/sdk/index.js';
import { encodeBase32 } from '../../../src/plugins/totp/base32.js';
import { hotp } from '../../../src/plugins/totp/hotp.js';
import { Plugin } from '../../../src/plugins/totp/main.js';
import { readTotpSettings } from '../../../src/plugins/totp/settings.js';
import { fakeClock, fakeContext } from '../fixtures/fake-context.js';

const pluginFile = (name: string) => readFileSync(new URL(`../../../src/plugins/totp/${name}`, import.meta.url), 'utf8');
const defaultCfg = pluginFile('default.cfg');
const seed = new TextEncoder().encode('12345678901234567890');

function setup(t: Test, text = defaultCfg) {
  const context = fakeContext(t);
  context.secrets.set('totp_seed/alice', encodeBase32(seed));
  const clock = fakeClock(1_750_000_000_000);
  const code = (digits = 6, offsetSteps = 0) => hotp(seed, Math.floor(clock.now / 30_000) + offsetSteps, digits);
  const authenticate = (args: ConnectionArgs) =>
    new Plugin(text, context, clock).authenticate({ session_id: 's', protocol: 'ssh', client_ip: '10.0.0.1', gateway_user: 'alice', ...args });
  return { context, clock, code, authenticate };
}

const reasonOf = (result: HookResult) => (result.verdict === 'DENY' ? result.reason : result.verdict);

t.test('default.cfg: small, valid, the documented defaults and commented examples', async (t) => {
  t.ok(Buffer.byteLength(defaultCfg) <= 10 * 1024);
  const config = PluginConfiguration.parse(defaultCfg, async () => undefined);
  t.same(await readTotpSettings(config), { algorithm: 'SHA1', digits: 6, periodSeconds: 30, window: 1, issuer: 'Gatehouse' });
  t.same(config.sectionNames(), ['totp', 'auth', 'connection_limit by=client_ip_gateway_user', 'authentication_cache', 'logging']);
  t.equal(await config.get('auth', 'prompt'), 'One-time password:');
  for (const example of ['#[whitelist source=user_list]', '#[usermapping source=explicit]', '#[username_transform]', '#[question_1]']) {
    t.ok(defaultCfg.includes(example), example);
  }
});

t.test('MANIFEST', async (t) => {
  const fields = Object.fromEntries(
    pluginFile('MANIFEST')
      .trim()
      .split('\n')
      .map((line) => /^(\w+): (.*)$/.exec(line)?.slice(1, 3) ?? ['malformed', line]),
  );
  t.same(Object.keys(fields).sort(), ['api', 'author_email', 'author_name', 'description', 'entry_point', 'name', 'type', 'version']);
  t.match(fields, { name: 'totp', type: 'aa', api: '"1.2"', entry_point: 'main.js', version: /^\d+\.\d+\.\d+$/ });
});

t.test('asks for the code with echo off, accepts it once, then wants the next one', async (t) => {
  const { authenticate, code, clock, context } = setup(t);
  const first = await authenticate({});
  t.equal(first.verdict, 'NEEDINFO');
  t.same(first.question, ['otp', 'One-time password: ', true]);
  const accepted = await authenticate({ cookie: first.cookie, key_value_pairs: { otp: code() } });
  t.equal(accepted.verdict, 'ACCEPT');
  t.same(JSON.parse(accepted.additional_metadata ?? ''), { authentication: 'otp', mfa_identity: 'alice' });

  t.equal(reasonOf(await authenticate({ key_value_pairs: { otp: code() } })), 'Authentication failed', 'the same code again (replay)');
  t.ok(context.logs.some(([, message]) => message === 'TOTP code of alice refused: replay'));
  t.equal(reasonOf(await authenticate({ key_value_pairs: { otp: code(6, -1) } })), 'Authentication failed', 'the previous step is older still');
  t.equal(reasonOf(await authenticate({ key_value_pairs: { otp: code(6, 1) } })), 'ACCEPT', 'the next step, within the window');
  clock.advance(60);
  t.equal(reasonOf(await authenticate({ key_value_pairs: { otp: code() } })), 'ACCEPT');
  t.equal(reasonOf(await authenticate({ key_value_pairs: { otp: code(6, 2) } })), 'Authentication failed', 'outside the window');
});

t.test('the seed is looked up under the MFA identity', async (t) => {
  const { authenticate, code, context } = setup(t, `${defaultCfg}\n[usermapping source=explicit]\nalice=alice.mfa\n[username_transform]\nappend_domain=corp`);
  t.equal(reasonOf(await authenticate({ key_value_pairs: { otp: code() } })), 'Authentication failed', 'no seed for alice.mfa@corp yet');
  t.ok(context.logs.some(([level, message]) => level === 'warning' && message.includes('no TOTP seed for alice.mfa@corp') && message.includes('host "totp_seed"')));
  context.secrets.set('totp_seed/alice.mfa@corp', encodeBase32(seed));
  t.equal(reasonOf(await authenticate({ key_value_pairs: { otp: code() } })), 'ACCEPT');
});

t.test('an unusable seed, an empty answer and a bad [totp] option all DENY', async (t) => {
  const broken = setup(t);
  broken.context.secrets.set('totp_seed/alice', 'not base32!');
  t.equal(reasonOf(await broken.authenticate({ key_value_pairs: { otp: broken.code() } })), 'Authentication failed');
  t.ok(broken.context.logs.some(([level, message]) => level === 'error' && message.startsWith('the TOTP seed of alice in the credential store is unusable')));

  const push = setup(t);
  t.equal(reasonOf(await push.authenticate({ key_value_pairs: { otp: '' } })), 'Push notification is not available: type a one-time password');

  const md5 = setup(t, defaultCfg.replace('algorithm=SHA1', 'algorithm=MD5'));
  t.equal(reasonOf(await md5.authenticate({ key_value_pairs: { otp: md5.code() } })), 'Plugin configuration error');
  t.ok(md5.context.logs.some(([, message]) => /line \d+, \[totp\] algorithm: expected one of SHA1, SHA256, SHA512, got "MD5"/.test(message)));
});

t.test('[totp] options from the credential store win over the file', async (t) => {
  const { authenticate, code, context } = setup(t);
  context.secrets.set('totp/digits', '8');
  t.equal(reasonOf(await authenticate({ key_value_pairs: { otp: code(6) } })), 'Authentication failed');
  t.equal(reasonOf(await authenticate({ key_value_pairs: { otp: code(8) } })), 'ACCEPT');
});
