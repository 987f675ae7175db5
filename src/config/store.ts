// The versioned configuration store: every change is an atomic commit of one complete version
// file, the newest valid file is the current configuration, and its sealed flag is the SealGuard.
import { randomBytes } from 'node:crypto';
import { link, mkdir, open, readdir, readFile, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { syncDirectory } from '../system/atomic-file.js';
import { isProcessAlive } from '../system/process.js';
import { unifiedDiff } from './diff.js';
import { embeddedDefaultConfig, validateConfig } from './load.js';
import type { GatehouseConfig } from './schema.js';
import { sealGuard, type ChangeOrigin, type SealGuard } from './sealed.js';

export interface ConfigVersion {
  version: number;
  /** ISO 8601 time of the commit. */
  time: string;
  origin: ChangeOrigin;
  author: string;
  message: string;
  sealed: boolean;
  config: GatehouseConfig;
}

export type ConfigVersionInfo = Omit<ConfigVersion, 'config'>;

export interface ConfigChange {
  origin: ChangeOrigin;
  author: string;
  message: string;
  /** The complete new configuration; validated before anything is written. */
  config: unknown;
}

export interface ConfigStoreOptions {
  /** How many versions to keep; older ones are deleted after each commit. Default 100. */
  keep?: number;
  /** The configuration an empty store starts with. Default: the embedded default. */
  initial?: () => unknown;
  /** Writes a version file's bytes; replaceable so tests can simulate a full disk. */
  writeFile?: (handle: FileHandle, data: Buffer) => Promise<void>;
}

/** A refused or failed store operation; the message is meant for the person who asked. */
export class ConfigStoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigStoreError';
  }
}

/** What a commit writes besides the number and time, which the store assigns. */
type Draft = Omit<ConfigVersion, 'version' | 'time' | 'config'> & { config: unknown };

const VERSION_FILE = /^(\d{9,})\.json$/;
const TEMP_FILE = /^\.(\d+)\.[0-9a-f]+\.tmp$/;
const origins: readonly ChangeOrigin[] = ['console', 'remote'];

/** The versions directory inside a data directory. */
export function versionsDir(dataDir: string): string {
  return join(dataDir, 'config', 'versions');
}

function fileName(version: number): string {
  return `${String(version).padStart(9, '0')}.json`;
}

export class ConfigStore {
  readonly guard: SealGuard = sealGuard(() => this.head?.sealed ?? false);
  /** Problems found while opening: version files that could not be read and were skipped. */
  readonly warnings: string[] = [];
  private head: ConfigVersion | undefined;
  /** The highest version number seen on disk, readable or not: the next commit claims one above. */
  private highest = 0;
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly dir: string,
    private readonly keep: number,
    private readonly writeFile: (handle: FileHandle, data: Buffer) => Promise<void>,
  ) {}

  /** Opens (creating if needed) the store under `<dataDir>/config/versions`. */
  static async open(dataDir: string, opts: ConfigStoreOptions = {}): Promise<ConfigStore> {
    const keep = opts.keep ?? 100;
    if (!Number.isSafeInteger(keep) || keep < 1) throw new ConfigStoreError(`keep must be a whole number of at least 1, not ${keep}`);
    const dir = versionsDir(dataDir);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const store = new ConfigStore(dir, keep, opts.writeFile ?? ((handle, data) => handle.writeFile(data)));
    await store.removeStaleTempFiles();
    await store.refresh();
    if (!store.head) {
      const initial = opts.initial ?? (() => embeddedDefaultConfig);
      // Another process may create the first version at the same moment; then that one is kept.
      await store.commitWith('console', (head) =>
        head ? undefined : { origin: 'console', author: 'gatehouse', message: 'initial configuration', sealed: false, config: initial() },
      );
    }
    return store;
  }

  /** The current (newest) version. Frozen: change it through `commit`. */
  current(): ConfigVersion {
    if (!this.head) throw new ConfigStoreError('the configuration store holds no version');
    return this.head;
  }

  /** Commits a complete new configuration; refused while sealed unless it comes from the console. */
  async commit(change: ConfigChange): Promise<ConfigVersion> {
    return this.commitWith(change.origin, (head) => ({ ...change, sealed: head?.sealed ?? false }));
  }

  /** Seals the appliance: from then on only the console may change it. Console only. */
  async seal(origin: ChangeOrigin, author: string): Promise<ConfigVersion> {
    return this.setSealed(true, origin, author);
  }

  /** Lifts sealed mode. Console only (from elsewhere a sealed store already refuses every change). */
  async unseal(origin: ChangeOrigin, author: string): Promise<ConfigVersion> {
    return this.setSealed(false, origin, author);
  }

  /** Commits version `to`'s configuration again as a new version; the sealed flag stays as it is. */
  async rollback(change: { origin: ChangeOrigin; author: string; to: number; message?: string }): Promise<ConfigVersion> {
    this.guard.assertMayChange(change.origin);
    const target = await this.version(change.to);
    const message = change.message ?? `rollback to version ${change.to}`;
    return this.commitWith(change.origin, (head) => ({
      origin: change.origin,
      author: change.author,
      message,
      sealed: head?.sealed ?? false,
      config: target.config,
    }));
  }

  /** Every kept, readable version without its configuration, newest first. */
  async history(): Promise<ConfigVersionInfo[]> {
    const numbers = await this.versionNumbers();
    const infos: ConfigVersionInfo[] = [];
    for (const n of numbers.reverse()) {
      const found = await this.tryRead(n);
      if (found instanceof Error) continue;
      const { config: _config, ...info } = found;
      infos.push(info);
    }
    return infos;
  }

  /** One kept version; a clear error for numbers never committed, pruned or unreadable. */
  async version(n: number): Promise<ConfigVersion> {
    if (!Number.isSafeInteger(n) || n < 1) throw new ConfigStoreError(`no version ${n}: versions are numbered 1, 2, 3, ...`);
    const found = await this.tryRead(n);
    if (!(found instanceof Error)) return found;
    if ((found as NodeJS.ErrnoException).code !== 'ENOENT') throw new ConfigStoreError(`version ${n} is unreadable: ${found.message}`);
    const numbers = await this.versionNumbers();
    const oldest = numbers[0] ?? 0;
    const newest = numbers[numbers.length - 1] ?? 0;
    if (n > newest) throw new ConfigStoreError(`no version ${n}: the newest is ${newest}`);
    if (n < oldest) throw new ConfigStoreError(`version ${n} was pruned: the store keeps the last ${this.keep}, the oldest kept is ${oldest}`);
    throw new ConfigStoreError(`version ${n} is missing from the store`);
  }

  /** A unified diff of two versions' pretty-printed configurations (and of the sealed flag). */
  async diff(from: number, to: number): Promise<string> {
    const [a, b] = [await this.version(from), await this.version(to)];
    const body = unifiedDiff(pretty(a.config), pretty(b.config));
    if (!body && a.sealed === b.sealed) return `no differences between version ${from} and version ${to}`;
    const lines = [`--- version ${from} (${describe(a)})`, `+++ version ${to} (${describe(b)})`];
    if (a.sealed !== b.sealed) lines.push(`sealed: ${a.sealed} -> ${b.sealed}`);
    if (body) lines.push(body);
    return lines.join('\n');
  }

  private async setSealed(sealed: boolean, origin: ChangeOrigin, author: string): Promise<ConfigVersion> {
    return this.commitWith(origin, (head) => {
      if (origin !== 'console') throw new ConfigStoreError('sealing and unsealing are possible only from the local console');
      if (head?.sealed === sealed) throw new ConfigStoreError(sealed ? 'appliance is already sealed' : 'appliance is not sealed');
      return { origin, author, message: sealed ? 'sealed' : 'unsealed', sealed, config: head?.config };
    });
  }

  /**
   * The one way anything is written. Serialised within the process; across processes the version
   * file's name is the claim (see `writeVersion`): when another process took the number first,
   * its version becomes the head, the guard and `build` are asked again, and the next number is tried.
   * `build` returns undefined when, given the head, there is nothing to commit.
   */
  private commitWith(origin: ChangeOrigin, build: (head: ConfigVersion | undefined) => Draft | undefined): Promise<ConfigVersion> {
    const run = async (): Promise<ConfigVersion> => {
      for (;;) {
        await this.refresh();
        this.guard.assertMayChange(origin);
        const draft = build(this.head);
        if (!draft) return this.current();
        const record = toRecord(draft, this.highest + 1);
        if (await this.writeVersion(record)) {
          this.head = deepFreeze(record);
          this.highest = record.version;
          await this.prune();
          return this.head;
        }
      }
    };
    const result = this.queue.then(run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  /**
   * Writes the version to a temporary file, syncs it, then hard-links it under its final name:
   * unlike rename, link fails when the name exists, so two writers can never both claim a number,
   * and the final name only ever appears complete. Returns false when the number was taken.
   */
  private async writeVersion(record: ConfigVersion): Promise<boolean> {
    const data = Buffer.from(`${JSON.stringify(record, null, 2)}\n`);
    const temp = join(this.dir, `.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
    try {
      const handle = await open(temp, 'wx', 0o600);
      try {
        await this.writeFile(handle, data);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await link(temp, join(this.dir, fileName(record.version)));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
      const kept = this.head ? `version ${this.head.version} stays current` : 'nothing was committed';
      throw new ConfigStoreError(`commit of version ${record.version} failed: ${(err as Error).message}; ${kept}`);
    } finally {
      await unlink(temp).catch(() => undefined);
    }
    await syncDirectory(this.dir);
    return true;
  }

  /** Picks up versions committed by other processes since we last looked. */
  private async refresh(): Promise<void> {
    const numbers = await this.versionNumbers();
    const newest = numbers[numbers.length - 1] ?? 0;
    const seen = this.highest;
    if (newest <= seen) return;
    // Numbers up to `seen` were looked at before: the head or older, or unreadable then.
    for (const n of numbers.reverse()) {
      if (n <= seen) break;
      const found = await this.tryRead(n);
      if (found instanceof Error) {
        this.warnings.push(`skipped unreadable configuration version ${n}: ${found.message}`);
        continue;
      }
      this.head = deepFreeze(found);
      break;
    }
    this.highest = newest;
  }

  /** Deletes all but the newest `keep` version files. */
  private async prune(): Promise<void> {
    const numbers = await this.versionNumbers();
    for (const n of numbers.slice(0, Math.max(0, numbers.length - this.keep))) {
      await unlink(join(this.dir, fileName(n))).catch(ignoreMissing);
    }
  }

  /** Temp files of processes that died mid-commit; those of live writers are theirs to remove. */
  private async removeStaleTempFiles(): Promise<void> {
    for (const name of await readdir(this.dir)) {
      const match = TEMP_FILE.exec(name);
      if (match && !isProcessAlive(Number(match[1]))) await unlink(join(this.dir, name)).catch(ignoreMissing);
    }
  }

  /** Version numbers of the files present, ascending. */
  private async versionNumbers(): Promise<number[]> {
    const numbers: number[] = [];
    for (const name of await readdir(this.dir)) {
      const match = VERSION_FILE.exec(name);
      if (match) numbers.push(Number(match[1]));
    }
    return numbers.sort((a, b) => a - b);
  }

  /** Reads and checks one version file; an Error (ENOENT, not JSON, invalid) says why it is unusable. */
  private async tryRead(n: number): Promise<ConfigVersion | Error> {
    try {
      const text = await readFile(join(this.dir, fileName(n)), 'utf8');
      return parseRecord(JSON.parse(text), n);
    } catch (err) {
      return err as Error;
    }
  }
}

function toRecord(draft: Draft, version: number): ConfigVersion {
  if (!origins.includes(draft.origin)) throw new ConfigStoreError(`unknown change origin "${String(draft.origin)}"`);
  if (typeof draft.author !== 'string' || draft.author === '') throw new ConfigStoreError('a change needs an author');
  if (typeof draft.message !== 'string') throw new ConfigStoreError('a change needs a message');
  return {
    version,
    time: new Date().toISOString(),
    origin: draft.origin,
    author: draft.author,
    message: draft.message,
    sealed: draft.sealed,
    config: validateConfig(draft.config),
  };
}

/** Checks the shape of a parsed version file and validates its configuration. */
function parseRecord(value: unknown, n: number): ConfigVersion {
  const r = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  const wellFormed =
    r.version === n &&
    typeof r.time === 'string' &&
    origins.includes(r.origin as ChangeOrigin) &&
    typeof r.author === 'string' &&
    typeof r.message === 'string' &&
    typeof r.sealed === 'boolean';
  if (!wellFormed) throw new Error(`not a configuration version record for version ${n}`);
  return {
    version: n,
    time: r.time as string,
    origin: r.origin as ChangeOrigin,
    author: r.author as string,
    message: r.message as string,
    sealed: r.sealed as boolean,
    config: validateConfig(r.config, fileName(n)),
  };
}

function pretty(config: GatehouseConfig): string {
  return JSON.stringify(config, null, 2);
}

function describe(v: ConfigVersion): string {
  return `${v.time}, ${v.origin}, ${v.author}: ${v.message}`;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

function ignoreMissing(err: NodeJS.ErrnoException): void {
  if (err.code !== 'ENOENT') throw err;
}
