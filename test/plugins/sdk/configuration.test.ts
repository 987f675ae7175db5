// Typed configuration access: credential store ($, $$, store wins), booleans, integers, enums, lists.
import t from 'tap';
import { PluginConfiguration } from '../../../src/plugins/sdk/index.js';

function configuration(text: string, store: Record<string, string> = {}) {
  const asked: string[] = [];
  const config = PluginConfiguration.parse(text, async (section, option) => {
    asked.push(`${section}/${option}`);
    return store[`${section}/${option}`];
  });
  return { config, asked };
}

t.test('$ reads the credential store (host = section, user = option); $$ is a literal $', async (t) => {
  const { config } = configuration('[duo]\nikey=$\nskey=$\nhost=$$\nprice=$$5', { 'duo/ikey': 'DIXXXX' });
  t.equal(await config.get('duo', 'ikey'), 'DIXXXX');
  t.equal(await config.get('duo', 'skey'), undefined, '$ with no entry is absent');
  t.equal(await config.get('duo', 'host'), '$');
  t.equal(await config.get('duo', 'price'), '$$5', 'only a whole value of $$ is special');
  await t.rejects(config.require('duo', 'skey'), {
    message: 'line 3, [duo] skey: is "$" but the credential store has no entry for host "duo", user "skey"',
  });
  await t.rejects(config.require('duo', 'nope'), { message: '[duo] nope: is required' });
});

t.test('a credential-store entry wins over the file, for any option', async (t) => {
  const { config, asked } = configuration('[duo]\nhost=api-file.example.com\ntimeout=60', {
    'duo/host': 'api-store.example.com',
    'duo/extra': 'only-in-store',
  });
  t.equal(await config.get('duo', 'host'), 'api-store.example.com');
  t.equal(await config.get('duo', 'extra'), 'only-in-store');
  t.equal(await config.get('duo', 'TIMEOUT'), '60', 'option names are case-insensitive');
  t.equal(await config.get('nosuch', 'x', 'fallback'), 'fallback');
  await config.get('duo', 'host');
  t.equal(asked.filter((key) => key === 'duo/host').length, 1, 'each entry is asked for once per instance');
  t.ok(asked.includes('duo/timeout'), 'the store is asked with the lower-cased option name');
});

t.test('booleans are strictly yes or no', async (t) => {
  const { config } = configuration('[auth]\na=yes\nb=NO\nc=Yes\nbad=true\none=1', { 'auth/stored': 'maybe' });
  t.equal(await config.getBoolean('auth', 'a', false), true);
  t.equal(await config.getBoolean('auth', 'b', true), false);
  t.equal(await config.getBoolean('auth', 'c', false), true, 'in any case');
  t.equal(await config.getBoolean('auth', 'missing', true), true);
  await t.rejects(config.getBoolean('auth', 'bad', false), { name: 'PluginConfigurationError', message: 'line 5, [auth] bad: expected yes or no, got "true"' });
  await t.rejects(config.getBoolean('auth', 'one', false), { message: 'line 6, [auth] one: expected yes or no, got "1"' });
  await t.rejects(config.getBoolean('auth', 'stored', false), { message: '[auth] stored: expected yes or no, got "maybe" (from the credential store)' });
});

t.test('integers with range checks', async (t) => {
  const { config } = configuration('[c]\nok=15\nplus=+3\nneg=-1\nbig=2147483648\nfloat=1.5\nword=ten\nspace=1 0');
  const range = { min: 0, max: 2_147_483_647 };
  t.equal(await config.getInt('c', 'ok', 0, range), 15);
  t.equal(await config.getInt('c', 'plus', 0, range), 3);
  t.equal(await config.getInt('c', 'missing', 7, range), 7);
  t.equal(await config.getInt('c', 'neg', 0), -1, 'no range: any safe integer');
  for (const [option, line, text] of [['neg', 4, '-1'], ['big', 5, '2147483648'], ['float', 6, '1.5'], ['word', 7, 'ten'], ['space', 8, '1 0']] as const) {
    await t.rejects(config.getInt('c', option, 0, range), { message: `line ${line}, [c] ${option}: expected an integer from 0 to 2147483647, got "${text}"` }, option);
  }
});

t.test('enums, lists and section names', async (t) => {
  const { config } = configuration('[totp]\nalgorithm=sha256\nbad=md5\n[auth]\nprotocols= ssh , RDP,,telnet \n[question_1]\nkey=k');
  t.equal(await config.getEnum('totp', 'algorithm', ['SHA1', 'SHA256'] as const, 'SHA1'), 'SHA256', 'case-insensitive, canonical spelling');
  await t.rejects(config.getEnum('totp', 'bad', ['SHA1', 'SHA256'] as const, 'SHA1'), { message: 'line 3, [totp] bad: expected one of SHA1, SHA256, got "md5"' });
  t.same(await config.getList('auth', 'protocols'), ['ssh', 'RDP', 'telnet']);
  t.same(await config.getList('auth', 'missing', ['a']), ['a']);
  t.same(config.sectionNames(), ['totp', 'auth', 'question_1']);
  t.ok(config.hasSection('auth'));
  t.notOk(config.hasSection('Auth'), 'section names are case-sensitive');
});

t.test('malformed text is refused when parsed', async (t) => {
  t.throws(() => configuration('[auth]\ndisable_echo'), { name: 'PluginConfigurationError', message: /^line 2, \[auth\]: expected "name=value"/ });
});
