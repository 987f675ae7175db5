// Logs in to targets with the credential the encrypted local credential store holds for
// (server user, target); the person's own password only where the policy allows it.
import type { CredentialSource, UpstreamCredential, UpstreamLogin } from './credential-source.js';
import type { LocalCredentialStore } from './local-store.js';
import { CredentialStoreError } from './store-errors.js';

export type CredentialShortfall = { missing: string; detail?: string };

export class StoredCredentialSource implements CredentialSource {
  readonly name = 'credential-store';
  readonly needsClientPassword = false;

  constructor(
    private readonly store: () => LocalCredentialStore | undefined,
    private readonly allowPassthrough: boolean,
  ) {}

  async credentialFor(login: UpstreamLogin): Promise<UpstreamCredential | CredentialShortfall> {
    const store = this.store();
    if (!store) return { missing: 'credential store is not set up' };
    if (!store.isUnlocked()) return { missing: 'credential store is locked' };
    let found: UpstreamCredential | undefined;
    try {
      found = store.findTargetCredential(login.host, login.serverUser);
    } catch (err) {
      if (!(err instanceof CredentialStoreError)) throw err;
      // The entry's name and the reason go to the log; the client hears only that the store failed.
      return { missing: 'credential store error', detail: err.message };
    }
    if (found) return found;
    if (this.allowPassthrough && login.clientPassword !== undefined) return { password: login.clientPassword };
    return { missing: `no stored credential for ${login.serverUser} on this target` };
  }
}
