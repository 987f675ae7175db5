// Backup and restore of the appliance's state: the current configuration, the installed plugins
// and the (still encrypted) credential store in one self-checking archive file.
//
// Archive format 1, chosen over tar/zip so that no dependency is needed and every byte is covered:
//   "GATEHOUSE-BACKUP 1\n"                    the magic line, naming the format version
//   gzip(payload)                             Node's zlib
//   "SHA256 <64 hex>\n"                       over every byte before it
// payload = uint32 BE manifest length, the manifest (JSON), then each listed file's bytes in order.
// The checksum is a plain SHA-256: it detects truncation and damage, not a forger, who could
// recompute it; an HMAC would need a key the restoring appliance already shares, and none exists.
import { createHash, randomBytes } from 'node:crypto';
import { link, lstat, mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { parseDocument } from '../credstore/store-format.js';
import { applianceId } from '../system/appliance-id.js';
import { syncDirectory, writeFileAtomic } from '../system/atomic-file.js';
import { ConfigError, validateConfig } from './load.js';
import type { ChangeOrigin } from './sealed.js';
import type { ConfigStore, ConfigVersionInfo } from './store.js';

export const BACKUP_FORMAT = 1;
/** Builds the error for a refused backup or archive from the reason. */
type Refuse = (why: string) => BackupError;
const MAGIC = 'GATEHOUSE-BACKUP';
const TRAILER_LENGTH = 'SHA256 '.length + 64 + 1;
/** Archives are read into memory: refuse larger ones, and content that would inflate beyond this. */
const MAX_BYTES = 512 * 1024 * 1024;
const CONFIG_FILE = 'config.json';
const CREDSTORE_FILE = 'credstore.json';
const PLUGINS_DIR = 'plugins';

export interface BackupFile {
  /** Path inside the archive, "/"-separated: config.json, credstore.json or plugins/<plugin>/... */
  path: string;
  size: number;
  sha256: string;
  /** Permission bits (0o644, 0o755, ...). */
  mode: number;
}

export interface BackupManifest {
  kind: 'gatehouse-backup';
  format: number;
  created: string;
  /** The appliance the backup was made on. */
  applianceId: string;
  /** The configuration version the backup was made from. */
  configVersion: ConfigVersionInfo;
  files: BackupFile[];
}

/** A backup that cannot be made or an archive that is refused; the message says why. */
export class BackupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BackupError';
  }
}

/**
 * Writes an archive of the current configuration, `<dataDir>/plugins/` and `<dataDir>/credstore.json`,
 * naming the appliance: `opts.applianceId`, else the data directory's (created if it has none yet).
 */
export async function createBackup(
  dataDir: string,
  store: ConfigStore,
  outFile: string,
  opts: { applianceId?: string } = {},
): Promise<BackupManifest> {
  const thisAppliance = opts.applianceId ?? (await applianceId(dataDir));
  const { config, ...configVersion } = store.current();
  const contents = new Map<string, { data: Buffer; mode: number }>();
  contents.set(CONFIG_FILE, { data: Buffer.from(`${JSON.stringify(config, null, 2)}\n`), mode: 0o600 });
  await collectTree(join(dataDir, PLUGINS_DIR), PLUGINS_DIR, contents);
  const credstore = await readIfExists(join(dataDir, CREDSTORE_FILE));
  if (credstore) contents.set(CREDSTORE_FILE, { data: credstore, mode: 0o600 });
  // A backup that restore would refuse is not worth writing.
  const files = new Map([...contents].map(([path, { data }]) => [path, data]));
  checkContents(files, thisAppliance, (why) => new BackupError(`cannot back up ${dataDir}: ${why}`));

  const manifest: BackupManifest = {
    kind: 'gatehouse-backup',
    format: BACKUP_FORMAT,
    applianceId: thisAppliance,
    created: new Date().toISOString(),
    configVersion,
    files: [...contents].map(([path, { data, mode }]) => ({ path, size: data.length, sha256: sha256(data), mode })),
  };
  const manifestBytes = Buffer.from(JSON.stringify(manifest));
  const length = Buffer.alloc(4);
  length.writeUInt32BE(manifestBytes.length);
  const payload = Buffer.concat([length, manifestBytes, ...[...contents.values()].map((c) => c.data)]);
  const body = Buffer.concat([Buffer.from(`${MAGIC} ${BACKUP_FORMAT}\n`), gzipSync(payload)]);
  await writeFileAtomic(outFile, Buffer.concat([body, Buffer.from(`SHA256 ${sha256(body)}\n`)]), 0o600);
  return manifest;
}

/**
 * Replaces the plugins and the credential store with the archive's and commits its configuration
 * as a new version. Everything is checked before anything is replaced, including that a credential
 * store in the archive belongs to this appliance; a failure while replacing puts the previous
 * plugins and credential store back. The sealed flag is kept as it is.
 */
export async function restoreBackup(
  dataDir: string,
  store: ConfigStore,
  archive: string,
  change: { origin: ChangeOrigin; author: string },
): Promise<BackupManifest> {
  store.guard.assertMayChange(change.origin);
  const name = basename(archive);
  const refuse = (why: string) => new BackupError(`${name} refused: ${why}`);
  if ((await stat(archive)).size > MAX_BYTES) throw refuse(`it is larger than ${MAX_BYTES} bytes`);
  const { manifest, files } = readArchive(await readFile(archive), refuse);
  const config = checkContents(files, await existingApplianceId(dataDir), refuse);

  const stage = join(dataDir, `.restore-${randomBytes(6).toString('hex')}`);
  await mkdir(stage, { mode: 0o700 });
  try {
    await stageFiles(stage, files, manifest);
    const undo = await swapIn(dataDir, stage, files.has(CREDSTORE_FILE));
    try {
      await store.commit({ origin: change.origin, author: change.author, message: `restored from backup ${name}`, config });
    } catch (err) {
      await undo();
      throw err;
    }
  } finally {
    await rm(stage, { recursive: true, force: true });
  }
  return manifest;
}

/** Checks magic, format, checksum and manifest; returns the manifest and each file's bytes. */
function readArchive(bytes: Buffer, refuse: Refuse): { manifest: BackupManifest; files: Map<string, Buffer> } {
  const newline = bytes.subarray(0, 64).indexOf(0x0a);
  const start = bytes.subarray(0, 64).toString('latin1');
  if (newline < 0 && start && (`${MAGIC} `.startsWith(start) || start.startsWith(`${MAGIC} `))) {
    throw refuse('the archive is truncated or damaged (its first line is incomplete)');
  }
  const magic = new RegExp(`^${MAGIC} (\\d+)$`).exec(start.slice(0, Math.max(newline, 0)));
  if (newline < 0 || !magic) throw refuse('not a Gatehouse backup');
  if (Number(magic[1]) !== BACKUP_FORMAT) throw refuse(`backup format ${magic[1]} is not supported (this gateway reads format ${BACKUP_FORMAT})`);

  const bodyLength = bytes.length - TRAILER_LENGTH;
  const trailer = /^SHA256 ([0-9a-f]{64})\n$/.exec(bytes.subarray(Math.max(bodyLength, 0)).toString('latin1'));
  if (bodyLength <= newline + 1 || !trailer) throw refuse('the archive is truncated or damaged (no valid checksum trailer at its end)');
  const body = bytes.subarray(0, bodyLength);
  if (sha256(body) !== trailer[1]) throw refuse('the archive is damaged or was altered (SHA-256 mismatch)');

  let payload: Buffer;
  try {
    payload = gunzipSync(body.subarray(newline + 1), { maxOutputLength: MAX_BYTES });
  } catch (err) {
    throw refuse(`its content cannot be unpacked: ${(err as Error).message}`);
  }
  const manifest = parseManifest(payload, refuse);
  const files = new Map<string, Buffer>();
  let offset = 4 + payload.readUInt32BE(0);
  for (const file of manifest.files) {
    const data = payload.subarray(offset, offset + file.size);
    offset += file.size;
    if (data.length !== file.size || sha256(data) !== file.sha256) throw refuse(`${file.path} does not match its size and SHA-256 in the manifest`);
    files.set(file.path, data);
  }
  if (offset !== payload.length) throw refuse('the content is longer than its manifest says');
  return { manifest, files };
}

function parseManifest(payload: Buffer, refuse: Refuse): BackupManifest {
  let value: unknown;
  try {
    const length = payload.readUInt32BE(0);
    value = JSON.parse(payload.subarray(4, 4 + length).toString('utf8'));
  } catch {
    throw refuse('its manifest is unreadable');
  }
  const m = value as Partial<BackupManifest> | null;
  const wellFormed =
    m?.kind === 'gatehouse-backup' &&
    m.format === BACKUP_FORMAT &&
    typeof m.applianceId === 'string' &&
    typeof m.created === 'string' &&
    typeof m.configVersion === 'object' &&
    Array.isArray(m.files) &&
    m.files.every(
      (f) => typeof f?.path === 'string' && Number.isSafeInteger(f.size) && f.size >= 0 && typeof f.sha256 === 'string' && Number.isInteger(f.mode),
    );
  if (!wellFormed) throw refuse('its manifest is not a Gatehouse backup manifest');
  const manifest = m as BackupManifest;
  if (new Set(manifest.files.map((f) => f.path)).size !== manifest.files.length) throw refuse('its manifest lists a file twice');
  return manifest;
}

/** Only the three things a backup holds, with no way out of the data directory. */
function isAllowedPath(path: string): boolean {
  if (path === CONFIG_FILE || path === CREDSTORE_FILE) return true;
  const parts = path.split('/');
  return parts[0] === PLUGINS_DIR && parts.length >= 3 && parts.every((p) => p !== '' && p !== '.' && p !== '..' && !p.includes('\\') && !p.includes('\0'));
}

/**
 * Validates what a backup holds for the appliance `thisAppliance` (undefined: it has no id yet);
 * returns the configuration to commit.
 */
function checkContents(files: Map<string, Buffer>, thisAppliance: string | undefined, refuse: Refuse): unknown {
  for (const path of files.keys()) {
    if (!isAllowedPath(path)) throw refuse(`${JSON.stringify(path)} is not something a backup holds (config.json, credstore.json, plugins/<plugin>/...)`);
  }
  const configBytes = files.get(CONFIG_FILE);
  if (!configBytes) throw refuse(`it holds no ${CONFIG_FILE}`);
  const config = parseJson(configBytes);
  if (config instanceof Error) throw refuse(`its ${CONFIG_FILE} is not JSON: ${config.message}`);
  try {
    validateConfig(config, CONFIG_FILE);
  } catch (err) {
    if (err instanceof ConfigError) throw refuse(`its configuration is invalid:\n${err.problems.map((p) => `  - ${p}`).join('\n')}`);
    throw err;
  }

  // The plugin host validates a plugin's MANIFEST in full when it loads it; a backup only has to
  // hold recognisable plugin directories.
  // Plugin slots: plugins/<name>/slot.json and plugins/<name>/<version>/..., each version with its MANIFEST.
  for (const path of files.keys()) {
    const parts = path.split('/');
    if (parts[0] !== PLUGINS_DIR) continue;
    if (parts.length === 3 && parts[2] !== 'slot.json') throw refuse(`${path} is not part of a plugin slot (slot.json, <version>/...)`);
    if (parts.length > 3 && !files.has(`${parts.slice(0, 3).join('/')}/MANIFEST`)) throw refuse(`plugin ${parts[1]} version ${parts[2]} has no MANIFEST`);
  }

  // The credential store stays encrypted: its structure is checked, its authenticity only at unlock.
  const credstore = files.get(CREDSTORE_FILE);
  if (credstore) {
    let owner: string;
    try {
      owner = parseDocument(CREDSTORE_FILE, credstore).applianceId;
    } catch (err) {
      throw refuse((err as Error).message);
    }
    // A credential store is bound to its appliance's id and refused elsewhere: restoring one
    // would replace a working store with one that cannot be opened.
    if (owner !== thisAppliance) {
      const here = thisAppliance === undefined ? 'this one has no appliance id yet' : `not to this one ("${thisAppliance}")`;
      throw refuse(`its ${CREDSTORE_FILE} belongs to appliance "${owner}", ${here}`);
    }
  }
  return config;
}

/** Writes the plugins and the credential store into the staging directory, synced. */
async function stageFiles(stage: string, files: Map<string, Buffer>, manifest: BackupManifest): Promise<void> {
  await mkdir(join(stage, PLUGINS_DIR));
  for (const { path, mode } of manifest.files) {
    if (path === CONFIG_FILE) continue;
    const target = join(stage, ...path.split('/'));
    await mkdir(dirname(target), { recursive: true });
    await writeSynced(target, files.get(path) as Buffer, path === CREDSTORE_FILE ? 0o600 : mode & 0o777);
  }
}

/**
 * Moves the staged plugins directory and credential store into place, keeping the previous ones
 * in the staging directory. Returns the function that puts the previous ones back.
 */
async function swapIn(dataDir: string, stage: string, hasCredstore: boolean): Promise<() => Promise<void>> {
  const plugins = join(dataDir, PLUGINS_DIR);
  const previousPlugins = join(stage, 'previous-plugins');
  const credstore = join(dataDir, CREDSTORE_FILE);
  const previousCredstore = join(stage, 'previous-credstore.json');
  // Each step done pushes its reversal, so an undo reverts exactly what happened.
  const reversals: (() => Promise<void>)[] = [];
  const undo = async () => {
    for (const reverse of [...reversals].reverse()) await reverse();
    await syncDirectory(dataDir);
  };
  try {
    if (await exists(plugins)) {
      await rename(plugins, previousPlugins);
      reversals.push(() => rename(previousPlugins, plugins));
    }
    await rename(join(stage, PLUGINS_DIR), plugins);
    reversals.push(() => rm(plugins, { recursive: true, force: true }));
    // A link keeps the previous credential store while the new one replaces it in one rename.
    if (await exists(credstore)) {
      await link(credstore, previousCredstore);
      reversals.push(() => rename(previousCredstore, credstore));
    } else {
      reversals.push(() => rm(credstore, { force: true }));
    }
    if (hasCredstore) await rename(join(stage, CREDSTORE_FILE), credstore);
    else await rm(credstore, { force: true });
    await syncDirectory(dataDir);
  } catch (err) {
    await undo();
    throw err;
  }
  return undo;
}

/** Adds every regular file under `dir` (if it exists) to `out`, keyed `<prefix>/<relative path>`. */
async function collectTree(dir: string, prefix: string, out: Map<string, { data: Buffer; mode: number }>): Promise<void> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    // Installs and deletions in progress, and slot.json's temporary file, are not part of a backup.
    if (entry.name.startsWith('.') && prefix.split('/').length <= 2) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await collectTree(path, `${prefix}/${entry.name}`, out);
    else if (entry.isFile()) out.set(`${prefix}/${entry.name}`, { data: await readFile(path), mode: (await lstat(path)).mode & 0o777 });
    else throw new BackupError(`cannot back up ${path}: only regular files and directories belong in ${PLUGINS_DIR}/`);
  }
}

async function writeSynced(file: string, data: Buffer, mode: number): Promise<void> {
  const handle = await open(file, 'wx', mode);
  try {
    await handle.writeFile(data);
    await handle.chmod(mode);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * The data directory's appliance id without creating one (src/system/appliance-id.ts owns the
 * file): checking an archive must not change the data directory.
 */
async function existingApplianceId(dataDir: string): Promise<string | undefined> {
  return (await readIfExists(join(dataDir, 'appliance-id')))?.toString('utf8').trim();
}

async function readIfExists(file: string): Promise<Buffer | undefined> {
  try {
    return await readFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

function parseJson(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    return err as Error;
  }
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}
