// Session recordings (issue 8) with the real OpenSSH client through the gateway: a pty exec is recorded as
// asciicast v2, verified intact, and a flipped byte is found; a gateway killed mid-session leaves an
// unfinished but readable recording; typed input is recorded only when the policy asks for it.
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import t from 'tap';
import type { AuditEntry } from '../../src/log/events/entry.js';
import { dropTapSpawnHook } from '../aa/sandbox/helpers/plain-sandbox.js';
import { gatehouse, startServe } from '../helpers/cli.js';
import { startLab, type Lab } from './helpers/lab.js';
import { freePort } from './helpers/ports.js';
import { runSsh, spawnSsh } from './helpers/ssh-client.js';
import { startSshd } from './helpers/sshd.js';

async function until<T>(what: string, find: () => T | undefined | Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  for (const deadline = Date.now() + timeoutMs; ; ) {
    const found = await find();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The session-ended event of the lab's only session, once its recordings are signed. */
async function endedSession(lab: Lab): Promise<AuditEntry> {
  const ended = await until('session-ended', () => lab.gw.events.find((e) => e.eventId === 'session-ended'));
  const recording = String(ended.fields.recording);
  await until('the signature', () => (existsSync(join(lab.gw.dataDir, 'recordings', `${recording}.sig`)) ? true : undefined));
  return ended;
}

/** `gatehouse search --json ARGS` until it finds something: the gateway writes the database just after the session ends. */
async function searchUntilFound(args: string[], env: Record<string, string> = {}): Promise<{ total: number; sessions: Record<string, unknown>[] }> {
  return until(`search ${args.join(' ')}`, async () => {
    const run = await gatehouse(['search', '--json', ...args], env);
    return run.code === 0 ? (JSON.parse(run.stdout) as { total: number; sessions: Record<string, unknown>[] }) : undefined;
  });
}

const castLines = (text: string): unknown[] => text.split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as unknown);

t.test('a pty exec is recorded, verifies intact, and a flipped byte is found', async (t) => {
  const lab = await startLab(t);
  const run = await runSsh(lab.viaGateway(), 'printf "hello recording\\n"; stty size', { key: lab.key, tty: true, env: { TERM: 'vt100' } });
  t.equal(run.code, 0, run.stderr);
  const ended = await endedSession(lab);
  const sessionId = String(ended.fields.sessionId);
  t.equal(ended.fields.recording, `${sessionId}-1`, 'session-ended names the recording');

  const cast = join(lab.gw.dataDir, 'recordings', `${sessionId}-1.cast`);
  const text = await readFile(cast, 'utf8');
  const [header, ...events] = castLines(text) as [Record<string, unknown>, ...[number, string, string][]];
  t.match(header, { version: 2, width: Number, height: Number, timestamp: Number, title: `${sessionId}-1` });
  t.ok(events.some(([, code, data]) => code === 'o' && data.includes('hello recording')), 'the output is recorded');
  t.match(header, { env: { TERM: 'vt100' } }, 'the pty\'s TERM');
  // Without a terminal of its own, ssh -tt asks for a 0x0 pty: the header then says 80x24.
  const [rows, cols] = (/(\d+) (\d+)/.exec(run.stdout.toString()) ?? []).slice(1).map(Number);
  t.same([header.height, header.width], rows && cols ? [rows, cols] : [24, 80], `header size for stty size ${rows} ${cols}`);

  const data = ['--data', lab.gw.dataDir];
  const intact = await gatehouse(['verify', sessionId, ...data]);
  t.equal(intact.code, 0, intact.stdout + intact.stderr);
  t.match(intact.stdout, new RegExp(`^${sessionId}-1: intact \\(1 chunks, \\d+ bytes\\)\\n$`));
  t.equal((await gatehouse(['verify', `${sessionId}-1`, ...data])).code, 0, 'a recording id works too');
  t.equal((await gatehouse(['verify', 'nosuchsession', ...data])).code, 3, 'unknown session: not found');

  const byText = await searchUntilFound(['hello recording', ...data]);
  t.match(byText, { total: 1, sessions: [{ sessionId, gatewayUser: lab.sshd.user, serverUser: lab.sshd.user, target: `127.0.0.1:${lab.sshd.port}`, result: 'ok', recordings: [`${sessionId}-1`], channels: 'exec=1', snippet: 'hello recording' }] }, 'found by the text on screen');
  t.ok((byText.sessions[0]!.bytesToClient as number) > 0 && Date.parse(String(byText.sessions[0]!.endedAt)) >= Date.parse(String(byText.sessions[0]!.startedAt)), 'bytes and times');
  const byWho = await searchUntilFound(['--user', lab.sshd.user, '--target', '127.0.0.1:*', '--since', '1h', '--result', 'ok', ...data]);
  t.same(byWho.sessions.map((s) => s.sessionId), [sessionId], 'found by user, target, time and result');
  const table = await gatehouse(['search', 'HELLO RECORDING', ...data]);
  t.equal(table.code, 0, table.stderr);
  t.match(table.stdout, new RegExp(`^ID +STARTED +DURATION +USER +SERVER +CLIENT +RESULT +BYTES +REC\n${sessionId} .* ok .*\n    > hello recording\nsessions 1-1 of 1 \\(page 1 of 1\\)\n$`), 'case-insensitive, as a table');
  t.equal((await gatehouse(['search', 'goodbye recording', ...data])).code, 1, 'text that never appeared: nothing found');
  t.equal((await gatehouse(['search', '--result', 'fine', ...data])).code, 2, 'a bad argument');

  const bytes = await readFile(cast);
  const at = bytes.indexOf('hello recording');
  bytes[at] ^= 0x01;
  await writeFile(cast, bytes);
  const tampered = await gatehouse(['verify', sessionId, ...data]);
  t.equal(tampered.code, 1, tampered.stdout + tampered.stderr);
  t.match(tampered.stdout, `${sessionId}-1: tampered: chunk 1 of ${sessionId}-1.cast`);
});

t.test('typed input is recorded only when the policy says so', async (t) => {
  const typed = 'typed-secret-4711';
  for (const recordInput of [false, true]) {
    const lab = await startLab(t, { policy: { recording: { recordInput, terminalOnly: false } } });
    const run = await runSsh(lab.viaGateway(), 'read line; echo done', { key: lab.key, stdin: Buffer.from(`${typed}\n`) });
    t.equal(run.code, 0, run.stderr);
    const ended = await endedSession(lab);
    const text = await readFile(join(lab.gw.dataDir, 'recordings', `${String(ended.fields.recording)}.cast`), 'utf8');
    t.match(text, '"o","done');
    t.equal(text.includes(typed), recordInput, `recordInput ${recordInput}`);
  }
});

t.test('a recording that cannot be written: the session goes on, or is closed when the policy says so', async (t) => {
  for (const onFailure of ['continue', 'close-session'] as const) {
    const lab = await startLab(t, { policy: { recording: { onFailure, terminalOnly: false } } });
    await rm(join(lab.gw.dataDir, 'recordings'), { recursive: true });
    const run = await runSsh(lab.viaGateway(), 'echo still-here', { key: lab.key });
    const failed = await until('recording-failed', () => lab.gw.events.find((e) => e.eventId === 'recording-failed'));
    t.match(failed.fields, { sessionId: /^[0-9a-f]{12}$/, recording: /-1$/, gatewayUser: lab.sshd.user, reason: /ENOENT/ }, `${onFailure}: recording-failed`);
    if (onFailure === 'continue') {
      t.equal(run.code, 0, run.stderr);
      t.equal(run.stdout.toString(), 'still-here\n');
    } else {
      t.equal(run.code, 255);
      t.equal(run.stdout.toString(), '');
      t.match(run.stderr, 'gatehouse: session recording failed; the session is closed');
    }
  }
});

t.test('a gateway killed mid-session leaves an unfinished, readable recording', async (t) => {
  dropTapSpawnHook();
  const sshd = await startSshd(t);
  const data = await mkdtemp(join(tmpdir(), 'gh-recording-'));
  t.teardown(() => rm(data, { recursive: true, force: true }));
  const env = { GATEHOUSE_DATA: data, GATEHOUSE_ORIGIN: 'console' };
  const ok = async (args: string[], input = ''): Promise<void> => {
    const run = await gatehouse(args, env, input);
    t.equal(run.code, 0, `gatehouse ${args.join(' ')}: ${run.stderr}`);
  };
  const port = await freePort();
  const config = JSON.parse((await gatehouse(['config', 'show'], env)).stdout);
  config.connectionPolicies = [{ name: 'rec', listen: { address: '127.0.0.1', port }, targets: [{ host: '127.0.0.1', ports: '*' }], keepaliveSeconds: 0 }];
  await writeFile(join(data, 'policy.json'), JSON.stringify(config));
  await ok(['config', 'apply', join(data, 'policy.json'), '-m', 'recording test']);
  await ok(['user', 'add', sshd.user, '--password-stdin'], `${sshd.password}\n`);
  const serve = startServe(t, env);
  await serve.waitFor('gateway started');

  const stdin = new PassThrough();
  const client = spawnSsh({ port, user: `${sshd.user}@127.0.0.1:${sshd.port}` }, undefined, { password: sshd.password, tty: true, stdin, t });
  stdin.write('echo marker-$((6*7))\n');
  const recordings = join(data, 'recordings');
  const cast = await until('the recorded output', async () => {
    for (const name of await readdir(recordings)) {
      if (name.endsWith('.cast') && (await readFile(join(recordings, name), 'utf8')).includes('marker-42')) return name;
    }
    return undefined;
  }, 20_000);
  await serve.stop('SIGKILL');
  stdin.end();
  await client.done;

  const sessionId = cast.replace(/-1\.cast$/, '');
  const verify = await gatehouse(['verify', sessionId], env);
  t.equal(verify.code, 2, verify.stdout + verify.stderr);
  t.match(verify.stdout, `${sessionId}-1: unfinished: 0 chunks verified`);
  t.match(verify.stdout, 'the gateway stopped before the recording was closed');
  const lines = castLines(await readFile(join(recordings, cast), 'utf8'));
  t.match(lines[0], { version: 2, title: `${sessionId}-1` });
  t.ok(lines.slice(1).some((e) => Array.isArray(e) && e[1] === 'o' && String(e[2]).includes('marker-42')), 'the output is readable');

  const running = await searchUntilFound(['--result', 'running'], env);
  t.same(running.sessions.map((s) => s.sessionId), [sessionId], 'the database still calls it running');
  const restarted = startServe(t, env);
  await restarted.waitFor('gateway started');
  const interrupted = await searchUntilFound(['marker-42', '--result', 'interrupted'], env);
  t.match(interrupted.sessions, [{ sessionId, result: 'interrupted', recordings: [`${sessionId}-1`], reason: 'the gateway stopped before the session ended' }], 'the next start settles it, its text indexed from the unfinished recording');
  await restarted.stop();
});
