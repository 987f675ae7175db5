// The benchmark's client key. Same as makeClientKey() in test/e2e/helpers/ssh-client.ts, which
// cannot be imported here: that module imports `tap`, and tap's root test then times out after
// 30 s in a process that is not a tap test and prints a failing TAP report into our stdout.
import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { onExitSync, readHostKey, type TeardownHost } from '../../test/e2e/helpers/sshd.js';

const execFileP = promisify(execFile);

export interface ClientKey {
  privatePath: string;
  /** "ssh-ed25519 AAAA... comment" */
  publicLine: string;
  fingerprint: string;
}

/** A passphrase-less ed25519 key in a temp dir removed at teardown. */
export async function makeBenchKey(t: TeardownHost): Promise<ClientKey> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'gatehouse-bench-key-'));
  const offExit = onExitSync(() => rmSync(dir, { recursive: true, force: true }));
  t.teardown(async () => {
    await fs.rm(dir, { recursive: true, force: true });
    offExit();
  });
  const privatePath = path.join(dir, 'id_ed25519');
  await execFileP('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'gatehouse-bench', '-f', privatePath]);
  await fs.chmod(privatePath, 0o600);
  const publicLine = (await fs.readFile(privatePath + '.pub', 'utf8')).trim();
  const { fingerprint } = await readHostKey(privatePath);
  return { privatePath, publicLine, fingerprint };
}
