// A plugin as `npm run build` packages it, installed into the plugin slots as the console would
// and started in a real sandbox: the steps every plugin-zip test takes before its own checks.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Test } from 'tap';
import { buildPluginZip } from '../../../scripts/build-plugins.js';
import { PluginSlots, type ActivePlugin } from '../../../src/aa/slots.js';
import { sealGuard } from '../../../src/config/sealed.js';
import { captureLog, loadSandbox } from '../../aa/sandbox/helpers/plain-sandbox.js';
import { transpileTree } from '../../helpers/plain-node-child.js';
import { treeSnapshot } from '../../helpers/tree.js';

const sourceDir = fileURLToPath(new URL('../../../src/plugins/', import.meta.url));

export interface InstalledZip {
  /** The test's directory: compiled code, the zip, the slots, the sandbox's state. */
  dir: string;
  installed: ActivePlugin;
  /** The installed plugin's files, relative to its directory. */
  files: string[];
}

/** Compiles `name` as tsc lays it out, zips it and installs the zip; checks it installed as `name` 0.1.0 entered through main.js. */
export async function installBuiltZip(t: Test, name: string): Promise<InstalledZip> {
  const dir = t.testdir({});
  await transpileTree(join(sourceDir, `${name}/main.ts`), join(dir, 'compiled'));
  const zipPath = await buildPluginZip({ name, sourceDir, compiledDir: join(dir, 'compiled/src/plugins'), outDir: join(dir, 'zip') });
  const slots = await PluginSlots.open(join(dir, 'data'), { guard: sealGuard(() => false), configurations: () => [] });
  const installed = await slots.install('console', zipPath);
  t.match(installed, { name, version: '0.1.0', manifest: { entryPoint: 'main.js' } });
  return { dir, installed, files: Object.keys(await treeSnapshot(installed.dir)) };
}

/** The installed plugin in a sandbox as configuration `configName`, credential-store entries from `secrets` ("section/option" → value); closed at teardown. */
export async function startInSandbox(t: Test, { dir, installed }: InstalledZip, configName: string, configText: string, secrets: Record<string, string>) {
  const { PluginSandbox } = await loadSandbox(join(dir, 'sandbox'));
  const sandbox = await PluginSandbox.start({
    configName,
    pluginName: installed.name,
    pluginDir: installed.dir,
    entryPoint: installed.manifest.entryPoint,
    configText,
    stateDir: join(dir, 'state'),
    ephemeralDir: join(dir, 'ephemeral'),
    secret: async (section, option) => secrets[`${section}/${option}`],
    log: captureLog().log,
  });
  t.teardown(() => sandbox.close());
  return sandbox;
}
