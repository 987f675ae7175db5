// How a plugin worker process is started: which Node flags confine it and what environment it gets.
import { dirname } from 'node:path';

export interface WorkerLaunchSpec {
  /** The plain-JS worker entry (worker.js); its folder is readable so that it can load its siblings. */
  workerScript: string;
  pluginDir: string;
  stateDir: string;
  ephemeralDir: string;
  memoryMb: number;
}

export interface WorkerLaunch {
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
}

/**
 * Node's permission model (Node 20: `--experimental-permission`) limits file reads to the worker's
 * code, the plugin package and the plugin's two state directories, file writes to those two, and
 * forbids child processes, worker threads, native addons and the inspector. The paths must be real
 * paths: module loading reads through symlinks, and the check compares resolved names.
 */
export function workerLaunch(spec: WorkerLaunchSpec): WorkerLaunch {
  const readable = [dirname(spec.workerScript), spec.pluginDir, spec.stateDir, spec.ephemeralDir];
  const writable = [spec.stateDir, spec.ephemeralDir];
  return {
    command: process.execPath,
    args: [
      '--experimental-permission',
      ...readable.map((path) => `--allow-fs-read=${path}`),
      ...writable.map((path) => `--allow-fs-write=${path}`),
      `--max-old-space-size=${spec.memoryMb}`,
      // Node warns on every start that the permission model is experimental; that is known here.
      '--disable-warning=ExperimentalWarning',
      spec.workerScript,
    ],
    // Nothing of the gateway's environment: it may hold secrets, NODE_OPTIONS, proxies.
    env: { PATH: '/usr/bin:/bin' },
    cwd: spec.pluginDir,
  };
}
