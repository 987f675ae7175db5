// The text a terminal showed, for the connection database's full-text index: output bytes are decoded as
// streaming UTF-8 and escape sequences (CSI, OSC, DCS/SOS/PM/APC strings, two- and three-byte ESC
// sequences, C1 controls) are dropped, whatever packet boundaries cut them. A backspace removes the
// character before it on the same line, so `rm -rx<BS>f` is found as `rm -rf`; a carriage return ends a line,
// so progress bars do not glue their frames together. The text is capped: past `maxChars` it is cut and
// `truncated` says so, and later output costs nothing.
import { StringDecoder } from 'node:string_decoder';

type State = 'text' | 'escape' | 'charset' | 'csi' | 'string' | 'string-escape';

const ESC = 0x1b;
const BEL = 0x07;

export class TerminalText {
  readonly #decoder = new StringDecoder('utf8');
  readonly #maxChars: number;
  #state: State = 'text';
  #done: string[] = [];
  #doneChars = 0;
  #line = '';
  #lastWasCr = false;
  #truncated = false;

  constructor(maxChars: number) {
    this.#maxChars = maxChars;
  }

  /** Output bytes of the terminal, in order. */
  write(chunk: Buffer): void {
    if (this.#truncated) return;
    this.#consume(this.#decoder.write(chunk));
  }

  /** True once the text reached `maxChars` and the rest was dropped. */
  get truncated(): boolean {
    return this.#truncated;
  }

  /** The text so far, lines joined by `\n`; an incomplete last character is left out. */
  text(): string {
    const all = this.#done.join('') + this.#line;
    return all.length > this.#maxChars ? all.slice(0, this.#maxChars) : all;
  }

  #consume(text: string): void {
    for (let i = 0; i < text.length; i++) {
      const code = text.charCodeAt(i);
      switch (this.#state) {
        case 'text':
          this.#text(code, text[i]!);
          break;
        case 'escape':
          this.#escape(code);
          break;
        case 'charset':
          this.#state = 'text';
          break;
        case 'csi':
          // Parameters and intermediates are 0x20–0x3f; a final byte 0x40–0x7e ends the sequence.
          if (code >= 0x40 && code <= 0x7e) this.#state = 'text';
          else if (code === ESC) this.#state = 'escape';
          else if (code < 0x20 || code > 0x7e) {
            this.#state = 'text';
            this.#text(code, text[i]!);
          }
          break;
        case 'string':
          if (code === BEL || code === 0x9c) this.#state = 'text';
          else if (code === ESC) this.#state = 'string-escape';
          break;
        case 'string-escape':
          // ESC \ (ST) ends the string; any other ESC starts a new sequence.
          if (code === 0x5c) this.#state = 'text';
          else this.#escape(code);
          break;
      }
      if (this.#truncated) return;
    }
  }

  #escape(code: number): void {
    if (code === 0x5b) this.#state = 'csi'; // [
    else if (code === 0x5d || code === 0x50 || code === 0x58 || code === 0x5e || code === 0x5f) this.#state = 'string'; // ] P X ^ _
    else if (code >= 0x20 && code <= 0x2f) this.#state = 'charset'; // ESC ( B, ESC # 8, …: one more byte
    else if (code === ESC) this.#state = 'escape';
    else this.#state = 'text'; // ESC 7, ESC =, ESC M, …
  }

  #text(code: number, char: string): void {
    const wasCr = this.#lastWasCr;
    this.#lastWasCr = false;
    if (code === ESC) {
      this.#state = 'escape';
    } else if (code === 0x9b) {
      this.#state = 'csi';
    } else if (code === 0x9d || code === 0x90 || code === 0x98 || code === 0x9e || code === 0x9f) {
      this.#state = 'string';
    } else if (code === 0x0a) {
      if (!wasCr) this.#endLine();
    } else if (code === 0x0d) {
      this.#endLine();
      this.#lastWasCr = true;
    } else if (code === 0x08) {
      this.#line = this.#line.slice(0, -1);
    } else if (code === 0x09) {
      this.#append(char);
    } else if (code >= 0x20 && (code < 0x7f || code > 0x9f)) {
      this.#append(char);
    }
  }

  #append(char: string): void {
    this.#line += char;
    if (this.#doneChars + this.#line.length >= this.#maxChars) this.#truncated = true;
  }

  /** Empty lines are not kept: a screen of blank lines says nothing to a search. */
  #endLine(): void {
    if (this.#line.length === 0) return;
    const line = `${this.#line}\n`;
    this.#done.push(line);
    this.#doneChars += line.length;
    this.#line = '';
    if (this.#doneChars >= this.#maxChars) this.#truncated = true;
  }
}
