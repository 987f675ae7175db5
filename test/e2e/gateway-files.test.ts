// sftp and scp (both the SFTP-based default and legacy `scp -O`) through the gateway, checked by checksum;
// an sftp session is recorded as its file operations.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { gatehouse } from '../helpers/cli.js';
import { freshTestDir } from './helpers/gateway.js';
import { randomFile, sha256File } from './helpers/files.js';
import { startLab } from './helpers/lab.js';
import { runScp, runSftp } from './helpers/ssh-client.js';

const size = 8 * 1024 * 1024 + 123;

t.test('sftp put and get, recorded as a file-operation log', async (t) => {
  const lab = await startLab(t);
  const dir = freshTestDir(t);
  const source = await randomFile(dir, size);
  const back = join(dir, 'back.bin');
  const remote = `${lab.sshd.workDir}/sftp.bin`;
  const moved = `${lab.sshd.workDir}/moved.bin`;
  const script = [`put ${source.path} ${remote}`, `get ${remote} ${back}`, `ls -l ${remote}`, `rename ${remote} ${moved}`, `mkdir ${lab.sshd.workDir}/newdir`, `-get ${lab.sshd.workDir}/missing.bin ${dir}/x`, `rm ${moved}`, ''];
  const run = await runSftp(lab.viaGateway(), script.join('\n'), { key: lab.key });
  t.equal(run.code, 0, run.stderr);
  t.equal(await sha256File(back), source.sha256, 'downloaded file intact');
  const ended = await lab.gw.waitForLog((l) => l.event === 'session-ended' && String(l.channels).split(',').includes('sftp=1'));

  const recording = String(ended.recording);
  const base = join(lab.gw.dataDir, 'recordings', recording);
  for (const deadline = Date.now() + 10_000; !existsSync(`${base}.sig`) && Date.now() < deadline; ) await new Promise((resolve) => setTimeout(resolve, 50));
  const events = (await readFile(`${base}.cast`, 'utf8')).split('\n').slice(1).filter(Boolean).map((line) => JSON.parse(line) as [number, string, string]);
  t.same(events.map(([, code, data]) => `${code} ${data}`), [
    `o sftp open ${remote} (write,creat,trunc)\r\n`,
    `o sftp close ${remote}: read 0 bytes, wrote 8.0 MiB (${size} bytes)\r\n`,
    `o sftp open ${remote} (read)\r\n`,
    `o sftp close ${remote}: read 8.0 MiB (${size} bytes), wrote 0 bytes\r\n`,
    `o sftp rename ${remote} -> ${moved}\r\n`,
    `o sftp mkdir ${lab.sshd.workDir}/newdir\r\n`,
    `o sftp remove ${moved}\r\n`,
  ], 'every change, with byte counts; no file contents');
  const verify = await gatehouse(['verify', recording, '--data', lab.gw.dataDir]);
  t.equal(verify.code, 0, verify.stdout + verify.stderr);
  const found = await gatehouse(['search', '--json', `rename ${remote}`, '--data', lab.gw.dataDir]);
  t.equal(found.code, 0, found.stderr);
  t.match(JSON.parse(found.stdout), { total: 1, sessions: [{ sessionId: ended.conn, channels: 'sftp=1' }] }, 'found by the file log text');
});

for (const legacy of [false, true]) {
  t.test(`scp both ways${legacy ? ' (legacy -O protocol)' : ''}`, async (t) => {
    const lab = await startLab(t);
    const dir = freshTestDir(t);
    const source = await randomFile(dir, size);
    const remote = `${lab.sshd.workDir}/scp.bin`;
    const up = await runScp(lab.viaGateway(), 'upload', source.path, remote, { key: lab.key, legacy });
    t.equal(up.code, 0, up.stderr);
    t.equal(await sha256File(remote), source.sha256, 'uploaded file intact');
    const back = join(dir, 'back.bin');
    const down = await runScp(lab.viaGateway(), 'download', back, remote, { key: lab.key, legacy });
    t.equal(down.code, 0, down.stderr);
    t.equal(await sha256File(back), source.sha256, 'downloaded file intact');
    const channel = legacy ? 'scp' : 'sftp';
    const transfers = lab.gw.logs.filter((l) => l.event === 'session-ended' && String(l.channels).split(',').includes(`${channel}=1`));
    t.equal(transfers.length, 2, `both transfers logged as ${channel} sessions`);
  });
}

t.test('sftp refused by a policy without sftp, with the reason on stderr', async (t) => {
  const lab = await startLab(t, { policy: { channels: ['exec'] } });
  const run = await runSftp(lab.viaGateway(), 'ls\n', { key: lab.key });
  t.not(run.code, 0);
  t.match(run.stderr, 'gatehouse: sftp channels are not allowed by channel policy "test"');
  await lab.gw.waitForLog((l) => l.event === 'channel-denied' && /sftp channels are not allowed/.test(String(l.reason)));
});
