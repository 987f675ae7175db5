// The AA hook protocol end to end: a real OpenSSH client logs in through the gateway to a real
// sshd while a scripted plugin (test/e2e/fixtures/aa-script) runs in the sandbox. The login name
// picks the plugin's behaviour; the plugin leaves each hook's arguments in its state directory.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import t from 'tap';
import { installScriptedPlugin } from './helpers/aa.js';
import type { LogLine } from './helpers/gateway.js';
import { startLab, type Lab } from './helpers/lab.js';
import { runSsh, spawnSsh } from './helpers/ssh-client.js';
import { gatehouse } from '../helpers/cli.js';

/** `gatehouse search --json ARGS` until it finds something: the gateway writes the database a moment after the session-ended line. */
async function searchUntilFound(lab: Lab, args: string[]): Promise<{ total: number; sessions: Record<string, unknown>[] }> {
  for (const deadline = Date.now() + 10_000; ; ) {
    const run = await gatehouse(['search', '--json', ...args, '--data', lab.gw.dataDir]);
    if (run.code === 0) return JSON.parse(run.stdout) as { total: number; sessions: Record<string, unknown>[] };
    if (Date.now() > deadline) throw new Error(`gatehouse search ${args.join(' ')}: ${run.code} ${run.stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

const timeoutMs = 1500;

async function scriptedLab(tt: Parameters<typeof startLab>[0] & { teardown(fn: () => unknown): void }, policy: Record<string, unknown> = {}): Promise<Lab> {
  const workDir = await mkdtemp(join(tmpdir(), 'gh-aa-zip-'));
  tt.teardown(() => rm(workDir, { recursive: true, force: true }));
  return startLab(tt, {
    extraUsers: ['mapped', 'stranger'],
    policy: { aaPluginConfiguration: 'script', usermapping: [{ gatewayUsers: ['mapped'], serverUsers: ['*'] }], ...policy },
    aa: {
      configurations: [{ name: 'script', plugin: 'aa_script', text: '' }],
      timeoutMs,
      prepare: (dataDir) => installScriptedPlugin(dataDir, workDir),
    },
  });
}

/** The arguments the plugin got in the `n`th call of `hook` of the connection `conn`. */
async function hookArgs(lab: Lab, conn: unknown, hook: string, n = 1): Promise<Record<string, unknown>> {
  const file = join(lab.gw.dataDir, 'plugin-state', 'script', `${String(conn)}.${hook}.${n}.json`);
  return JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
}

/** session_ended runs after the connection has closed, so its arguments appear a little later. */
async function sessionEndedArgs(lab: Lab, conn: unknown): Promise<Record<string, unknown>> {
  const deadline = Date.now() + 5000;
  for (;;) {
    try {
      return await hookArgs(lab, conn, 'session_ended');
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

/** What the session-ended event keeps of the plugin's answers (its aaMetadata field, JSON). */
function aaOf(end: LogLine): Record<string, unknown> {
  return JSON.parse(String(end.aaMetadata)) as Record<string, unknown>;
}

function sessionEnd(lab: Lab, after: number): Promise<LogLine> {
  return lab.gw.waitForLog((l) => l.event === 'session-ended' && lab.gw.logs.indexOf(l) >= after);
}

t.test('a plugin that accepts: hook arguments by name, cookies carried from authenticate to authorize to session_ended', async (t) => {
  const lab = await scriptedLab(t);
  const run = await runSsh(lab.viaGateway(`do=accept@${lab.sshd.user}`), 'whoami', { key: lab.key });
  t.equal(run.code, 0, run.stderr);
  t.equal(run.stdout.toString(), `${lab.sshd.user}\n`);
  const end = await sessionEnd(lab, 0);
  t.same(aaOf(end), { aaConfig: 'script', additionalMetadata: '{"rounds":1}' }, 'additional_metadata is stored with the session');
  const found = await searchUntilFound(lab, ['--meta', 'rounds=1']);
  t.match(found.sessions, [{ sessionId: end.conn, aaConfig: 'script', additionalMetadata: '{"rounds":1}', verdicts: ['authenticate:ACCEPT', 'authorize:ACCEPT'], result: 'ok' }], 'found by its metadata in the connection database');
  t.equal((await gatehouse(['search', '--json', '--meta', 'rounds=2', '--data', lab.gw.dataDir])).code, 1, 'other metadata: nothing found');

  const authn = await hookArgs(lab, end.conn, 'authenticate');
  t.same(Object.keys(authn).sort(), [
    'client_hostname', 'client_ip', 'client_port', 'connection_name', 'cookie', 'gateway_domain', 'gateway_user',
    'key_value_pairs', 'protocol', 'server_domain', 'server_username', 'session_cookie', 'session_id',
  ], 'authenticate gets exactly the contract’s names');
  t.match(authn, {
    protocol: 'ssh', connection_name: 'test', client_ip: '127.0.0.1', client_hostname: null, session_id: end.conn,
    gateway_user: lab.sshd.user, server_username: lab.sshd.user, key_value_pairs: { do: 'accept' }, cookie: {}, session_cookie: {},
  });
  t.equal(authn.client_port, end.clientPort);

  const authz = await hookArgs(lab, end.conn, 'authorize');
  t.match(authz, {
    server_ip: '127.0.0.1', server_port: lab.sshd.port, server_hostname: null, gateway_groups: null,
    cookie: { rounds: 1 }, session_cookie: { seen: [1] }, key_value_pairs: { do: 'accept' },
  }, 'authorize runs after the target is resolved, with the cookies authenticate returned');

  const ended = await sessionEndedArgs(lab, end.conn);
  t.same(ended, { cookie: { rounds: 1, authorized: true }, session_cookie: { seen: [1] }, session_id: end.conn });
});

t.test('NEEDINFO becomes keyboard-interactive prompts; answers join the username’s key/value pairs', async (t) => {
  const lab = await scriptedLab(t);

  const ask2 = await runSsh(lab.viaGateway(`do=ask2@${lab.sshd.user}`), 'echo in', { key: lab.key, answers: [['Ticket number', 'T-1234']] });
  t.equal(ask2.code, 0, ask2.stderr);
  // OpenSSH puts "(login@host) " before keyboard-interactive prompts.
  t.match(ask2.prompts, [/\) Ticket number: $/], 'the plugin’s prompt, as OpenSSH showed it');
  t.equal(ask2.prompts.length, 1);
  const end = await sessionEnd(lab, 0);
  t.equal(aaOf(end).additionalMetadata, '{"rounds":2,"ticket":"T-1234"}');
  const second = await hookArgs(lab, end.conn, 'authenticate', 2);
  t.same(second.key_value_pairs, { do: 'ask2', ticket: 'T-1234' });
  t.same(second.cookie, { rounds: 1 }, 'the cookie of the NEEDINFO answer comes back');

  const mark = lab.gw.logs.length;
  const rounds = await runSsh(lab.viaGateway(`do=rounds@${lab.sshd.user}`), 'true', {
    key: lab.key,
    answers: [['Answer 1', 'one'], ['Answer 2', 'two'], ['Answer 3', 'three']],
  });
  t.equal(rounds.code, 0, rounds.stderr);
  t.match(rounds.prompts, [/\) Answer 1: $/, /\) Answer 2: $/, /\) Answer 3: $/]);
  const roundsEnd = await sessionEnd(lab, mark);
  t.same(JSON.parse(String(aaOf(roundsEnd).additionalMetadata)), { rounds: 4, answers: ['one', 'two', 'three'] });
  t.same((await sessionEndedArgs(lab, roundsEnd.conn)).session_cookie, { seen: [1, 2, 3, 4] }, 'session_cookie round-trips too');
  t.notMatch(JSON.stringify(lab.gw.logs), /T-1234"|"one"|"two"|"three"/, 'answers are in the session record only, never elsewhere in the log');
});

t.test('password first factor, then the plugin’s question in the same keyboard-interactive exchange', async (t) => {
  const lab = await scriptedLab(t, { credentials: { type: 'gateway-key' } });
  const run = await runSsh(lab.viaGateway(`do=ask3@${lab.sshd.user}`), 'echo ok', {
    answers: [['assword', lab.sshd.password], ['PIN', '4711']],
  });
  t.equal(run.code, 0, run.stderr);
  t.equal(run.prompts.length, 2, `password, then the PIN: ${JSON.stringify(run.prompts)}`);
  t.match(run.prompts[1], /\) PIN: $/);
});

t.test('question echo follows disable_echo (2-element questions echo); bad answers are refused and logged', async (t) => {
  const lab = await scriptedLab(t);
  const key = await readFile(lab.key.privatePath, 'utf8');
  const login = (user: string, answer: (prompt: ssh2.Prompt) => string) =>
    new Promise<{ ok: boolean; prompts: ssh2.Prompt[] }>((resolve) => {
      const prompts: ssh2.Prompt[] = [];
      const client = new ssh2.Client();
      const methods: ssh2.AuthenticationType[] = ['publickey', 'keyboard-interactive'];
      client.on('ready', () => {
        client.end();
        resolve({ ok: true, prompts });
      });
      client.on('error', () => resolve({ ok: false, prompts }));
      client.connect({
        host: '127.0.0.1',
        port: lab.gw.port,
        username: `${user}@${lab.sshd.user}@127.0.0.1:${lab.sshd.port}`,
        authHandler: (_left, _partial, next) => {
          const method = methods.shift();
          if (method === 'publickey') return next({ type: 'publickey', username: `${user}@${lab.sshd.user}@127.0.0.1:${lab.sshd.port}`, key });
          if (method === 'keyboard-interactive') {
            return next({
              type: 'keyboard-interactive',
              username: `${user}@${lab.sshd.user}@127.0.0.1:${lab.sshd.port}`,
              prompt: (_name, _instructions, _lang, asked, finish) => {
                prompts.push(...asked);
                finish(asked.map(answer));
              },
            });
          }
          // ssh2 takes `false` for "no more methods"; its types leave that out.
          return next(false as unknown as ssh2.AuthenticationType);
        },
      });
    });

  const echoed = await login('do=ask2', () => 'T-1');
  t.ok(echoed.ok);
  t.same(echoed.prompts, [{ prompt: 'Ticket number: ', echo: true }], 'a 2-element question is echoed');
  const hidden = await login('do=ask3', () => '4711');
  t.ok(hidden.ok);
  t.same(hidden.prompts, [{ prompt: 'PIN: ', echo: false }], 'disable_echo=true hides the answer');

  const long = await login('do=ask2', () => 'x'.repeat(5000));
  t.notOk(long.ok, 'an absurdly long answer is refused');
  await lab.gw.waitForLog((l) => l.event === 'mfa-denied' && /longer than 1024/.test(String(l.reason)));
  const control = await login('do=ask2', () => 'T-\u001b[2J1');
  t.notOk(control.ok, 'an answer with control characters is refused');
  await lab.gw.waitForLog((l) => l.event === 'mfa-denied' && /control characters/.test(String(l.reason)));
  const forever = await login('do=forever', () => 'more');
  t.notOk(forever.ok, 'a plugin that never stops asking is cut off');
  await lab.gw.waitForLog((l) => l.event === 'mfa-denied' && /more than 16 questions/.test(String(l.reason)));
  t.notMatch(JSON.stringify(lab.gw.logs), /xxxxxxxxxx|\\u001b\[2J/, 'refused answers are not logged');
});

t.test('DENY, and every plugin fault, denies that connection only, with the reason logged', async (t) => {
  const lab = await scriptedLab(t);
  const mark = lab.gw.logs.length;
  const denied = await runSsh(lab.viaGateway(`do=deny@${lab.sshd.user}`), 'true', { key: lab.key });
  t.equal(denied.code, 255);
  const line = await lab.gw.waitForLog((l) => l.event === 'mfa-denied' && lab.gw.logs.indexOf(l) >= mark);
  t.equal(line.reason, 'token revoked');
  const end = await sessionEnd(lab, mark);
  t.match(aaOf(end), { reason: 'token revoked', additionalMetadata: '{"why":"revoked"}' }, 'the reason is stored with the session');

  const faults: [string, string][] = [['hang', 'timeout'], ['throw', 'threw'], ['garbage', 'invalid-result'], ['empty-prompt', 'invalid-result']];
  for (const [behaviour, failure] of faults) {
    const at = lab.gw.logs.length;
    const run = await runSsh(lab.viaGateway(`do=${behaviour}@${lab.sshd.user}`), 'true', { key: lab.key, answers: [['', 'x']] });
    t.equal(run.code, 255, `${behaviour}: denied`);
    const failed = await lab.gw.waitForLog((l) => l.msg === 'plugin call failed; denied' && lab.gw.logs.indexOf(l) >= at);
    t.equal(failed.failure, failure, `${behaviour}: logged as ${failure}`);
    const next = await runSsh(lab.viaGateway(`do=accept@${lab.sshd.user}`), 'echo next', { key: lab.key });
    t.equal(next.stdout.toString(), 'next\n', `${behaviour}: the next connection works`);
  }
});

t.test('gateway_user from the plugin replaces the gateway user and meets the usermapping policy', async (t) => {
  const lab = await scriptedLab(t);
  const mapped = await runSsh(lab.viaGateway(`do=gu@as=mapped@${lab.sshd.user}`), 'whoami', { key: lab.key });
  t.equal(mapped.code, 0, mapped.stderr);
  const start = await lab.gw.waitForLog((l) => l.event === 'session-started');
  t.equal(start.gatewayUser, 'mapped', 'the session runs as the plugin’s gateway user');
  const authz = await hookArgs(lab, start.conn, 'authorize');
  t.match(authz, { gateway_user: 'mapped', gateway_groups: ['ops', 'dba'] });

  const stranger = await runSsh(lab.viaGateway(`do=gu@as=stranger@${lab.sshd.user}`), 'whoami', { key: lab.key });
  t.not(stranger.code, 0, 'no usermapping rule lets "stranger" log in as the server user');
  t.match(stranger.stderr, /gateway user stranger may not log in as/);
});

t.test('authorize: a DENY refuses the session with the plugin’s reason; session_ended still runs', async (t) => {
  const lab = await scriptedLab(t);
  const run = await runSsh(lab.viaGateway(`do_authz=deny@${lab.sshd.user}`), 'true', { key: lab.key });
  t.not(run.code, 0);
  t.match(run.stderr, /change window closed/);
  const end = await lab.gw.waitForLog((l) => l.event === 'session-ended');
  t.equal(end.reason, 'aa-authorize-denied');
  t.equal((await sessionEndedArgs(lab, end.conn)).session_id, end.conn, 'session_ended ran');

  const at = lab.gw.logs.length;
  const hang = await runSsh(lab.viaGateway(`do_authz=hang@${lab.sshd.user}`), 'true', { key: lab.key });
  t.not(hang.code, 0, 'a hanging authorize denies');
  const failed = await lab.gw.waitForLog((l) => l.msg === 'plugin call failed; denied' && lab.gw.logs.indexOf(l) >= at);
  t.match(failed, { hook: 'authorize', failure: 'timeout' });
});

t.test('session_ended runs when the client vanishes mid-session', async (t) => {
  const lab = await scriptedLab(t);
  const client = spawnSsh(lab.viaGateway(`do=none@${lab.sshd.user}`), 'sleep 60', { key: lab.key, t });
  const start = await lab.gw.waitForLog((l) => l.event === 'session-started');
  await client.kill();
  const ended = await sessionEndedArgs(lab, start.conn);
  t.equal(ended.session_id, start.conn, 'the plugin heard that the session ended');
});
