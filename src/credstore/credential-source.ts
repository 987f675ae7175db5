// Where the gateway gets the credential it logs in to a target with. The person never sees it.
// This module owns the contract; the encrypted local credential store is one more implementation.

export interface UpstreamLogin {
  gatewayUser: string;
  serverUser: string;
  host: string;
  port: number;
  /** The password the person gave the gateway, when they authenticated with one. */
  clientPassword?: string;
}

/** At least one of the two; with both the key is tried first. */
export type UpstreamCredential = { password: string; privateKey?: string } | { password?: string; privateKey: string };

export interface CredentialSource {
  /** Short name for logs ("passthrough", "gateway-key", ...). */
  readonly name: string;
  /** Whether the source needs the person's own password at the gateway. */
  readonly needsClientPassword: boolean;
  /** The credential for this login, or a reason why there is none (shown to the client; `detail` only logged). */
  credentialFor(login: UpstreamLogin): Promise<UpstreamCredential | { missing: string; detail?: string }>;
}

/** Logs in to the target with the password the person gave the gateway. */
export class PasswordPassthrough implements CredentialSource {
  readonly name = 'passthrough';
  readonly needsClientPassword = true;

  async credentialFor(login: UpstreamLogin): Promise<UpstreamCredential | { missing: string }> {
    if (login.clientPassword === undefined) return { missing: 'this policy passes your password through: log in with a password' };
    return { password: login.clientPassword };
  }
}

/** Logs in to every target with the gateway's own key, which admins authorize on their servers. */
export class GatewayKeySource implements CredentialSource {
  readonly name = 'gateway-key';
  readonly needsClientPassword = false;

  constructor(private readonly privateKey: string) {}

  async credentialFor(): Promise<UpstreamCredential> {
    return { privateKey: this.privateKey };
  }
}
