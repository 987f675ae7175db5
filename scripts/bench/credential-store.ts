// A benchmark gateway's credential store: created in its data directory (appliance-key mode, so
// the gateway unlocks it at start) holding the plugin and directory secrets a run needs.
import { sealGuard } from '../../src/config/sealed.js';
import { LocalCredentialStore, type PluginSecretInput } from '../../src/credstore/local-store.js';
import { credentialStoreFiles } from '../../src/credstore/service.js';
import { applianceId } from '../../src/system/appliance-id.js';

export async function fillCredentialStore(dataDir: string, secrets: PluginSecretInput[]): Promise<void> {
  const store = await LocalCredentialStore.init({
    ...credentialStoreFiles(dataDir, await applianceId(dataDir)),
    guard: sealGuard(() => false),
    origin: 'console',
    method: { kind: 'appliance-key' },
  });
  for (const secret of secrets) await store.setPluginSecret('console', secret);
  store.lock();
}
