// Target host keys the gateway has accepted, kept in OpenSSH known_hosts format in the data directory.
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../../system/atomic-file.js';
import { sshFingerprint } from '../../system/key-file.js';

export type HostKeyPolicy = 'strict' | 'trust-on-first-use';

export interface KnownKey {
  type: string;
  blob: Buffer;
}

export type HostKeyVerdict =
  | { ok: true; learned: boolean; fingerprint: string }
  | { ok: false; reason: 'unknown-host' | 'key-changed'; presented: string; expected: string[] };

/** The key type is the first SSH string inside the public key blob. */
export function keyTypeOf(blob: Buffer): string {
  if (blob.length < 4) return '';
  const length = blob.readUInt32BE(0);
  return blob.subarray(4, 4 + length).toString('latin1');
}

/** OpenSSH spells non-default ports as "[host]:port". */
function hostPattern(host: string, port: number): string {
  const bare = host.toLowerCase();
  return port === 22 ? bare : `[${bare}]:${port}`;
}

export class KnownHostsStore {
  // Writes are serialised so two first connections to new targets cannot lose each other's key.
  private pending: Promise<unknown> = Promise.resolve();

  constructor(private readonly file: string) {}

  async lookup(host: string, port: number): Promise<KnownKey[]> {
    const pattern = hostPattern(host, port);
    return (await this.readLines()).flatMap((line) => {
      const [hosts, type, base64] = line.split(/\s+/);
      if (!hosts || !type || !base64 || !hosts.split(',').includes(pattern)) return [];
      return [{ type, blob: Buffer.from(base64, 'base64') }];
    });
  }

  /**
   * Decides whether `presented` may be trusted for host:port under `policy`, recording it when the
   * policy trusts a first key. A changed key is never replaced automatically.
   */
  async verify(host: string, port: number, presented: Buffer, policy: HostKeyPolicy): Promise<HostKeyVerdict> {
    const run = this.pending.then(() => this.verifyNow(host, port, presented, policy));
    this.pending = run.catch(() => undefined);
    return run;
  }

  private async verifyNow(host: string, port: number, presented: Buffer, policy: HostKeyPolicy): Promise<HostKeyVerdict> {
    const fingerprint = sshFingerprint(presented);
    const known = await this.lookup(host, port);
    if (known.some((key) => key.blob.equals(presented))) return { ok: true, learned: false, fingerprint };
    if (known.length > 0) {
      return { ok: false, reason: 'key-changed', presented: fingerprint, expected: known.map((k) => sshFingerprint(k.blob)) };
    }
    if (policy === 'strict') return { ok: false, reason: 'unknown-host', presented: fingerprint, expected: [] };
    const lines = await this.readLines();
    lines.push(`${hostPattern(host, port)} ${keyTypeOf(presented)} ${presented.toString('base64')}`);
    await writeFileAtomic(this.file, `${lines.join('\n')}\n`, 0o644);
    return { ok: true, learned: true, fingerprint };
  }

  private async readLines(): Promise<string[]> {
    try {
      const text = await readFile(this.file, 'utf8');
      return text.split('\n').filter((line) => line.trim() !== '' && !line.startsWith('#'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
  }
}
