// The Duo plugin end to end: the zip `npm run build` makes, its configuration attached to the
// policy, ikey/skey in the credential store, and a faithful fake of Duo's Auth API over HTTPS with
// a test CA; a real OpenSSH client logs in through the gateway to a real sshd.
import { readFile } from 'node:fs/promises';
import t from 'tap';
import { startFakeDuo } from '../fakes/duo.js';
import { startTinyproxy } from '../helpers/tinyproxy.js';
import { builtInPluginZip, installPlugin, storePluginSecrets } from './helpers/aa.js';
import { startLab, type Lab } from './helpers/lab.js';
import { runSsh } from './helpers/ssh-client.js';

const duo = await startFakeDuo(t);
duo.users.set('alice', { passcodes: ['111111', '222222'] });
duo.users.set('denier', { push: 'deny' });
duo.users.set('sleeper', { push: 'timeout' });
duo.users.set('bypass', { preauth: 'allow' });
const users = ['alice', 'denier', 'sleeper', 'bypass'];

/** A lab whose policy runs the built Duo zip with default.cfg pointed at the fake, `changes` applied, `extra` appended. */
async function duoLab(tt: Parameters<typeof startLab>[0], changes: [string, string][] = [], extra = ''): Promise<Lab> {
  // The CA as an ini value: continuation lines indented by one space.
  const ca = duo.ca.trim().split('\n').join('\n ');
  let text = (await readFile(new URL('../../src/plugins/duo/default.cfg', import.meta.url), 'utf8')).replace('#host=api-XXXXXXXX.duosecurity.com', `host=${duo.host}`);
  for (const [from, to] of changes) text = text.replace(`\n${from}\n`, `\n${to}\n`);
  text += `\n[tls]\nca_cert=${ca}\n${extra}`;
  return startLab(tt, {
    extraUsers: users,
    policy: { aaPluginConfiguration: 'duo', usermapping: [{ gatewayUsers: users, serverUsers: ['*'] }] },
    prepare: (dataDir) => storePluginSecrets(dataDir, [{ scope: 'duo', section: 'duo', option: 'ikey', value: duo.ikey }, { scope: 'duo', section: 'duo', option: 'skey', value: duo.skey }]),
    aa: { configurations: [{ name: 'duo', plugin: 'duo', text }], prepare: async (dataDir) => installPlugin(dataDir, await builtInPluginZip('duo')) },
  });
}

t.test('push approved, passcode in the login name, push denied, Duo down with ignore_conn_err=no', async (t) => {
  const lab = await duoLab(t);
  const as = (user: string, pairs = '') => lab.viaGateway(`${pairs}gu=${user}@${lab.sshd.user}`);

  const push = await runSsh(as('alice'), 'echo pushed', { key: lab.key, answers: [['Duo push', '']] });
  t.equal(push.stdout.toString(), 'pushed\n', push.stderr);
  t.match(push.prompts, [/Press Enter for Duo push/]);
  t.ok(duo.requests.some((r) => r.path === '/auth/v2/auth' && r.params.factor === 'push'), 'a push was requested');

  const passcode = await runSsh(as('alice', 'otp=111111@'), 'echo passcode', { key: lab.key });
  t.equal(passcode.stdout.toString(), 'passcode\n', passcode.stderr);
  t.same(passcode.prompts, [], 'no prompt: the passcode came with the login name');

  const prompted = await runSsh(as('alice'), 'echo prompted', { key: lab.key, answers: [['Duo push', '222222']] });
  t.equal(prompted.stdout.toString(), 'prompted\n', prompted.stderr);
  t.match(duo.requests.at(-1), { path: '/auth/v2/auth', params: { factor: 'passcode' } }, 'the typed passcode went to Duo');

  const denied = await runSsh(as('denier'), 'true', { key: lab.key, answers: [['Duo push', '']] });
  t.equal(denied.code, 255, 'a denied push denies the login');

  duo.fail('drop', 100);
  const down = await runSsh(as('alice'), 'true', { key: lab.key, answers: [['Duo push', '']] });
  duo.heal();
  t.equal(down.code, 255, 'Duo unreachable and ignore_conn_err=no: denied');
  const logs = JSON.stringify(lab.gw.logs);
  t.notMatch(logs, duo.skey, 'the secret key is never logged');
  t.notMatch(logs, 'otp=111111', 'the passcode is never logged');
});

t.test('through tinyproxy: bypass user, push timing out, Duo down with ignore_conn_err=yes', async (t) => {
  const proxy = await startTinyproxy(t, { connectPorts: [duo.port] });
  const lab = await duoLab(t, [['timeout=60', 'timeout=3'], ['ignore_conn_err=no', 'ignore_conn_err=yes']], `[https_proxy]\nserver=${proxy.host}\nport=${proxy.port}\n`);
  const as = (user: string) => lab.viaGateway(`gu=${user}@${lab.sshd.user}`);

  const bypass = await runSsh(as('bypass'), 'echo bypass', { key: lab.key, answers: [['Duo push', '']] });
  t.equal(bypass.stdout.toString(), 'bypass\n', bypass.stderr);
  t.match(proxy.logs(), /CONNECT/, 'the requests went through the proxy');

  const started = Date.now();
  const sleeper = await runSsh(as('sleeper'), 'true', { key: lab.key, answers: [['Duo push', '']] });
  t.equal(sleeper.code, 255, 'a push nobody answers denies');
  t.ok(Date.now() - started < 15_000, 'within the configured timeout');

  duo.fail('drop', 100);
  const down = await runSsh(as('alice'), 'echo let-in', { key: lab.key, answers: [['Duo push', '']] });
  duo.heal();
  t.equal(down.stdout.toString(), 'let-in\n', 'Duo unreachable and ignore_conn_err=yes: let in');
  await lab.gw.waitForLog((l) => l.plugin === 'duo' && /WITHOUT MFA/.test(String(l.msg)));
});
