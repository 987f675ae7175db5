// The `gatehouse` command as a user runs it (the built CLI in a child process): help, the embedded
// default on a fresh data directory, a kept host key, invalid configurations, user management.
import { execFile, spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { canConnect } from '../e2e/helpers/ports.js';

const execFileP = promisify(execFile);
const cli = join(import.meta.dirname, '../../dist/src/cli/main.js');

async function gatehouse(args: string[], env: Record<string, string> = {}, input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, ...args], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(input ?? '');
  });
}

t.test('help lists every command; unknown commands are refused', async (t) => {
  const help = await gatehouse(['--help']);
  t.equal(help.code, 0);
  for (const command of ['serve', 'check-config', 'user add', 'user passwd', 'user remove', 'user list', 'GATEHOUSE_DATA']) t.match(help.stdout, command);
  const serveHelp = await gatehouse(['serve', '--help']);
  t.equal(serveHelp.code, 0);
  t.match(serveHelp.stdout, /127\.0\.0\.1:2222/);
  const unknown = await gatehouse(['frobnicate']);
  t.equal(unknown.code, 2);
  t.match(unknown.stderr, /unknown command "frobnicate"/);
});

t.test('serve on a fresh data directory: embedded default, host key kept across restarts', async (t) => {
  t.notOk(await canConnect(2222), 'port 2222 must be free for this test (the embedded default listens there)');
  const data = join(t.testdir(), 'var');
  const fingerprints: string[] = [];
  for (let run = 0; run < 2; run++) {
    const child = spawn(process.execPath, [cli, 'serve'], { env: { ...process.env, GATEHOUSE_DATA: data }, stdio: ['ignore', 'pipe', 'pipe'] });
    t.teardown(() => child.kill('SIGKILL'));
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout.resume();
    const deadline = Date.now() + 15_000;
    while (!/listens on 127\.0\.0\.1:2222/.test(stderr) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    t.match(stderr, /ssh -p 2222 SERVER_USER@TARGET@127\.0\.0\.1/, 'says how to connect');
    const printed = /Host key fingerprint: (SHA256:\S+)/.exec(stderr)?.[1];
    // The fingerprint printed must be the key a real client is offered.
    const scan = await execFileP('ssh-keyscan', ['-p', '2222', '-t', 'ed25519', '127.0.0.1']);
    const offered = scan.stdout.trim().split(/\s+/).slice(1).join(' ');
    const keygen = spawn('ssh-keygen', ['-lf', '-'], { stdio: ['pipe', 'pipe', 'ignore'] });
    keygen.stdin.end(`${offered}\n`);
    let line = '';
    for await (const chunk of keygen.stdout) line += String(chunk);
    t.equal(printed, line.split(' ')[1], 'printed fingerprint matches the key ssh-keyscan is offered');
    fingerprints.push(printed ?? '');
    const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    t.equal(await exited, 0, 'SIGTERM stops the gateway cleanly');
  }
  t.equal(fingerprints[0], fingerprints[1], 'the host key is generated once and kept');
  const config = JSON.parse(await readFile(join(data, 'config.json'), 'utf8'));
  t.equal(config.connectionPolicies[0].listen.port, 2222);
});

t.test('an invalid configuration stops the gateway and names each bad value', async (t) => {
  const data = t.testdir({
    'config.json': JSON.stringify({
      connectionPolicies: [{ name: 'p', listen: { port: 70000 }, targets: [{ host: '10.0.0.0/33' }], channelPolicy: 'missing' }],
      channelPolicies: [{ name: 'default', channels: ['shell', 'telepathy'] }],
    }),
  });
  const run = await gatehouse(['serve'], { GATEHOUSE_DATA: data });
  t.equal(run.code, 1);
  t.match(run.stderr, /connectionPolicies\.0\.listen\.port: .*65535/);
  t.match(run.stderr, /connectionPolicies\.0\.targets\.0.*\/33/);
  t.match(run.stderr, /channelPolicies\.0\.channels\.1: .*expected one of/);

  // References between sections are checked once each section is valid on its own.
  await writeFile(join(data, 'config.json'), JSON.stringify({ connectionPolicies: [{ name: 'p', targets: [{ host: '10.0.0.0/8' }], channelPolicy: 'missing' }] }));
  const dangling = await gatehouse(['serve'], { GATEHOUSE_DATA: data });
  t.equal(dangling.code, 1);
  t.match(dangling.stderr, /connectionPolicies\.0\.channelPolicy: no channel policy named "missing"/);
  t.match(run.stderr, /not started/);

  await writeFile(join(data, 'config.json'), '{ "users": [ }');
  const broken = await gatehouse(['check-config'], { GATEHOUSE_DATA: data });
  t.equal(broken.code, 1);
  t.match(broken.stderr, /not valid JSON/);
});

t.test('user add/list/passwd/remove keep only scrypt hashes', async (t) => {
  const data = t.testdir();
  const env = { GATEHOUSE_DATA: data };
  const added = await gatehouse(['user', 'add', 'alice', '--password-stdin'], env, 'correct horse battery\n');
  t.equal(added.code, 0, added.stderr);
  const text = await readFile(join(data, 'config.json'), 'utf8');
  t.notMatch(text, /correct horse/, 'no plain password on disk');
  t.match(JSON.parse(text).users[0], { name: 'alice', passwordHash: /^\$scrypt\$/ });
  t.match((await gatehouse(['user', 'list'], env)).stdout, /alice\tpassword:yes\tkeys:0/);
  const dup = await gatehouse(['user', 'add', 'alice', '--password-stdin'], env, 'x\n');
  t.equal(dup.code, 1);
  t.match(dup.stderr, /already exists/);
  const empty = await gatehouse(['user', 'add', 'bob', '--password-stdin'], env, '\n');
  t.equal(empty.code, 1);
  t.match(empty.stderr, /empty password refused/);
  const before = JSON.parse(await readFile(join(data, 'config.json'), 'utf8')).users[0].passwordHash;
  t.equal((await gatehouse(['user', 'passwd', 'alice'], env, 'another passphrase\n')).code, 0);
  const after = JSON.parse(await readFile(join(data, 'config.json'), 'utf8')).users[0].passwordHash;
  t.not(after, before, 'passwd replaces the hash');
  t.equal((await gatehouse(['user', 'remove', 'alice'], env)).code, 0);
  t.equal((await gatehouse(['check-config'], env)).code, 0);
  t.notMatch((await gatehouse(['user', 'list'], env)).stdout, /alice/);
});
