// A plugin package: an untrusted zip unpacked into a staging directory and checked against the
// packaging rules (MANIFEST, entry point, default.cfg) and against this appliance.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { thisAppliance } from './appliance.js';
import { PluginPackageError, quote } from './errors.js';
import { checkCompatibility, parseManifest, type PluginManifest } from './manifest.js';
import { extractZip, type ZipLimits } from './zip-extract.js';

/** 20 MB unpacked, as SPS; the entry count bounds the work a zip of tiny files can cause. */
const PACKAGE_LIMITS: ZipLimits = { maxUnpackedBytes: 20 * 1024 * 1024, maxEntries: 2000 };
export const DEFAULT_CONFIG_FILE = 'default.cfg';
const MAX_DEFAULT_CONFIG_BYTES = 10 * 1024;

/**
 * Unpacks the package at `zipPath` into the empty directory `stagingDir` and checks it; returns
 * its MANIFEST. Throws PluginPackageError with the reason; the caller removes `stagingDir`.
 */
export async function unpackPackage(zipPath: string, stagingDir: string): Promise<PluginManifest> {
  const entries = await extractZip(zipPath, stagingDir, PACKAGE_LIMITS);
  const kinds = new Map(entries.map((e) => [e.path, e.kind]));
  if (kinds.get('MANIFEST') !== 'file') {
    const nested = entries.find((e) => e.kind === 'file' && e.path.endsWith('/MANIFEST'));
    throw new PluginPackageError(
      nested ? `no MANIFEST at the root of the zip, only ${quote(nested.path)}: zip the plugin's files, not the folder holding them` : 'the zip has no MANIFEST at its root',
    );
  }
  const manifest = parseManifest(await readFile(join(stagingDir, 'MANIFEST')));
  checkCompatibility(manifest, thisAppliance);
  if (kinds.get(manifest.entryPoint) !== 'file') throw new PluginPackageError(`entry_point ${quote(manifest.entryPoint)} is not in the zip`);
  const defaultConfig = kinds.get(DEFAULT_CONFIG_FILE);
  if (defaultConfig === 'directory') throw new PluginPackageError(`${DEFAULT_CONFIG_FILE} is a directory, not a file`);
  if (defaultConfig === 'file') readDefaultConfig(await readFile(join(stagingDir, DEFAULT_CONFIG_FILE)));
  return manifest;
}

/** The sample configuration's text: UTF-8, at most 10 KiB. */
export function readDefaultConfig(bytes: Uint8Array): string {
  if (bytes.length > MAX_DEFAULT_CONFIG_BYTES) {
    throw new PluginPackageError(`${DEFAULT_CONFIG_FILE} is ${bytes.length} bytes; at most ${MAX_DEFAULT_CONFIG_BYTES} (10 KiB) are allowed`);
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new PluginPackageError(`${DEFAULT_CONFIG_FILE} is not UTF-8 text`);
  }
}
