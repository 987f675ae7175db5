// The audit events of real logins: an OpenSSH client through the gateway to a real sshd, and the
// events the gateway reports (as its journal receives them) with their real reasons and no secret.
import { readFile } from 'node:fs/promises';
import t from 'tap';
import type { AuditEntry } from '../../src/log/events/entry.js';
import { encodeBase32 } from '../../src/plugins/totp/base32.js';
import { hotp, timeStep } from '../../src/plugins/totp/hotp.js';
import { generateSeed } from '../../src/plugins/totp/seed.js';
import { installTotpPlugin, storePluginSecrets } from './helpers/aa.js';
import { TEST_USER } from './helpers/account.js';
import type { TestGateway } from './helpers/gateway.js';
import { startLab } from './helpers/lab.js';
import { runSftp, runSsh } from './helpers/ssh-client.js';

/** The first event `id` (already reported or yet to come) that `match` accepts. */
async function waitForEvent(gw: TestGateway, id: string, match: (fields: AuditEntry['fields']) => boolean = () => true, timeoutMs = 10_000): Promise<AuditEntry> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = gw.events.find((e) => e.eventId === id && match(e.fields));
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`no ${id} event within ${timeoutMs} ms; last events:\n${gw.events.slice(-10).map((e) => `${e.eventId} ${JSON.stringify(e.fields)}`).join('\n')}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

t.test('password logins: succeeded, failed for the real reason, then the lockout; sessions with their fields', async (t) => {
  const lab = await startLab(t, {
    credentials: 'passthrough',
    rateLimit: { freeAttempts: 10, baseDelayMs: 10, maxDelayMs: 50, lockoutAfter: 4, lockoutMs: 60_000 },
  });
  const user = lab.sshd.user;
  const ok = await runSsh(lab.viaGateway(), 'echo hello', { password: lab.sshd.password });
  t.equal(ok.code, 0, ok.stderr);

  const succeeded = await waitForEvent(lab.gw, 'login-succeeded');
  t.match(succeeded, { source: 'gateway', severity: 'info', fields: { gatewayUser: user, method: /^(password|keyboard-interactive)$/, backend: 'local', aaConfig: null, clientIp: '127.0.0.1', sessionId: /^[0-9a-f]{12}$/ } });
  const sessionId = succeeded.fields.sessionId;
  const started = await waitForEvent(lab.gw, 'session-started');
  t.match(started.fields, { sessionId, clientIp: '127.0.0.1', clientPort: Number, gatewayUser: user, serverUser: user, target: `127.0.0.1:${lab.sshd.port}`, policy: 'test' });
  const ended = await waitForEvent(lab.gw, 'session-ended');
  t.match(ended.fields, { sessionId, result: 'ok', reason: null, upstream: true, channels: 'exec=1', aaMetadata: null, durationMs: Number, bytesToClient: 6 });

  const wrong = await runSsh(lab.viaGateway(), 'true', { password: 'not-the-password' });
  t.not(wrong.code, 0);
  t.match((await waitForEvent(lab.gw, 'login-failed', (f) => f.reason === 'wrong-password')).fields, { gatewayUser: user, backend: 'local', clientIp: '127.0.0.1', failures: Number, detail: null });
  const unknown = await runSsh(lab.viaGateway('nobody'), 'true', { password: 'whatever-pw' });
  t.not(unknown.code, 0);
  t.match((await waitForEvent(lab.gw, 'login-failed', (f) => f.reason === 'unknown-user')).fields, { gatewayUser: 'nobody', backend: 'local' });
  const malformed = await runSsh({ port: lab.gw.port, user: `otp=1@otp=2@${user}@127.0.0.1` }, 'true', { password: 'whatever-pw' });
  t.not(malformed.code, 0);
  t.match((await waitForEvent(lab.gw, 'login-failed', (f) => f.reason === 'malformed-username')).fields, { gatewayUser: null, backend: null, detail: /otp/ });

  for (let i = 0; i < 6 && !lab.gw.events.some((e) => e.eventId === 'rate-limit-lockout'); i++) await runSsh(lab.viaGateway(), 'true', { password: `wrong-${i}` });
  const lockout = await waitForEvent(lab.gw, 'rate-limit-lockout');
  t.match(lockout, { severity: 'warning', fields: { clientIp: '127.0.0.1', failures: 4, sessionId: /^[0-9a-f]{12}$/ } });
  const refused = await runSsh(lab.viaGateway(), 'true', { password: lab.sshd.password });
  t.not(refused.code, 0, 'the right password is refused while locked out');
  t.match((await waitForEvent(lab.gw, 'rate-limit-refused')).fields, { clientIp: '127.0.0.1', retryAfterMs: Number });

  const everything = JSON.stringify(lab.gw.events);
  for (const secret of [lab.sshd.password, 'not-the-password', 'whatever-pw', 'wrong-0']) t.notMatch(everything, secret, 'no password in any event');
  t.notMatch(everything, /otp=1|otp=2/, 'no key/value value of a login name in any event');
  t.ok(lab.gw.logs.filter((l) => l.event === 'login-failed').length >= 3, 'the log line of each event carries its id');
  t.equal(lab.gw.logs.filter((l) => l.msg === 'gateway authentication failed').length, 0, 'no second, untagged line for the same failure');
});

t.test('usermapping, target and channel refusals', async (t) => {
  const lab = await startLab(t, { extraUsers: ['alice'], policy: { channels: ['exec'] } });
  const user = lab.sshd.user;
  const mapped = await runSsh({ port: lab.gw.port, user: `gu=alice@${user}@127.0.0.1:${lab.sshd.port}` }, 'true', { key: lab.key });
  t.equal(mapped.code, 255);
  t.match((await waitForEvent(lab.gw, 'usermapping-denied')).fields, { gatewayUser: 'alice', serverUser: user, target: `127.0.0.1:${lab.sshd.port}`, policy: 'test', clientIp: '127.0.0.1' });
  t.match((await waitForEvent(lab.gw, 'session-ended', (f) => f.gatewayUser === 'alice')).fields, { result: 'refused', reason: 'usermapping-denied', upstream: false });

  const elsewhere = await runSsh({ port: lab.gw.port, user: `${user}@10.20.30.40:22` }, 'true', { key: lab.key });
  t.equal(elsewhere.code, 255);
  t.match((await waitForEvent(lab.gw, 'target-denied')).fields, { gatewayUser: user, target: '10.20.30.40:22', reason: 'not-allowed', policy: 'test' });

  const sftp = await runSftp(lab.viaGateway(), 'ls\n', { key: lab.key });
  t.not(sftp.code, 0);
  t.match((await waitForEvent(lab.gw, 'channel-denied')).fields, { gatewayUser: user, channel: 'subsystem', detail: 'sftp', reason: /sftp channels are not allowed/ });
  t.match((await waitForEvent(lab.gw, 'target-host-key-learned')).fields, { target: `127.0.0.1:${lab.sshd.port}`, fingerprint: lab.sshd.hostKeyFingerprint });
});

t.test('TOTP plugin: MFA denied, accepted, and skipped through the authentication cache and the whitelist', async (t) => {
  const seed = generateSeed('SHA1');
  const code = (offset = 0): string => hotp(seed, timeStep(Date.now() / 1000, 30) + offset, 6);
  const valid = new Set([code(-1), code(), code(1)]);
  const wrongCode = ['000000', '111111', '222222', '333333'].find((candidate) => !valid.has(candidate)) as string;
  let text = (await readFile(new URL('../../src/plugins/totp/default.cfg', import.meta.url), 'utf8')).replace('\nreuse_limit=0\n', '\nreuse_limit=1\n');
  text += '\n[whitelist source=user_list]\nname=breakglass\n';
  const lab = await startLab(t, {
    extraUsers: ['listed'],
    policy: { aaPluginConfiguration: 'otp', usermapping: [{ gatewayUsers: ['listed', TEST_USER], serverUsers: ['*'] }] },
    aa: {
      configurations: [{ name: 'otp', plugin: 'totp', text }],
      userLists: [{ name: 'breakglass', users: ['listed'] }],
      prepare: async (dataDir) => {
        await installTotpPlugin(dataDir);
        await storePluginSecrets(dataDir, [{ scope: 'otp', section: 'totp_seed', option: TEST_USER, value: encodeBase32(seed) }]);
      },
    },
  });
  const login = (otp?: string, as?: string) => lab.viaGateway(`${otp !== undefined ? `otp=${otp}@` : ''}${as ? `gu=${as}@` : ''}${lab.sshd.user}`);

  const wrong = await runSsh(login(wrongCode), 'true', { key: lab.key });
  t.equal(wrong.code, 255);
  t.match((await waitForEvent(lab.gw, 'mfa-denied')).fields, { gatewayUser: TEST_USER, aaConfig: 'otp', reason: 'Authentication failed' });
  t.match((await waitForEvent(lab.gw, 'login-failed', (f) => f.reason === 'mfa-denied')).fields, { method: 'publickey', backend: 'local', failures: 1 });

  const good = await runSsh(login(code()), 'true', { key: lab.key });
  t.equal(good.code, 0, good.stderr);
  t.match((await waitForEvent(lab.gw, 'mfa-accepted')).fields, { gatewayUser: TEST_USER, aaConfig: 'otp', plugin: 'totp', authentication: 'otp', mfaIdentity: String });
  t.match((await waitForEvent(lab.gw, 'login-succeeded')).fields, { gatewayUser: TEST_USER, method: 'publickey', backend: 'local', aaConfig: 'otp' });

  const cached = await runSsh(login(), 'true', { key: lab.key, answers: [['One-time password', 'not-asked']] });
  t.equal(cached.code, 0, cached.stderr);
  t.same(cached.prompts, [], 'the cache skips the OTP');
  t.match((await waitForEvent(lab.gw, 'mfa-bypassed', (f) => f.bypass === 'authentication_cache')), { severity: 'notice', fields: { gatewayUser: TEST_USER, aaConfig: 'otp', plugin: 'totp' } });
  await waitForEvent(lab.gw, 'mfa-accepted', (f) => f.authentication === 'authentication_cache');

  const listed = await runSsh(login(undefined, 'listed'), 'true', { key: lab.key });
  t.equal(listed.code, 0, listed.stderr);
  t.match((await waitForEvent(lab.gw, 'mfa-bypassed', (f) => f.bypass === 'whitelist')).fields, { gatewayUser: 'listed' });

  const pluginLine = await waitForEvent(lab.gw, 'plugin-log', (f) => f.plugin === 'totp');
  t.match(pluginLine, { source: 'plugin:totp', name: /^plugin:totp: / });
  // The log lines carry the same ids.
  for (const id of ['mfa-denied', 'mfa-accepted', 'mfa-bypassed', 'login-succeeded', 'session-ended']) t.ok(lab.gw.logs.some((l) => l.event === id), `log line ${id}`);

  const everything = JSON.stringify([lab.gw.events, lab.gw.logs]);
  t.notMatch(everything, encodeBase32(seed), 'the seed is in no event');
  t.notMatch(everything, `otp=${wrongCode}`, 'no OTP of a login name is in an event');
  t.notMatch(everything, /not-asked/, 'no answer is in an event');
});

t.test('an AA plugin configuration that cannot start is reported', async (t) => {
  const lab = await startLab(t, {
    policy: { aaPluginConfiguration: 'gone' },
    aa: { configurations: [{ name: 'gone', plugin: 'not_installed', text: '' }], prepare: async () => undefined },
  });
  t.match((await waitForEvent(lab.gw, 'aa-plugin-unavailable')), { severity: 'error', fields: { aaConfig: 'gone', plugin: 'not_installed', reason: /not installed/ } });
  const run = await runSsh(lab.viaGateway(), 'true', { key: lab.key });
  t.equal(run.code, 255, 'its policy denies every login');
  t.match((await waitForEvent(lab.gw, 'mfa-denied')).fields, { aaConfig: 'gone', reason: /not running/ });
});
