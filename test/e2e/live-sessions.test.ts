// `gatehouse sessions` against `gatehouse serve` and a real OpenSSH client and server: a live
// session is listed with who, where to and from where; `sessions kill` ends it, the user reads the
// reason, the gateway reports session-killed and a session-ended whose result says so.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { LiveSessionInfo } from '../../src/gateway/live-sessions.js';
import { gatehouse, startServe } from '../helpers/cli.js';
import { freePort } from './helpers/ports.js';
import { spawnSsh } from './helpers/ssh-client.js';
import { startSshd, type TeardownHost, type TestSshd } from './helpers/sshd.js';

async function waitUntil<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  for (const started = Date.now(); Date.now() - started < timeoutMs; await new Promise((resolve) => setTimeout(resolve, 100))) {
    const found = await probe();
    if (found !== undefined) return found;
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** A data directory with a passthrough policy on a free port and the sshd's user as gateway user. */
async function gatewaySetup(t: TeardownHost, origin: 'console' | 'remote'): Promise<{ sshd: TestSshd; env: Record<string, string>; port: number }> {
  const sshd = await startSshd(t);
  const data = await mkdtemp(join(tmpdir(), 'gh-live-'));
  t.teardown(() => rm(data, { recursive: true, force: true }));
  const env = { GATEHOUSE_DATA: data, GATEHOUSE_ORIGIN: origin };
  const port = await freePort();
  const config = {
    connectionPolicies: [{ name: 'p', listen: { address: '127.0.0.1', port }, targets: [{ host: '127.0.0.1', ports: '*' }], credentials: { type: 'passthrough' }, keepaliveSeconds: 0 }],
  };
  await writeFile(join(data, 'config.json'), JSON.stringify(config));
  const added = await gatehouse(['user', 'add', sshd.user, '--password-stdin'], env, `${sshd.password}\n`);
  if (added.code !== 0) throw new Error(`gatehouse user add: ${added.stderr}`);
  return { sshd, env, port };
}

/** The pino lines of serve's output that carry an audit event. */
function events(output: string, id: string): Record<string, unknown>[] {
  return output
    .split('\n')
    .filter((line) => line.includes(`"event":"${id}"`))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

t.test('list a live session, kill it with a reason, and find it reported', async (t) => {
  const { sshd, env, port } = await gatewaySetup(t, 'console');

  const notRunning = await gatehouse(['sessions'], env);
  t.equal(notRunning.code, 1, 'no gateway: an error');
  t.match(notRunning.stderr, /the gateway is not running/);

  const serve = startServe(t, env);
  await serve.waitFor('gateway started');
  const empty = await gatehouse(['sessions'], env);
  t.equal(empty.code, 0, empty.stderr);
  t.match(empty.stdout, 'no live sessions');

  const client = spawnSsh({ port, user: `${sshd.user}@127.0.0.1:${sshd.port}` }, 'echo ready; sleep 30', { password: sshd.password, t, timeoutMs: 40_000 });
  let stdout = '';
  client.child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  await waitUntil('the session to run', async () => (stdout.includes('ready') ? true : undefined), 15_000);

  const listed = await gatehouse(['sessions', '--json'], env);
  t.equal(listed.code, 0, listed.stderr);
  const sessions = JSON.parse(listed.stdout) as LiveSessionInfo[];
  t.equal(sessions.length, 1, 'one live session');
  const session = sessions[0]!;
  t.match(session, { gatewayUser: sshd.user, serverUser: sshd.user, target: `127.0.0.1:${sshd.port}`, clientIp: '127.0.0.1', policy: 'p', channels: 'exec=1' });
  t.match(session.sessionId, /^[0-9a-f]{12}$/);
  t.ok(session.bytesToClient > 0, 'bytes counted');

  const table = await gatehouse(['sessions'], env);
  t.equal(table.code, 0, table.stderr);
  t.match(table.stdout, /^ID\s+USER\s+SERVER\s+CLIENT\s+POLICY\s+STARTED\s+DURATION\s+BYTES/);
  t.match(table.stdout, `${session.sessionId}  ${sshd.user}`);
  t.match(table.stdout, `${sshd.user}@127.0.0.1:${sshd.port}`);

  const unknown = await gatehouse(['sessions', 'kill', 'ffffffffffff', '--reason', 'nope'], env);
  t.equal(unknown.code, 1, 'an unknown id: exit 1');
  t.match(unknown.stderr, /no live session "ffffffffffff"/);

  const started = Date.now();
  const kill = await gatehouse(['sessions', 'kill', session.sessionId, '--reason', 'maintenance'], env);
  t.equal(kill.code, 0, kill.stderr);
  const ended = await client.done;
  t.ok(Date.now() - started < 5000, `the client exited within a few seconds (${Date.now() - started} ms)`);
  t.notOk(ended.timedOut, 'not by the timeout');
  t.equal(ended.code, 255, 'ssh exits 255');
  t.match(ended.stderr, 'gatehouse: this session was ended by an administrator: maintenance');

  const after = await waitUntil('the session to be gone', async () => {
    const run = await gatehouse(['sessions', '--json'], env);
    const left = JSON.parse(run.stdout) as LiveSessionInfo[];
    return left.length === 0 ? left : undefined;
  });
  t.same(after, [], 'no longer listed');

  await serve.waitFor('"event":"session-ended"');
  await serve.stop();
  const [killed] = events(serve.output(), 'session-killed');
  t.match(killed, { sessionId: session.sessionId, clientIp: '127.0.0.1', gatewayUser: sshd.user, serverUser: sshd.user, target: `127.0.0.1:${sshd.port}`, reason: 'maintenance', origin: 'console' });
  const [end] = events(serve.output(), 'session-ended');
  t.match(end, { sessionId: session.sessionId, result: 'killed', reason: 'killed by administrator', upstream: true });
});

t.test('a terminal session killed from a remote origin: the message reaches the terminal', async (t) => {
  const { sshd, env, port } = await gatewaySetup(t, 'remote');
  const serve = startServe(t, env);
  await serve.waitFor('gateway started');
  // Sealed: a kill is no configuration change, so a remote origin may still end a session.
  t.equal((await gatehouse(['seal'], { ...env, GATEHOUSE_ORIGIN: 'console' })).code, 0, 'sealed');

  const client = spawnSsh({ port, user: `${sshd.user}@127.0.0.1:${sshd.port}` }, 'echo ready; sleep 30', { password: sshd.password, tty: true, t, timeoutMs: 40_000 });
  let stdout = '';
  client.child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  await waitUntil('the session to run', async () => (stdout.includes('ready') ? true : undefined), 15_000);
  const [session] = JSON.parse((await gatehouse(['sessions', '--json'], env)).stdout) as LiveSessionInfo[];
  const kill = await gatehouse(['sessions', 'kill', session!.sessionId], env);
  t.equal(kill.code, 0, kill.stderr);
  const ended = await client.done;
  t.notOk(ended.timedOut, 'the client exited');
  t.match(ended.stderr, 'gatehouse: this session was ended by an administrator: no reason given');
  await serve.waitFor('"event":"session-ended"');
  await serve.stop();
  t.match(events(serve.output(), 'session-killed')[0], { sessionId: session!.sessionId, reason: 'no reason given', origin: 'remote' });
});
