// Snapshots of a directory tree (path → type, mode and SHA-256 of content), to show a test left it untouched.
import { createHash } from 'node:crypto';
import { lstat, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Every entry under `root`, keyed by relative path: "dir 755", "file 600 <sha256>" or "other". */
export async function treeSnapshot(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  async function walk(dir: string, prefix: string): Promise<void> {
    for (const name of (await readdir(dir)).sort()) {
      const path = join(dir, name);
      const key = prefix ? `${prefix}/${name}` : name;
      const stat = await lstat(path);
      const mode = (stat.mode & 0o777).toString(8);
      if (stat.isDirectory()) {
        out[key] = `dir ${mode}`;
        await walk(path, key);
      } else if (stat.isFile()) {
        out[key] = `file ${mode} ${createHash('sha256').update(await readFile(path)).digest('hex')}`;
      } else {
        out[key] = 'other';
      }
    }
  }
  await walk(root, '');
  return out;
}
