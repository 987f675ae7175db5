// Credential injection end to end: the person knows only their gateway password; the gateway logs
// in to a real sshd with the password or key from the encrypted local credential store, through the
// real `gatehouse` CLI and `gatehouse serve`. Then every log line, CLI message, file in the data
// directory and process argument list seen during the run is searched for each secret: zero hits.
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { cliPath, gatehouse, type CliRun } from '../helpers/cli.js';
import { freePort } from './helpers/ports.js';
import { makeClientKey, runSsh, type SshRun } from './helpers/ssh-client.js';
import { startSshd } from './helpers/sshd.js';

const execFileP = promisify(execFile);

t.test('the gateway logs in with stored credentials; no secret leaks anywhere', async (t) => {
  const sshd = await startSshd(t);
  // A short path: the control socket's path must fit in a Unix socket address.
  const data = await mkdtemp(join(tmpdir(), 'gh-inject-'));
  t.teardown(() => rm(data, { recursive: true, force: true }));
  const env = { GATEHOUSE_DATA: data, GATEHOUSE_ORIGIN: 'console' };
  const aliceGatewayPassword = 'alice gateway pässword';
  const storeParts = ['first custodian part', 'second custodian part'];
  const targetKey = await makeClientKey(t);
  const targetKeyText = await readFile(targetKey.privatePath, 'utf8');
  await sshd.authorizeKey(targetKey.publicLine);
  const secrets = [sshd.password, aliceGatewayPassword, ...storeParts, ...keyBodyLines(targetKeyText)];

  const outputs: CliRun[] = [];
  const cli = async (args: string[], input = ''): Promise<CliRun> => {
    const run = await gatehouse(args, env, input);
    outputs.push(run);
    return run;
  };
  const ok = async (args: string[], input = ''): Promise<CliRun> => {
    const run = await cli(args, input);
    t.equal(run.code, 0, `gatehouse ${args.join(' ')}: ${run.stderr}`);
    return run;
  };

  // Configuration: alice may log in to the sshd as its account, with credentials from the store.
  const port = await freePort();
  const config = JSON.parse((await ok(['config', 'show'])).stdout);
  config.connectionPolicies = [
    {
      name: 'injected',
      listen: { address: '127.0.0.1', port },
      targets: [{ host: '127.0.0.0/8', ports: '*' }, { host: 'localhost', ports: '*' }],
      credentials: { type: 'credential-store', store: 'local' },
      usermappingPolicy: 'alice-admin',
      keepaliveSeconds: 0,
    },
  ];
  config.usermappingPolicies = [{ name: 'alice-admin', rules: [{ gatewayUsers: ['alice'], serverUsers: [sshd.user] }] }];
  await writeFile(join(data, 'policy.json'), JSON.stringify(config));
  await ok(['config', 'apply', join(data, 'policy.json'), '-m', 'credential store policy']);
  await ok(['user', 'add', 'alice', '--password-stdin'], `${aliceGatewayPassword}\n`);

  // A two-part passphrase store holding the account's password (for 127.0.0.1) and a key (for localhost).
  await ok(['credstore', 'init', '--passphrase', '--parts', '2'], `${storeParts.join('\n')}\n`);
  await ok(['credstore', 'add', 'target', '--host', '127.0.0.1', '--user', sshd.user, '--password'], `${storeParts.join('\n')}\n${sshd.password}\n`);
  await ok(['credstore', 'add', 'target', '--host', 'localhost', '--user', sshd.user, '--key', targetKey.privatePath], `${storeParts.join('\n')}\n`);
  const listed = await ok(['credstore', 'list']);
  t.match(listed.stdout, `target ${sshd.user}@127.0.0.1`);
  t.match(listed.stdout, `target ${sshd.user}@localhost`);

  const serve = spawn(process.execPath, [cliPath, 'serve'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => serve.kill('SIGKILL'));
  let serveOutput = '';
  serve.stdout.on('data', (chunk: Buffer) => (serveOutput += chunk.toString()));
  serve.stderr.on('data', (chunk: Buffer) => (serveOutput += chunk.toString()));
  for (let waited = 0; !serveOutput.includes('gateway started') && waited < 15_000; waited += 50) await new Promise((r) => setTimeout(r, 50));
  t.match(serveOutput, 'credential store is locked');

  const processLists: string[] = [];
  const login = async (target: string): Promise<SshRun> => {
    const running = runSsh({ port, user: `gu=alice@${sshd.user}@${target}:${sshd.port}` }, 'whoami', { password: aliceGatewayPassword });
    processLists.push((await execFileP('ps', ['-eww', '-o', 'args'])).stdout);
    return running;
  };

  const locked = await login('127.0.0.1');
  t.equal(locked.code, 255);
  t.match(locked.stderr, /^gatehouse: credential store is locked\r?\n$/);

  const wrong = await cli(['credstore', 'unlock'], 'first custodian part\nnot the second part\n');
  t.equal(wrong.code, 1);
  t.match(wrong.stderr, 'wrong passphrase');
  await ok(['credstore', 'unlock'], `${storeParts.join('\n')}\n`);
  t.match((await ok(['credstore', 'status'])).stdout, 'unlocked: true');

  const withPassword = await login('127.0.0.1');
  t.equal(withPassword.code, 0, withPassword.stderr);
  t.equal(withPassword.stdout.toString(), `${sshd.user}\n`, 'logged in with the stored password');
  const withKey = await login('localhost');
  t.equal(withKey.code, 0, withKey.stderr);
  t.equal(withKey.stdout.toString(), `${sshd.user}\n`, 'logged in with the stored key');
  t.match(sshd.logs(), /Accepted password for gh-e2e/);
  t.match(sshd.logs(), /Accepted publickey for gh-e2e/);

  const noEntry = await login('127.0.0.2');
  t.equal(noEntry.code, 255);
  t.match(noEntry.stderr, `no stored credential for ${sshd.user} on this target`);

  await ok(['credstore', 'lock']);
  const relocked = await login('127.0.0.1');
  t.match(relocked.stderr, /credential store is locked/);

  serve.kill('SIGTERM');
  await new Promise((resolve) => serve.on('exit', resolve));

  // The search: logs, every CLI message, every file of the data directory, every process list.
  const files = await readdir(data, { recursive: true, withFileTypes: true });
  const fileTexts = await Promise.all(files.filter((f) => f.isFile()).map((f) => readFile(join(f.parentPath, f.name), 'latin1')));
  const haystacks = {
    'gateway output': serveOutput,
    'CLI output': outputs.map((o) => o.stdout + o.stderr).join('\n'),
    'data directory': fileTexts.join('\n'),
    'process arguments': processLists.join('\n'),
    'client messages': [locked, withPassword, withKey, noEntry, relocked].map((r) => r.stderr).join('\n'),
  };
  t.ok(serveOutput.includes('session-ended'), 'the gateway did log sessions');
  for (const [where, text] of Object.entries(haystacks)) {
    const hits = secrets.filter((secret) => text.includes(secret) || text.includes(Buffer.from(secret).toString('base64')));
    t.equal(hits.length, 0, `no secret in the ${where}`);
  }
});

/** Long lines of the key's base64 body: any of them showing up means the key leaked. */
function keyBodyLines(pem: string): string[] {
  return pem.split('\n').filter((line) => line.length >= 40 && !line.startsWith('-----'));
}
