// The inWebo plugin end to end: the zip `npm run build` makes, its configuration attached to the
// policy, the service's client certificate and key in the credential store, and a faithful fake of
// inWebo's REST API over mutual TLS with a test CA; a real OpenSSH client logs in through the
// gateway to a real sshd.
import { readFile } from 'node:fs/promises';
import t, { type Test } from 'tap';
import { startFakeInwebo, type FakeInwebo } from '../fakes/inwebo.js';
import { freeTcpPort, startTinyproxy } from '../helpers/tinyproxy.js';
import { builtInPluginZip, installPlugin, storePluginSecrets } from './helpers/aa.js';
import { startLab } from './helpers/lab.js';
import { runSsh } from './helpers/ssh-client.js';

const inwebo = await startFakeInwebo(t);
inwebo.users.set('alice', { otps: ['111111', '222222'], waiting: 1 });
inwebo.users.set('refuser', { push: 'refuse' });
inwebo.users.set('sleeper', { push: 'pending' });
const users = ['alice', 'refuser', 'sleeper'];

/** A lab whose policy uses the inWebo plugin, configured as `name` with `[inwebo]` options changed by `options` and `extra` sections appended. */
async function inweboLab(t: Test, name: string, target: Pick<FakeInwebo, 'apiUrl'>, options: Record<string, string>, extra = '') {
  // The CA as an ini value: continuation lines indented by one space.
  const ca = inwebo.ca.trim().split('\n').join('\n ');
  let text = (await readFile(new URL('../../src/plugins/inwebo/default.cfg', import.meta.url), 'utf8')).replace('#service_id=<numeric Service ID>', `service_id=${inwebo.serviceId}`) + `\n[tls]\nca_cert=${ca}\n`;
  for (const [option, value] of Object.entries({ api_url: target.apiUrl, ...options })) text = text.replace(new RegExp(`^${option}=.*$`, 'm'), `${option}=${value}`);
  text += extra;
  const lab = await startLab(t, {
    extraUsers: users,
    policy: { aaPluginConfiguration: name, usermapping: [{ gatewayUsers: users, serverUsers: ['*'] }] },
    prepare: (dataDir) => storePluginSecrets(dataDir, [{ scope: name, section: 'inwebo', option: 'client_cert', value: inwebo.clientCert }]),
    aa: { configurations: [{ name, plugin: 'inwebo', text }], prepare: async (dataDir) => installPlugin(dataDir, await builtInPluginZip('inwebo')) },
  });
  return { lab, as: (user: string, pairs = '') => lab.viaGateway(`${pairs}gu=${user}@${lab.sshd.user}`) };
}

t.test('push approved, denied, timed out; OTP in the login name and prompted; inWebo down with ignore_conn_err=no', async (t) => {
  const { lab, as } = await inweboLab(t, 'inwebo', inwebo, { timeout: '4' });
  const push = await runSsh(as('alice'), 'echo pushed', { key: lab.key, answers: [['inWebo push', '']] });
  t.equal(push.stdout.toString(), 'pushed\n', push.stderr);
  t.match(push.prompts, [/Press Enter for inWebo push/]);
  t.ok(inwebo.requests.some((r) => r.params.action === 'checkPushResult' && r.err === 'OK'), 'the push was approved');

  const refused = await runSsh(as('refuser'), 'true', { key: lab.key, answers: [['inWebo push', '']] });
  t.equal(refused.code, 255, 'a refused push denies the login');

  const started = performance.now();
  const unanswered = await runSsh(as('sleeper'), 'true', { key: lab.key, answers: [['inWebo push', '']] });
  t.equal(unanswered.code, 255, 'a push unanswered past [inwebo] timeout denies the login');
  t.ok(performance.now() - started < 15_000, 'and does not hang');

  const inName = await runSsh(as('alice', 'otp=111111@'), 'echo otp', { key: lab.key });
  t.equal(inName.stdout.toString(), 'otp\n', inName.stderr);
  t.same(inName.prompts, [], 'no prompt: the OTP came with the login name');

  const prompted = await runSsh(as('alice'), 'echo prompted', { key: lab.key, answers: [['inWebo push', '222222']] });
  t.equal(prompted.stdout.toString(), 'prompted\n', prompted.stderr);
  t.match(inwebo.requests.at(-1), { params: { action: 'authenticateExtended', token: '222222' } });

  inwebo.fail('drop', 100);
  const down = await runSsh(as('alice'), 'true', { key: lab.key, answers: [['inWebo push', '']] });
  inwebo.heal();
  t.equal(down.code, 255, 'inWebo unreachable and ignore_conn_err=no: denied');
  const logs = JSON.stringify(lab.gw.logs);
  t.notMatch(logs, 'PRIVATE KEY', 'the client key is never logged');
  t.notMatch(logs, 'otp=111111', 'the OTP is never logged');
});

t.test('inWebo down with ignore_conn_err=yes: in without MFA', async (t) => {
  const { lab, as } = await inweboLab(t, 'inwebo-lenient', { apiUrl: `https://127.0.0.1:${await freeTcpPort()}/FS` }, { ignore_conn_err: 'yes' });
  const down = await runSsh(as('alice'), 'echo fallback', { key: lab.key, answers: [['inWebo push', '']] });
  t.equal(down.stdout.toString(), 'fallback\n', down.stderr);
  t.match(JSON.stringify(lab.gw.logs), /WITHOUT MFA/);
});

t.test('through tinyproxy: the client certificate travels inside the CONNECT tunnel', async (t) => {
  const proxy = await startTinyproxy(t, { connectPorts: [Number(new URL(inwebo.apiUrl).port)] });
  const { lab, as } = await inweboLab(t, 'proxied', inwebo, {}, `[https_proxy]\nserver=${proxy.host}\nport=${proxy.port}\n`);
  const push = await runSsh(as('alice'), 'echo proxied', { key: lab.key, answers: [['inWebo push', '']] });
  t.equal(push.stdout.toString(), 'proxied\n', push.stderr);
  t.match(proxy.logs(), /CONNECT/, 'the requests went through the proxy');
});
