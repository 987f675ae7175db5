// (c) Resident memory of the gateway process with N concurrent idle sessions. Each session is one
// TCP connection from an ssh2 Client in this (bench) process with one shell channel (no pty)
// through the gateway to the target sshd; the shell has answered "echo" once, so the session is
// established end to end, then it idles reading stdin. Only the gateway's VmRSS is measured.
import { readFileSync } from 'node:fs';
import ssh2 from 'ssh2';
import { processTree } from '../../test/e2e/helpers/sshd.js';
import { statusKiB } from './gatehouse-process.js';
import { median, sleep } from './stats.js';

export interface MemoryLevel {
  /** Sessions asked for at this level. */
  target: number;
  /** Sessions actually established and still open when RSS was read. */
  open: number;
  rssKiB: number;
  /** After a full GC forced through the SIGUSR2 hook (undefined without the hook). */
  afterGc?: AfterGc;
  hwmKiB: number;
  /** Processes under the target sshd (its session processes), as evidence the sessions are real. */
  targetProcesses: number;
  /** Seconds it took to open this level's new sessions. */
  openSeconds: number;
}

export interface AfterGc {
  /** VmRSS 1 s after the GC. */
  rssKiB: number;
  /** V8 heap in use (live JS objects). */
  heapUsedKiB: number;
  /** Memory of Buffers/ArrayBuffers and other objects outside the V8 heap held by live objects. */
  externalKiB: number;
}

export interface MemoryResult {
  baseline: { rssKiB: number; afterGc?: AfterGc; hwmKiB: number };
  levels: MemoryLevel[];
  afterClose?: { rssKiB: number; waitedSeconds: number; afterGc?: AfterGc };
  /** The top level opened and closed a second time: growth here would mean memory kept per session served. */
  secondCycle?: { open: number; rssKiB: number; afterGc?: AfterGc; afterClose: { rssKiB: number; afterGc?: AfterGc } };
  failures: string[];
  concurrency: number;
}

export interface MemoryOptions {
  gatewayPid: number;
  gatewayPort: number;
  loginName: string;
  privateKeyPath: string;
  targetSshdPid: () => number | undefined;
  levels: number[];
  concurrency: number;
  settleMs: number;
  /** Forces a full GC in the gateway and returns its process.memoryUsage() (gc-on-signal.ts). */
  collectGarbage?: () => Promise<NodeJS.MemoryUsage | undefined>;
  /** Open and close the top level a second time. */
  secondCycle: boolean;
  progress: (line: string) => void;
}

interface Session {
  client: ssh2.Client;
  closed: boolean;
}

export async function measureMemory(o: MemoryOptions, register: (fn: () => unknown) => void): Promise<MemoryResult> {
  const privateKey = readFileSync(o.privateKeyPath, 'utf8');
  const sessions: Session[] = [];
  const failures: string[] = [];
  register(() => closeAll(sessions));

  const sampleRss = async (): Promise<number> => {
    const values: number[] = [];
    for (let i = 0; i < 3; i++) {
      values.push(statusKiB(o.gatewayPid, 'VmRSS'));
      if (i < 2) await sleep(1000);
    }
    return median(values);
  };
  const afterGc = async (): Promise<{ afterGc?: AfterGc }> => {
    const usage = await o.collectGarbage?.();
    if (!usage) return {};
    await sleep(1000);
    return { afterGc: { rssKiB: statusKiB(o.gatewayPid, 'VmRSS'), heapUsedKiB: usage.heapUsed / 1024, externalKiB: usage.external / 1024 } };
  };
  const openUpTo = async (target: number): Promise<number> => {
    const started = Date.now();
    const want = target - openCount(sessions);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < want) {
        next++;
        try {
          sessions.push(await openSession(o, privateKey));
        } catch (err) {
          failures.push((err as Error).message);
        }
      }
    };
    await Promise.all(Array.from({ length: o.concurrency }, worker));
    return (Date.now() - started) / 1000;
  };
  const closeAndMeasure = async (): Promise<{ rssKiB: number; waitedSeconds: number; afterGc?: AfterGc }> => {
    const closeStarted = Date.now();
    await closeAll(sessions);
    sessions.length = 0;
    await sleep(Math.max(o.settleMs, 3000));
    return { rssKiB: statusKiB(o.gatewayPid, 'VmRSS'), waitedSeconds: (Date.now() - closeStarted) / 1000, ...(await afterGc()) };
  };
  const gcNote = (g: AfterGc | undefined): string =>
    g ? ` (after GC: RSS ${(g.rssKiB / 1024).toFixed(1)} MiB, V8 heap used ${(g.heapUsedKiB / 1024).toFixed(1)} MiB, external ${(g.externalKiB / 1024).toFixed(1)} MiB)` : '';

  await sleep(o.settleMs);
  const baseline = { rssKiB: await sampleRss(), hwmKiB: statusKiB(o.gatewayPid, 'VmHWM'), ...(await afterGc()) };
  o.progress(`memory: gateway RSS with 0 sessions ${(baseline.rssKiB / 1024).toFixed(1)} MiB${gcNote(baseline.afterGc)}`);

  const levels: MemoryLevel[] = [];
  for (const target of o.levels) {
    const failuresBefore = failures.length;
    const want = target - openCount(sessions);
    const openSeconds = await openUpTo(target);
    o.progress(`memory: ${openCount(sessions)}/${target} sessions open after ${openSeconds.toFixed(1)} s; settling`);
    await sleep(o.settleMs);
    const rssKiB = await sampleRss();
    const hwmKiB = statusKiB(o.gatewayPid, 'VmHWM');
    const gc = await afterGc();
    const sshdPid = o.targetSshdPid();
    const level: MemoryLevel = {
      target,
      open: openCount(sessions),
      rssKiB,
      ...gc,
      hwmKiB,
      targetProcesses: sshdPid === undefined ? 0 : processTree(sshdPid).length - 1,
      openSeconds,
    };
    levels.push(level);
    o.progress(`memory: ${level.open} sessions → gateway RSS ${(rssKiB / 1024).toFixed(1)} MiB${gcNote(level.afterGc)}, target-side processes ${level.targetProcesses}`);
    const newFailures = failures.length - failuresBefore;
    if (newFailures > Math.max(5, want * 0.05)) {
      o.progress(`memory: ${newFailures} of ${want} sessions failed at this level; not going further. First: ${failures[failuresBefore]}`);
      break;
    }
  }

  const afterClose = await closeAndMeasure();
  o.progress(`memory: all sessions closed → gateway RSS ${(afterClose.rssKiB / 1024).toFixed(1)} MiB${gcNote(afterClose.afterGc)}`);
  const result: MemoryResult = { baseline, levels, afterClose, failures, concurrency: o.concurrency };

  const top = levels.at(-1);
  if (o.secondCycle && top && top.open > 0) {
    await openUpTo(top.open);
    await sleep(o.settleMs);
    const open = openCount(sessions);
    const rssKiB = await sampleRss();
    const gc = await afterGc();
    o.progress(`memory: second cycle, ${open} sessions → gateway RSS ${(rssKiB / 1024).toFixed(1)} MiB${gcNote(gc.afterGc)}`);
    const closed = await closeAndMeasure();
    o.progress(`memory: second cycle closed → gateway RSS ${(closed.rssKiB / 1024).toFixed(1)} MiB${gcNote(closed.afterGc)}`);
    result.secondCycle = { open, rssKiB, ...gc, afterClose: { rssKiB: closed.rssKiB, ...(closed.afterGc ? { afterGc: closed.afterGc } : {}) } };
  }
  return result;
}

function openCount(sessions: Session[]): number {
  return sessions.filter((s) => !s.closed).length;
}

function openSession(o: MemoryOptions, privateKey: string): Promise<Session> {
  return new Promise((resolve, reject) => {
    const client = new ssh2.Client();
    const session: Session = { client, closed: false };
    let settled = false;
    const fail = (why: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      client.end();
      reject(new Error(why));
    };
    const timer = setTimeout(() => fail('session not established within 60 s'), 60_000);
    client.on('error', (err: Error) => fail(`connection error: ${err.message}`));
    client.on('close', () => {
      session.closed = true;
      fail('connection closed before the session was established');
    });
    client.once('ready', () => {
      client.shell(false, (err, channel) => {
        if (err) return fail(`shell refused: ${err.message}`);
        let out = '';
        channel.stderr.on('data', (d: Buffer) => (out += d.toString()));
        channel.on('data', (d: Buffer) => {
          out += d.toString();
          if (!settled && out.includes('session-up')) {
            settled = true;
            clearTimeout(timer);
            resolve(session);
          }
        });
        channel.on('close', () => fail(`shell closed before it answered: ${out.trim().slice(0, 200)}`));
        channel.write('echo session-up\n');
      });
    });
    client.connect({
      host: '127.0.0.1',
      port: o.gatewayPort,
      username: o.loginName,
      privateKey,
      readyTimeout: 60_000,
      keepaliveInterval: 0,
    });
  });
}

async function closeAll(sessions: Session[]): Promise<void> {
  const open = sessions.filter((s) => !s.closed);
  await Promise.all(
    open.map(
      (s) =>
        new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            s.client.destroy();
            resolve();
          }, 5000);
          s.client.once('close', () => {
            clearTimeout(timer);
            resolve();
          });
          s.client.end();
        }),
    ),
  );
}
