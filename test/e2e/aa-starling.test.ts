// The Starling plugin end to end: the zip `npm run build` makes, its configuration attached to the
// policy, the client credentials in the credential store, and a faithful fake of Starling (token
// endpoint and 2FA API) over HTTPS with a test CA; a real OpenSSH client logs in through the
// gateway to a real sshd. Push approved, denied and timed out; the OTP in the login name and
// prompted; Starling down with ignore_conn_err=no and =yes.
import { readFile } from 'node:fs/promises';
import t, { type Test } from 'tap';
import { directorySecret } from '../../src/config/schema.js';
import { SERVICE_PASSWORD, ldapSettings, person, testTree, userDn } from '../auth/ldap/tree.js';
import { startFakeStarling, type FakeStarling } from '../fakes/starling.js';
import { startSlapd } from '../helpers/slapd.js';
import { startTinyproxy } from '../helpers/tinyproxy.js';
import { builtInPluginZip, installPlugin, storePluginSecrets } from './helpers/aa.js';
import { startLab } from './helpers/lab.js';
import { runSsh } from './helpers/ssh-client.js';

const starling = await startFakeStarling(t);
starling.users.set('1234567', { otps: ['111111', '222222'] });
starling.users.set('7654321', { push: 'deny' });
starling.users.set('5555555', { push: 'ignore' });
const USERS = ['alice', 'denier', 'ignorer'];

async function starlingLab(t: Test, fake: FakeStarling, ignoreConnErr: 'yes' | 'no') {
  // The CA as an ini value: continuation lines indented by one space.
  const ca = fake.ca.trim().split('\n').join('\n ');
  const text = (await readFile(new URL('../../src/plugins/starling/default.cfg', import.meta.url), 'utf8'))
    .replace(/^#token_url=.*$/m, `token_url=${fake.tokenUrl}`)
    .replace(/^#api_url=.*$/m, `api_url=${fake.apiUrl}`)
    .replace(/^push_timeout=.*$/m, 'push_timeout=2')
    .replace(/^ignore_conn_err=.*$/m, `ignore_conn_err=${ignoreConnErr}`) +
    `\n[tls]\nca_cert=${ca}\n[usermapping source=explicit]\nalice=1234567\ndenier=7654321\nignorer=5555555\n`;
  const secret = (option: string, value: string) => ({ scope: 'starling', section: 'starling', option, value });
  const lab = await startLab(t, {
    extraUsers: USERS,
    policy: { aaPluginConfiguration: 'starling', usermapping: [{ gatewayUsers: USERS, serverUsers: ['*'] }] },
    prepare: (dataDir) => storePluginSecrets(dataDir, [secret('client_id', fake.clientId), secret('client_secret', fake.clientSecret)]),
    aa: { configurations: [{ name: 'starling', plugin: 'starling', text }], prepare: async (dataDir) => installPlugin(dataDir, await builtInPluginZip('starling')) },
  });
  const as = (user: string, pairs = '') => lab.viaGateway(`${pairs}gu=${user}@${lab.sshd.user}`);
  return { lab, as };
}

t.test('push approved, denied, timed out; OTP in the login name and prompted; Starling down, ignore_conn_err=no', async (t) => {
  const { lab, as } = await starlingLab(t, starling, 'no');
  const push = await runSsh(as('alice'), 'echo pushed', { key: lab.key, answers: [['Starling push', '']] });
  t.equal(push.stdout.toString(), 'pushed\n', push.stderr);
  t.match(push.prompts, [/Press Enter for Starling push/]);
  t.match([...starling.approvals.values()].at(-1), { userId: '1234567', status: 'approved', details: { 'Gateway User': 'alice', 'Server User': lab.sshd.user, Protocol: 'ssh' } });

  const denied = await runSsh(as('denier'), 'true', { key: lab.key, answers: [['Starling push', '']] });
  t.equal(denied.code, 255, 'a denied push denies the login');

  const started = Date.now();
  const ignored = await runSsh(as('ignorer'), 'true', { key: lab.key, answers: [['Starling push', '']] });
  t.equal(ignored.code, 255, 'an unanswered push denies the login after push_timeout');
  t.ok(Date.now() - started < 15_000);

  const inName = await runSsh(as('alice', 'otp=111111@'), 'echo otp', { key: lab.key });
  t.equal(inName.stdout.toString(), 'otp\n', inName.stderr);
  t.same(inName.prompts, [], 'no prompt: the OTP came with the login name');

  const prompted = await runSsh(as('alice'), 'echo prompted', { key: lab.key, answers: [['Starling push', '222222']] });
  t.equal(prompted.stdout.toString(), 'prompted\n', prompted.stderr);
  t.equal(starling.requests.at(-1)?.query.tokenResponse, '222222');

  const reused = await runSsh(as('alice', 'otp=111111@'), 'true', { key: lab.key });
  t.equal(reused.code, 255, 'an OTP is good once');

  starling.fail('drop', 100);
  const down = await runSsh(as('alice'), 'true', { key: lab.key, answers: [['Starling push', '']] });
  t.equal(down.code, 255, 'Starling unreachable and ignore_conn_err=no: denied');
  const logs = JSON.stringify(lab.gw.logs);
  t.notMatch(logs, starling.clientSecret, 'the client secret is never logged');
  t.notMatch(logs, '222222', 'the OTP is never logged');
});

t.test('Starling down with ignore_conn_err=yes: in without MFA', async (t) => {
  const down = await startFakeStarling(t);
  const { lab, as } = await starlingLab(t, down, 'yes');
  down.fail('503', 100);
  const run = await runSsh(as('alice'), 'echo fallback', { key: lab.key, answers: [['Starling push', '']] });
  t.equal(run.stdout.toString(), 'fallback\n', run.stderr);
});

t.test('auto-provisioning from LDAP through tinyproxy: a new person is created in Starling from slapd, then pushed', async (t) => {
  const fake = await startFakeStarling(t);
  const slapd = await startSlapd(t);
  await slapd.add(testTree(slapd));
  await slapd.add(person(userDn(slapd, 'carl'), 'carl', 'carl-secret', ['mail: carl@example.test', 'telephoneNumber: +41795550199', 'displayName: Carl Lindqvist']));
  const proxy = await startTinyproxy(t, { connectPorts: [fake.port] });
  const ca = fake.ca.trim().split('\n').join('\n ');
  const text = (await readFile(new URL('../../src/plugins/starling/default.cfg', import.meta.url), 'utf8'))
    .replace(/^#token_url=.*$/m, `token_url=${fake.tokenUrl}`)
    .replace(/^#api_url=.*$/m, `api_url=${fake.apiUrl}`) +
    `\n[tls]\nca_cert=${ca}\n[https_proxy]\nserver=${proxy.host}\nport=${proxy.port}\n[starling_auto_provision]\nenabled=yes\n[ldap_server]\nname=corp\n`;
  const secret = (option: string, value: string) => ({ scope: 'starling', section: 'starling', option, value });
  const lab = await startLab(t, {
    extraUsers: ['carl'],
    more: { ldapServers: [ldapSettings(slapd)] },
    policy: { aaPluginConfiguration: 'starling', usermapping: [{ gatewayUsers: ['carl'], serverUsers: ['*'] }] },
    prepare: (dataDir) =>
      storePluginSecrets(dataDir, [
        secret('client_id', fake.clientId),
        secret('client_secret', fake.clientSecret),
        { ...directorySecret.ldapBindPassword('corp'), value: SERVICE_PASSWORD },
      ]),
    aa: { configurations: [{ name: 'starling', plugin: 'starling', text }], prepare: async (dataDir) => installPlugin(dataDir, await builtInPluginZip('starling')) },
  });
  const run = await runSsh(lab.viaGateway(`gu=carl@${lab.sshd.user}`), 'echo provisioned', { key: lab.key, answers: [['Starling push', '']] });
  t.equal(run.stdout.toString(), 'provisioned\n', run.stderr);
  const created = [...fake.users.values()].find((user) => user.created);
  t.same(created?.created, { phone: '+41795550199', email: 'carl@example.test', displayName: 'Carl Lindqvist' }, 'made from the LDAP attributes');
  t.match(proxy.logs(), /CONNECT/, 'through the proxy');
});
