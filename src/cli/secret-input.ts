// Reads secrets: from a no-echo prompt on a terminal, else one line of standard input per secret
// (so a script can pipe several: passphrase parts, then a password). Never from the command line.
import { createInterface } from 'node:readline';

let pipedLines: AsyncIterator<string> | undefined;

export async function readSecret(prompt: string): Promise<string> {
  const secret = process.stdin.isTTY ? await promptWithoutEcho(prompt) : await nextPipedLine();
  if (secret === '') throw new Error('empty secret refused');
  return secret;
}

/** Reads `count` passphrase parts, each typed by whoever holds it. */
export async function readParts(count: number, what: string): Promise<string[]> {
  const parts: string[] = [];
  for (let i = 1; i <= count; i++) parts.push(await readSecret(count > 1 ? `${what}, part ${i} of ${count}: ` : `${what}: `));
  return parts;
}

async function nextPipedLine(): Promise<string> {
  pipedLines ??= createInterface({ input: process.stdin, terminal: false })[Symbol.asyncIterator]();
  const next = await pipedLines.next();
  if (next.done) throw new Error('standard input ended before every secret was given');
  return next.value;
}

function promptWithoutEcho(prompt: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const input = process.stdin;
    let secret = '';
    process.stderr.write(prompt);
    input.setRawMode(true);
    input.resume();
    input.setEncoding('utf8');
    const finish = (error?: Error): void => {
      input.setRawMode(false);
      input.pause();
      input.off('data', onData);
      process.stderr.write('\n');
      if (error) reject(error);
      else resolve(secret);
    };
    const onData = (chunk: string): void => {
      for (const char of chunk) {
        if (char === '\r' || char === '\n') return finish();
        if (char === '\u0003') return finish(new Error('interrupted'));
        if (char === '\u007f' || char === '\b') secret = secret.slice(0, -1);
        else secret += char;
      }
    };
    input.on('data', onData);
  });
}
