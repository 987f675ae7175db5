// The appliance's directories, built once per gateway start: an LdapDirectory (with its pool) per
// configured LDAP server, and what each connection policy's first factor and the AA plugins use.
// Directory secrets come from the credential store (scope "directory"), read when needed.
import type { LocalUserDirectory } from '../auth/local-users.js';
import { LdapPasswords, RadiusPasswords } from '../auth/directory-passwords.js';
import { LdapDirectory } from '../auth/ldap/index.js';
import type { PasswordAuthenticator } from '../auth/password-check.js';
import { directorySecret, type ConnectionPolicy, type GatehouseConfig } from '../config/schema.js';
import type { LocalCredentialStore } from '../credstore/local-store.js';
import type { Logger } from '../log/logger.js';
import type { PluginLdap } from '../aa/sandbox/index.js';

export class Directories {
  private readonly ldap = new Map<string, LdapDirectory>();

  constructor(
    private readonly config: GatehouseConfig,
    private readonly credentialStore: () => LocalCredentialStore | undefined,
    log: Logger,
  ) {
    for (const server of config.ldapServers) {
      const secret = directorySecret.ldapBindPassword(server.name);
      this.ldap.set(server.name, new LdapDirectory(server, { bindPassword: async () => this.secret(secret), log: log.child({ ldapServer: server.name }) }));
    }
  }

  /** Who checks passwords for `policy`: the local users, or its LDAP or RADIUS server. */
  passwordsFor(policy: ConnectionPolicy, users: LocalUserDirectory): PasswordAuthenticator {
    const auth = policy.gatewayAuthentication;
    if (auth.type === 'local') return users;
    if (auth.type === 'ldap') return new LdapPasswords(auth.server, this.ldapServer(auth.server));
    const server = this.config.radiusServers.find((candidate) => candidate.name === auth.server);
    if (!server) throw new Error(`no RADIUS server named "${auth.server}"`);
    return new RadiusPasswords(server, () => this.secret(directorySecret.radiusSharedSecret(server.name)));
  }

  /** The LDAP servers as AA plugins reach them (`[ldap_server] name=`). */
  readonly forPlugins: PluginLdap = {
    userGroups: (server, user) => this.ldapServer(server).userGroups(user),
    userAttribute: (server, user, attribute) => this.ldapServer(server).userAttribute(user, attribute),
  };

  async close(): Promise<void> {
    await Promise.all([...this.ldap.values()].map((directory) => directory.close()));
  }

  private ldapServer(name: string): LdapDirectory {
    const directory = this.ldap.get(name);
    if (!directory) throw new Error(`no LDAP server named "${name}"`);
    return directory;
  }

  /** Throws while the credential store is locked: a directory must not be asked without its secret. */
  private secret(where: { scope: string; section: string; option: string }): string | undefined {
    const store = this.credentialStore();
    if (!store) return undefined;
    if (!store.isUnlocked()) throw new Error('the credential store is locked');
    return store.getPluginSecret(where.scope, where.section, where.option);
  }
}
