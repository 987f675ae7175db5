// Forwards the audit journal to every syslog target, each at its own pace, in journal order.
//
// Each target has a cursor: the last sequence number it has surely delivered, kept in
// `<cursors>/<target>.json` so a restart resumes there. Plain TCP and TLS have no acknowledgement: bytes the
// receiver's kernel took can still be lost if it dies. So after a connection loss the sender goes back over
// the last `resendWindowBytes` it wrote and sends them again: at-least-once delivery, and a duplicate carries
// the same `[meta sequenceId]` as the original, so receivers can tell. A graceful stop that the receiver
// answers by closing its side confirms everything sent, and nothing is sent twice after it.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AuditLog } from '../events/audit-log.js';
import type { JournalEntry } from '../events/entry.js';
import type { AuditJournal, JournalReader, LostRange } from '../events/journal.js';
import type { Logger } from '../logger.js';
import { writeFileAtomic } from '../../system/atomic-file.js';
import { describeFailure, openSyslogConnection, type SyslogConnection, type SyslogEndpoint } from './connection.js';
import { formatFrame, type FrameSettings } from './entry-format.js';

export interface ForwarderTarget {
  name: string;
  transport: SyslogEndpoint['transport'];
  /** Asked before every connection attempt, so certificate files are read afresh (and a missing one is a reason, not a crash). */
  endpoint: () => Promise<SyslogEndpoint>;
  frame: FrameSettings;
  /** TCP/TLS: how much already-written data to send again after a connection loss. */
  resendWindowBytes?: number;
}

export interface ForwarderOptions {
  /** Directory of the per-target cursor files. */
  cursorDir: string;
  journal: AuditJournal;
  /** Where the forwarder reports its own events (target down/up, events dropped). */
  audit: AuditLog;
  log: Logger;
  /** Back-off between connection attempts: doubles from `minMs` up to `maxMs`, with jitter. */
  backoff?: { minMs: number; maxMs: number };
}

export interface TargetStatus {
  target: string;
  connected: boolean;
  /** Last sequence number surely delivered. */
  delivered: number;
  /** Events written to the journal and not yet surely delivered. */
  backlog: number;
}

const BATCH = 512;
const DEFAULT_RESEND_WINDOW = 4 * 1024 * 1024;
const CURSOR_SAVE_MS = 500;
const GRACEFUL_END_MS = 2000;

export class SyslogForwarder {
  private constructor(private readonly senders: TargetSender[]) {}

  static start(targets: ForwarderTarget[], options: ForwarderOptions): SyslogForwarder {
    mkdirSync(options.cursorDir, { recursive: true, mode: 0o700 });
    const senders = targets.map((target) => new TargetSender(target, options));
    for (const sender of senders) sender.run();
    return new SyslogForwarder(senders);
  }

  status(): TargetStatus[] {
    return this.senders.map((sender) => sender.status());
  }

  /** Stops every target, giving each a moment to hand over what it has written. */
  async close(): Promise<void> {
    await Promise.all(this.senders.map((sender) => sender.close()));
  }
}

interface Written {
  seq: number;
  /** Bytes written on this connection up to and including this event. */
  end: number;
}

class TargetSender {
  readonly #target: ForwarderTarget;
  readonly #options: ForwarderOptions;
  readonly #cursorFile: string;
  readonly #window: number;
  /** Last sequence number surely delivered. */
  #delivered: number;
  #savedDelivered: number;
  #reader: JournalReader;
  #connection: SyslogConnection | undefined;
  #closing = false;
  #closeRequested: Promise<void>;
  #requestClose!: () => void;
  #stopped: Promise<void> = Promise.resolve();
  #wake: (() => void) | undefined;
  #unsubscribe: () => void;
  #saveTimer: NodeJS.Timeout;
  #saving: Promise<void> = Promise.resolve();
  #downSince: number | undefined;
  #failures = 0;

  constructor(target: ForwarderTarget, options: ForwarderOptions) {
    this.#target = target;
    this.#options = options;
    this.#cursorFile = join(options.cursorDir, `${target.name}.json`);
    this.#closeRequested = new Promise((resolve) => (this.#requestClose = resolve));
    this.#window = target.transport === 'udp' ? 0 : (target.resendWindowBytes ?? DEFAULT_RESEND_WINDOW);
    // A target seen for the first time starts with the events from now on, not the journal's whole past; its
    // cursor file is written at once, so that after a crash it is not taken for a new target again.
    const saved = readCursor(this.#cursorFile, options.log);
    this.#delivered = Math.min(saved ?? options.journal.lastSeq, options.journal.lastSeq);
    if (saved === undefined) writeCursorNow(this.#cursorFile, this.#delivered);
    this.#savedDelivered = this.#delivered;
    this.#reader = options.journal.reader(this.#delivered + 1);
    this.#unsubscribe = options.journal.onAppend(() => this.#wakeUp());
    this.#saveTimer = setInterval(() => void this.#saveCursor(), CURSOR_SAVE_MS).unref();
  }

  status(): TargetStatus {
    return { target: this.#target.name, connected: this.#connection !== undefined, delivered: this.#delivered, backlog: this.#options.journal.lastSeq - this.#delivered };
  }

  run(): void {
    this.#stopped = this.#loop().catch((err: Error) => {
      this.#options.log.error({ target: this.#target.name, err: err.message, stack: err.stack }, 'syslog forwarding stopped on an internal error');
    });
  }

  async close(): Promise<void> {
    this.#closing = true;
    this.#requestClose();
    this.#wakeUp();
    await this.#stopped;
    clearInterval(this.#saveTimer);
    this.#unsubscribe();
    this.#reader.close();
    await this.#saveCursor();
  }

  async #loop(): Promise<void> {
    while (!this.#closing) {
      let connection: SyslogConnection;
      try {
        connection = await openSyslogConnection(await this.#target.endpoint());
      } catch (err) {
        this.#down(describeFailure(err as Error));
        await this.#sleep(this.#backoffMs());
        continue;
      }
      if (this.#closing) {
        connection.destroy();
        break;
      }
      this.#up();
      this.#connection = connection;
      const reason = await this.#pump(connection);
      this.#connection = undefined;
      if (!this.#closing) this.#down(reason);
    }
  }

  // Sends journal entries until the connection fails or the sender closes; returns why it ended.
  async #pump(connection: SyslogConnection): Promise<string> {
    let failure: string | undefined;
    void connection.closed.then((reason) => {
      failure = reason;
      this.#wakeUp();
    });
    const written: Written[] = [];
    let bytes = 0;
    this.#reader.close();
    this.#reader = this.#options.journal.reader(this.#delivered + 1);
    while (failure === undefined && !this.#closing) {
      const { entries, lost } = this.#reader.read(BATCH);
      for (const range of lost) this.#reportLost(range);
      if (entries.length === 0) {
        if (lost.length) this.#delivered = this.#reader.nextSeq - 1;
        await this.#waitForWork();
        continue;
      }
      const frames: Buffer[] = [];
      for (const entry of entries) {
        const frame = this.#frame(entry);
        if (frame) {
          frames.push(frame);
          bytes += frame.length;
        }
        written.push({ seq: entry.seq, end: bytes });
      }
      const more = connection.write(frames);
      // Everything further back than the resend window is taken as delivered.
      let confirmed = 0;
      while (confirmed < written.length && bytes - written[confirmed]!.end >= this.#window) confirmed++;
      if (confirmed > 0) {
        this.#delivered = Math.max(this.#delivered, written[confirmed - 1]!.seq);
        written.splice(0, confirmed);
      }
      if (!more) await Promise.race([connection.drained(), this.#closeRequested]);
    }
    if (this.#closing && failure === undefined) {
      const confirmedAll = await connection.end(GRACEFUL_END_MS);
      if (confirmedAll && written.length) this.#delivered = Math.max(this.#delivered, written.at(-1)!.seq);
      return 'closed';
    }
    connection.destroy();
    return failure ?? 'closed';
  }

  #frame(entry: JournalEntry): Buffer | undefined {
    try {
      return formatFrame(entry, this.#target.frame);
    } catch (err) {
      // Cannot happen with catalogue events; if it does, the event is reported rather than blocking the queue.
      this.#options.log.error({ target: this.#target.name, seq: entry.seq, eventId: entry.eventId, err: (err as Error).message }, 'syslog: event could not be formatted; skipped');
      return undefined;
    }
  }

  #reportLost(range: LostRange): void {
    this.#options.audit.emit('audit-events-dropped', {
      target: this.#target.name,
      reason: range.reason,
      count: range.last - range.first + 1,
      firstSequence: range.first,
      lastSequence: range.last,
    });
  }

  #down(reason: string): void {
    this.#failures++;
    if (this.#downSince !== undefined) return;
    this.#downSince = Date.now();
    this.#options.audit.emit('syslog-target-down', { target: this.#target.name, reason, backlog: this.#options.journal.lastSeq - this.#delivered });
  }

  #up(): void {
    this.#failures = 0;
    if (this.#downSince === undefined) return;
    const downMs = Date.now() - this.#downSince;
    this.#downSince = undefined;
    this.#options.audit.emit('syslog-target-up', { target: this.#target.name, downMs, resending: this.#options.journal.lastSeq - this.#delivered });
  }

  #backoffMs(): number {
    const { minMs, maxMs } = this.#options.backoff ?? { minMs: 250, maxMs: 30_000 };
    const ceiling = Math.min(maxMs, minMs * 2 ** Math.min(this.#failures - 1, 20));
    return ceiling / 2 + Math.random() * (ceiling / 2);
  }

  #waitForWork(): Promise<void> {
    return new Promise((resolve) => (this.#wake = resolve));
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.#wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  #wakeUp(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  #saveCursor(): Promise<void> {
    this.#saving = this.#saving.then(async () => {
      const delivered = this.#delivered;
      if (delivered === this.#savedDelivered) return;
      try {
        await writeFileAtomic(this.#cursorFile, `${JSON.stringify({ delivered })}\n`);
        this.#savedDelivered = delivered;
      } catch (err) {
        this.#options.log.error({ target: this.#target.name, err: (err as Error).message }, 'cannot save the syslog target cursor');
      }
    });
    return this.#saving;
  }
}

function readCursor(file: string, log: Logger): number | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    return undefined;
  }
  let delivered: unknown;
  try {
    delivered = (JSON.parse(text) as { delivered?: unknown }).delivered;
  } catch {
    delivered = undefined;
  }
  if (typeof delivered === 'number' && Number.isSafeInteger(delivered) && delivered >= 0) return delivered;
  // Better to send the journal again than to skip it: duplicates carry their sequenceId.
  log.error({ file }, 'unreadable syslog cursor: sending the whole journal to this target again');
  return 0;
}

function writeCursorNow(file: string, delivered: number): void {
  const temporary = `${file}.new`;
  writeFileSync(temporary, `${JSON.stringify({ delivered })}\n`, { mode: 0o600 });
  renameSync(temporary, file);
}
