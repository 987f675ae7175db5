// A TeardownHost for the benchmark: collects cleanup functions and runs them in reverse order,
// once, at the end of the run, on failure and on SIGINT/SIGTERM.
import type { TeardownHost } from '../../test/e2e/helpers/sshd.js';

export class Teardowns implements TeardownHost {
  private readonly fns: (() => unknown)[] = [];
  private running: Promise<void> | undefined;

  teardown(fn: () => unknown): void {
    this.fns.push(fn);
  }

  /** Runs every collected function, last registered first; errors are reported, not thrown. */
  run(): Promise<void> {
    this.running ??= (async () => {
      while (this.fns.length) {
        const fn = this.fns.pop()!;
        try {
          await fn();
        } catch (err) {
          process.stderr.write(`bench: teardown step failed: ${(err as Error).message}\n`);
        }
      }
    })();
    return this.running;
  }
}
