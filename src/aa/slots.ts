// Plugin slots: the installed AA plugins by name, each with its versions side by side and one of
// them active. Every change asks the SealGuard first and is serialised within the process.
//
// On disk, under <dataDir>/plugins/:
//   <name>/slot.json            {"active": "<version>"}, replaced atomically
//   <name>/<version>/           the package's files as unpacked, MANIFEST included
//   .install-<pid>-<hex>/       a package being unpacked and checked, renamed to <name>/<version>/ when good
//   .trash-<pid>-<hex>/         a version or plugin being deleted: renamed out of the way, then removed
// A power cut between placing a version and recording it in slot.json leaves slot.json missing or
// naming the previous version; then the newest installed version counts as active (see readSlot).
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { ChangeOrigin, SealGuard } from '../config/sealed.js';
import { syncDirectory, writeFileAtomic } from '../system/atomic-file.js';
import { isProcessAlive } from '../system/process.js';
import { PluginPackageError, PluginSlotError } from './errors.js';
import { isPluginName, parseManifest, type PluginManifest } from './manifest.js';
import { DEFAULT_CONFIG_FILE, readDefaultConfig, unpackPackage } from './package.js';
import { compareVersions, isVersion } from './version.js';

const PLUGINS_DIR = 'plugins';
const SLOT_FILE = 'slot.json';
const LEFTOVER = /^\.(?:install|trash)-(\d+)-[0-9a-f]+$/;

/** What `remove` needs to know of an AA plugin configuration. */
export interface PluginReference {
  name: string;
  plugin: string;
}

export interface PluginSlotsOptions {
  /** Asked before every change: the configuration store's, `store.guard`. */
  guard: SealGuard;
  /** The AA plugin configurations in force: `() => store.current().config.aaPluginConfigurations`. */
  configurations: () => readonly PluginReference[];
}

export interface InstalledPlugin {
  name: string;
  active: string;
  /** Oldest first. */
  versions: string[];
}

export interface ActivePlugin {
  name: string;
  version: string;
  /** The directory holding the version's files; the entry point is `join(dir, manifest.entryPoint)`. */
  dir: string;
  manifest: PluginManifest;
  /** The package's default.cfg, when it has one. */
  defaultConfig?: string;
}

interface Slot {
  versions: string[];
  active: string;
}

export class PluginSlots {
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly root: string,
    private readonly options: PluginSlotsOptions,
  ) {}

  /** Opens (creating if needed) the slots under `<dataDir>/plugins`, removing what dead installs left behind. */
  static async open(dataDir: string, options: PluginSlotsOptions): Promise<PluginSlots> {
    const root = join(dataDir, PLUGINS_DIR);
    await mkdir(root, { recursive: true, mode: 0o755 });
    for (const name of await readdir(root)) {
      const match = LEFTOVER.exec(name);
      if (match && !isProcessAlive(Number(match[1]))) await rm(join(root, name), { recursive: true, force: true });
    }
    return new PluginSlots(root, options);
  }

  /**
   * Installs the package at `zipPath` as a new version of its plugin and makes it the active one;
   * earlier versions stay for `activate` (rollback). A refused package leaves nothing on disk.
   */
  install(origin: ChangeOrigin, zipPath: string): Promise<ActivePlugin> {
    return this.serialised(async () => {
      this.options.guard.assertMayChange(origin);
      const staging = join(this.root, `.install-${process.pid}-${randomBytes(6).toString('hex')}`);
      await mkdir(staging, { mode: 0o755 });
      let undo: (() => Promise<void>) | undefined;
      try {
        const manifest = await unpackPackage(zipPath, staging);
        const { name, version } = manifest;
        const slot = await this.readSlot(name);
        const same = slot?.versions.find((v) => compareVersions(v, version) === 0);
        if (same !== undefined) throw new PluginPackageError(`${name} ${version} is already installed${same === version ? '' : ` (as ${same})`}`);
        // Sealing may have happened meanwhile, from another process.
        this.options.guard.assertMayChange(origin);
        const slotDir = join(this.root, name);
        const createdSlotDir = (await mkdir(slotDir, { recursive: true, mode: 0o755 })) !== undefined;
        const versionDir = join(slotDir, version);
        // Removes the slot directory only while empty: another process may be using it too.
        const removeCreatedSlotDir = async () => {
          if (createdSlotDir) await rmdir(slotDir).catch(() => undefined);
        };
        try {
          await rename(staging, versionDir);
        } catch (err) {
          await removeCreatedSlotDir();
          // Another process placed the same version first.
          const code = (err as NodeJS.ErrnoException).code;
          if (code === 'ENOTEMPTY' || code === 'EEXIST') throw new PluginPackageError(`${name} ${version} is already installed`);
          throw err;
        }
        undo = async () => {
          await rm(versionDir, { recursive: true, force: true });
          await removeCreatedSlotDir();
          await syncDirectory(createdSlotDir ? this.root : slotDir);
        };
        await syncDirectory(slotDir);
        if (createdSlotDir) await syncDirectory(this.root);
        await this.recordActive(name, version);
        undo = undefined;
        return await this.describe(name, version);
      } catch (err) {
        await undo?.();
        throw err;
      } finally {
        await rm(staging, { recursive: true, force: true });
      }
    });
  }

  /** Every installed plugin, by name. */
  async list(): Promise<InstalledPlugin[]> {
    const plugins: InstalledPlugin[] = [];
    const names = (await readdir(this.root, { withFileTypes: true })).filter((e) => e.isDirectory() && isPluginName(e.name)).map((e) => e.name);
    for (const name of names.sort()) {
      const slot = await this.readSlot(name);
      if (slot) plugins.push({ name, active: slot.active, versions: slot.versions });
    }
    return plugins;
  }

  /** The version the plugin host runs, or undefined when no plugin `name` is installed. */
  async activeVersion(name: string): Promise<ActivePlugin | undefined> {
    const slot = await this.readSlot(name);
    return slot && this.describe(name, slot.active);
  }

  /** Makes an installed version the active one (a rollback, or back again). */
  activate(origin: ChangeOrigin, name: string, version: string): Promise<ActivePlugin> {
    return this.serialised(async () => {
      this.options.guard.assertMayChange(origin);
      const slot = await this.requireVersion(name, version);
      if (slot.active !== version) await this.recordActive(name, version);
      return this.describe(name, version);
    });
  }

  /**
   * Deletes one version, or the whole plugin when `version` is omitted or is its only one. A plugin
   * that an AA plugin configuration uses cannot be deleted; the active version goes only with the
   * whole plugin (activate another one first), so a running plugin is never deleted under a configuration.
   */
  remove(origin: ChangeOrigin, name: string, version?: string): Promise<void> {
    return this.serialised(async () => {
      this.options.guard.assertMayChange(origin);
      const slot = version === undefined ? await this.requirePlugin(name) : await this.requireVersion(name, version);
      if (version === undefined || slot.versions.length === 1) {
        const users = this.options.configurations().filter((c) => c.plugin === name).map((c) => JSON.stringify(c.name));
        if (users.length > 0) {
          throw new PluginSlotError(`plugin ${name} is used by AA plugin configuration ${users.join(', ')}: change or remove ${users.length > 1 ? 'them' : 'it'} first`);
        }
        await this.discard(join(this.root, name), this.root);
      } else {
        if (version === slot.active) {
          throw new PluginSlotError(`${name} ${version} is the active version: activate another one first (installed: ${slot.versions.join(', ')})`);
        }
        await this.discard(join(this.root, name, version), join(this.root, name));
      }
    });
  }

  /** The plugin's installed versions and its active one; undefined when it has none. */
  private async readSlot(name: string): Promise<Slot | undefined> {
    if (!isPluginName(name)) return undefined;
    let entries;
    try {
      entries = await readdir(join(this.root, name), { withFileTypes: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    const versions = entries.filter((e) => e.isDirectory() && isVersion(e.name)).map((e) => e.name).sort(compareVersions);
    if (versions.length === 0) return undefined;
    const recorded = await this.recordedActive(name);
    const active = recorded !== undefined && versions.includes(recorded) ? recorded : versions[versions.length - 1];
    return { versions, active };
  }

  /** slot.json's active version; undefined when the file is missing or unreadable (see the header). */
  private async recordedActive(name: string): Promise<string | undefined> {
    let text: string;
    try {
      text = await readFile(join(this.root, name, SLOT_FILE), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    try {
      const { active } = JSON.parse(text) as { active?: unknown };
      return typeof active === 'string' ? active : undefined;
    } catch {
      return undefined;
    }
  }

  private async recordActive(name: string, version: string): Promise<void> {
    await writeFileAtomic(join(this.root, name, SLOT_FILE), `${JSON.stringify({ active: version })}\n`, 0o644);
  }

  private async describe(name: string, version: string): Promise<ActivePlugin> {
    const dir = join(this.root, name, version);
    const active: ActivePlugin = { name, version, dir, manifest: parseManifest(await readFile(join(dir, 'MANIFEST'))) };
    try {
      active.defaultConfig = readDefaultConfig(await readFile(join(dir, DEFAULT_CONFIG_FILE)));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    return active;
  }

  private async requirePlugin(name: string): Promise<Slot> {
    const slot = await this.readSlot(name);
    if (!slot) throw new PluginSlotError(`no plugin named ${JSON.stringify(name)} is installed`);
    return slot;
  }

  private async requireVersion(name: string, version: string): Promise<Slot> {
    const slot = await this.requirePlugin(name);
    if (!slot.versions.includes(version)) throw new PluginSlotError(`plugin ${name} has no version ${JSON.stringify(version)} (installed: ${slot.versions.join(', ')})`);
    return slot;
  }

  /** Renames `path` out of sight in one step, so no half-deleted version is ever seen, then deletes it. */
  private async discard(path: string, parent: string): Promise<void> {
    const trash = join(this.root, `.trash-${process.pid}-${randomBytes(6).toString('hex')}`);
    await rename(path, trash);
    await syncDirectory(parent);
    if (parent !== this.root) await syncDirectory(this.root);
    await rm(trash, { recursive: true, force: true });
  }

  private serialised<T>(change: () => Promise<T>): Promise<T> {
    const result = this.queue.then(change);
    this.queue = result.catch(() => undefined);
    return result;
  }
}
