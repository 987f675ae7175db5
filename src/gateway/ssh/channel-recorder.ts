// Records the shell and exec channels of one connection (issue 8): one recording per channel, named
// `<sessionId>-<n>` in the gateway's recordings directory, fed by the session relay and signed when the
// channel closes. A recording that cannot be written (disk full) is abandoned with a `recording-failed`
// event; it never throws into the relay, and the policy says whether the channel must then end.
import { join } from 'node:path';
import { CastWriter } from '../../audit/recording/asciicast.js';
import { ChainedFile, type RecordingSigner } from '../../audit/recording/chain.js';
import type { ConnectionPolicy } from '../../config/schema.js';
import type { AuditLog } from '../../log/events/audit-log.js';
import type { Logger } from '../../log/logger.js';
import type { ConnectionRecord } from '../connection-record.js';

/** Where the gateway keeps recordings, and the key that signs them: made once at start. */
export interface RecordingStore {
  directory: string;
  signer: RecordingSigner;
}

/** What the recorder reads of a policy's `recording` (its retention is the gateway's, not the channel's). */
export type RecordingSettings = Omit<ConnectionPolicy['recording'], 'retentionDays'>;

export interface TerminalInfo {
  cols: number;
  rows: number;
  term?: string;
  /** A shell, or a command with a pty: what `terminalOnly` policies record. */
  interactive: boolean;
}

/** The recordings of one connection; `open` numbers its channels 1, 2, … */
export class SessionRecordings {
  #channels = 0;

  constructor(
    private readonly store: RecordingStore,
    private readonly settings: RecordingSettings,
    private readonly sessionId: string,
    private readonly record: ConnectionRecord,
    private readonly audit: AuditLog,
    private readonly log: Logger,
  ) {}

  /**
   * A recorder for a new channel, or undefined when the policy does not record it. `stop` is called once if
   * the recording fails and the policy closes the session.
   */
  open(terminal: TerminalInfo, stop: () => void): ChannelRecorder | undefined {
    if (!this.settings.enabled || (this.settings.terminalOnly && !terminal.interactive)) return undefined;
    const id = `${this.sessionId}-${++this.#channels}`;
    this.record.recordingStarted(id);
    const failed = (err: unknown): void => {
      const reason = err instanceof Error ? err.message : String(err);
      this.log.error({ recording: id, err: reason }, 'session recording failed');
      this.audit.emit('recording-failed', { ...this.record.who(), recording: id, reason });
      if (this.settings.onFailure === 'close-session') stop();
    };
    try {
      const file = new ChainedFile(join(this.store.directory, id), { id, policy: this.record.policy });
      try {
        const writer = new CastWriter(file, {
          width: terminal.cols > 0 ? terminal.cols : 80,
          height: terminal.rows > 0 ? terminal.rows : 24,
          startedAt: new Date(),
          ...(terminal.term ? { term: terminal.term } : {}),
          title: id,
          recordInput: this.settings.recordInput,
        });
        return new ChannelRecorder(file, writer, this.store.signer, failed);
      } catch (err) {
        abandonQuietly(file);
        throw err;
      }
    } catch (err) {
      failed(err);
      return undefined;
    }
  }
}

/** Feeds one channel's recording; every call is safe after a failure or the close (it does nothing). */
export class ChannelRecorder {
  #done = false;

  constructor(
    private readonly file: ChainedFile,
    private readonly writer: CastWriter,
    private readonly signer: RecordingSigner,
    private readonly failed: (err: unknown) => void,
  ) {}

  output(chunk: Buffer): void {
    this.#guard(() => this.writer.output(chunk));
  }

  input(chunk: Buffer): void {
    this.#guard(() => this.writer.input(chunk));
  }

  resize(cols: number, rows: number): void {
    this.#guard(() => this.writer.resize(cols, rows));
  }

  /** The channel closed: flushes, seals and signs the recording. */
  close(): void {
    this.#guard(() => {
      this.writer.end();
      this.#done = true;
      this.file.close(this.signer);
    });
  }

  #guard(action: () => void): void {
    if (this.#done) return;
    try {
      action();
    } catch (err) {
      this.#done = true;
      abandonQuietly(this.file);
      this.failed(err);
    }
  }
}

function abandonQuietly(file: ChainedFile): void {
  try {
    file.abandon();
  } catch {
    // The fds may already be gone; the recording reads as unfinished either way.
  }
}
