// Everything the gateway refuses: bad passwords (and the lockout that follows), malformed
// usernames, unknown users, unknown/disallowed/unreachable targets, a changed target host key.
// The client gets a short reason; the log gets the real one.
import { connect, createServer, type Socket } from 'node:net';
import t from 'tap';
import { startLab } from './helpers/lab.js';
import { canConnect, freePort } from './helpers/ports.js';
import { runSsh, spawnSsh } from './helpers/ssh-client.js';

t.test('password pass-through: right password logs in, wrong one is refused', async (t) => {
  const lab = await startLab(t, { credentials: 'passthrough' });
  const ok = await runSsh(lab.viaGateway(), 'whoami', { password: lab.sshd.password });
  t.equal(ok.code, 0, ok.stderr);
  t.equal(ok.stdout.toString(), `${lab.sshd.user}\n`);

  const bad = await runSsh(lab.viaGateway(), 'whoami', { password: 'not-the-password' });
  t.equal(bad.code, 5, 'sshpass: the gateway refused the password');
  t.notMatch(bad.stderr, /wrong-password/, 'the client is not told the reason');
  const logged = await lab.gw.waitForLog((l) => l.event === 'login-failed' && l.reason === 'wrong-password');
  t.equal(logged.gatewayUser, lab.sshd.user);
  t.notMatch(JSON.stringify(lab.gw.logs), /not-the-password/, 'the password never reaches the log');
  t.notMatch(JSON.stringify(lab.gw.logs), lab.sshd.password, 'the right password never reaches the log');
});

t.test('repeated failures lock the client IP out, even with the right password', async (t) => {
  const lab = await startLab(t, {
    credentials: 'passthrough',
    rateLimit: { freeAttempts: 1, baseDelayMs: 10, maxDelayMs: 50, lockoutAfter: 3, lockoutMs: 60_000 },
  });
  for (let i = 0; i < 3; i++) await runSsh(lab.viaGateway(), 'true', { password: `wrong-${i}` });
  await lab.gw.waitForLog((l) => l.event === 'rate-limit-lockout');
  const locked = await runSsh(lab.viaGateway(), 'true', { password: lab.sshd.password });
  t.not(locked.code, 0, 'refused while locked out');
  await lab.gw.waitForLog((l) => l.event === 'rate-limit-refused' && l.clientIp === '127.0.0.1');
});

t.test('malformed usernames and unknown users are refused and logged with the real reason', async (t) => {
  const lab = await startLab(t);
  const cases: [string, RegExp][] = [
    [`${lab.sshd.user}@127.0.0.1:99999`, /port/],
    [`${lab.sshd.user}@[::1`, /target/],
    [`a@b@c@d`, /./],
    [`otp=1@otp=2@${lab.sshd.user}@127.0.0.1`, /otp/],
  ];
  for (const [user, part] of cases) {
    const run = await runSsh({ port: lab.gw.port, user }, 'true', { key: lab.key });
    t.equal(run.code, 255, `refused: ${user}`);
    t.match(run.stderr, /Permission denied/);
    const line = lab.gw.logs.filter((l) => l.event === 'login-failed' && l.reason === 'malformed-username').at(-1);
    t.match(line?.detail, part, `log names the offending part of ${user}`);
  }
  t.notMatch(JSON.stringify(lab.gw.logs.filter((l) => l.reason === 'malformed-username')), /otp=1|otp=2/, 'key/value values are not logged');

  const unknown = await runSsh(lab.viaGateway('nobody'), 'true', { key: lab.key });
  t.equal(unknown.code, 255);
  t.match(unknown.stderr, /Permission denied/);

  const stillWorks = await runSsh(lab.viaGateway(), 'echo fine', { key: lab.key });
  t.equal(stillWorks.stdout.toString(), 'fine\n', 'the gateway keeps serving');
});

t.test('unknown, disallowed and unreachable targets get a one-line reason', async (t) => {
  const lab = await startLab(t, {
    policy: { targets: [{ host: '127.0.0.1', ports: '*' }, { host: '*.invalid', ports: '*' }] },
  });
  const closedPort = await freePort();
  const cases: [string, RegExp, string][] = [
    [`${lab.sshd.user}@no-such-host.invalid`, /^gatehouse: unknown target host no-such-host\.invalid:22\r?\n$/, 'unknown-host'],
    [`${lab.sshd.user}@10.20.30.40:22`, /^gatehouse: target 10\.20\.30\.40:22 is not allowed by policy "test"\r?\n$/, 'target-denied'],
    [`${lab.sshd.user}@127.0.0.1:${closedPort}`, new RegExp(`^gatehouse: cannot reach target 127\\.0\\.0\\.1:${closedPort}\\r?\\n$`), 'unreachable'],
  ];
  for (const [user, message, reason] of cases) {
    const run = await runSsh({ port: lab.gw.port, user }, 'true', { key: lab.key });
    t.equal(run.code, 255, user);
    t.match(run.stderr, message, run.stderr);
    const end = await lab.gw.waitForLog((l) => l.event === 'session-ended' && l.reason === reason);
    t.equal(end.result, 'refused');
  }
});

t.test('usermapping: another gateway user logs in as the server user only when a rule allows it', async (t) => {
  for (const mapped of [false, true]) {
    const lab = await startLab(t, {
      extraUsers: ['alice'],
      policy: mapped ? { usermapping: [{ gatewayUsers: ['alice'], serverUsers: ['gh-e2e'] }] } : {},
    });
    const run = await runSsh({ port: lab.gw.port, user: `gu=alice@${lab.sshd.user}@127.0.0.1:${lab.sshd.port}` }, 'whoami', { key: lab.key });
    if (mapped) {
      t.equal(run.code, 0, run.stderr);
      t.equal(run.stdout.toString(), `${lab.sshd.user}\n`);
      await lab.gw.waitForLog((l) => l.event === 'session-ended' && l.gatewayUser === 'alice' && l.serverUser === lab.sshd.user && l.result === 'ok');
    } else {
      t.equal(run.code, 255);
      t.match(run.stderr, `gatehouse: gateway user alice may not log in as ${lab.sshd.user} under policy "test"`);
      await lab.gw.waitForLog((l) => l.event === 'session-ended' && l.reason === 'usermapping-denied');
    }
  }
});

t.test('a target that closes mid-handshake is reported, and others keep working', async (t) => {
  const lab = await startLab(t);
  const sockets = new Set<Socket>();
  const rude = createServer((socket) => {
    sockets.add(socket);
    socket.end('SSH-2.0-rude\r\n');
  });
  await new Promise<void>((resolve) => rude.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    for (const socket of sockets) socket.destroy();
    return new Promise((resolve) => rude.close(resolve));
  });
  const port = (rude.address() as { port: number }).port;
  const run = await runSsh({ port: lab.gw.port, user: `${lab.sshd.user}@127.0.0.1:${port}` }, 'true', { key: lab.key });
  t.equal(run.code, 255);
  t.match(run.stderr, /^gatehouse: (cannot reach target|SSH handshake with target) 127\.0\.0\.1:\d+/);
  const ok = await runSsh(lab.viaGateway(), 'echo fine', { key: lab.key });
  t.equal(ok.stdout.toString(), 'fine\n');
});

t.test('a changed target host key refuses the connection and logs both fingerprints', async (t) => {
  const lab = await startLab(t);
  const first = await runSsh(lab.viaGateway(), 'true', { key: lab.key });
  t.equal(first.code, 0, 'first use trusts the key');
  const oldFingerprint = lab.sshd.hostKeyFingerprint;
  await lab.sshd.regenerateHostKey();
  const run = await runSsh(lab.viaGateway(), 'true', { key: lab.key });
  t.equal(run.code, 255);
  t.match(run.stderr, /gatehouse: host key of target 127\.0\.0\.1:\d+ has changed: connection refused/);
  const line = await lab.gw.waitForLog((l) => l.event === 'upstream-failed' && l.kind === 'host-key');
  t.equal(line.expectedFingerprints, oldFingerprint);
  t.equal(line.fingerprint, lab.sshd.hostKeyFingerprint);
});

t.test('strict host-key policy refuses a target whose key is not known', async (t) => {
  const lab = await startLab(t, { policy: { hostKeyPolicy: 'strict' } });
  const run = await runSsh(lab.viaGateway(), 'true', { key: lab.key });
  t.equal(run.code, 255);
  t.match(run.stderr, /host key of target .* is not known/);
});

t.test('port forwarding: allowed by policy works, otherwise refused', async (t) => {
  const echo = createServer((socket) => socket.pipe(socket));
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise((resolve) => echo.close(resolve)));
  const echoPort = (echo.address() as { port: number }).port;

  for (const allowed of [true, false]) {
    const lab = await startLab(t, { policy: { channels: allowed ? ['exec', 'direct-tcpip'] : ['exec'] } });
    const localPort = await freePort();
    const client = spawnSsh(lab.viaGateway(), undefined, {
      key: lab.key,
      extra: ['-N', '-o', 'ExitOnForwardFailure=yes', '-L', `127.0.0.1:${localPort}:127.0.0.1:${echoPort}`],
      t,
    });
    t.teardown(() => client.kill());
    t.ok(await waitUntil(() => canConnect(localPort)), 'ssh -L is listening locally');
    const echoed = await echoThrough(localPort);
    if (allowed) {
      t.equal(echoed, 'ping', 'data echoed through the forward');
      await lab.gw.waitForLog((l) => l.msg === 'channel opened' && l.channel === 'direct-tcpip');
    } else {
      t.equal(echoed, '', 'nothing comes back');
      await lab.gw.waitForLog((l) => l.event === 'channel-denied' && l.channel === 'direct-tcpip');
    }
    await client.kill();
  }
});

async function waitUntil(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return false;
}

function echoThrough(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => socket.end('ping'));
    let text = '';
    socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
    socket.on('close', () => resolve(text));
    socket.on('error', () => resolve(text));
  });
}
