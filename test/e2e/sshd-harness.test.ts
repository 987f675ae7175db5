// Self-test of the e2e harness against a real sshd with NO gateway in between.
import t from 'tap';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomFile, sha256Buffer, sha256File } from './helpers/files.js';
import { canConnect } from './helpers/ports.js';
import { makeClientKey, runScp, runSftp, runSsh, spawnSsh } from './helpers/ssh-client.js';
import { isProcessAlive, processTree, startSshd, waitGone, type TeardownHost } from './helpers/sshd.js';

const MiB = 1024 * 1024;

async function localDir(t: TeardownHost): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-harness-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

t.test('real sshd + real OpenSSH clients', async (t) => {
  const sshd = await startSshd(t);
  t.match(sshd.hostKeyPublic, /^ssh-ed25519 AAAA\S+$/);
  t.match(sshd.hostKeyFingerprint, /^SHA256:[A-Za-z0-9+/]{43}$/);
  const key = await makeClientKey(t);
  await sshd.authorizeKey(key.publicLine);
  const target = { port: sshd.port, user: sshd.user };
  const local = await localDir(t);

  t.test('exec with a key: stdout and exit codes', async (t) => {
    const ok = await runSsh(target, 'echo ok', { key, t });
    t.equal(ok.code, 0, ok.stderr);
    t.equal(ok.stdout.toString(), 'ok\n');
    t.equal((await runSsh(target, 'exit 1', { key, t })).code, 1);
    t.equal((await runSsh(target, ['sh', '-c', "'exit 42'"], { key, t })).code, 42);
    const who = await runSsh(target, 'id -un; pwd', { key, t });
    t.equal(who.stdout.toString(), `${sshd.user}\n/run/gatehouse-e2e/home\n`);
    // a command that looks like an option must run remotely, not be parsed by the local ssh
    const dash = await runSsh(target, ['-V'], { key, t });
    t.not(dash.code, 0);
    t.notMatch(dash.stderr, /OpenSSH_/);
  });

  t.test('stdin is streamed to the remote command', async (t) => {
    const data = Buffer.alloc(256 * 1024, 7);
    const r = await runSsh(target, 'sha256sum', { key, stdin: data, t });
    t.equal(r.code, 0, r.stderr);
    t.equal(r.stdout.toString().split(' ')[0], sha256Buffer(data));
  });

  t.test('unknown key is rejected', async (t) => {
    const other = await makeClientKey(t, 'rsa');
    const r = await runSsh(target, 'echo no', { key: other, t });
    t.equal(r.code, 255);
    t.match(r.stderr, /Permission denied/);
  });

  t.test('password via sshpass', async (t) => {
    const r = await runSsh(target, 'echo pw', { password: sshd.password, t });
    t.equal(r.code, 0, r.stderr);
    t.equal(r.stdout.toString(), 'pw\n');
    const bad = await runSsh(target, 'echo pw', { password: 'wrong-' + sshd.password, t });
    t.not(bad.code, 0);
    t.equal(bad.stdout.length, 0);
  });

  t.test('sftp put/get 1 MiB', async (t) => {
    const src = await randomFile(local, MiB);
    const remote = path.join(sshd.workDir, 'sftp.bin');
    const back = path.join(local, 'sftp-back.bin');
    const r = await runSftp(target, `put ${src.path} ${remote}\nget ${remote} ${back}\n`, { key, t });
    t.equal(r.code, 0, r.stderr);
    t.equal(await sha256File(remote), src.sha256);
    t.equal(await sha256File(back), src.sha256);
    const pw = await runSftp(target, `ls ${remote}\n`, { password: sshd.password, t });
    t.equal(pw.code, 0, pw.stderr);
  });

  for (const legacy of [false, true]) {
    t.test(`scp both ways (${legacy ? '-O legacy' : 'default/SFTP'})`, async (t) => {
      const src = await randomFile(local, MiB);
      const remote = path.join(sshd.workDir, `scp-${legacy}.bin`);
      const back = path.join(local, `scp-back-${legacy}.bin`);
      const up = await runScp(target, 'upload', src.path, remote, { key, legacy, t });
      t.equal(up.code, 0, up.stderr);
      t.equal(await sha256File(remote), src.sha256);
      const down = await runScp(target, 'download', back, remote, { password: sshd.password, legacy, t });
      t.equal(down.code, 0, down.stderr);
      t.equal(await sha256File(back), src.sha256);
    });
  }

  t.test('regenerateHostKey changes the key the server presents', async (t) => {
    const oldFp = sshd.hostKeyFingerprint;
    const oldPub = sshd.hostKeyPublic;
    const pid = sshd.pid();
    await sshd.regenerateHostKey();
    t.not(sshd.hostKeyFingerprint, oldFp);
    t.not(sshd.hostKeyPublic, oldPub);
    t.equal(sshd.pid(), pid, 'restarted in place (SIGHUP re-exec)');
    const known = path.join(local, 'known_hosts');
    const strict = (): string[] => ['-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${known}`];
    await writeFile(known, `[127.0.0.1]:${sshd.port} ${sshd.hostKeyPublic}\n`);
    const good = await runSsh(target, 'echo ok', { key, extra: strict(), t });
    t.equal(good.code, 0, good.stderr);
    await writeFile(known, `[127.0.0.1]:${sshd.port} ${oldPub}\n`);
    const bad = await runSsh(target, 'echo ok', { key, extra: strict(), t });
    t.equal(bad.code, 255);
    t.match(bad.stderr, /HOST IDENTIFICATION HAS CHANGED|Host key verification failed/);
  });

  t.test('logs are captured', async (t) => {
    t.match(sshd.logs(), /Server listening on 127\.0\.0\.1 port \d+/);
    t.match(sshd.logs(), /Accepted publickey for gh-e2e/);
    t.match(sshd.logs(), /Accepted password for gh-e2e/);
  });

  t.test('stop() closes the port and kills sshd', async (t) => {
    const pid = sshd.pid()!;
    await sshd.stop();
    t.notOk(isProcessAlive(pid));
    t.equal(sshd.pid(), undefined);
    t.equal(await canConnect(sshd.port), false, 'port refuses connections');
    await sshd.stop(); // idempotent
  });
});

t.test('teardown kills sshd and its live sessions', async (t) => {
  let pids: number[] = [];
  let port = 0;
  let dir = '';
  await t.test('a test that leaves a session running', async (t) => {
    const sshd = await startSshd(t);
    port = sshd.port;
    dir = sshd.dir;
    const key = await makeClientKey(t);
    await sshd.authorizeKey(key.publicLine);
    const client = spawnSsh({ port: sshd.port, user: sshd.user }, 'echo started; exec sleep 300', { key });
    await new Promise<void>((resolve, reject) => {
      client.child.stdout!.once('data', () => resolve());
      client.done.then((r) => reject(new Error(`ssh ended early: ${r.code} ${r.stderr}`)), reject);
    });
    pids = processTree(sshd.pid()!);
    t.ok(pids.length >= 3, `sshd, its session processes and the remote sleep: ${pids.join(',')}`);
    // no sshd.stop() and no client kill: teardown must handle it
  });
  t.ok(pids.length > 0);
  t.ok(await waitGone(pids, 5000), `all of ${pids.join(',')} gone after teardown`);
  t.equal(await canConnect(port), false, 'port refuses connections after teardown');
  t.notOk(existsSync(dir), 'temp dir removed');
});

t.test('a broken config explains itself', async (t) => {
  await t.rejects(startSshd(t, { extraConfig: ['NoSuchOption yes'] }), /sshd exited .*NoSuchOption|Bad configuration option/);
});
