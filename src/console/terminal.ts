// The console's terminal: a plain VT100 line reader and writer over any byte stream pair (a serial
// port, a tty, a PassThrough in tests). 80x24, no colours, no mouse, no assumptions about what the
// peer answers. Input is decoded as a UTF-8 stream; escape sequences and control bytes from the
// peer are swallowed, never echoed; only printable characters reach a line.

/** Ctrl-C (0x03) was typed while a line was being read (or typed ahead of it). */
export class ConsoleInterrupt extends Error {
  constructor() {
    super('interrupted (Ctrl-C)');
    this.name = 'ConsoleInterrupt';
  }
}

/** Nothing was typed for the idle timeout while a line was being read. */
export class ConsoleIdle extends Error {
  constructor(idleTimeoutMs = 0) {
    super(`no input for ${Math.round(idleTimeoutMs / 1000)} s`);
    this.name = 'ConsoleIdle';
  }
}

/** The input ended, failed, or the terminal was closed. */
export class ConsoleClosed extends Error {
  constructor(reason = 'console input ended') {
    super(reason);
    this.name = 'ConsoleClosed';
  }
}

export interface ConsoleIo {
  input: NodeJS.ReadableStream;
  output: NodeJS.WritableStream;
}

export interface ConsoleTerminalOptions {
  /** Default 15 minutes; 0 = no idle timeout. */
  idleTimeoutMs?: number;
  /** Characters (code points) a line may hold; default 1024. */
  maxLineLength?: number;
}

const DEFAULT_IDLE_TIMEOUT_MS = 15 * 60 * 1000;
const DEFAULT_MAX_LINE_LENGTH = 1024;
/** Keys typed while no line is being read, kept for the next readLine. */
const TYPE_AHEAD_LIMIT = 4096;
/** An escape sequence or OSC string longer than this is abandoned (garbage, not a terminal). */
const SEQUENCE_LIMIT = 256;

const ESC = '\x1b';
const BELL = '\x07';
const ERASE = '\b \b';

type Key =
  | { kind: 'char'; char: string }
  | { kind: 'enter' | 'backspace' | 'kill' | 'interrupt' | 'redraw' };

type DecoderState = 'ground' | 'esc' | 'escIntermediate' | 'csi' | 'ss3' | 'string' | 'stringEsc';

/**
 * Turns received characters into keys, swallowing escape sequences (CSI such as arrow keys and
 * cursor-position or device-attribute answers, SS3, OSC/DCS/APC/PM/SOS strings) and control bytes.
 * A C0 control inside a sequence abandons it and counts as typed, so Ctrl-C and Enter always work.
 */
class KeyDecoder {
  private readonly utf8 = new TextDecoder('utf-8', { fatal: false });
  private state: DecoderState = 'ground';
  private sequenceLength = 0;
  private afterCr = false;

  decode(chunk: Buffer, emit: (key: Key) => void): void {
    const text = this.utf8.decode(chunk, { stream: true });
    for (const char of text) this.step(char, emit);
  }

  private step(char: string, emit: (key: Key) => void): void {
    const code = char.codePointAt(0)!;
    if (this.state !== 'ground') {
      if (code === 0x1b) {
        this.state = this.state === 'string' ? 'stringEsc' : 'esc';
        this.sequenceLength = 0;
        return;
      }
      if (this.state === 'string' && (code === 0x07 || code === 0x9c)) {
        this.state = 'ground';
        return;
      }
      if (code < 0x20) {
        this.state = 'ground'; // a control abandons the sequence and is handled as typed
      } else {
        if (++this.sequenceLength > SEQUENCE_LIMIT) this.state = 'ground';
        else this.inSequence(code);
        return;
      }
    }
    this.ground(char, code, emit);
  }

  private inSequence(code: number): void {
    switch (this.state) {
      case 'esc':
        if (code === 0x5b) this.state = 'csi'; // [
        else if (code === 0x4f) this.state = 'ss3'; // O
        else if (code === 0x5d || code === 0x50 || code === 0x58 || code === 0x5e || code === 0x5f) this.state = 'string'; // ] P X ^ _
        else if (code >= 0x20 && code <= 0x2f) this.state = 'escIntermediate';
        else this.state = 'ground'; // a two-character sequence (or Alt-key): swallowed
        return;
      case 'escIntermediate':
        if (code < 0x20 || code > 0x2f) this.state = 'ground';
        return;
      case 'csi':
        if (code >= 0x30 && code <= 0x3f) return; // parameters: digits ; ? < = >
        if (code >= 0x20 && code <= 0x2f) return; // intermediates
        this.state = 'ground'; // the final byte (0x40-0x7e), or garbage ending it
        return;
      case 'ss3':
        this.state = 'ground';
        return;
      case 'stringEsc':
        // ESC \ ends the string; ESC + anything else starts a new sequence with that character
        this.state = 'esc';
        if (code === 0x5c) this.state = 'ground';
        else this.inSequence(code);
        return;
      case 'string':
      case 'ground':
        return;
    }
  }

  private ground(char: string, code: number, emit: (key: Key) => void): void {
    const afterCr = this.afterCr;
    this.afterCr = false;
    if (code === 0x1b) {
      this.state = 'esc';
      this.sequenceLength = 0;
      return;
    }
    switch (code) {
      case 0x0d:
        this.afterCr = true;
        emit({ kind: 'enter' });
        return;
      case 0x0a:
        if (!afterCr) emit({ kind: 'enter' }); // CR LF is one Enter
        return;
      case 0x03:
        emit({ kind: 'interrupt' });
        return;
      case 0x08:
      case 0x7f:
        emit({ kind: 'backspace' });
        return;
      case 0x15:
        emit({ kind: 'kill' });
        return;
      case 0x0c:
        emit({ kind: 'redraw' });
        return;
    }
    if (isPrintable(char)) emit({ kind: 'char', char });
  }
}

/** Not a control, separator or replacement character: something that may stand in a line. */
function isPrintable(char: string): boolean {
  return !/[\p{Cc}\p{Cs}\p{Zl}\p{Zp}\u{FFFD}\u{202A}-\u{202E}\u{2066}-\u{2069}]/u.test(char);
}

/** Columns a character takes on a terminal: 0 for combining marks, 2 for wide East Asian and emoji. */
export function charWidth(char: string): number {
  const code = char.codePointAt(0)!;
  if (/[\p{Mn}\p{Me}\u{200B}-\u{200F}]/u.test(char)) return 0;
  if (
    (code >= 0x1100 && code <= 0x115f) ||
    (code >= 0x2e80 && code <= 0xa4cf && code !== 0x303f) ||
    (code >= 0xac00 && code <= 0xd7a3) ||
    (code >= 0xf900 && code <= 0xfaff) ||
    (code >= 0xfe30 && code <= 0xfe4f) ||
    (code >= 0xff00 && code <= 0xff60) ||
    (code >= 0xffe0 && code <= 0xffe6) ||
    (code >= 0x1f300 && code <= 0x1f64f) ||
    (code >= 0x1f900 && code <= 0x1f9ff) ||
    (code >= 0x20000 && code <= 0x3fffd)
  ) {
    return 2;
  }
  return 1;
}

/** Columns a string takes (see charWidth). */
export function displayWidth(text: string): number {
  let width = 0;
  for (const char of text) width += charWidth(char);
  return width;
}

/** What write() lets through: every control becomes visible caret notation, except \r \n \t. */
function sanitize(text: string): string {
  return text.replace(/\r?\n/g, '\n').replace(/[\p{Cc}\p{Zl}\p{Zp}\u{202A}-\u{202E}\u{2066}-\u{2069}]/gu, (char) => {
    if (char === '\n') return '\r\n';
    if (char === '\r' || char === '\t') return char;
    const code = char.codePointAt(0)!;
    if (code < 0x20) return `^${String.fromCharCode(code + 0x40)}`;
    if (code === 0x7f) return '^?';
    return '?';
  });
}

interface PendingRead {
  prompt: string;
  secret: boolean;
  resolve: (line: string) => void;
  reject: (error: Error) => void;
}

export class ConsoleTerminal {
  private readonly input: NodeJS.ReadableStream;
  private readonly output: NodeJS.WritableStream;
  private readonly idleTimeoutMs: number;
  private readonly maxLineLength: number;
  private readonly decoder = new KeyDecoder();
  private typeAhead: Key[] = [];
  private typeAheadChars = 0;
  /** The line being edited, one code point per element (so a secret can be dropped, not copied). */
  private line: string[] = [];
  private pending: PendingRead | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private closed: ConsoleClosed | undefined;
  private inputEnded = false;

  private readonly onData = (chunk: Buffer | string): void => {
    this.received(typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk);
  };
  private readonly onEnd = (): void => this.inputGone('console input ended');
  private readonly onInputError = (error: Error): void => this.inputGone(`console input failed: ${error.message}`);
  private readonly onOutputError = (error: Error): void => this.close(`console output failed: ${error.message}`);

  constructor(io: ConsoleIo, options: ConsoleTerminalOptions = {}) {
    this.input = io.input;
    this.output = io.output;
    this.idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    this.maxLineLength = options.maxLineLength ?? DEFAULT_MAX_LINE_LENGTH;
    this.input.on('data', this.onData);
    this.input.on('end', this.onEnd);
    this.input.on('close', this.onEnd);
    this.input.on('error', this.onInputError);
    this.output.on('error', this.onOutputError);
  }

  /** Writes text: '\n' becomes '\r\n'; any other control character is shown, not sent. */
  write(text: string): void {
    this.raw(sanitize(text));
  }

  /** Clears the screen and homes the cursor. */
  clear(): void {
    this.raw(`${ESC}[2J${ESC}[H`);
  }

  /**
   * Shows `prompt` (as given: add your own ': ') and reads one line. Resolves with the line
   * (printable characters only, not trimmed); rejects with ConsoleInterrupt, ConsoleIdle or
   * ConsoleClosed. With `secret`, nothing typed is echoed and the line is kept nowhere after return.
   */
  readLine(prompt: string, options: { secret?: boolean } = {}): Promise<string> {
    if (this.pending) return Promise.reject(new Error('readLine is already waiting for a line'));
    if (this.closed) return Promise.reject(this.closed);
    return new Promise<string>((resolve, reject) => {
      this.pending = { prompt, secret: options.secret === true, resolve, reject };
      this.line = [];
      this.write(prompt);
      this.armIdleTimer();
      const queued = this.typeAhead;
      this.typeAhead = [];
      this.typeAheadChars = 0;
      while (queued.length > 0 && this.pending) this.edit(queued.shift()!);
      if (!this.pending) {
        // the line was done from type-ahead: keep what came after it for the next readLine
        this.typeAhead = queued;
        this.typeAheadChars = queued.length;
      } else if (this.inputEnded) {
        this.finish(new ConsoleClosed());
      }
    });
  }

  /** Stops reading (a waiting readLine rejects with ConsoleClosed). Does not close the streams. */
  close(reason = 'console closed'): void {
    if (!this.closed) this.closed = new ConsoleClosed(reason);
    this.input.removeListener('data', this.onData);
    this.input.removeListener('end', this.onEnd);
    this.input.removeListener('close', this.onEnd);
    this.input.pause(); // a paused stdin no longer holds the process open
    this.typeAhead = [];
    this.typeAheadChars = 0;
    if (this.pending) this.finish(this.closed);
    this.clearIdleTimer();
    this.line = [];
  }

  private raw(text: string): void {
    if (this.closed && !this.pending) return;
    try {
      this.output.write(text);
    } catch {
      // a destroyed output: the 'error' listener closes the terminal
    }
  }

  private received(chunk: Buffer): void {
    if (this.closed) return;
    if (this.pending) this.armIdleTimer();
    this.decoder.decode(chunk, (key) => {
      if (this.pending) this.edit(key);
      else this.queue(key);
    });
  }

  private queue(key: Key): void {
    if (key.kind === 'interrupt') {
      // like a tty's INTR: what was typed ahead is thrown away
      this.typeAhead = [];
      this.typeAheadChars = 0;
    }
    if (this.typeAheadChars >= TYPE_AHEAD_LIMIT) return;
    this.typeAhead.push(key);
    this.typeAheadChars += 1;
  }

  private edit(key: Key): void {
    const pending = this.pending!;
    switch (key.kind) {
      case 'char':
        if (this.line.length >= this.maxLineLength) {
          this.raw(BELL);
          return;
        }
        this.line.push(key.char);
        if (!pending.secret) this.raw(key.char);
        return;
      case 'backspace': {
        const erased = this.line.pop();
        if (erased !== undefined && !pending.secret) this.raw(ERASE.repeat(charWidth(erased)));
        return;
      }
      case 'kill':
        if (!pending.secret) this.raw(ERASE.repeat(displayWidth(this.line.join(''))));
        this.line = [];
        return;
      case 'redraw':
        this.raw('\r\n');
        this.write(pending.prompt);
        if (!pending.secret) this.raw(this.line.join(''));
        return;
      case 'interrupt':
        this.raw('^C\r\n');
        this.finish(new ConsoleInterrupt());
        return;
      case 'enter':
        this.raw('\r\n');
        this.finish(this.line.join(''));
        return;
    }
  }

  private finish(result: string | Error): void {
    const pending = this.pending;
    if (!pending) return;
    this.pending = undefined;
    this.line = [];
    this.clearIdleTimer();
    if (typeof result === 'string') pending.resolve(result);
    else pending.reject(result);
  }

  private inputGone(reason: string): void {
    if (this.inputEnded) return;
    this.inputEnded = true;
    if (this.pending) {
      this.finish(new ConsoleClosed(reason));
    }
    // queued complete lines stay readable; after them readLine rejects with ConsoleClosed
  }

  private armIdleTimer(): void {
    this.clearIdleTimer();
    if (this.idleTimeoutMs <= 0) return;
    this.idleTimer = setTimeout(() => {
      this.idleTimer = undefined;
      if (this.pending) {
        this.raw('\r\n');
        this.finish(new ConsoleIdle(this.idleTimeoutMs));
      }
    }, this.idleTimeoutMs);
  }

  private clearIdleTimer(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
  }
}
