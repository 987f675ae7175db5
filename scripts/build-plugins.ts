// Packages the built-in AA plugins as installable zips: `npm run build` runs this after tsc and
// writes dist/plugins/<name>-<version>.zip. A plugin worker may read its own package directory
// only (src/aa/sandbox/PROTOCOL.md), so each zip carries the compiled SDK modules it imports:
//   MANIFEST, default.cfg      copied from src/plugins/<name>/
//   main.js                    `export { Plugin } from './<name>/main.js';`
//   <name>/*.js, sdk/*.js      the import closure of dist/src/plugins/<name>/main.js, as laid out there
// The bytes depend on the inputs only (sorted entries, fixed times and modes), so two builds match.
import { createWriteStream } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import yazl from 'yazl';
import { parseManifest } from '../src/aa/manifest.js';

const BUILT_IN_PLUGINS = ['totp', 'radius', 'duo', 'inwebo', 'starling'];
/** The shim below sits at the package root and is what the MANIFEST must name. */
const ENTRY_POINT = 'main.js';
/** Local time on purpose: yazl writes DOS times from local fields, so this is 1980-01-01 00:00 in every time zone. */
const FIXED_MTIME = new Date(1980, 0, 1);

export interface PluginBuild {
  /** The plugin's folder under src/plugins/ and dist/src/plugins/. */
  name: string;
  /** src/plugins: the plugin's MANIFEST and default.cfg. */
  sourceDir: string;
  /** dist/src/plugins: the compiled plugins and SDK. */
  compiledDir: string;
  outDir: string;
}

/** Writes `<outDir>/<name>-<version>.zip` and returns its path. */
export async function buildPluginZip({ name, sourceDir, compiledDir, outDir }: PluginBuild): Promise<string> {
  const manifestBytes = await readFile(join(sourceDir, name, 'MANIFEST'));
  const manifest = parseManifest(manifestBytes);
  if (manifest.entryPoint !== ENTRY_POINT) throw new Error(`${name}/MANIFEST: entry_point must be ${ENTRY_POINT}, the shim this build writes`);
  const files = new Map<string, Buffer>([
    ['MANIFEST', manifestBytes],
    ['default.cfg', await readFile(join(sourceDir, name, 'default.cfg'))],
    [ENTRY_POINT, Buffer.from(`export { Plugin } from './${name}/main.js';\n`)],
  ]);
  for (const module of await importClosure(compiledDir, `${name}/main.js`)) {
    // The .map files stay out of the package, so their references go too.
    const code = (await readFile(join(compiledDir, module), 'utf8')).replace(/\n\/\/# sourceMappingURL=\S+\s*$/, '\n');
    files.set(module, Buffer.from(code));
  }
  const zip = new yazl.ZipFile();
  for (const path of [...files.keys()].sort()) {
    zip.addBuffer(files.get(path) as Buffer, path, { mtime: FIXED_MTIME, forceDosTimestamp: true, mode: 0o100644 });
  }
  zip.end();
  await mkdir(outDir, { recursive: true });
  const zipPath = join(outDir, `${name}-${manifest.version}.zip`);
  await pipeline(zip.outputStream, createWriteStream(zipPath));
  return zipPath;
}

/**
 * The compiled modules `entry` loads, itself included: "/"-separated paths relative to `rootDir`,
 * sorted. Follows relative imports and re-exports; refuses a bare package (anything neither
 * relative nor `node:`) and a path out of `rootDir`, which a plugin worker could not read.
 */
export async function importClosure(rootDir: string, entry: string): Promise<string[]> {
  const found = new Set<string>();
  const pending = [entry];
  for (let module = pending.pop(); module !== undefined; module = pending.pop()) {
    if (found.has(module)) continue;
    found.add(module);
    const code = await readFile(join(rootDir, module), 'utf8');
    // TypeScript's import scanner skips comments and strings, which a regular expression would not.
    for (const { fileName: specifier } of ts.preProcessFile(code, true, true).importedFiles) {
      if (specifier.startsWith('node:')) continue;
      if (!specifier.startsWith('./') && !specifier.startsWith('../')) {
        throw new Error(`${module} imports the package "${specifier}": a plugin worker cannot read node_modules, so plugins may import only relative modules and node: built-ins`);
      }
      const target = posix.join(posix.dirname(module), specifier);
      if (target.startsWith('../')) throw new Error(`${module} imports "${specifier}", which is outside ${rootDir}`);
      pending.push(target);
    }
  }
  return [...found].sort();
}

async function main(): Promise<void> {
  const at = (path: string): string => fileURLToPath(new URL(path, import.meta.url));
  for (const name of BUILT_IN_PLUGINS) {
    const zipPath = await buildPluginZip({ name, sourceDir: at('../../src/plugins/'), compiledDir: at('../src/plugins/'), outDir: at('../plugins/') });
    process.stdout.write(`build-plugins: wrote ${zipPath}\n`);
  }
}

// Run as dist/scripts/build-plugins.js; the tests import the functions above instead.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((err: Error) => {
    process.stderr.write(`build-plugins: ${err.message}\n`);
    process.exitCode = 1;
  });
}
