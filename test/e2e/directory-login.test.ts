// Gateway authentication against directories, end to end with the real OpenSSH client: an LDAP
// bind against a real slapd (groups deciding usermapping, the MFA group whitelist and the
// LDAP-mapped MFA identity), and RADIUS against a real FreeRADIUS (with an Access-Challenge
// answered through keyboard-interactive). Dead directories refuse with a clear reason.
import { readFile } from 'node:fs/promises';
import t from 'tap';
import { directorySecret } from '../../src/config/schema.js';
import type { PluginSecretInput } from '../../src/credstore/local-store.js';
import { encodeBase32 } from '../../src/plugins/totp/base32.js';
import { hotp, timeStep } from '../../src/plugins/totp/hotp.js';
import { generateSeed } from '../../src/plugins/totp/seed.js';
import { PASSWORDS, SERVICE_PASSWORD, ldapSettings, testTree } from '../auth/ldap/tree.js';
import { RADIUS_USERS, startFreeRadius, type TestFreeRadius } from '../helpers/freeradius.js';
import { startSlapd, type TestSlapd } from '../helpers/slapd.js';
import { installRadiusPlugin, installTotpPlugin, storePluginSecrets } from './helpers/aa.js';
import { startLab, type Lab, type LabOptions } from './helpers/lab.js';
import { runSsh } from './helpers/ssh-client.js';

const slapd = await startSlapd(t);
await slapd.add(testTree(slapd));
const bindPassword = (server = 'corp'): PluginSecretInput => ({ ...directorySecret.ldapBindPassword(server), value: SERVICE_PASSWORD });
const seed = generateSeed('SHA1');
const code = (): string => hotp(seed, timeStep(Date.now() / 1000, 30), 6);

/** A lab whose policy authenticates people against `slapd`; admins may log in as the sshd account. */
function ldapLab(tt: Parameters<typeof startLab>[0], options: { ldap?: Record<string, unknown>; secrets?: PluginSecretInput[]; aa?: LabOptions['aa']; policy?: Record<string, unknown> } = {}): Promise<Lab> {
  return startLab(tt, {
    more: { ldapServers: [{ ...ldapSettings(slapd as TestSlapd), ...options.ldap }] },
    prepare: (dataDir) => storePluginSecrets(dataDir, [bindPassword(), ...(options.secrets ?? [])]),
    policy: {
      gatewayAuthentication: { type: 'ldap', server: 'corp' },
      usermapping: [{ gatewayGroups: ['admins'], serverUsers: ['*'] }, { gatewayGroups: ['OPS'], serverUsers: ['*'] }],
      ...options.policy,
    },
    ...(options.aa ? { aa: options.aa } : {}),
  });
}

const as = (lab: Lab, user: string) => lab.viaGateway(`gu=${user}@${lab.sshd.user}`);
/** OpenSSH's own preference: keyboard-interactive, where the gateway can tell the person why it refuses (LogLevel INFO shows it). */
const interactive = { extra: ['-o', 'PreferredAuthentications=keyboard-interactive', '-o', 'LogLevel=INFO'] };

t.test('LDAP: password login, groups decide usermapping, refusals', async (t) => {
  const lab = await ldapLab(t, { policy: { usermapping: [{ gatewayGroups: ['Admins'], serverUsers: ['*'] }] } });
  const alice = await runSsh(as(lab, 'alice'), 'whoami', { password: PASSWORDS.alice });
  t.equal(alice.code, 0, alice.stderr);
  t.equal(alice.stdout.toString(), `${lab.sshd.user}\n`);
  const start = await lab.gw.waitForLog((l) => l.event === 'session-started');
  t.equal(start.gatewayUser, 'alice');
  t.match(await lab.gw.waitForLog((l) => l.event === 'login-succeeded'), { backend: 'ldap:corp', gatewayGroups: 3 });

  const bob = await runSsh(as(lab, 'bob'), 'whoami', { password: PASSWORDS.bob });
  t.not(bob.code, 0, 'bob is not in admins');
  t.match(bob.stderr, `gateway user bob may not log in as ${lab.sshd.user}`);

  for (const [user, password, reason] of [['alice', 'wrong', 'wrong-password'], ['nobody', 'x', 'no-such-user'], ['*', PASSWORDS.alice, 'no-such-user'], ['al*', PASSWORDS.alice, 'no-such-user'], ['a*', PASSWORDS.alice, 'wrong-password']]) {
    const at = lab.gw.logs.length;
    const run = await runSsh(as(lab, user as string), 'true', { password: password as string });
    t.equal(run.code, 5, `${user}: refused`);
    const refused = await lab.gw.waitForLog((l) => l.event === 'login-failed' && lab.gw.logs.indexOf(l) >= at);
    t.equal(refused.reason, reason, `${user}: ${reason}`);
  }
  t.notMatch(JSON.stringify(lab.gw.logs), PASSWORDS.alice, 'no password in the log');
  t.notMatch(JSON.stringify(lab.gw.logs), SERVICE_PASSWORD, 'no bind password in the log');
});

t.test('LDAP groups in the TOTP plugin: the group whitelist skips MFA, user_attribute maps the MFA identity', async (t) => {
  const text = `${await readFile(new URL('../../src/plugins/totp/default.cfg', import.meta.url), 'utf8')}
[ldap_server]
name=corp
[whitelist source=ldap_server_group]
allow=no_user
except=Admins
[usermapping source=ldap_server]
user_attribute=mail
`;
  const lab = await ldapLab(t, {
    secrets: [{ scope: 'otp', section: 'totp_seed', option: 'bob', value: encodeBase32(seed) }],
    aa: { configurations: [{ name: 'otp', plugin: 'totp', text }], prepare: installTotpPlugin },
    policy: { aaPluginConfiguration: 'otp' },
  });
  const alice = await runSsh(as(lab, 'alice'), 'echo skipped', { answers: [["'s password", PASSWORDS.alice]] });
  t.equal(alice.stdout.toString(), 'skipped\n', alice.stderr);
  t.equal(alice.prompts.length, 1, 'alice (admins) is asked for her password only');
  await lab.gw.waitForLog((l) => /alice skips MFA: whitelisted by \[whitelist source=ldap_server_group\]/.test(String(l.msg)));

  // bob has no mail attribute, so his MFA identity stays "bob"; the seed is stored under it.
  const bob = await runSsh(as(lab, 'bob'), 'echo asked', { answers: [['One-time password', code()], ["'s password", PASSWORDS.bob]] });
  t.equal(bob.stdout.toString(), 'asked\n', bob.stderr);
  t.equal(bob.prompts.length, 2, 'bob (ops) is asked for the one-time password too');
});

t.test('LDAP: a mapped MFA identity (mail) is the one the seed is stored under', async (t) => {
  const text = `${await readFile(new URL('../../src/plugins/totp/default.cfg', import.meta.url), 'utf8')}
[ldap_server]
name=corp
[usermapping source=ldap_server]
user_attribute=mail
`;
  const lab = await ldapLab(t, {
    secrets: [{ scope: 'otp', section: 'totp_seed', option: 'alice@example.test', value: encodeBase32(seed) }],
    aa: { configurations: [{ name: 'otp', plugin: 'totp', text }], prepare: installTotpPlugin },
    policy: { aaPluginConfiguration: 'otp' },
  });
  const run = await runSsh(as(lab, 'alice'), 'true', { answers: [['One-time password', code()], ["'s password", PASSWORDS.alice]] });
  t.equal(run.code, 0, run.stderr);
  const end = await lab.gw.waitForLog((l) => l.event === 'session-ended');
  t.match(JSON.parse(String((JSON.parse(String(end.aaMetadata)) as { additionalMetadata: string }).additionalMetadata)), { authentication: 'otp', mfa_identity: 'alice@example.test' });
});

t.test('LDAP: a certificate that does not name the server, and a dead directory, refuse with a clear reason', async (t) => {
  const mismatch = await ldapLab(t, { ldap: { urls: [slapd.mismatchLdapsUrl], caFile: slapd.caFile } });
  const refused = await runSsh(as(mismatch, 'alice'), 'true', { answers: [['Password', PASSWORDS.alice]], ...interactive });
  t.equal(refused.code, 255);
  t.match(refused.stderr, 'gatehouse: the authentication directory is unavailable');
  t.match(await mismatch.gw.waitForLog((l) => l.event === 'directory-unavailable'), { backend: 'ldap:corp', reason: /certificate|altnames|hostname/i });

  const failover = await ldapLab(t, { ldap: { urls: [slapd.mismatchLdapsUrl, slapd.ldapsUrl], caFile: slapd.caFile } });
  const second = await runSsh(as(failover, 'alice'), 'echo failover', { password: PASSWORDS.alice });
  t.equal(second.stdout.toString(), 'failover\n', `the next URL answers: ${second.stderr}`);

  const dead = await ldapLab(t, { ldap: { urls: ['ldap://127.0.0.1:9'], timeoutSeconds: 2 } });
  const at = Date.now();
  const down = await runSsh(as(dead, 'alice'), 'true', { answers: [['Password', PASSWORDS.alice]], ...interactive });
  t.equal(down.code, 255);
  t.match(down.stderr, 'gatehouse: the authentication directory is unavailable');
  t.ok(Date.now() - at < 15_000, 'refused promptly');
  t.notOk(dead.gw.logs.some((l) => l.event === 'rate-limit-lockout'), 'an outage is not held against the client');
});

t.test('RADIUS: PAP login, an Access-Challenge answered at a keyboard-interactive prompt, reject, wrong shared secret', async (t) => {
  const radius = await startFreeRadius(t);
  const radiusLab = (server: TestFreeRadius, secret: string): Promise<Lab> =>
    startLab(t, {
      more: { radiusServers: [{ name: 'rad', host: server.host, port: server.port, timeoutSeconds: 1, retries: 2 }] },
      prepare: (dataDir) => storePluginSecrets(dataDir, [{ ...directorySecret.radiusSharedSecret('rad'), value: secret }]),
      policy: { gatewayAuthentication: { type: 'radius', server: 'rad' }, usermapping: [{ gatewayUsers: ['alice', 'bob', 'carol'], serverUsers: ['*'] }] },
    });
  const lab = await radiusLab(radius, radius.secret);
  const alice = await runSsh(as(lab, 'alice'), 'whoami', { password: RADIUS_USERS.alice.password });
  t.equal(alice.code, 0, alice.stderr);
  t.equal(alice.stdout.toString(), `${lab.sshd.user}\n`);

  const bob = await runSsh(as(lab, 'bob'), 'echo challenged', { answers: [['6 * 9', RADIUS_USERS.bob.answer], ["'s password", 'first-factor']] });
  t.equal(bob.stdout.toString(), 'challenged\n', bob.stderr);
  t.match(bob.prompts, [/password/, /6 \* 9 = \? $/], 'the Reply-Message became the prompt');

  const wrongAnswer = await runSsh(as(lab, 'bob'), 'true', { answers: [['6 * 9', '41'], ["'s password", 'first-factor']] });
  t.equal(wrongAnswer.code, 255, 'a wrong answer to the challenge is refused');
  const carol = await runSsh(as(lab, 'carol'), 'true', { password: RADIUS_USERS.carol.password });
  t.equal(carol.code, 5, 'Access-Reject');
  t.match(await lab.gw.waitForLog((l) => l.event === 'login-failed' && l.reason === 'radius-reject'), { backend: 'radius:rad' });

  const wrongSecret = await radiusLab(radius, 'not-the-shared-secret');
  const timedOut = await runSsh(as(wrongSecret, 'alice'), 'true', { answers: [['Password', RADIUS_USERS.alice.password]], ...interactive });
  t.equal(timedOut.code, 255);
  t.match(timedOut.stderr, 'gatehouse: the authentication directory is unavailable', 'replies signed with another secret are discarded');
  t.notMatch(JSON.stringify([...lab.gw.logs, ...wrongSecret.gw.logs]), radius.secret, 'the shared secret is never logged');
});

t.test('the radius MFA plugin: after the gateway key, the Access-Challenge is asked through keyboard-interactive', async (t) => {
  const radius = await startFreeRadius(t);
  const text = `${await readFile(new URL('../../src/plugins/radius/default.cfg', import.meta.url), 'utf8')}`.replace('#server=radius.example.org', `server=${radius.host}`).replace('port=1812', `port=${radius.port}`);
  const lab = await startLab(t, {
    extraUsers: ['bob', 'carol'],
    policy: { aaPluginConfiguration: 'rad', usermapping: [{ gatewayUsers: ['bob', 'carol'], serverUsers: ['*'] }] },
    prepare: (dataDir) => storePluginSecrets(dataDir, [{ scope: 'rad', section: 'radius', option: 'secret', value: radius.secret }]),
    aa: { configurations: [{ name: 'rad', plugin: 'radius', text }], prepare: installRadiusPlugin },
  });
  const bob = await runSsh(as(lab, 'bob'), 'echo mfa', { key: lab.key, answers: [['RADIUS password', 'anything'], ['6 * 9', RADIUS_USERS.bob.answer]] });
  t.equal(bob.stdout.toString(), 'mfa\n', bob.stderr);
  t.match(bob.prompts, [/RADIUS password: $/, /6 \* 9 = \? $/], 'the password, then the challenge');
  const carol = await runSsh(as(lab, 'carol'), 'true', { key: lab.key, answers: [['RADIUS password', RADIUS_USERS.carol.password]] });
  t.equal(carol.code, 255, 'Access-Reject denies');
  t.match(await lab.gw.waitForLog((l) => l.event === 'mfa-denied'), { gatewayUser: 'carol', reason: 'Authentication failed' });
  t.notMatch(JSON.stringify(lab.gw.logs), radius.secret, 'the shared secret is never logged');
});
