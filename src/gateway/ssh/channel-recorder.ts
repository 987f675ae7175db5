// Records the channels of one connection (issue 8): one recording per channel, named `<sessionId>-<n>` in the
// gateway's recordings directory, fed by the session relay and signed when the channel closes. Shell and exec
// channels are recorded as terminal output; sftp channels as their file operations. A recording that cannot
// be written (disk full) is abandoned with a `recording-failed` event; it never throws into the relay, and the
// policy says whether the channel must then end. The text the terminal showed goes to the connection
// database's index when the channel closes (or its recording fails).
import { join } from 'node:path';
import type { RecordingText } from '../../audit/connections/session-row.js';
import { TerminalText } from '../../audit/connections/terminal-text.js';
import { CastWriter } from '../../audit/recording/asciicast.js';
import { ChainedFile, type RecordingSigner } from '../../audit/recording/chain.js';
import { fileLogLine } from '../../audit/recording/file-log.js';
import { SftpObserver } from '../../audit/recording/sftp-observer.js';
import type { ConnectionPolicy } from '../../config/schema.js';
import type { AuditLog } from '../../log/events/audit-log.js';
import type { Logger } from '../../log/logger.js';
import type { ConnectionRecord } from '../connection-record.js';

/** Where the gateway keeps recordings, and the key that signs them: made once at start. */
export interface RecordingStore {
  directory: string;
  signer: RecordingSigner;
  /** Where each recording's text goes for search, capped at `maxIndexedChars`; absent: no index. */
  indexText?: (text: RecordingText) => void;
  maxIndexedChars?: number;
}

/** 1 Mi characters: hours of typing and reading, not the whole of a `cat` of a big file. */
export const DEFAULT_MAX_INDEXED_CHARS = 1024 * 1024;

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
   * A recorder for a new shell or exec channel, or undefined when the policy does not record it. `stop` is
   * called once if the recording fails and the policy closes the session.
   */
  open(terminal: TerminalInfo, stop: () => void): ChannelRecorder | undefined {
    if (this.settings.terminalOnly && !terminal.interactive) return undefined;
    return this.#start(terminal, 'terminal', stop);
  }

  /**
   * A file-operation log for an sftp channel (scp too: OpenSSH's scp speaks sftp): recorded whenever the
   * policy records, `terminalOnly` or not, since it holds operations and byte counts, never file contents.
   */
  openFileLog(stop: () => void): FileLogRecorder | undefined {
    const recorder = this.#start({ cols: 120, rows: 40, interactive: false }, 'files', stop);
    return recorder && new FileLogRecorder(recorder);
  }

  #start(terminal: TerminalInfo, kind: RecordingText['kind'], stop: () => void): ChannelRecorder | undefined {
    if (!this.settings.enabled) return undefined;
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
          recordInput: this.settings.recordInput && kind === 'terminal',
        });
        const index = this.store.indexText;
        const text = index && new TerminalText(this.store.maxIndexedChars ?? DEFAULT_MAX_INDEXED_CHARS);
        const indexed = text && ((): void => index({ sessionId: this.sessionId, recording: id, kind, text: text.text(), truncated: text.truncated }));
        return new ChannelRecorder(file, writer, this.store.signer, failed, text, indexed);
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
    private readonly text?: TerminalText,
    /** Hands the text to the index, once, when the recording ends either way. */
    private readonly indexed?: () => void,
  ) {}

  output(chunk: Buffer): void {
    this.#guard(() => {
      this.writer.output(chunk);
      this.text?.write(chunk);
    });
  }

  input(chunk: Buffer): void {
    this.#guard(() => this.writer.input(chunk));
  }

  /** The terminal shows stderr among its output; the recording does too. */
  stderr(chunk: Buffer): void {
    this.output(chunk);
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
      this.indexed?.();
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
      this.indexed?.();
    }
  }
}

/**
 * Records an sftp channel as its file operations: the SFTP packets both ways go to an observer, and each
 * operation it reports becomes one line of the recording. The bytes themselves are never recorded.
 */
export class FileLogRecorder {
  readonly #observer: SftpObserver;

  constructor(private readonly recorder: ChannelRecorder) {
    this.#observer = new SftpObserver((op) => recorder.output(Buffer.from(`${fileLogLine(op)}\r\n`, 'utf8')));
  }

  output(chunk: Buffer): void {
    this.#observer.fromServer(chunk);
  }

  input(chunk: Buffer): void {
    this.#observer.fromClient(chunk);
  }

  /** The target's sftp-server complaining on stderr is not part of the SFTP stream. */
  stderr(): void {}

  close(): void {
    this.#observer.end();
    this.recorder.close();
  }
}

function abandonQuietly(file: ChainedFile): void {
  try {
    file.abandon();
  } catch {
    // The fds may already be gone; the recording reads as unfinished either way.
  }
}
