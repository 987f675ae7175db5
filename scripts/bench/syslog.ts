// (f) Syslog forwarding (issue 7), against a real rsyslog on loopback (test/helpers/rsyslog.ts):
//   - events per second sustained: the audit pipeline in the bench process (AuditLog → AuditJournal →
//     SyslogForwarder, as test/log/syslog/helpers.ts builds it) sending `session-ended` events to
//     rsyslog over TCP and over TLS, timed from the first emit until rsyslog has written the last one;
//   - the gateway's login latency with forwarding on and off: `ssh … true` through two `gatehouse
//     serve` processes side by side, one with a TCP syslog target, the samples interleaved.
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SyslogEndpoint } from '../../src/log/syslog/connection.js';
import type { TeardownHost, TestSshd } from '../../test/e2e/helpers/sshd.js';
import { startRsyslog, type TestRsyslog } from '../../test/helpers/rsyslog.js';
import { startPipeline, waitUntil, type Pipeline } from '../../test/log/syslog/helpers.js';
import { busySince, machineCpu } from './cpu.js';
import { startGatehouse } from './gatehouse-process.js';
import { measureLogin, type LoginSample } from './login.js';
import { viaGatehouse } from './ssh-run.js';
import { sleep } from './stats.js';

export type SyslogTransport = 'tcp' | 'tls';

export interface SyslogRateRun {
  transport: SyslogTransport;
  round: number;
  events: number;
  /** Time spent inside `audit.emit` (pino at silent, the journal append), summed over the batches. */
  emitMs: number;
  /** From the first emit until rsyslog had written the last event to its file. */
  deliverMs: number;
  /** Bytes rsyslog wrote per event (the RFC 5424 message as received, and its LF). */
  receivedBytesPerEvent: number;
  /** Bytes of journal segment per event (one JSON line each). */
  journalBytesPerEvent: number;
  /** Messages rsyslog got beyond the events (resends after a lost connection; expected 0). */
  extraMessages: number;
  /** CPU time of the bench process (emitter, journal, forwarder: one Node.js thread) over the delivery time, % of one core. */
  benchCorePercent: number;
  /** Busy time of the whole machine over the delivery time × CPUs, %. */
  machineBusyPercent: number;
}

export interface SyslogRateResult {
  batch: number;
  runs: SyslogRateRun[];
}

export interface SyslogRateSettings {
  events: number;
  rounds: number;
  progress(line: string): void;
}

/** Events emitted one after another before the bench yields to the event loop (and so to the forwarder). */
const BATCH = 500;

export async function measureSyslogRates(t: TeardownHost, settings: SyslogRateSettings): Promise<SyslogRateResult> {
  const runs: SyslogRateRun[] = [];
  for (let round = 0; round < settings.rounds; round++) {
    for (const transport of round % 2 ? (['tls', 'tcp'] as const) : (['tcp', 'tls'] as const)) {
      settings.progress(`syslog: ${settings.events} events over ${transport.toUpperCase()}, round ${round + 1}/${settings.rounds}`);
      runs.push({ transport, round, ...(await oneRun(t, transport, settings.events)) });
      const last = runs.at(-1)!;
      settings.progress(`syslog: ${transport}: ${Math.round(last.events / (last.deliverMs / 1000))} events/s end to end`);
    }
  }
  return { batch: BATCH, runs };
}

/** A fresh rsyslog and a fresh pipeline with one target, so the counts and file sizes are this run's alone. */
async function oneRun(t: TeardownHost, transport: SyslogTransport, events: number): Promise<Omit<SyslogRateRun, 'transport' | 'round'>> {
  const rx = await startRsyslog();
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-bench-syslog-'));
  const pipeline: Pipeline = startPipeline(t, dir, [{ name: transport, endpoint: endpoint(rx, transport) }]);
  const cleanup = async (): Promise<void> => {
    await pipeline.close();
    await rx.close();
    await rm(dir, { recursive: true, force: true });
  };
  t.teardown(cleanup); // on failure; cleaned up below otherwise, to free the CPUs for the next run
  await waitUntil(`the ${transport} target connected`, () => pipeline.forwarder.status().every((s) => s.connected));

  let emitMs = 0;
  const [machineBefore, ownBefore] = [machineCpu(), process.cpuUsage()];
  const started = performance.now();
  for (let sent = 0; sent < events; ) {
    const batchStarted = performance.now();
    for (const end = Math.min(events, sent + BATCH); sent < end; sent++) {
      pipeline.audit.emit('session-ended', sessionEnded(sent));
    }
    emitMs += performance.now() - batchStarted;
    await new Promise((resolve) => setImmediate(resolve));
  }
  const expected = pipeline.journal.lastSeq;
  await rx.waitFor(expected, 300_000);
  const deliverMs = performance.now() - started;
  const own = process.cpuUsage(ownBefore);
  const machineBusy = busySince(machineBefore);

  const messages = rx.messages();
  const receivedBytes = messages.reduce((sum, m) => sum + Buffer.byteLength(m) + 1, 0);
  const journalDir = join(dir, 'journal');
  let journalBytes = 0;
  for (const name of await readdir(journalDir)) journalBytes += (await stat(join(journalDir, name))).size;
  await cleanup();
  return {
    events,
    emitMs,
    deliverMs,
    receivedBytesPerEvent: receivedBytes / messages.length,
    journalBytesPerEvent: journalBytes / expected,
    extraMessages: messages.length - expected,
    benchCorePercent: (100 * (own.user + own.system)) / 1000 / deliverMs,
    machineBusyPercent: (100 * machineBusy * 1000) / (deliverMs * cpus().length),
  };
}

function endpoint(rx: TestRsyslog, transport: SyslogTransport): SyslogEndpoint {
  if (transport === 'tcp') return { host: '127.0.0.1', port: rx.tcpPort, transport };
  return { host: '127.0.0.1', port: rx.tlsPort, transport, tls: { ca: readFileSync(rx.caFile) } };
}

/** A `session-ended` event as the gateway writes one after a short interactive session. */
function sessionEnded(i: number) {
  return {
    sessionId: `3f2a9c1e-${String(i).padStart(12, '0')}`,
    clientIp: '192.0.2.10',
    clientPort: 40_000 + (i % 20_000),
    gatewayUser: `user${i % 97}`,
    serverUser: 'root',
    target: '10.0.0.5:22',
    policy: 'default',
    result: 'ok',
    reason: null,
    upstream: true,
    durationMs: 60_000 + i,
    bytesFromClient: 1_843,
    bytesToClient: 52_117,
    channels: 'session=1',
    aaMetadata: null,
  };
}

// ------------------------------------------------------------------------------------------------
// login latency with forwarding on and off

export interface ForwardingLoginResult {
  runs: number;
  warmup: number;
  /** Samples of the paths `forwarding-off` and `forwarding-on`, interleaved. */
  samples: LoginSample[];
  /** Messages rsyslog received per login through the gateway with forwarding on (warm-up included). */
  messagesPerLogin: number;
  /** Set when the gateway with a syslog target forwarded nothing: no samples then. */
  notForwarding?: string;
}

export interface ForwardingLoginSettings {
  target: TestSshd;
  authorizedKey: string;
  clientConfig: string;
  runs: number;
  warmup: number;
  progress(line: string): void;
}

export async function measureLoginForwarding(t: TeardownHost, o: ForwardingLoginSettings): Promise<ForwardingLoginResult> {
  const rx = await startRsyslog();
  t.teardown(() => rx.close());
  const siem = { name: 'siem', host: '127.0.0.1', port: rx.tcpPort, transport: 'tcp' };
  const off = await startGatehouse(t, { user: o.target.user, authorizedKey: o.authorizedKey });
  const on = await startGatehouse(t, { user: o.target.user, authorizedKey: o.authorizedKey, config: { syslogTargets: [siem] } });
  await o.target.authorizeKey(off.upstreamPublicLine);
  await o.target.authorizeKey(on.upstreamPublicLine);
  o.progress(`syslog login: gatehouse without forwarding (pid ${off.pid}) on :${off.port}, with a TCP target (pid ${on.pid}) on :${on.port}, rsyslog on :${rx.tcpPort}`);
  const result: ForwardingLoginResult = { runs: o.runs, warmup: o.warmup, samples: [], messagesPerLogin: Number.NaN };
  try {
    // The gateway reports its start (gateway-started) to every target.
    await rx.waitFor(1, 10_000);
  } catch {
    result.notForwarding = 'the gateway started with a syslog target sent nothing to rsyslog within 10 s (not even its gateway-started event)';
    o.progress(`syslog login: not measured: ${result.notForwarding}`);
    await Promise.all([off.stop(), on.stop()]);
    return result;
  }
  const loginName = `${o.target.user}@127.0.0.1:${o.target.port}`;
  const before = rx.messages().length;
  result.samples = await measureLogin(
    [
      { id: 'forwarding-off', label: 'no syslog target', args: viaGatehouse(o.clientConfig, off.port, loginName) },
      { id: 'forwarding-on', label: 'TCP syslog target', args: viaGatehouse(o.clientConfig, on.port, loginName) },
    ],
    { runs: o.runs, warmup: o.warmup, progress: (line) => o.progress(`syslog ${line}`) },
  );
  await sleep(1000); // the last login's events reach rsyslog's file
  result.messagesPerLogin = (rx.messages().length - before) / (o.runs + o.warmup);
  await Promise.all([off.stop(), on.stop()]);
  return result;
}
