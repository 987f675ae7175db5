// `gatehouse serve` forwarding its security events to a real rsyslog: a gateway killed mid-stream and
// started again loses nothing; a receiver that accepts and never reads slows neither logins nor the
// other targets.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import t from 'tap';
import { AuditLog } from '../../src/log/events/audit-log.js';
import { InboxSink } from '../../src/log/events/inbox.js';
import { AuditJournal } from '../../src/log/events/journal.js';
import { createLogger } from '../../src/log/logger.js';
import { gatehouse, startServe } from '../helpers/cli.js';
import { startRsyslog } from '../helpers/rsyslog.js';
import { deliveryReport, sequenceIds, startStalledReceiver, waitUntil } from '../log/syslog/helpers.js';
import { parseRfc5424 } from '../log/syslog/parse.js';
import { freePort } from './helpers/ports.js';
import { runSsh } from './helpers/ssh-client.js';
import { startSshd } from './helpers/sshd.js';

async function dataDir(t: { teardown(fn: () => unknown): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'gh-syslog-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function writeConfig(dir: string, listenPort: number, syslogTargets: unknown[]): Promise<void> {
  const config = {
    connectionPolicies: [{ name: 'p', listen: { address: '127.0.0.1', port: listenPort }, targets: [{ host: '127.0.0.1', ports: '*' }], credentials: { type: 'passthrough' }, keepaliveSeconds: 0 }],
    syslogTargets,
  };
  await writeFile(join(dir, 'config.json'), JSON.stringify(config));
}

/** Hands `count` config-committed events to the gateway's inbox, as CLI commands do. */
function cliEvents(dir: string, from: number, count: number): void {
  const audit = new AuditLog(createLogger('silent'), new InboxSink(dir), 'cli');
  for (let i = from; i < from + count; i++) audit.emit('config-committed', { version: i, author: 'root', origin: 'console', change: 'apply', message: `change ${i}` });
}

t.test('a gateway killed mid-stream and started again loses nothing and keeps the order', async (t) => {
  const rx = await startRsyslog();
  t.teardown(() => rx.close());
  const dir = await dataDir(t);
  await writeConfig(dir, await freePort(), [{ name: 'siem', host: '127.0.0.1', port: rx.tcpPort, transport: 'tcp' }]);
  const env = { GATEHOUSE_DATA: dir };
  // CLI events keep coming, 100 every 10 ms, before, during and after the gateway's death.
  let produced = 0;
  let producing = true;
  const producer = (async () => {
    while (producing) {
      cliEvents(dir, produced + 1, 100);
      produced += 100;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  })();
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  const first = startServe(t, env);
  await first.waitFor('gateway started');
  await rx.waitFor(2000, 30_000);
  await first.stop('SIGKILL');
  const atKill = { produced, received: rx.messages().length };
  await sleep(1000);
  const second = startServe(t, env);
  await second.waitFor('gateway started');
  await sleep(1000);
  producing = false;
  await producer;

  const changes = (): Set<string> => new Set(rx.messages().filter((m) => m.includes(' config-committed ')).map((m) => /message="change (\d+)"/.exec(m)![1]!));
  await waitUntil(`the ${produced} CLI events at the receiver`, () => changes().size === produced, 90_000);
  await second.stop();
  await waitUntil('the closing events', () => rx.messages().some((m) => m.includes(' gateway-stopping ')), 10_000);

  const journal = AuditJournal.open(join(dir, 'audit', 'journal'), { maxBytes: 1e9, log: createLogger('silent') });
  const last = journal.lastSeq;
  journal.close();
  const report = deliveryReport(sequenceIds(rx.messages()), 1, last);
  t.ok(atKill.received < atKill.produced, `killed while events were flowing (${atKill.received} received of ${atKill.produced} produced)`);
  t.same(report.missing, [], `all ${last} journal events arrived`);
  t.equal(report.outOfOrder, 0, 'in order');
  t.comment(`${report.duplicates} events sent again after the kill (same sequenceId)`);
  const starts = rx.messages().filter((m) => m.includes(' gateway-started '));
  t.equal(new Set(sequenceIds(starts)).size, 2, 'both starts reported (a repeat carries the same sequenceId)');
});

t.test('a receiver that never reads slows neither logins nor the other target', async (t) => {
  const sshd = await startSshd(t);
  const rx = await startRsyslog();
  t.teardown(() => rx.close());
  const stalled = await startStalledReceiver(t);
  const dir = await dataDir(t);
  const port = await freePort();
  await writeConfig(dir, port, [
    { name: 'stalled', host: '127.0.0.1', port: stalled.port, transport: 'tcp' },
    { name: 'siem', host: '127.0.0.1', port: rx.tcpPort, transport: 'tcp', format: 'json' },
  ]);
  const env = { GATEHOUSE_DATA: dir };
  t.equal((await gatehouse(['user', 'add', sshd.user, '--password-stdin'], env, `${sshd.password}\n`)).code, 0);
  // Enough events to fill the stalled connection's socket buffers before the logins start.
  cliEvents(dir, 1, 40_000);
  const serve = startServe(t, env);
  await serve.waitFor('gateway started');
  await waitUntil('the backlog at the live target', () => rx.messages().length >= 40_000, 90_000);
  t.ok(stalled.connections() >= 1, 'the stalled receiver accepted the connection');

  const target = { port, user: `${sshd.user}@127.0.0.1:${sshd.port}` };
  for (let i = 0; i < 5; i++) {
    const login = await runSsh(target, 'true', { password: sshd.password });
    t.equal(login.code, 0, `login ${i + 1}: ${login.stderr}`);
  }
  await waitUntil('the logins reported at the live target', () => rx.messages().filter((m) => m.includes('"login-succeeded"')).length === 5, 15_000);
  await serve.stop();
  t.notOk(rx.messages().join('\n').includes(sshd.password), 'the password is in no event');
});

t.test('a login name with a newline, NUL and broken UTF-16 stays one escaped event at the receiver', async (t) => {
  const rx = await startRsyslog();
  t.teardown(() => rx.close());
  const dir = await dataDir(t);
  const port = await freePort();
  await writeConfig(dir, port, [{ name: 'siem', host: '127.0.0.1', port: rx.udpPort, transport: 'udp' }]);
  const serve = startServe(t, { GATEHOUSE_DATA: dir });
  await serve.waitFor('gateway started');
  await rx.waitFor(1);
  const forged = '<13>1 2026-01-01T00:00:00Z evil forged - - - you have been hacked';
  const client = new ssh2.Client();
  const closed = new Promise<void>((resolve) => client.on('close', () => resolve()));
  client.on('error', () => undefined);
  client.connect({ host: '127.0.0.1', port, username: `eve\n${forged}\0\uD800@127.0.0.1`, password: 'not-the-password', tryKeyboard: false });
  await closed;
  await waitUntil('the failed login at the receiver', () => rx.messages().some((m) => m.includes(' login-failed ')), 10_000);
  await serve.stop();
  const messages = rx.messages();
  t.notOk(messages.some((m) => m.startsWith('<13>')), 'no forged message');
  const failed = messages.filter((m) => m.includes(' login-failed '));
  t.ok(failed.length >= 1);
  for (const message of failed) {
    t.notMatch(message, /[\0\n]/, 'no raw NUL or newline');
    const fields = Object.fromEntries(parseRfc5424(message).sd.find((e) => e.id === 'gatehouse@32473')!.params);
    t.match(fields.reason, /^[a-z-]+$/, 'the real reason of the refusal');
    t.notOk(message.includes('not-the-password'), 'the password attempt is in no event');
  }
});
