// Cuts a worker's stdout or stderr into lines of bounded length, whatever the plugin writes.
import { StringDecoder } from 'node:string_decoder';

export class LineSplitter {
  #decoder = new StringDecoder('utf8');
  #partial = '';
  /** Set after an over-long line was cut: the rest of it, up to its newline, is dropped. */
  #skipping = false;

  constructor(private readonly maxLength: number) {}

  push(chunk: Buffer): string[] {
    const pieces = (this.#partial + this.#decoder.write(chunk)).split('\n');
    this.#partial = pieces.pop() as string;
    const lines: string[] = [];
    for (const piece of pieces) {
      if (!this.#skipping) lines.push(this.#cut(piece));
      this.#skipping = false;
    }
    if (this.#partial.length > this.maxLength) {
      if (!this.#skipping) lines.push(this.#cut(this.#partial));
      this.#partial = '';
      this.#skipping = true;
    }
    return lines;
  }

  /** What is left when the stream ends. */
  end(): string[] {
    const rest = this.#partial + this.#decoder.end();
    this.#partial = '';
    return rest && !this.#skipping ? [this.#cut(rest)] : [];
  }

  #cut(line: string): string {
    const trimmed = line.endsWith('\r') ? line.slice(0, -1) : line;
    return trimmed.length <= this.maxLength ? trimmed : `${trimmed.slice(0, this.maxLength)}…`;
  }
}
