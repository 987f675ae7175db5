// The administrator's path, with nothing but the `gatehouse` CLI and `gatehouse serve`: install the
// TOTP plugin zip the build made, create a configuration of it, attach it to a connection policy,
// enroll a person; then a plain OpenSSH user logs in with their password and is asked for the
// one-time password. Afterwards the seed is searched for everywhere it must not be.
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { decodeBase32 } from '../../src/plugins/totp/base32.js';
import { hotp, timeStep } from '../../src/plugins/totp/hotp.js';
import { dropTapSpawnHook } from '../aa/sandbox/helpers/plain-sandbox.js';
import { gatehouse, startServe, type CliRun } from '../helpers/cli.js';
import { builtInPluginZip } from './helpers/aa.js';
import { freePort } from './helpers/ports.js';
import { runSsh } from './helpers/ssh-client.js';
import { startSshd } from './helpers/sshd.js';

t.test('install, configure, attach, enroll, log in with password and OTP', async (t) => {
  // The gateway starts plugin workers confined to the plugin's files: tap's loader must not reach
  // the gateway process, or it would add itself to the workers too.
  dropTapSpawnHook();
  const sshd = await startSshd(t);
  const data = await mkdtemp(join(tmpdir(), 'gh-aa-admin-'));
  t.teardown(() => rm(data, { recursive: true, force: true }));
  const env = { GATEHOUSE_DATA: data, GATEHOUSE_ORIGIN: 'console' };
  const outputs: CliRun[] = [];
  const ok = async (args: string[], input = ''): Promise<CliRun> => {
    const run = await gatehouse(args, env, input);
    outputs.push(run);
    t.equal(run.code, 0, `gatehouse ${args.join(' ')}: ${run.stderr}`);
    return run;
  };

  await ok(['plugin', 'install', await builtInPluginZip('totp')]);
  await ok(['plugin', 'config', 'create', 'otp', '--plugin', 'totp']);
  const port = await freePort();
  const config = JSON.parse((await ok(['config', 'show'])).stdout);
  config.connectionPolicies = [
    {
      name: 'mfa',
      listen: { address: '127.0.0.1', port },
      targets: [{ host: '127.0.0.1', ports: '*' }],
      credentials: { type: 'passthrough' },
      aaPluginConfiguration: 'otp',
      keepaliveSeconds: 0,
    },
  ];
  await writeFile(join(data, 'policy.json'), JSON.stringify(config));
  await ok(['config', 'apply', join(data, 'policy.json'), '-m', 'TOTP on the mfa policy']);
  await ok(['user', 'add', sshd.user, '--password-stdin'], `${sshd.password}\n`);
  await ok(['credstore', 'init']);
  const enrolled = await ok(['totp', 'enroll', sshd.user, '--config', 'otp']);
  const secret = new URL(enrolled.stdout.trim().split('\n').at(-1) as string).searchParams.get('secret') as string;
  t.match(secret, /^[A-Z2-7]{32}$/, 'a 160-bit base32 seed');

  const serve = startServe(t, env);
  await serve.waitFor('gateway started');
  t.match(serve.output(), 'AA plugin configuration ready');

  const code = hotp(decodeBase32(secret), timeStep(Date.now() / 1000, 30), 6);
  const target = { port, user: `${sshd.user}@127.0.0.1:${sshd.port}` };
  const login = await runSsh(target, 'whoami', { answers: [['One-time password', code], ["'s password", sshd.password]] });
  t.equal(login.code, 0, login.stderr);
  t.equal(login.stdout.toString(), `${sshd.user}\n`);
  t.equal(login.prompts.length, 2, 'asked for the password, then the one-time password');
  const noCode = await runSsh(target, 'whoami', { answers: [["'s password", sshd.password]] });
  t.equal(noCode.code, 255, 'no OTP, no login');

  await serve.stop();
  const serveOutput = serve.output();
  t.match(serveOutput, '"event":"mfa-denied"');
  const files = await readdir(data, { recursive: true, withFileTypes: true });
  const fileTexts = await Promise.all(files.filter((f) => f.isFile()).map((f) => readFile(join(f.parentPath, f.name), 'latin1')));
  const haystacks = {
    'gateway output': serveOutput,
    'other CLI output': outputs.filter((o) => o !== enrolled).map((o) => o.stdout + o.stderr).join('\n'),
    'data directory': fileTexts.join('\n'),
  };
  for (const [where, text] of Object.entries(haystacks)) {
    t.notOk(text.includes(secret), `the seed is not in the ${where}`);
    t.notOk(text.includes(sshd.password), `the password is not in the ${where}`);
  }
});
