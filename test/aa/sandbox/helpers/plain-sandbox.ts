// Loads src/aa/sandbox as plain JS laid out as in dist/, so that the sandbox finds its worker.js
// and starts workers exactly as in production, without tap's TypeScript loader or process hooks.
import { pathToFileURL } from 'node:url';
import { createLogger, type Logger } from '../../../../src/log/logger.js';
import { transpileTree } from '../../../helpers/plain-node-child.js';

type SandboxModule = typeof import('../../../../src/aa/sandbox/index.js');

const sourceDir = new URL('../../../../src/aa/sandbox/', import.meta.url);

/** `buildDir` must lie inside the project (a t.testdir() does), so that zod resolves. */
export async function loadSandbox(buildDir: string): Promise<SandboxModule> {
  dropTapSpawnHook();
  await transpileTree(new URL('worker.ts', sourceDir).pathname, buildDir);
  const index = await transpileTree(new URL('index.ts', sourceDir).pathname, buildDir);
  return (await import(pathToFileURL(index).href)) as SandboxModule;
}

/**
 * tap's processinfo adds its --import loader and _TAPJS_* variables to the environment of every
 * process this test starts, whatever environment the caller gives; the workers must get exactly
 * the sandbox's. Coverage is off, so nothing is lost.
 */
export function dropTapSpawnHook(): void {
  const state = (globalThis as Record<symbol, unknown>)[Symbol.for('process-on-spawn@*:singletonId')] as { listeners: unknown[] } | undefined;
  state?.listeners.splice(0);
}

export interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

/** A pino logger whose lines the test can read. */
export function captureLog(): { log: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const destination = { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) };
  return { log: createLogger('debug', destination), lines };
}

export const levels = { debug: 20, info: 30, warn: 40, error: 50 };
