// The appliance's serial console as the boot test sees it: everything QEMU's ttyS0 prints, with escape
// sequences removed for matching, and keys typed back. systemd probes the terminal size with ESC[6n; it
// gets an 80x24 answer, as from a real terminal. What is typed is never written to the transcript.
import { appendFileSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';

const ESCAPES = /\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][0-9A-Za-z]|\x1b[=>78cDEHM]/g;

export class BootTestFailure extends Error {
  override name = 'BootTestFailure';
}

export class SerialConsole {
  private text = '';
  /** Where the next expect() starts looking: text before it was matched already. */
  private cursor = 0;
  private waiters = new Set<() => void>();
  private closed = false;

  constructor(
    output: Readable,
    private readonly input: Writable,
    private readonly transcript: string,
  ) {
    output.on('data', (chunk: Buffer) => {
      const raw = chunk.toString('latin1');
      appendFileSync(this.transcript, chunk);
      if (raw.includes('\x1b[6n')) this.input.write('\x1b[24;80R');
      this.text += raw.replace(ESCAPES, '').replace(/\r/g, '');
      for (const wake of this.waiters) wake();
    });
    output.on('close', () => {
      this.closed = true;
      for (const wake of this.waiters) wake();
    });
  }

  /** Waits for `pattern` in what was printed since the last match; returns the match. */
  async expect(pattern: RegExp, timeoutMs: number, what = String(pattern)): Promise<RegExpExecArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = new RegExp(pattern.source, pattern.flags.replace('g', '')).exec(this.text.slice(this.cursor));
      if (found) {
        this.cursor += found.index + found[0].length;
        return found;
      }
      if (this.closed) throw new BootTestFailure(`the machine stopped before: ${what}\n--- last console lines ---\n${this.tail()}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new BootTestFailure(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for: ${what}\n--- last console lines ---\n${this.tail()}`);
      await new Promise<void>((resolve) => {
        const wake = () => {
          this.waiters.delete(wake);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(wake, left);
        this.waiters.add(wake);
      });
    }
  }

  /** Types `text` then Enter, one key at a time as a person would (the UART has a small FIFO). */
  async type(text: string): Promise<void> {
    for (const char of `${text}\r`) {
      this.input.write(char);
      await new Promise((resolve) => setTimeout(resolve, 15));
    }
  }

  /** Answers the question matching `prompt`. */
  async answer(prompt: RegExp, text: string, timeoutMs = 60_000): Promise<void> {
    await this.expect(prompt, timeoutMs, `the prompt ${prompt}`);
    await this.type(text);
  }

  /** In the numbered list just printed, chooses the item whose label matches `label`. */
  async choose(label: RegExp, timeoutMs = 60_000): Promise<void> {
    const start = this.cursor;
    await this.expect(/Choice \([^)]*\)(?: \[\d+\])?: $/m, timeoutMs, `a choice among items including ${label}`);
    const listing = this.text.slice(start, this.cursor);
    const item = listing
      .split('\n')
      .map((line) => /^\s*(\d+)\) (.*)$/.exec(line))
      .filter((m): m is RegExpExecArray => m !== null)
      .reverse()
      .find((m) => label.test(m[2]!));
    if (!item) throw new BootTestFailure(`no item ${label} in the list:\n${listing}`);
    await this.type(item[1]!);
  }

  /** The last lines printed, for failure messages. */
  tail(lines = 25): string {
    return this.text.split('\n').slice(-lines).join('\n');
  }
}
