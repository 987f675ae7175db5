// Shared by the forwarder tests and the syslog benchmark (scripts/bench/syslog.ts): a journal +
// forwarder pipeline in this process, and readers of what the receivers got.
import { mkdirSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { AuditLog } from '../../../src/log/events/audit-log.js';
import { AuditJournal } from '../../../src/log/events/journal.js';
import { createLogger } from '../../../src/log/logger.js';
import type { SyslogEndpoint } from '../../../src/log/syslog/connection.js';
import type { FrameSettings, SyslogFormat } from '../../../src/log/syslog/entry-format.js';
import { SyslogForwarder } from '../../../src/log/syslog/forwarder.js';
import type { TeardownHost } from '../../e2e/helpers/sshd.js';

export interface TargetSpec {
  name: string;
  format?: SyslogFormat;
  endpoint: SyslogEndpoint;
  resendWindowBytes?: number;
}

export interface Pipeline {
  audit: AuditLog;
  journal: AuditJournal;
  forwarder: SyslogForwarder;
  /** Closes forwarder and journal (idempotent). */
  close(): Promise<void>;
}

export function frameSettings(format: SyslogFormat, transport: SyslogEndpoint['transport']): FrameSettings {
  return { format, transport, facility: 10, hostname: 'gatehouse-test', appName: 'gatehouse', device: { vendor: 'Gatehouse', product: 'Gatehouse', version: 'test' } };
}

/** Journal in `dir/journal`, cursors in `dir/cursors`; reopening the same dir is a gateway restart. */
export function startPipeline(t: TeardownHost, dir: string, targets: TargetSpec[]): Pipeline {
  mkdirSync(join(dir, 'journal'), { recursive: true });
  const log = createLogger('silent');
  const journal = AuditJournal.open(join(dir, 'journal'), { maxBytes: 1024 * 1024 * 1024, log });
  const audit = new AuditLog(log, journal);
  const forwarder = SyslogForwarder.start(
    targets.map((target) => ({
      name: target.name,
      transport: target.endpoint.transport,
      endpoint: async () => target.endpoint,
      frame: frameSettings(target.format ?? 'rfc5424', target.endpoint.transport),
      ...(target.resendWindowBytes !== undefined ? { resendWindowBytes: target.resendWindowBytes } : {}),
    })),
    { cursorDir: join(dir, 'cursors'), journal, audit, log, backoff: { minMs: 50, maxMs: 500 } },
  );
  let closed: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closed ??= (async () => {
      await forwarder.close();
      journal.close();
    })());
  t.teardown(close);
  return { audit, journal, forwarder, close };
}

/** The `[meta sequenceId]` of each message. */
export function sequenceIds(messages: string[]): number[] {
  return messages.map((m) => {
    const match = /\[meta sequenceId="(\d+)"\]/.exec(m);
    if (!match) throw new Error(`no sequenceId in ${m.slice(0, 120)}`);
    return Number(match[1]);
  });
}

/**
 * Checks at-least-once, in-order delivery of 1..last: every number arrives, a number arrives again only as
 * a resend (a run going back to an earlier number), and after dropping repeats the order is strictly rising.
 */
export function deliveryReport(ids: number[], first: number, last: number): { missing: number[]; duplicates: number; outOfOrder: number } {
  const seen = new Set<number>();
  let duplicates = 0;
  let outOfOrder = 0;
  let highest = first - 1;
  for (const id of ids) {
    if (seen.has(id)) {
      duplicates++;
      continue;
    }
    seen.add(id);
    if (id < highest) outOfOrder++;
    highest = Math.max(highest, id);
  }
  const missing: number[] = [];
  for (let id = first; id <= last; id++) if (!seen.has(id)) missing.push(id);
  return { missing: missing.slice(0, 20), duplicates, outOfOrder };
}

export async function waitUntil(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A TCP "receiver" on loopback that accepts connections and never reads from them. */
export async function startStalledReceiver(t: TeardownHost): Promise<{ port: number; connections(): number }> {
  const stalled: Socket[] = [];
  const server = createServer((socket) => {
    socket.pause();
    stalled.push(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    for (const socket of stalled) socket.destroy();
    server.close();
  });
  return { port: (server.address() as { port: number }).port, connections: () => stalled.length };
}
