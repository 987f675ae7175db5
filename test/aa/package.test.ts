// Tests of installing plugin packages: a valid package, and every reason a package is refused
// (asserted by message) with <dataDir>/plugins left byte-identical; zip bombs, zip-slip, links,
// and byte-mutated zips that must only ever be refused cleanly.
import { lstat, mkdir, mkdtemp, readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import t from 'tap';
import { APPLIANCE_PLUGIN_API, thisAppliance } from '../../src/aa/appliance.js';
import { PluginPackageError, quote } from '../../src/aa/errors.js';
import { PluginSlots } from '../../src/aa/slots.js';
import { sealGuard } from '../../src/config/sealed.js';
import { treeSnapshot } from '../helpers/tree.js';
import { manifestText, packageFiles, rawEntries, rawZip, yazlZip, zerosDeflated, zipFile, type RawEntry } from './zips.js';

const MB = 1024 * 1024;
const unsealed = { guard: sealGuard(() => false), configurations: () => [] };

/** A data directory whose plugins/ already holds a plugin, so "untouched" covers real content. */
async function setup(root: string) {
  const dataDir = join(root, 'data');
  const zips = join(root, 'zips');
  await mkdir(zips, { recursive: true });
  const slots = await PluginSlots.open(dataDir, unsealed);
  await slots.install('console', await zipFile(zips, await yazlZip(packageFiles({ name: 'other_plugin' }))));
  const plugins = join(dataDir, 'plugins');
  return {
    dataDir,
    plugins,
    slots,
    zip: (bytes: Buffer) => zipFile(zips, bytes),
    /** Installs `bytes`, expects a PluginPackageError, checks plugins/ is unchanged; returns the message. */
    async refusal(bytes: Buffer): Promise<string> {
      const before = await treeSnapshot(plugins);
      const path = await zipFile(zips, bytes);
      let error: unknown;
      try {
        await slots.install('console', path);
      } catch (err) {
        error = err;
      }
      if (!(error instanceof PluginPackageError)) throw new Error(`expected a PluginPackageError, got ${String(error)}`);
      if (error.message.includes('\n')) throw new Error(`a refusal is one line: ${JSON.stringify(error.message)}`);
      const after = await treeSnapshot(plugins);
      if (JSON.stringify(after) !== JSON.stringify(before)) throw new Error(`plugins/ changed: ${JSON.stringify({ before, after })}`);
      return error.message;
    },
  };
}

/** A valid package's files with `changes` applied; `undefined` removes a file. */
function files(changes: Record<string, string | Buffer | undefined> = {}, manifest: Record<string, string | undefined> = {}): Record<string, string | Buffer> {
  const all: Record<string, string | Buffer | undefined> = { ...packageFiles(manifest), ...changes };
  return Object.fromEntries(Object.entries(all).filter((e): e is [string, string | Buffer] => e[1] !== undefined));
}

t.test('a valid package installs: files as in the zip, MANIFEST included, and it becomes active', async (t) => {
  const { plugins, slots, zip } = await setup(t.testdir());
  const active = await slots.install('console', await zip(await yazlZip(packageFiles())));
  const dir = join(plugins, 'demo_plugin', '1.0.0');
  t.same(
    { name: active.name, version: active.version, dir: active.dir, entryPoint: active.manifest.entryPoint, defaultConfig: active.defaultConfig },
    { name: 'demo_plugin', version: '1.0.0', dir, entryPoint: 'main.js', defaultConfig: packageFiles()['default.cfg'] },
  );
  t.same(active.manifest, {
    name: 'demo_plugin',
    description: 'A demo AA plugin',
    version: '1.0.0',
    type: 'aa',
    api: APPLIANCE_PLUGIN_API,
    entryPoint: 'main.js',
    authorName: 'Demo Author',
    authorEmail: 'demo@example.com',
  });
  t.same((await readdir(dir)).sort(), ['MANIFEST', 'default.cfg', 'lib', 'main.js']);
  t.equal(await readFile(join(dir, 'lib', 'util.js'), 'utf8'), packageFiles()['lib/util.js']);
  t.equal((await stat(join(dir, 'main.js'))).mode & 0o777, 0o644);
  t.same(JSON.parse(await readFile(join(plugins, 'demo_plugin', 'slot.json'), 'utf8')), { active: '1.0.0' });
  t.same((await readdir(plugins)).sort(), ['demo_plugin', 'other_plugin'], 'no staging directory left');
});

t.test('a package written byte by byte (stored and deflated entries, no directory entries) installs', async (t) => {
  const { slots, zip } = await setup(t.testdir());
  const entries = rawEntries(files({ 'lib/': undefined }));
  entries[1].method = 0;
  const active = await slots.install('console', await zip(rawZip(entries)));
  t.equal(active.version, '1.0.0');
});

t.test('MANIFEST problems are refused with the field named', async (t) => {
  const { refusal } = await setup(t.testdir());
  const manifestCase = async (fields: Record<string, string | undefined>) => refusal(await yazlZip(files({}, fields)));
  t.equal(await refusal(await yazlZip(files({ MANIFEST: undefined }))), 'plugin package refused: the zip has no MANIFEST at its root');
  t.match(
    await refusal(await yazlZip({ 'demo/MANIFEST': manifestText(), 'demo/main.js': 'x' })),
    /no MANIFEST at the root of the zip, only "demo\/MANIFEST": zip the plugin's files, not the folder holding them/,
  );
  t.match(await refusal(await yazlZip(files({ MANIFEST: 'name: [unclosed\n' }))), /^plugin package refused: MANIFEST is not valid YAML: /);
  t.match(await refusal(await yazlZip(files({ MANIFEST: 'name: a\nname: b\n' }))), /MANIFEST is not valid YAML: Map keys must be unique/);
  t.match(await refusal(await yazlZip(files({ MANIFEST: '- just\n- a list\n' }))), /MANIFEST must be a YAML mapping of fields/);
  t.match(await refusal(await yazlZip(files({ MANIFEST: Buffer.from([0x6e, 0x3a, 0xff, 0xfe]) }))), /MANIFEST is not UTF-8 text/);
  t.equal(await manifestCase({ version: undefined }), 'plugin package refused: MANIFEST: version: is missing');
  t.equal(await manifestCase({ author_email: undefined, description: undefined }), 'plugin package refused: MANIFEST: description: is missing; author_email: is missing');
  t.match(await manifestCase({ name: 'bad/name' }), /MANIFEST: name: expected 1 to 64 letters, digits, "_" or "-", starting with a letter or digit/);
  t.match(await manifestCase({ name: '..' }), /MANIFEST: name: expected 1 to 64 letters/);
  t.match(await manifestCase({ name: 'x'.repeat(65) }), /MANIFEST: name: expected 1 to 64/);
  t.match(await manifestCase({ version: 'v1' }), /MANIFEST: version: expected a version such as 1.0, 2.3.1 or 1.0.0-beta.2/);
  t.match(await manifestCase({ version: '1.0.0/../../x' }), /MANIFEST: version: expected a version/);
  t.match(await manifestCase({ version: '[1, 2]' }), /MANIFEST: version: expected a single value, not a list/);
  t.equal(
    await manifestCase({ type: 'credentialstore' }),
    'plugin package refused: MANIFEST: type: expected "aa" (this appliance installs AA plugins only), not "credentialstore"',
  );
  t.match(await manifestCase({ api: '1' }), /MANIFEST: api: expected MAJOR.MINOR, such as 1.2/);
  t.match(await manifestCase({ entry_point: '../main.js' }), /MANIFEST: entry_point: expected the path of a .js, .mjs or .cjs module/);
  t.match(await manifestCase({ entry_point: 'main.py' }), /MANIFEST: entry_point: expected the path of a .js/);
  t.match(await manifestCase({ author_email: 'nobody' }), /MANIFEST: author_email: expected an e-mail address/);
  t.match(await manifestCase({ min_appliance_version: '1.0', scb_min_version: '1.0' }), /MANIFEST: scb_min_version: give min_appliance_version or scb_min_version, not both/);
});

t.test('api: the major must be the appliance’s and the minor no newer', async (t) => {
  const { refusal, slots, zip } = await setup(t.testdir());
  const [major, minor] = APPLIANCE_PLUGIN_API.split('.').map(Number);
  const expected = `MANIFEST: api %s is not supported: this appliance offers plugin API ${APPLIANCE_PLUGIN_API} (major ${major}, minor at most ${minor})`;
  for (const api of [`${major + 1}.0`, `${major}.${minor + 1}`, `${major - 1}.${minor}`]) {
    t.equal(await refusal(await yazlZip(files({}, { api }))), `plugin package refused: ${expected.replace('%s', api)}`, api);
  }
  t.equal((await slots.install('console', await zip(await yazlZip(files({}, { name: 'older_api', api: `${major}.0` }))))).manifest.api, `${major}.0`);
});

t.test('min/max appliance version, in both spellings, bound this appliance’s version', async (t) => {
  const { refusal, slots, zip } = await setup(t.testdir());
  const here = thisAppliance.version;
  t.equal(
    await refusal(await yazlZip(files({}, { min_appliance_version: '999.0' }))),
    `plugin package refused: demo_plugin 1.0.0 needs appliance version 999.0 or later; this appliance is ${here}`,
  );
  t.match(await refusal(await yazlZip(files({}, { scb_min_version: '999.0' }))), /needs appliance version 999.0 or later/);
  t.match(await refusal(await yazlZip(files({}, { max_appliance_version: '0.0.1' }))), /needs appliance version 0.0.1 or earlier/);
  t.equal(
    await refusal(await yazlZip(files({}, { scb_max_version: `${here}~` }))),
    `plugin package refused: demo_plugin 1.0.0 needs appliance version below ${here}; this appliance is ${here}`,
  );
  let n = 0;
  for (const bounds of [{ min_appliance_version: here, max_appliance_version: here }, { scb_min_version: `${here}~`, scb_max_version: '999.0~' }]) {
    const installed = await slots.install('console', await zip(await yazlZip(files({}, { name: `bounded${++n}`, ...bounds }))));
    t.ok(installed.manifest.minApplianceVersion && installed.manifest.maxApplianceVersion, `accepted with ${JSON.stringify(bounds)}`);
  }
});

t.test('the entry point must be in the zip; default.cfg must be UTF-8 and at most 10 KiB', async (t) => {
  const { refusal, slots, zip } = await setup(t.testdir());
  t.equal(await refusal(await yazlZip(files({ 'main.js': undefined }))), 'plugin package refused: entry_point "main.js" is not in the zip');
  t.equal(await refusal(await yazlZip(files({ 'main.js': undefined, 'main.js/': '' }))), 'plugin package refused: entry_point "main.js" is not in the zip');
  t.equal(await refusal(await yazlZip(files({ 'default.cfg': Buffer.from([0x5b, 0xc3, 0x28, 0x5d]) }))), 'plugin package refused: default.cfg is not UTF-8 text');
  t.equal(
    await refusal(await yazlZip(files({ 'default.cfg': 'x'.repeat(10 * 1024 + 1) }))),
    'plugin package refused: default.cfg is 10241 bytes; at most 10240 (10 KiB) are allowed',
  );
  t.equal(await refusal(await yazlZip(files({ 'default.cfg': undefined, 'default.cfg/': '' }))), 'plugin package refused: default.cfg is a directory, not a file');
  const exact = await slots.install('console', await zip(await yazlZip(files({ 'default.cfg': 'é'.repeat(5 * 1024) }, { name: 'exact_cfg' }))));
  t.equal(Buffer.byteLength(exact.defaultConfig ?? ''), 10 * 1024, 'exactly 10 KiB is accepted');
  const none = await slots.install('console', await zip(await yazlZip(files({ 'default.cfg': undefined }, { name: 'no_cfg', entry_point: 'lib/util.js' }))));
  t.equal(none.defaultConfig, undefined);
  t.equal(none.manifest.entryPoint, 'lib/util.js', 'an entry point in a subdirectory');
});

t.test('zip-slip: every path that could leave the root is refused before anything is written', async (t) => {
  const { refusal } = await setup(t.testdir());
  const slip = (name: string) => refusal(rawZip([...rawEntries(files()), { name, data: Buffer.from('pwned') }]));
  const cases: [string, string][] = [
    ['../evil.js', 'leaves the package root ("..")'],
    ['lib/../../evil.js', 'leaves the package root ("..")'],
    ['lib/..', 'leaves the package root ("..")'],
    ['../', 'leaves the package root ("..")'],
    ['/etc/cron.d/evil', 'is an absolute path'],
    ['//server/share/evil', 'is an absolute path'],
    ['C:/Windows/evil.js', 'starts with a drive letter'],
    ['c:evil.js', 'starts with a drive letter'],
    ['..\\evil.js', 'has a backslash in its name'],
    ['lib\\..\\..\\evil.js', 'has a backslash in its name'],
    ['lib//evil.js', 'has an empty or "." path segment'],
    ['./evil.js', 'has an empty or "." path segment'],
    ['evil\u0000.js', 'has a control character in its name'],
    ['', 'has an empty name'],
    [`${'a'.repeat(256)}.js`, 'has a name too long for the file system'],
  ];
  for (const [name, why] of cases) t.equal(await slip(name), `plugin package refused: entry ${quote(name)} ${why}`, JSON.stringify(name));
});

t.test('links, devices and FIFOs are refused by the Unix mode in the external attributes', async (t) => {
  const { refusal } = await setup(t.testdir());
  const special = (unixMode: number, name = 'lib/special') => refusal(rawZip([...rawEntries(files()), { name, data: Buffer.from('/etc/shadow'), unixMode }]));
  t.equal(await special(0o120777), 'plugin package refused: entry "lib/special" is a symbolic link');
  t.equal(await special(0o120777, 'lib/dirlink/'), 'plugin package refused: entry "lib/dirlink/" is a symbolic link');
  for (const mode of [0o010644, 0o020644, 0o060644, 0o140644]) {
    t.equal(await special(mode), 'plugin package refused: entry "lib/special" is not a regular file or directory (a device, FIFO or socket)', mode.toString(8));
  }
  t.equal(await special(0o040755), 'plugin package refused: entry "lib/special" is marked as a directory but named as a file');
});

t.test('duplicate names, a file used as a directory, encryption and unknown compression are refused', async (t) => {
  const { refusal } = await setup(t.testdir());
  const base = rawEntries(files());
  t.equal(await refusal(rawZip([...base, { name: 'main.js', data: Buffer.from('evil') }])), 'plugin package refused: entry "main.js" appears twice in the zip');
  t.equal(await refusal(rawZip([...base, { name: 'lib', data: Buffer.from('x') }])), 'plugin package refused: entry "lib" appears twice in the zip', 'a file and a directory of one name');
  t.equal(await refusal(rawZip([...base, { name: 'main.js/x.js', data: Buffer.from('x') }])), 'plugin package refused: entry "main.js/x.js" lies inside "main.js", which is a file');
  t.equal(await refusal(rawZip([...base, { name: 'secret.js', data: Buffer.from('x'), flags: 0x801 }])), 'plugin package refused: entry "secret.js" is encrypted');
  t.equal(
    await refusal(rawZip([...base, { name: 'x.js', data: Buffer.from('x'), method: 12 }])),
    'plugin package refused: entry "x.js" uses compression method 12; only stored (0) and deflate (8) are supported',
  );
});

t.test('more than 2,000 entries are refused', async (t) => {
  const { refusal, slots, zip } = await setup(t.testdir());
  const many = (n: number, name: string): RawEntry[] => [
    ...rawEntries(files({}, { name })),
    ...Array.from({ length: n - 5 }, (_, i): RawEntry => ({ name: `lib/f${i}.js`, method: 0 })),
  ];
  t.equal(await refusal(rawZip(many(2001, 'too_many'))), 'plugin package refused: the zip has 2001 entries; at most 2000 are allowed');
  t.equal((await slots.install('console', await zip(rawZip(many(2000, 'just_enough'))))).name, 'just_enough');
});

/** Installs and samples the bytes under `dir` every few milliseconds meanwhile; returns the peak and the time taken. */
async function measured(dir: string, install: Promise<unknown>): Promise<{ peak: number; ms: number; error: unknown }> {
  const started = Date.now();
  let peak = 0;
  let done = false;
  const settled = install.then(
    () => undefined,
    (err: unknown) => err,
  ).finally(() => (done = true));
  while (!done) {
    peak = Math.max(peak, await bytesUnder(dir));
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  return { peak, ms: Date.now() - started, error: await settled };
}

async function bytesUnder(dir: string): Promise<number> {
  let total = 0;
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return 0;
  }
  for (const name of names) {
    try {
      const info = await lstat(join(dir, name));
      total += info.isDirectory() ? await bytesUnder(join(dir, name)) : info.size;
    } catch {
      // removed meanwhile
    }
  }
  return total;
}

t.test('zip bombs stop early and never write more than the 20 MB limit', async (t) => {
  const { plugins, refusal, slots, zip } = await setup(t.testdir());
  const base = rawEntries(files());
  const tooLarge = 'plugin package refused: the zip unpacks to more than 20 MB (20971520 bytes)';

  // 1 GiB of zeros deflated to about 1 MB: its declared size stops it before anything is unpacked.
  const bomb = rawZip([...base, { name: 'zeros.bin', deflated: zerosDeflated(1024) }]);
  t.ok(bomb.length < 2 * MB, `the bomb is ${bomb.length} bytes`);
  const before = await bytesUnder(plugins);
  const run = await measured(plugins, slots.install('console', await zip(bomb)));
  t.equal((run.error as Error).message, tooLarge);
  t.ok(run.ms < 3000, `refused in ${run.ms} ms`);
  t.ok(run.peak - before < 20 * MB, `at most ${run.peak - before} bytes written meanwhile`);
  t.comment(`1 GiB bomb: refused in ${run.ms} ms, ${run.peak - before} bytes written at the peak`);

  // The same bomb claiming to unpack to 1000 bytes: unpacking stops as soon as it inflates beyond that.
  const liar = rawZip([...base, { name: 'zeros.bin', deflated: zerosDeflated(1024), declaredSize: 1000 }]);
  const lied = await measured(plugins, slots.install('console', await zip(liar)));
  t.match((lied.error as Error).message, /^plugin package refused: the zip is damaged, truncated or not a zip \(too many bytes in the stream/);
  t.ok(lied.ms < 3000 && lied.peak - before < 20 * MB, `lying bomb refused in ${lied.ms} ms, peak ${lied.peak - before} bytes`);

  // 21 honest entries of 1 MiB each, each small enough alone.
  const spread = [...base, ...Array.from({ length: 21 }, (_, i): RawEntry => ({ name: `lib/z${i}.bin`, deflated: zerosDeflated(1) }))];
  t.equal(await refusal(rawZip(spread)), tooLarge);
  t.equal((await slots.install('console', await zip(rawZip(spread.slice(0, -2))))).name, 'demo_plugin', '19 MiB is accepted');
});

t.test('damaged, truncated and non-zip files are refused', async (t) => {
  const { refusal } = await setup(t.testdir());
  const good = await yazlZip(packageFiles());
  const damaged = /^plugin package refused: the zip is damaged, truncated or not a zip \(.+\)$/;
  t.match(await refusal(Buffer.from('this is not a zip file at all')), damaged);
  t.match(await refusal(Buffer.alloc(0)), damaged);
  t.match(await refusal(good.subarray(0, good.length - 10)), damaged, 'truncated end record');
  t.match(await refusal(good.subarray(0, Math.floor(good.length / 2))), damaged, 'truncated in the middle');
  // A stored entry's data damaged: only the CRC-32 can tell.
  const stored = rawZip([...rawEntries(files({ 'main.js': undefined })), { name: 'main.js', data: Buffer.from('export class Plugin {}\n'), method: 0 }]);
  const at = stored.indexOf('export class Plugin');
  stored[at] ^= 0x20;
  t.equal(await refusal(stored), 'plugin package refused: entry "main.js" is damaged (CRC-32 mismatch)');
});

t.test('a version already installed is refused, also when written differently (1.0 = 1.0.0)', async (t) => {
  const { refusal } = await setup(t.testdir());
  t.equal(await refusal(await yazlZip(packageFiles({ name: 'other_plugin' }))), 'plugin package refused: other_plugin 1.0.0 is already installed');
  t.equal(await refusal(await yazlZip(packageFiles({ name: 'other_plugin', version: '1.0' }))), 'plugin package refused: other_plugin 1.0 is already installed (as 1.0.0)');
});

t.test('fuzz: byte-mutated and truncated packages are installed or refused cleanly, never half-installed', async (t) => {
  const root = t.testdir();
  const zips = join(root, 'zips');
  await mkdir(zips);
  const good = await yazlZip(packageFiles());
  const mutation = fc.record({
    changes: fc.array(fc.record({ at: fc.nat({ max: good.length - 1 }), byte: fc.integer({ min: 0, max: 255 }) }), { minLength: 1, maxLength: 6 }),
    cut: fc.option(fc.nat({ max: good.length }), { freq: 4 }),
  });
  let installed = 0;
  let refused = 0;
  await fc.assert(
    fc.asyncProperty(mutation, async ({ changes, cut }) => {
      const bytes = Buffer.from(good);
      for (const { at, byte } of changes) bytes[at] = byte;
      const dataDir = await mkdtemp(join(root, 'data-'));
      const slots = await PluginSlots.open(dataDir, unsealed);
      try {
        await slots.install('console', await zipFile(zips, cut === null ? bytes : bytes.subarray(0, cut)));
        installed++;
      } catch (err) {
        if (!(err instanceof PluginPackageError)) throw err;
        if (err.message.includes('\n')) throw new Error(`not one line: ${err.message}`);
        refused++;
        const left = await treeSnapshot(join(dataDir, 'plugins'));
        if (Object.keys(left).length > 0) throw new Error(`refused but left ${JSON.stringify(left)}`);
      }
    }),
    { numRuns: 300 },
  );
  t.comment(`${installed} installed (harmless bytes changed), ${refused} refused`);
  t.ok(refused > 0, 'some mutations were refused');
});
