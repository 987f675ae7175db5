// The TOTP plugin end to end: the zip `npm run build` makes is installed into the gateway's data
// directory, a configuration of it is attached to the connection policy, the person's seed is in
// the credential store, and a real OpenSSH client logs in through the gateway to a real sshd.
import { readFile } from 'node:fs/promises';
import t from 'tap';
import { encodeBase32 } from '../../src/plugins/totp/base32.js';
import { hotp, timeStep } from '../../src/plugins/totp/hotp.js';
import { generateSeed } from '../../src/plugins/totp/seed.js';
import { installTotpPlugin, storePluginSecrets } from './helpers/aa.js';
import { TEST_USER } from './helpers/account.js';
import { startLab, type Lab } from './helpers/lab.js';
import { runSsh, spawnSsh } from './helpers/ssh-client.js';

const defaultCfg = new URL('../../src/plugins/totp/default.cfg', import.meta.url);
const seed = generateSeed('SHA1');

/** The code of the time step `offset` steps from now. */
function code(offset = 0): string {
  return hotp(seed, timeStep(Date.now() / 1000, 30) + offset, 6);
}

/** A code that none of the accepted steps (now ± 1) has. */
function wrongCode(): string {
  const valid = new Set([code(-1), code(), code(1)]);
  return ['000000', '111111', '222222', '333333'].find((candidate) => !valid.has(candidate)) as string;
}

interface TotpLab extends Lab {
  /** The login name through the gateway, with `otp=` when a code is given. */
  login(otp?: string, user?: string): ReturnType<Lab['viaGateway']>;
}

/**
 * A lab whose policy runs the TOTP plugin with default.cfg, its `name=value` lines replaced as
 * `changes` say and `extra` sections added (a section may appear only once).
 */
async function totpLab(tt: Parameters<typeof startLab>[0], changes: Record<string, string> = {}, extra = '', userLists: unknown[] = []): Promise<TotpLab> {
  let text = await readFile(defaultCfg, 'utf8');
  for (const [from, to] of Object.entries(changes)) {
    if (!text.includes(`\n${from}\n`)) throw new Error(`default.cfg has no line ${from}`);
    text = text.replace(`\n${from}\n`, `\n${to}\n`);
  }
  text += `\n${extra}`;
  const lab = await startLab(tt, {
    extraUsers: ['stranger'],
    policy: { aaPluginConfiguration: 'otp', usermapping: [{ gatewayUsers: ['stranger'], serverUsers: ['*'] }] },
    aa: {
      configurations: [{ name: 'otp', plugin: 'totp', text }],
      userLists,
      prepare: async (dataDir) => {
        await installTotpPlugin(dataDir);
        await storePluginSecrets(dataDir, [{ scope: 'otp', section: 'totp_seed', option: TEST_USER, value: encodeBase32(seed) }]);
      },
    },
  });
  return { ...lab, login: (otp, as = lab.sshd.user) => lab.viaGateway(`${otp !== undefined ? `otp=${otp}@` : ''}${as === lab.sshd.user ? '' : `gu=${as}@`}${lab.sshd.user}`) };
}

t.test('OTP asked interactively, given in the login name, wrong, replayed', async (t) => {
  const lab = await totpLab(t);
  // One code for both logins: computed twice, a step boundary in between would make it a new code.
  const first = code();
  const asked = await runSsh(lab.login(), 'echo in', { key: lab.key, answers: [['One-time password', first]] });
  t.equal(asked.code, 0, asked.stderr);
  t.equal(asked.stdout.toString(), 'in\n');
  t.match(asked.prompts, [/\) One-time password: $/], 'the [auth] prompt of the configuration');

  const replayed = await runSsh(lab.login(first), 'true', { key: lab.key });
  t.equal(replayed.code, 255, 'the same code again is refused');
  await lab.gw.waitForLog((l) => l.plugin === 'totp' && /refused: .*(replay|already)/i.test(String(l.msg)));

  const wrong = await runSsh(lab.login(wrongCode()), 'true', { key: lab.key });
  t.equal(wrong.code, 255, 'a wrong code is refused');
  const denied = lab.gw.logs.filter((l) => l.event === 'mfa-denied');
  t.equal(denied.length, 2);
  t.ok(denied.every((l) => l.reason === 'Authentication failed'), 'the plugin’s reason is logged');

  const inName = await runSsh(lab.login(code(1)), 'echo named', { key: lab.key });
  t.equal(inName.stdout.toString(), 'named\n', 'otp=<next step’s code>@user@target logs in without a prompt (clock drift window)');
  t.same(inName.prompts, []);

  const logs = JSON.stringify(lab.gw.logs);
  t.notMatch(logs, encodeBase32(seed), 'the seed never reaches the log');
  for (const offset of [0, 1]) t.notMatch(logs, `otp=${code(offset)}`, 'codes in the login name never reach the log');
});

t.test('[authentication_cache]: the next reuse_limit logins skip MFA, then it is asked again', async (t) => {
  const lab = await totpLab(t, { 'reuse_limit=0': 'reuse_limit=2' });
  const first = await runSsh(lab.login(code()), 'true', { key: lab.key });
  t.equal(first.code, 0, first.stderr);
  for (const n of [1, 2]) {
    const cached = await runSsh(lab.login(), 'true', { key: lab.key, answers: [['One-time password', 'not-asked']] });
    t.equal(cached.code, 0, `reuse ${n}: ${cached.stderr}`);
    t.same(cached.prompts, [], `reuse ${n}: no prompt`);
  }
  const again = await runSsh(lab.login(), 'true', { key: lab.key, answers: [['One-time password', wrongCode()]] });
  t.equal(again.prompts.length, 1, 'after reuse_limit logins the OTP is asked again');
  t.equal(again.code, 255);
  const accepted = lab.gw.logs.filter((l) => l.event === 'session-ended' && l.upstream === true);
  t.same(accepted.map((l) => JSON.parse(String((JSON.parse(String(l.aaMetadata)) as { additionalMetadata: string }).additionalMetadata)).authentication), ['otp', 'authentication_cache', 'authentication_cache']);
});

t.test('[whitelist source=user_list]: listed users skip MFA, others do not (names compare case-sensitively)', async (t) => {
  const lab = await totpLab(t, {}, '[whitelist source=user_list]\nname=breakglass\n', [{ name: 'breakglass', users: [TEST_USER, 'STRANGER'] }]);
  const listed = await runSsh(lab.login(), 'echo skipped', { key: lab.key });
  t.equal(listed.stdout.toString(), 'skipped\n', listed.stderr);
  await lab.gw.waitForLog((l) => l.plugin === 'totp' && /skips MFA: whitelisted/.test(String(l.msg)));
  const other = await runSsh(lab.login(undefined, 'stranger'), 'true', { key: lab.key, answers: [['One-time password', wrongCode()]] });
  t.equal(other.prompts.length, 1, '"stranger" is not "STRANGER": asked for the OTP');
  t.equal(other.code, 255);
});

t.test('[question_1]: the ticket number is asked after the OTP and stored with the session', async (t) => {
  const lab = await totpLab(t, {}, '[question_1]\nkey=ticket\nprompt=Ticket number:\ndisable_echo=no\n');
  const run = await runSsh(lab.login(code()), 'true', { key: lab.key, answers: [['Ticket number', 'CHG-42']] });
  t.equal(run.code, 0, run.stderr);
  t.match(run.prompts, [/\) Ticket number: $/]);
  const end = await lab.gw.waitForLog((l) => l.event === 'session-ended');
  t.same((JSON.parse(String(end.aaMetadata)) as { questions: unknown }).questions, { ticket: 'CHG-42' });
});

t.test('[connection_limit]: a second parallel session is refused until the first ends', async (t) => {
  const lab = await totpLab(t, { 'limit=0': 'limit=1', 'reuse_limit=0': 'reuse_limit=5' });
  const first = spawnSsh(lab.login(code()), 'sleep 60', { key: lab.key, t });
  await lab.gw.waitForLog((l) => l.event === 'session-started');
  const second = await runSsh(lab.login(), 'true', { key: lab.key });
  t.not(second.code, 0, 'refused while the first session runs');
  t.match(second.stderr, /Connection limit reached/);
  await first.kill();
  const deadline = Date.now() + 10_000;
  let third = await runSsh(lab.login(), 'echo third', { key: lab.key });
  // session_ended gives the slot back right after the first connection closes.
  while (third.code !== 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    third = await runSsh(lab.login(), 'echo third', { key: lab.key });
  }
  t.equal(third.stdout.toString(), 'third\n', 'the slot is free again once the first session ended');
});
