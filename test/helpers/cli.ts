// Runs the built `gatehouse` CLI in a child process, as a user would (`npm test` builds it first).
import { spawn } from 'node:child_process';
import { join } from 'node:path';

export const cliPath = join(import.meta.dirname, '../../dist/src/cli/main.js');

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** `input` is written to standard input and closed; secrets go there, never in `args`. */
export function gatehouse(args: string[], env: Record<string, string> = {}, input = ''): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cliPath, ...args], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(input);
  });
}

/** The environment without what tap adds to run its loader in every child process. */
export function withoutTap(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([name]) => name !== 'NODE_OPTIONS' && !name.startsWith('_TAPJS')));
}

export interface ServeProcess {
  /** Everything it printed so far, stdout and stderr interleaved. */
  output(): string;
  /** Resolves once `text` was printed after `since` (an `output().length`); rejects after `timeoutMs`. */
  waitFor(text: string, timeoutMs?: number, since?: number): Promise<void>;
  /** Sends `signal` and resolves once the process exited. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** `gatehouse serve` as a plain Node process (no tap loader), killed at teardown if still running. */
export function startServe(t: { teardown(fn: () => unknown): void }, env: Record<string, string>): ServeProcess {
  const child = spawn(process.execPath, [cliPath, 'serve'], { env: { ...withoutTap(process.env), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  t.teardown(() => {
    child.kill('SIGKILL');
    return exited;
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return {
    output: () => output,
    async waitFor(text, timeoutMs = 15_000, since = 0) {
      for (let waited = 0; !output.includes(text, since); waited += 50) {
        if (waited > timeoutMs || child.exitCode !== null) throw new Error(`gatehouse serve did not print "${text}":\n${output.slice(-2000)}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}
