// Shell, exec, exit codes and signals, stdin EOF, bulk data and environment variables, through the
// gateway between the real OpenSSH client and a real sshd.
import { createReadStream, readFileSync } from 'node:fs';
import ssh2 from 'ssh2';
import t, { type Test } from 'tap';
import { freshTestDir } from './helpers/gateway.js';
import { randomFile } from './helpers/files.js';
import { startLab, type Lab } from './helpers/lab.js';
import { runSsh } from './helpers/ssh-client.js';

t.test('exec: exit codes 0, 1 and 42 come back as they do from sshd directly', async (t) => {
  const lab = await startLab(t);
  for (const code of [0, 1, 42]) {
    const run = await runSsh(lab.viaGateway(), `echo out-${code}; echo err-${code} >&2; exit ${code}`, { key: lab.key });
    t.equal(run.code, code, `exit status ${code}`);
    t.equal(run.stdout.toString(), `out-${code}\n`);
    t.match(run.stderr, `err-${code}`);
  }
});

t.test('exec: a command killed by a signal is reported as by sshd', async (t) => {
  const lab = await startLab(t);
  const command = 'kill -TERM $$';
  await lab.sshd.authorizeKey(lab.key.publicLine);
  const direct = await runSsh({ port: lab.sshd.port, user: lab.sshd.user }, command, { key: lab.key, extra: ['-o', 'LogLevel=INFO'] });
  const viaGateway = await runSsh(lab.viaGateway(), command, { key: lab.key, extra: ['-o', 'LogLevel=INFO'] });
  t.equal(viaGateway.code, direct.code, 'same exit code as direct');
  t.equal(viaGateway.code, 255);

  const client = await connectLibraryClient(t, lab);
  const exit = await new Promise<unknown[]>((resolve, reject) => {
    client.exec(command, (err, channel) => {
      if (err) return reject(err);
      channel.on('exit', (...args: unknown[]) => resolve(args));
      channel.resume();
    });
  });
  t.same(exit.slice(0, 2), [null, 'SIGTERM'], 'exit-signal passed back');
});

t.test('exec with stdin at EOF from the start (ssh host cmd </dev/null)', async (t) => {
  const lab = await startLab(t);
  const run = await runSsh(lab.viaGateway(), 'cat; echo done', { key: lab.key, stdin: 'devnull', timeoutMs: 15_000 });
  t.equal(run.timedOut, false);
  t.equal(run.code, 0);
  t.equal(run.stdout.toString(), 'done\n');
});

t.test('shell with a pty', async (t) => {
  const lab = await startLab(t);
  const tty = await runSsh(lab.viaGateway(), 'tty; echo "term=$TERM"', { key: lab.key, tty: true, env: { TERM: 'vt100' } });
  t.equal(tty.code, 0, tty.stderr);
  t.match(tty.stdout.toString(), /\/dev\/pts\/\d+/);
  t.match(tty.stdout.toString(), /term=vt100/);

  const shell = await runSsh(lab.viaGateway(), undefined, {
    key: lab.key,
    tty: true,
    stdin: Buffer.from('echo shell-$((6*7))\nexit 7\n'),
  });
  t.equal(shell.code, 7, shell.stderr);
  t.match(shell.stdout.toString(), /shell-42/);
});

t.test('100 MB piped through arrive intact', async (t) => {
  const lab = await startLab(t);
  const { path: file, sha256: expected } = await randomFile(freshTestDir(t), 100 * 1024 * 1024);
  const run = await runSsh(lab.viaGateway(), 'sha256sum', { key: lab.key, stdin: createReadStream(file), timeoutMs: 120_000 });
  t.equal(run.code, 0, run.stderr);
  t.equal(run.stdout.toString().split(' ')[0], expected);
  const end = await lab.gw.waitForLog((l) => l.event === 'session-ended');
  t.ok((end.bytesFromClient as number) >= 100 * 1024 * 1024, 'session-end counts the bytes sent');
  t.match(end, { gatewayUser: lab.sshd.user, serverUser: lab.sshd.user, target: `127.0.0.1:${lab.sshd.port}`, policy: 'test', result: 'ok', channels: 'exec=1' });
});

t.test('environment variables pass only when the policy allows them', async (t) => {
  const lab = await startLab(t, { policy: { envAllow: ['LC_*'] } });
  const run = await runSsh(lab.viaGateway(), 'echo "lc=$LC_GATEHOUSE gh=$GH_SECRET"', {
    key: lab.key,
    env: { LC_GATEHOUSE: 'passed', GH_SECRET: 'dropped' },
    extra: ['-o', 'SendEnv=LC_GATEHOUSE', '-o', 'SendEnv=GH_SECRET'],
  });
  t.equal(run.code, 0, run.stderr);
  t.equal(run.stdout.toString(), 'lc=passed gh=\n');
  await lab.gw.waitForLog((l) => l.variable === 'GH_SECRET' && /allowlist/.test(String(l.msg)));
});

t.test('window-change: sizes reach the target, huge values are clamped', async (t) => {
  const lab = await startLab(t);
  const client = await connectLibraryClient(t, lab);
  const output = await new Promise<string>((resolve, reject) => {
    client.shell({ rows: 30, cols: 100, term: 'xterm' }, (err, channel) => {
      if (err) return reject(err);
      let text = '';
      channel.on('data', (chunk: Buffer) => (text += chunk.toString()));
      channel.on('close', () => resolve(text));
      channel.write('stty size; sleep 0.3\n');
      setTimeout(() => {
        channel.setWindow(4_000_000_000, 4_000_000_000, 4_000_000_000, 4_000_000_000);
        setTimeout(() => channel.write('stty size; exit\n'), 300);
      }, 500);
    });
  });
  t.match(output, /30 100/, 'initial size');
  t.match(output, /10000 10000/, 'huge size clamped');
});

t.test('an unknown subsystem is refused with a reason; the connection keeps working', async (t) => {
  const lab = await startLab(t);
  const client = await connectLibraryClient(t, lab);
  const refused = await new Promise<{ stderr: string; code: number | null }>((resolve, reject) => {
    client.subsys('no-such-subsystem', (err, channel) => {
      if (err) return reject(err);
      let stderr = '';
      let code: number | null = null;
      channel.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      channel.on('exit', (exitCode: number | null) => (code = exitCode));
      channel.on('close', () => resolve({ stderr, code }));
      channel.resume();
    });
  });
  t.match(refused.stderr, /subsystem "no-such-subsystem" is not supported/);
  t.equal(refused.code, 1);
  const still = await new Promise<string>((resolve, reject) => {
    client.exec('echo still-here', (err, channel) => {
      if (err) return reject(err);
      let out = '';
      channel.on('data', (chunk: Buffer) => (out += chunk.toString()));
      channel.on('close', () => resolve(out));
    });
  });
  t.equal(still, 'still-here\n');
});

/** The ssh2 library as a client, for requests the OpenSSH client cannot be made to send on cue. */
async function connectLibraryClient(t: Test, lab: Lab): Promise<ssh2.Client> {
  const client = new ssh2.Client();
  t.teardown(() => client.end());
  const target = lab.viaGateway();
  await new Promise<void>((resolve, reject) => {
    client.once('ready', resolve).once('error', reject);
    client.connect({ host: '127.0.0.1', port: target.port, username: target.user, privateKey: readFileSync(lab.key.privatePath, 'utf8') });
  });
  return client;
}
