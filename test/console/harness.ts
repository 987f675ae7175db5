// A console terminal over a PassThrough pair: `type` sends bytes as the person at the console would,
// `screen` is everything the terminal wrote so far, `wipe` forgets it, `waitFor` waits until it shows a text.
import { PassThrough } from 'node:stream';
import { ConsoleTerminal, type ConsoleTerminalOptions } from '../../src/console/terminal.js';

export function fakeConsole(options: ConsoleTerminalOptions = { idleTimeoutMs: 0 }) {
  const input = new PassThrough();
  const output = new PassThrough();
  let written = '';
  output.on('data', (chunk: Buffer) => (written += chunk.toString('utf8')));
  const term = new ConsoleTerminal({ input, output }, options);
  return {
    term,
    input,
    type: (data: string | number[]) => void input.write(typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data)),
    screen: () => written,
    wipe: () => void (written = ''),
    waitFor: async (text: string, timeoutMs = 20_000): Promise<void> => {
      for (const deadline = Date.now() + timeoutMs; !written.includes(text); ) {
        if (Date.now() > deadline) throw new Error(`the console did not show ${JSON.stringify(text)}; it shows:\n${written}`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    },
  };
}

/** Lets the streams deliver what was written. */
export const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
