// The TOTP plugin as `npm run build` packages it (scripts/build-plugins.ts): the zip installs into
// the plugin slots, runs in a real sandbox with only its own directory readable, checks codes, and
// is byte-identical from build to build. Also the import-closure check that keeps packages out of it.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { buildPluginZip, importClosure } from '../../../scripts/build-plugins.js';
import { PluginSlots } from '../../../src/aa/slots.js';
import { sealGuard } from '../../../src/config/sealed.js';
import { encodeBase32 } from '../../../src/plugins/totp/base32.js';
import { hotp } from '../../../src/plugins/totp/hotp.js';
import { authenticateArgs } from '../../aa/sandbox/helpers/hook-calls.js';
import { errorOf } from '../../helpers/errors.js';
import { transpileTree } from '../../helpers/plain-node-child.js';
import { treeSnapshot } from '../../helpers/tree.js';
import { startInSandbox } from '../helpers/plugin-zip.js';

const sourceDir = fileURLToPath(new URL('../../../src/plugins/', import.meta.url));
const seed = new TextEncoder().encode('12345678901234567890');

t.test('the built zip installs, runs in the sandbox and is reproducible', async (t) => {
  const dir = t.testdir({});
  // The plugin compiled to plain JS as tsc lays it out under dist/src/plugins/.
  await transpileTree(join(sourceDir, 'totp/main.ts'), join(dir, 'compiled'));
  const build = (outDir: string) => buildPluginZip({ name: 'totp', sourceDir, compiledDir: join(dir, 'compiled/src/plugins'), outDir: join(dir, outDir) });
  const zipPath = await build('first');
  t.equal(zipPath, join(dir, 'first/totp-0.1.0.zip'));
  t.ok((await readFile(zipPath)).equals(await readFile(await build('second'))), 'two builds give identical bytes');

  const slots = await PluginSlots.open(join(dir, 'data'), { guard: sealGuard(() => false), configurations: () => [] });
  const installed = await slots.install('console', zipPath);
  t.match(installed, { name: 'totp', version: '0.1.0', manifest: { entryPoint: 'main.js' } });
  t.equal(installed.defaultConfig, await readFile(join(sourceDir, 'totp/default.cfg'), 'utf8'));
  const files = Object.keys(await treeSnapshot(installed.dir)).filter((path) => !['sdk', 'totp'].includes(path));
  t.same(files.filter((path) => !path.endsWith('.js')), ['MANIFEST', 'default.cfg'], 'only modules besides MANIFEST and default.cfg: no .map, no .d.ts');
  t.ok(files.includes('totp/verifier.js') && files.includes('sdk/mfa-plugin.js'), 'the modules main.js needs');
  t.notOk(files.some((path) => path === 'totp/enroll.js' || path.startsWith('totp/qr/')), 'not the enrolment code, which main.js does not import');
  t.equal(await readFile(join(installed.dir, 'main.js'), 'utf8'), "export { Plugin } from './totp/main.js';\n");

  const sandbox = await startInSandbox(t, { dir, installed, files }, 'totp-mfa', installed.defaultConfig as string, { 'totp_seed/alice': encodeBase32(seed) });
  const step = Math.floor(Date.now() / 30_000);
  const withCode = (otp: string) => sandbox.call('authenticate', authenticateArgs({}, { otp }));
  t.match(await withCode(hotp(seed, step, 6)), { verdict: 'ACCEPT', additional_metadata: '{"authentication":"otp","mfa_identity":"alice"}' });
  // Five steps ahead is outside the drift window of one step.
  const denied = await withCode(hotp(seed, step + 5, 6));
  t.match(denied, { verdict: 'DENY', reason: 'Authentication failed' });
  t.equal(denied.failure, undefined, 'denied by the plugin, not by the sandbox');
});

t.test('the import closure follows relative imports and refuses packages and escapes', async (t) => {
  const dir = t.testdir({
    'main.js': "import { a } from './lib/a.js';\nexport { b } from './lib/b.js';\n// import x from 'commented-out';\n",
    lib: {
      'a.js': "import { createHash } from 'node:crypto';\nimport { b } from './b.js';\nexport const a = 1;\n",
      'b.js': 'export const b = 2;\n',
      'unused.js': "import yaml from 'yaml';\n",
    },
  });
  t.same(await importClosure(dir, 'main.js'), ['lib/a.js', 'lib/b.js', 'main.js']);

  await writeFile(join(dir, 'lib/b.js'), "import { parse } from 'yaml';\nexport const b = 2;\n");
  t.match(await errorOf(importClosure(dir, 'main.js')), { message: 'lib/b.js imports the package "yaml": a plugin worker cannot read node_modules' });
  await writeFile(join(dir, 'lib/b.js'), "import { createHash } from 'crypto';\n");
  t.match(await errorOf(importClosure(dir, 'main.js')), { message: 'lib/b.js imports the package "crypto"' });
  await writeFile(join(dir, 'lib/b.js'), "export * from '../../outside.js';\n");
  t.match(await errorOf(importClosure(dir, 'main.js')), { message: `lib/b.js imports "../../outside.js", which is outside ${dir}` });
});
