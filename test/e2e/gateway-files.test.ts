// sftp and scp (both the SFTP-based default and legacy `scp -O`) through the gateway, checked by checksum.
import { join } from 'node:path';
import t from 'tap';
import { freshTestDir } from './helpers/gateway.js';
import { randomFile, sha256File } from './helpers/files.js';
import { startLab } from './helpers/lab.js';
import { runScp, runSftp } from './helpers/ssh-client.js';

const size = 8 * 1024 * 1024 + 123;

t.test('sftp put and get', async (t) => {
  const lab = await startLab(t);
  const dir = freshTestDir(t);
  const source = await randomFile(dir, size);
  const back = join(dir, 'back.bin');
  const remote = `${lab.sshd.workDir}/sftp.bin`;
  const run = await runSftp(lab.viaGateway(), `put ${source.path} ${remote}\nget ${remote} ${back}\nls -l ${remote}\n`, { key: lab.key });
  t.equal(run.code, 0, run.stderr);
  t.equal(await sha256File(remote), source.sha256, 'uploaded file intact on the target');
  t.equal(await sha256File(back), source.sha256, 'downloaded file intact');
  await lab.gw.waitForLog((l) => l.event === 'session-ended' && String(l.channels).split(',').includes('sftp=1'));
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
