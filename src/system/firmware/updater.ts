// The A/B slots of the appliance (docs: appliance-image.md §2.6). Two root partitions, root-a and
// root-b; the kernel and initrd of each under <esp>/<slot>/; one Boot Loader Specification entry per
// slot in <esp>/loader/entries/, with systemd-boot's boot counting in its name:
//   b+1.conf     flashed, one try left     b+0-1.conf   tried and failed: sorted last ("bad")
//   b.conf       blessed (booted and passed the health check)
// loader.conf never names a `default`: systemd-boot boots the highest `version` among the entries
// that are not bad, so a new slot that fails to boot, or whose health check reboots it, falls back
// to the previous slot by itself. An install never touches the booted slot's root or kernel, and
// removes the target's entry before writing anything, so a power cut mid-flash leaves the old slot
// as the only bootable one. Paths are parameters so the tests run on plain files.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, readdir, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { syncDirectory, writeFileAtomic } from '../atomic-file.js';
import { compareVersions, type BundleFileName, type VerifiedBundle } from './bundle.js';

export type Slot = 'a' | 'b';

export interface FirmwareLayout {
  /** /proc/cmdline: the booted slot is its `appliance.slot=`. */
  cmdlineFile: string;
  /** The ESP mount point, /efi. */
  esp: string;
  /** /dev/disk/by-partlabel/root-<slot> */
  slotDevice(slot: Slot): string;
  /** Extra kernel options appended to each new entry's `options` line. */
  kernelOptions?: string;
}

export interface SlotStatus {
  slot: Slot;
  /** The `version` line of the slot's boot entry. */
  version?: string;
  /** The entry's file name in <esp>/loader/entries. */
  entry?: string;
  triesLeft?: number;
  triesDone?: number;
  /** The entry has no boot counter: it booted and passed the health check (or was installed blessed). */
  blessed: boolean;
  booted: boolean;
}

/** The sort-key every slot's entry shares, so that `version` alone orders them (the image build writes the same). */
export const BOOT_ENTRY_SORT_KEY = 'appliance';
const SLOTS: readonly Slot[] = ['a', 'b'];
const BASE_OPTIONS = (slot: Slot) => `root=PARTLABEL=root-${slot} rootfstype=erofs ro console=ttyS0,115200 appliance.slot=${slot} panic=5`;
const COPY_CHUNK = 1024 * 1024;

/** "a.conf" → {slot a}; "b+1.conf" → {slot b, 1 try left}; "b+0-1.conf" → {slot b, 0 left, 1 done}; anything else → undefined. */
export function parseEntryName(name: string): { slot: Slot; triesLeft?: number; triesDone?: number } | undefined {
  const match = /^([ab])(?:\+(\d{1,4})(?:-(\d{1,4}))?)?\.conf$/.exec(name);
  if (!match) return undefined;
  const parsed: { slot: Slot; triesLeft?: number; triesDone?: number } = { slot: match[1] as Slot };
  if (match[2] !== undefined) parsed.triesLeft = Number(match[2]);
  if (match[3] !== undefined) parsed.triesDone = Number(match[3]);
  return parsed;
}

/** The text of slot `slot`'s boot entry for `version`. */
export function renderBootEntry(slot: Slot, version: string, kernelOptions?: string): string {
  const options = kernelOptions?.trim() ? `${BASE_OPTIONS(slot)} ${kernelOptions.trim()}` : BASE_OPTIONS(slot);
  if (/[\r\n]/.test(options)) throw new Error('kernel options must be one line');
  return [
    `title Gatehouse ${version} (slot ${slot})`,
    `sort-key ${BOOT_ENTRY_SORT_KEY}`,
    `version ${version}`,
    `linux /${slot}/vmlinuz`,
    `initrd /${slot}/initrd.img`,
    `options ${options}`,
    '',
  ].join('\n');
}

function otherSlot(slot: Slot): Slot {
  return slot === 'a' ? 'b' : 'a';
}

function entriesDir(layout: FirmwareLayout): string {
  return join(layout.esp, 'loader', 'entries');
}

/** The slot the running system booted from, from `appliance.slot=` on the kernel command line. */
export async function bootedSlot(layout: FirmwareLayout): Promise<Slot> {
  const cmdline = await readFile(layout.cmdlineFile, 'utf8');
  const match = /(?:^|\s)appliance\.slot=(\S*)/.exec(cmdline);
  if (!match) throw new Error(`${layout.cmdlineFile} has no appliance.slot=: not booted from an A/B slot`);
  if (match[1] !== 'a' && match[1] !== 'b') throw new Error(`${layout.cmdlineFile}: appliance.slot=${match[1]} is neither a nor b`);
  return match[1];
}

/** Each slot's boot entries, by file name (normally one per slot). */
async function slotEntries(layout: FirmwareLayout): Promise<Map<Slot, string[]>> {
  const found = new Map<Slot, string[]>(SLOTS.map((s) => [s, []]));
  let names: string[];
  try {
    names = await readdir(entriesDir(layout));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return found;
    throw err;
  }
  for (const name of names.sort()) {
    const parsed = parseEntryName(name);
    if (parsed) found.get(parsed.slot)!.push(name);
  }
  return found;
}

/** The booted slot, and each slot's boot entry: its version, boot counter and whether it is blessed. */
export async function firmwareStatus(layout: FirmwareLayout): Promise<{ booted: Slot; slots: SlotStatus[] }> {
  const booted = await bootedSlot(layout);
  const entries = await slotEntries(layout);
  const slots: SlotStatus[] = [];
  for (const slot of SLOTS) {
    const status: SlotStatus = { slot, blessed: false, booted: slot === booted };
    // Of several entries (only after tampering by hand), report the one systemd-boot prefers: not bad, then blessed.
    const name = preferredEntry(entries.get(slot)!);
    if (name) {
      const parsed = parseEntryName(name)!;
      status.entry = name;
      if (parsed.triesLeft !== undefined) status.triesLeft = parsed.triesLeft;
      if (parsed.triesDone !== undefined) status.triesDone = parsed.triesDone;
      status.blessed = parsed.triesLeft === undefined;
      const version = await entryVersion(join(entriesDir(layout), name));
      if (version !== undefined) status.version = version;
    }
    slots.push(status);
  }
  return { booted, slots };
}

function preferredEntry(names: string[]): string | undefined {
  const rank = (name: string) => {
    const { triesLeft } = parseEntryName(name)!;
    return triesLeft === undefined ? 0 : triesLeft > 0 ? 1 : 2;
  };
  return [...names].sort((x, y) => rank(x) - rank(y))[0];
}

async function entryVersion(file: string): Promise<string | undefined> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return /^version[ \t]+(\S+)/m.exec(text)?.[1];
}

/**
 * Installs `bundle` (already verified by openBundle) into the slot that is not booted, ready to be
 * tried once at the next boot. Refused, before anything is written, unless the booted slot has a
 * blessed entry to fall back to. Order matters for a power cut at any point:
 *  1. the target's boot entries are removed (and the removal synced) before anything is written;
 *  2. root.erofs is streamed to the target device, synced, read back and compared with the manifest;
 *  3. vmlinuz and initrd.img go to <esp>/<target>/ through temporary names;
 *  4. only then <esp>/loader/entries/<target>+1.conf appears, through a temporary name (not *.conf).
 * When the new version is not higher than the booted one (a forced downgrade or reinstall), the
 * booted entry is then marked bad (`+0-1`) as the last step, so that systemd-boot, which prefers the
 * highest version, tries the new slot; should the new slot fail too, both are bad and the higher
 * version, the old slot, boots again.
 */
export async function installBundle(
  layout: FirmwareLayout,
  bundle: VerifiedBundle,
  progress?: (step: string, done?: number, total?: number) => void,
): Promise<{ slot: Slot; version: string }> {
  const booted = await bootedSlot(layout);
  const target = otherSlot(booted);
  const { version, files } = bundle.manifest;
  const entries = entriesDir(layout);
  // The booted slot is the fallback: it must be one that is known to boot and pass the health check.
  // Otherwise a failing new slot could leave two bad entries, and systemd-boot would keep picking the
  // higher version, the broken one.
  const fallback = (await slotEntries(layout)).get(booted)!;
  if (!fallback.some((name) => parseEntryName(name)!.triesLeft === undefined)) {
    throw new Error(
      fallback.length === 0
        ? `slot ${booted} is booted but has no boot entry: it could not be fallen back to`
        : `slot ${booted} is still on trial (${fallback.join(', ')}): wait for the health check to bless it, or roll back, before installing`,
    );
  }

  progress?.(`removing the boot entry of slot ${target}`);
  await mkdir(entries, { recursive: true });
  for (const name of (await slotEntries(layout)).get(target)!) await unlink(join(entries, name));
  await syncDirectory(entries);

  const device = layout.slotDevice(target);
  await writeRootImage(device, bundle, (done) => progress?.(`writing root.erofs to slot ${target}`, done, files['root.erofs'].size));
  progress?.(`verifying slot ${target}`);
  const written = await hashPrefix(device, files['root.erofs'].size);
  if (written !== files['root.erofs'].sha256) throw new Error(`${device} does not read back what was written (SHA-256 mismatch): the slot is not bootable`);

  const kernelDir = join(layout.esp, target);
  await mkdir(kernelDir, { recursive: true });
  // Temporary files a power cut left behind in the target's own directory.
  for (const name of await readdir(kernelDir)) if (/^\..*\.tmp$/.test(name)) await unlink(join(kernelDir, name));
  for (const name of ['vmlinuz', 'initrd.img'] as const) {
    progress?.(`copying ${name} to the ESP`, undefined, undefined);
    await copyToFile(bundle, name, join(kernelDir, name));
  }
  await syncDirectory(kernelDir);
  await syncDirectory(layout.esp);

  progress?.(`writing the boot entry of slot ${target}`);
  await writeFileAtomic(join(entries, `${target}+1.conf`), renderBootEntry(target, version, layout.kernelOptions), 0o644);

  const bootedEntries = (await slotEntries(layout)).get(booted)!;
  for (const name of bootedEntries) {
    const current = await entryVersion(join(entries, name));
    if (current !== undefined && isVersion(current) && compareVersions(version, current) <= 0) await markBad(entries, name);
  }
  return { slot: target, version };
}

function isVersion(text: string): boolean {
  return /^\d+\.\d+\.\d+$/.test(text);
}

/** Renames an entry to `<slot>+0-<done>.conf`: systemd-boot sorts it after every good entry. */
async function markBad(entries: string, name: string): Promise<string> {
  const parsed = parseEntryName(name)!;
  if (parsed.triesLeft === 0) return name;
  const bad = `${parsed.slot}+0-${Math.max(1, parsed.triesDone ?? 0)}.conf`;
  await rename(join(entries, name), join(entries, bad));
  await syncDirectory(entries);
  return bad;
}

/**
 * Writes root.erofs at the start of `device`. A block device is opened as it is (never truncated or
 * created: a missing partition must not turn into a file in /dev); a regular file (tests, images)
 * is cut to the image's size afterwards.
 */
async function writeRootImage(device: string, bundle: VerifiedBundle, onProgress: (done: number) => void): Promise<void> {
  const info = await stat(device);
  if (!info.isBlockDevice() && !info.isFile()) throw new Error(`${device} is neither a block device nor a file`);
  const handle = await open(device, 'r+');
  try {
    const source = await bundle.open('root.erofs');
    let position = 0;
    let reported = 0;
    for await (const chunk of source) {
      const bytes = chunk as Buffer;
      await writeAll(handle, bytes, position);
      position += bytes.length;
      if (position - reported >= 16 * COPY_CHUNK) {
        onProgress(position);
        reported = position;
      }
    }
    if (info.isFile()) await handle.truncate(position);
    await handle.sync();
    onProgress(position);
  } finally {
    await handle.close();
  }
}

async function writeAll(handle: FileHandle, bytes: Buffer, position: number): Promise<void> {
  for (let offset = 0; offset < bytes.length; ) {
    const { bytesWritten } = await handle.write(bytes, offset, bytes.length - offset, position + offset);
    offset += bytesWritten;
  }
}

/** SHA-256 of the first `size` bytes of `file`; a short file hashes short, and so mismatches. */
async function hashPrefix(file: string, size: number): Promise<string> {
  const hash = createHash('sha256');
  if (size > 0) for await (const chunk of createReadStream(file, { start: 0, end: size - 1 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Copies a bundle file to `dest` through a temporary name in the same directory, synced, then renamed. */
async function copyToFile(bundle: VerifiedBundle, name: BundleFileName, dest: string): Promise<void> {
  const temp = join(dest, '..', `.${name}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(temp, 'wx', 0o644);
  try {
    let position = 0;
    for await (const chunk of await bundle.open(name)) {
      await writeAll(handle, chunk as Buffer, position);
      position += (chunk as Buffer).length;
    }
    await handle.sync();
    await handle.close();
  } catch (err) {
    await handle.close().catch(() => undefined);
    await unlink(temp).catch(() => undefined);
    throw err;
  }
  await rename(temp, dest);
}

/**
 * Makes the other slot boot next by marking the booted slot's entry bad (`<slot>+0-1.conf`), which
 * systemd-boot sorts after every good entry. Refused, with nothing changed, unless the other slot
 * has an entry that is not itself bad: with both bad, systemd-boot would pick by version, and
 * possibly the broken one. The booted slot's root and kernel stay as they are; its bad entry is
 * still a last resort, and the next install into that slot replaces it.
 */
export async function rollback(layout: FirmwareLayout): Promise<{ slot: Slot }> {
  const booted = await bootedSlot(layout);
  const other = otherSlot(booted);
  const entries = await slotEntries(layout);
  const good = entries.get(other)!.filter((name) => parseEntryName(name)!.triesLeft !== 0);
  if (good.length === 0) {
    throw new Error(
      entries.get(other)!.length === 0
        ? `slot ${other} has no boot entry: there is nothing to roll back to`
        : `slot ${other}'s boot entry is marked bad (it failed to boot or was rolled back from): rolling back could leave no good entry; install a bundle instead`,
    );
  }
  for (const name of entries.get(booted)!) await markBad(entriesDir(layout), name);
  return { slot: other };
}

/**
 * What systemd-bless-boot does once the health check passes: renames the booted slot's
 * `<slot>+N[-M].conf` to `<slot>.conf`. Idempotent: an entry already blessed is left alone.
 */
export async function blessBootedSlot(layout: FirmwareLayout): Promise<void> {
  const booted = await bootedSlot(layout);
  const names = (await slotEntries(layout)).get(booted)!;
  if (names.length === 0) throw new Error(`slot ${booted} is booted but has no boot entry to bless`);
  const counted = names.filter((name) => parseEntryName(name)!.triesLeft !== undefined);
  if (counted.length === 0) return;
  const dir = entriesDir(layout);
  // Of several counted entries (only after tampering by hand), the one with tries left is the one that booted.
  const chosen = preferredEntry(counted)!;
  await rename(join(dir, chosen), join(dir, `${booted}.conf`));
  for (const name of counted) if (name !== chosen) await unlink(join(dir, name)).catch(() => undefined);
  await syncDirectory(dir);
}
