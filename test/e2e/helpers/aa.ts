// AA plugins for the gateway end-to-end tests: packages installed into a gateway's data directory
// exactly as `gatehouse plugin install` does, and plugin secrets put in its credential store.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sealGuard } from '../../../src/config/sealed.js';
import { LocalCredentialStore, type PluginSecretInput } from '../../../src/credstore/local-store.js';
import { credentialStoreFiles } from '../../../src/credstore/service.js';
import { PluginSlots } from '../../../src/aa/slots.js';
import { applianceId } from '../../../src/system/appliance-id.js';
import { manifestText, yazlZip, zipFile } from '../../aa/zips.js';

const scriptedPluginDir = new URL('../fixtures/aa-script/', import.meta.url).pathname;
/** `npm run build` makes it; the tests use the very zip an administrator would install. */
export const totpZipDir = new URL('../../../dist/plugins/', import.meta.url).pathname;

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

/** Installs the TOTP plugin zip that the build produced. */
export async function installTotpPlugin(dataDir: string): Promise<void> {
  const zip = (await readdir(totpZipDir)).find((name) => /^totp-.*\.zip$/.test(name));
  if (!zip) throw new Error(`no totp-*.zip in ${totpZipDir}: run npm run build first`);
  await installPlugin(dataDir, join(totpZipDir, zip));
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
