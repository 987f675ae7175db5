// The built-in TOTP plugin as the benchmarks use it: the zip `npm run build` wrote, installed
// through the plugin slots, and seeds for bench users in a data directory's credential store.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parseManifest } from '../../src/aa/manifest.js';
import { PluginSlots, type ActivePlugin } from '../../src/aa/slots.js';
import { sealGuard } from '../../src/config/sealed.js';
import { encodeBase32 } from '../../src/plugins/totp/base32.js';
import { SEED_CREDENTIAL_HOST } from '../../src/plugins/totp/seed.js';
import { storePluginSecrets } from '../../test/e2e/helpers/aa.js';

const at = (path: string): string => fileURLToPath(new URL(path, import.meta.url));
const guard = sealGuard(() => false);

/** The TOTP zip of this build, installed into `dataDir` as the appliance would. */
export async function installTotp(dataDir: string): Promise<ActivePlugin> {
  const { version } = parseManifest(await readFile(at('../../../src/plugins/totp/MANIFEST')));
  const zipPath = at(`../../plugins/totp-${version}.zip`);
  const slots = await PluginSlots.open(dataDir, { guard, configurations: () => [] });
  return slots.install('console', zipPath).catch((err: Error) => {
    throw new Error(`cannot install ${zipPath} (npm run build writes it): ${err.message}`);
  });
}

/** The default.cfg of the TOTP plugin in the source tree. */
export function totpDefaultConfig(): Promise<string> {
  return readFile(at('../../../src/plugins/totp/default.cfg'), 'utf8');
}

/** Creates `dataDir`'s credential store with `seed` for each of `users` under `configuration`. */
export function enrollTotpUsers(dataDir: string, configuration: string, users: string[], seed: Uint8Array): Promise<void> {
  return storePluginSecrets(dataDir, users.map((user) => ({ scope: configuration, section: SEED_CREDENTIAL_HOST, option: user, value: encodeBase32(seed) })));
}
