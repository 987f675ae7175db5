// AA plugins for the gateway end-to-end tests: packages installed into a gateway's data directory
// exactly as `gatehouse plugin install` does, and plugin secrets put in its credential store.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sealGuard } from '../../../src/config/sealed.js';
import { LocalCredentialStore, type PluginSecretInput } from '../../../src/credstore/local-store.js';
import { credentialStoreFiles } from '../../../src/credstore/service.js';
import { parseManifest } from '../../../src/aa/manifest.js';
import { PluginSlots } from '../../../src/aa/slots.js';
import { applianceId } from '../../../src/system/appliance-id.js';
import { manifestText, yazlZip, zipFile } from '../../aa/zips.js';

const scriptedPluginDir = new URL('../fixtures/aa-script/', import.meta.url).pathname;
/** `npm run build` writes the built-in plugins here; the tests use the very zips an administrator would install. */
const builtZipDir = new URL('../../../dist/plugins/', import.meta.url).pathname;

export async function installPlugin(dataDir: string, zipPath: string): Promise<void> {
  const slots = await PluginSlots.open(dataDir, { guard: sealGuard(() => false), configurations: () => [] });
  await slots.install('console', zipPath);
}

/** Installs test/e2e/fixtures/aa-script as plugin `aa_script`. */
export async function installScriptedPlugin(dataDir: string, workDir: string): Promise<void> {
  const files: Record<string, string | Buffer> = { MANIFEST: manifestText({ name: 'aa_script', version: '1.0.0' }) };
  for (const name of await readdir(scriptedPluginDir)) files[name] = await readFile(join(scriptedPluginDir, name));
  await installPlugin(dataDir, await zipFile(workDir, await yazlZip(files)));
}

/** The zip `npm run build` made of built-in plugin `name`, at the version its MANIFEST says. */
export async function builtInPluginZip(name: string): Promise<string> {
  const { version } = parseManifest(await readFile(new URL(`../../../src/plugins/${name}/MANIFEST`, import.meta.url)));
  const zip = join(builtZipDir, `${name}-${version}.zip`);
  if (!(await readdir(builtZipDir)).includes(`${name}-${version}.zip`)) throw new Error(`no ${zip}: run npm run build first`);
  return zip;
}

export async function installTotpPlugin(dataDir: string): Promise<void> {
  await installPlugin(dataDir, await builtInPluginZip('totp'));
}

export async function installRadiusPlugin(dataDir: string): Promise<void> {
  await installPlugin(dataDir, await builtInPluginZip('radius'));
}

/** Creates the data directory's credential store (appliance-key mode) holding `secrets`. */
export async function storePluginSecrets(dataDir: string, secrets: PluginSecretInput[]): Promise<void> {
  const store = await LocalCredentialStore.init({
    ...credentialStoreFiles(dataDir, await applianceId(dataDir)),
    guard: sealGuard(() => false),
    origin: 'console',
    method: { kind: 'appliance-key' },
  });
  for (const secret of secrets) await store.setPluginSecret('console', secret);
  store.lock();
}
