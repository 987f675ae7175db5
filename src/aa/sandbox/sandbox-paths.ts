// The directories a plugin sandbox confines its workers to: checked, created, and resolved to
// real paths (the permission model compares resolved names).
import { mkdir, realpath, rm } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';

export interface SandboxPaths {
  pluginDir: string;
  /** The plugin's entry module, inside pluginDir. */
  entry: string;
  stateDir: string;
  ephemeralDir: string;
}

/** Creates the state directory when missing and empties the ephemeral one. */
export async function prepareSandboxPaths(o: { pluginDir: string; entryPoint: string; stateDir: string; ephemeralDir: string }): Promise<SandboxPaths> {
  for (const [name, path] of Object.entries({ pluginDir: o.pluginDir, stateDir: o.stateDir, ephemeralDir: o.ephemeralDir })) {
    if (!isAbsolute(path)) throw new Error(`${name} must be an absolute path: ${path}`);
  }
  // Emptying the ephemeral directory must never reach the plugin's code or its persistent state.
  if (within(o.pluginDir, o.ephemeralDir) || within(o.stateDir, o.ephemeralDir)) {
    throw new Error(`ephemeralDir ${o.ephemeralDir} must not contain the plugin or its state directory`);
  }
  await mkdir(o.stateDir, { recursive: true, mode: 0o700 });
  await rm(o.ephemeralDir, { recursive: true, force: true });
  await mkdir(o.ephemeralDir, { recursive: true, mode: 0o700 });
  const pluginDir = await realpath(o.pluginDir);
  const entry = await realpath(resolve(pluginDir, o.entryPoint)).catch(() => {
    throw new Error(`the entry point ${o.entryPoint} is not in ${o.pluginDir}`);
  });
  if (!within(entry, pluginDir)) throw new Error(`the entry point ${o.entryPoint} leads outside ${o.pluginDir}`);
  return { pluginDir, entry, stateDir: await realpath(o.stateDir), ephemeralDir: await realpath(o.ephemeralDir) };
}

/** Whether `path` is `dir` or lies under it. */
function within(path: string, dir: string): boolean {
  const rel = relative(dir, path);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}
