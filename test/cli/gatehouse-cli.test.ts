// The `gatehouse` command as a user runs it (the built CLI in a child process): help, the embedded
// default on a fresh data directory, a kept host key, invalid configurations, user management.
import { execFile, spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { canConnect } from '../e2e/helpers/ports.js';
import { cliPath as cli, gatehouse } from '../helpers/cli.js';

const execFileP = promisify(execFile);

t.test('help lists every command; unknown commands are refused', async (t) => {
  const help = await gatehouse(['--help']);
  t.equal(help.code, 0);
  for (const command of ['serve', 'config show', 'seal', 'unseal', 'user add', 'user passwd', 'user remove', 'user list', 'GATEHOUSE_DATA', 'GATEHOUSE_ORIGIN']) {
    t.match(help.stdout, command);
  }
  for (const command of ['serve', 'config', 'seal', 'unseal', 'user', 'credstore', 'plugin', 'totp', 'backup', 'restore']) {
    const sub = await gatehouse([command, '--help']);
    t.equal(sub.code, 0, `${command} --help`);
    t.match(sub.stdout, `Usage: gatehouse ${command}`);
  }
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
  const shown = await gatehouse(['config', 'show'], { GATEHOUSE_DATA: data });
  t.equal(JSON.parse(shown.stdout).connectionPolicies[0].listen.port, 2222, 'the embedded default is version 1');
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

  await writeFile(join(data, 'broken.json'), '{ "users": [ }');
  const broken = await gatehouse(['config', 'validate', join(data, 'broken.json')], { GATEHOUSE_DATA: data });
  t.equal(broken.code, 1);
  t.match(broken.stderr, /broken\.json: not valid JSON/);
});

t.test('user add/list/passwd/remove keep only scrypt hashes', async (t) => {
  const data = t.testdir();
  const env = { GATEHOUSE_DATA: data };
  const added = await gatehouse(['user', 'add', 'alice', '--password-stdin'], env, 'correct horse battery\n');
  t.equal(added.code, 0, added.stderr);
  const text = (await gatehouse(['config', 'show'], env)).stdout;
  t.notMatch(await treeText(data), /correct horse/, 'no plain password on disk');
  t.match(JSON.parse(text).users[0], { name: 'alice', passwordHash: /^\$scrypt\$/ });
  t.match((await gatehouse(['user', 'list'], env)).stdout, /alice\tpassword:yes\tkeys:0/);
  const dup = await gatehouse(['user', 'add', 'alice', '--password-stdin'], env, 'x\n');
  t.equal(dup.code, 1);
  t.match(dup.stderr, /already exists/);
  const empty = await gatehouse(['user', 'add', 'bob', '--password-stdin'], env, '\n');
  t.equal(empty.code, 1);
  t.match(empty.stderr, /empty secret refused/);
  const hashOf = async (): Promise<string> => JSON.parse((await gatehouse(['config', 'show'], env)).stdout).users[0].passwordHash;
  const before = await hashOf();
  t.equal((await gatehouse(['user', 'passwd', 'alice'], env, 'another passphrase\n')).code, 0);
  const after = await hashOf();
  t.not(after, before, 'passwd replaces the hash');
  t.equal((await gatehouse(['user', 'remove', 'alice'], env)).code, 0);
  t.equal((await gatehouse(['config', 'validate'], env)).code, 0);
  t.notMatch((await gatehouse(['user', 'list'], env)).stdout, /alice/);
});

t.test('config history, diff, apply, rollback and sealed mode through the CLI', async (t) => {
  const data = t.testdir();
  const remote = { GATEHOUSE_DATA: data, GATEHOUSE_ORIGIN: 'remote' };
  const console = { GATEHOUSE_DATA: data, GATEHOUSE_ORIGIN: 'console' };
  const current = JSON.parse((await gatehouse(['config', 'show'], remote)).stdout);
  current.connectionPolicies[0].listen.port = 2299;
  await writeFile(join(data, 'next.json'), JSON.stringify(current));
  const applied = await gatehouse(['config', 'apply', join(data, 'next.json'), '-m', 'move to 2299'], remote);
  t.equal(applied.code, 0, applied.stderr);
  t.match(applied.stdout, /committed version 2/);

  const history = (await gatehouse(['config', 'history'], remote)).stdout.trim().split('\n');
  t.equal(history.length, 2);
  t.match(history[0], /^2\t\S+\tremote\t\S+\tunsealed\tmove to 2299$/);
  t.match(history[1], /^1\t.*\tconsole\tgatehouse\tunsealed\tinitial configuration$/);
  const diff = await gatehouse(['config', 'diff', '1'], remote);
  t.match(diff.stdout, /-\s+"port": 2222/);
  t.match(diff.stdout, /\+\s+"port": 2299/);

  const bad = await gatehouse(['config', 'rollback', '9'], remote);
  t.equal(bad.code, 1);
  t.match(bad.stderr, /no version 9/);

  t.equal((await gatehouse(['user', 'add', 'alice', '--password-stdin'], remote, 'pw\n')).code, 0);
  const remoteSeal = await gatehouse(['seal'], remote);
  t.equal(remoteSeal.code, 1);
  t.match(remoteSeal.stderr, /only from the local console/);
  t.equal((await gatehouse(['seal'], console)).code, 0);
  // Every kind of change: configuration, admin passwords, credential-store entries, backups, unsealing.
  t.equal((await gatehouse(['credstore', 'init'], console)).code, 0, 'the console may still change a sealed appliance');
  await gatehouse(['backup', join(data, 'backup.gh')], remote);
  const changes = [
    ['config', 'rollback', '1'],
    ['config', 'apply', join(data, 'next.json')],
    ['user', 'add', 'eve', '--password-stdin'],
    ['user', 'passwd', 'alice'],
    ['credstore', 'add', 'target', '--host', 'db1', '--user', 'root', '--password'],
    ['credstore', 'add', 'secret', '--section', 'duo', '--option', 'skey'],
    ['credstore', 'passwd', '--passphrase'],
    ['restore', join(data, 'backup.gh')],
    ['unseal'],
  ];
  for (const change of changes) {
    const refused = await gatehouse(change, remote, 'pw\n');
    t.equal(refused.code, 1, change.join(' '));
    t.match(refused.stderr, 'appliance is sealed: change it from the local console', change.join(' '));
  }
  const stored = await gatehouse(['credstore', 'add', 'target', '--host', 'db1', '--user', 'root', '--password'], console, 'pw\n');
  t.equal(stored.code, 0, stored.stderr);
  t.match((await gatehouse(['credstore', 'list'], remote)).stdout, 'target root@db1', 'reading is allowed while sealed');
  const rolled = await gatehouse(['config', 'rollback', '1'], console);
  t.equal(rolled.code, 0, rolled.stderr);
  t.equal(JSON.parse((await gatehouse(['config', 'show'], remote)).stdout).connectionPolicies[0].listen.port, 2222);
  t.equal((await gatehouse(['unseal'], console)).code, 0);
  t.equal((await gatehouse(['config', 'rollback', '2'], remote)).code, 0, 'remote changes work again once unsealed');
});

/** Every file under a directory, concatenated: for "no secret on disk" checks. */
async function treeText(dir: string): Promise<string> {
  const { readdir } = await import('node:fs/promises');
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const texts = await Promise.all(entries.filter((e) => e.isFile()).map((e) => readFile(join(e.parentPath, e.name), 'latin1')));
  return texts.join('\n');
}
