// Many sessions at once, clients that vanish at every step, and a target that dies mid-session:
// the gateway keeps serving everyone else and logs an end for every connection.
import { connect } from 'node:net';
import { createReadStream, readFileSync } from 'node:fs';
import ssh2 from 'ssh2';
import t from 'tap';
import { freshTestDir } from './helpers/gateway.js';
import { randomFile } from './helpers/files.js';
import { startLab } from './helpers/lab.js';
import { freePort } from './helpers/ports.js';
import { runSsh, spawnSsh } from './helpers/ssh-client.js';
import { startSshd } from './helpers/sshd.js';

t.test('50 concurrent sessions, with a failing one among them', async (t) => {
  const lab = await startLab(t);
  const closedPort = await freePort();
  const runs = Array.from({ length: 50 }, (_, i) => runSsh(lab.viaGateway(), `sleep 0.5; echo session-${i}`, { key: lab.key, timeoutMs: 120_000 }));
  const failing = runSsh({ port: lab.gw.port, user: `${lab.sshd.user}@127.0.0.1:${closedPort}` }, 'true', { key: lab.key });
  const results = await Promise.all(runs);
  results.forEach((run, i) => {
    t.equal(run.code, 0, `session ${i}: ${run.stderr}`);
    t.equal(run.stdout.toString(), `session-${i}\n`);
  });
  t.equal((await failing).code, 255, 'the unreachable target fails alone');
  const deadline = Date.now() + 10_000;
  while (lab.gw.logs.filter((l) => l.event === 'session-ended').length < 51 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const ends = lab.gw.logs.filter((l) => l.event === 'session-ended');
  t.equal(ends.filter((l) => l.result === 'ok').length, 50, 'fifty ok session-end events');
  t.equal(ends.filter((l) => l.reason === 'unreachable').length, 1);
});

t.test('clients that disconnect at any step do not disturb the gateway', async (t) => {
  const lab = await startLab(t);
  const port = lab.gw.port;

  // 1. TCP connect and close; 2. garbage instead of an SSH identification; 3. half an identification.
  for (const payload of ['', 'GET / HTTP/1.0\r\n\r\n', 'SSH-2.0-']) {
    await new Promise<void>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => socket.end(payload));
      socket.on('close', () => resolve());
      socket.on('error', () => resolve());
      socket.resume();
    });
  }

  // 4. Gone during authentication: the client ends while its keyboard-interactive prompt is open.
  await new Promise<void>((resolve) => {
    const client = new ssh2.Client();
    client.on('keyboard-interactive', () => client.end());
    client.on('close', () => resolve());
    client.on('error', () => undefined);
    client.connect({ host: '127.0.0.1', port, username: lab.viaGateway().user, tryKeyboard: true, authHandler: ['keyboard-interactive'] });
  });

  // 5. Gone right after authentication, before any channel.
  await new Promise<void>((resolve, reject) => {
    const client = new ssh2.Client();
    client.on('ready', () => client.end());
    client.on('close', () => resolve());
    client.on('error', reject);
    client.connect({ host: '127.0.0.1', port, username: lab.viaGateway().user, privateKey: readFileSync(lab.key.privatePath, 'utf8') });
  });

  // 6. Killed in the middle of a transfer.
  const { path } = await randomFile(freshTestDir(t), 64 * 1024 * 1024);
  const transfer = spawnSsh(lab.viaGateway(), 'cat > /dev/null', { key: lab.key, stdin: createReadStream(path) });
  await lab.gw.waitForLog((l) => l.msg === 'channel opened');
  await new Promise((r) => setTimeout(r, 300));
  await transfer.kill();

  const ok = await runSsh(lab.viaGateway(), 'echo alive', { key: lab.key });
  t.equal(ok.code, 0, ok.stderr);
  t.equal(ok.stdout.toString(), 'alive\n', 'a normal session still works');
  // Every SSH connection (3 disturbed + the normal one) ends with a session-end event; the three
  // that never spoke SSH are logged as such.
  const deadline = Date.now() + 10_000;
  while (lab.gw.logs.filter((l) => l.event === 'session-ended').length < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  t.equal(lab.gw.logs.filter((l) => l.event === 'session-ended').length, 4, 'one session-end per SSH connection');
  t.equal(lab.gw.logs.filter((l) => l.msg === 'client disconnected before the SSH handshake').length, 3);
  t.notOk(lab.gw.logs.some((l) => (l.level as number) >= 50), 'no error-level log line');
});

t.test('a target dying mid-session ends that session only', async (t) => {
  const lab = await startLab(t);
  const other = await startSshd(t);
  await other.authorizeKey(lab.gw.gateway.upstreamKey.publicLine);
  const doomed = spawnSsh(lab.viaGateway(), 'echo started; sleep 60', { key: lab.key, t });
  const survivor = spawnSsh({ port: lab.gw.port, user: `${other.user}@127.0.0.1:${other.port}` }, 'sleep 2; echo survived', { key: lab.key, t });
  await lab.gw.waitForLog((l) => l.event === 'session-started' && l.target === `127.0.0.1:${lab.sshd.port}`);
  await new Promise((r) => setTimeout(r, 300));
  await lab.sshd.stop();
  const dead = await doomed.done;
  t.not(dead.code, 0, 'the client of the dead target is disconnected');
  t.equal(dead.timedOut, false);
  const alive = await survivor.done;
  t.equal(alive.code, 0, alive.stderr);
  t.equal(alive.stdout.toString(), 'survived\n');
});

t.test('idle sockets are dropped after the login grace time; a flood of them is bounded', async (t) => {
  const lab = await startLab(t, { policy: { loginGraceSeconds: 1, maxUnauthenticated: 5 } });
  const idle = await Promise.all(
    Array.from({ length: 6 }, () => new Promise<{ closedAt: Promise<number> }>((resolve) => {
      const socket = connect(lab.gw.port, '127.0.0.1', () => resolve({ closedAt: new Promise((done) => socket.on('close', () => done(Date.now()))) }));
      socket.on('error', () => undefined);
      socket.resume();
    })),
  );
  const opened = Date.now();
  const closed = await Promise.all(idle.map((s) => s.closedAt));
  t.equal(closed.filter((at) => at - opened < 500).length, 1, 'the sixth socket is refused at once');
  t.equal(closed.filter((at) => at - opened >= 700).length, 5, 'the others are closed after the 1 s grace time');
  await lab.gw.waitForLog((l) => l.event === 'connection-refused');
  t.equal(lab.gw.logs.filter((l) => l.msg === 'login grace time exceeded: disconnecting').length, 5);
  const ok = await runSsh(lab.viaGateway(), 'echo fine', { key: lab.key });
  t.equal(ok.stdout.toString(), 'fine\n', 'a real client still gets in');
});
