// Auto-provisioning (SPS's `_provision_user`): the user's phone, email and displayName from LDAP
// become a Starling user, whose id is the MFA identity. Ids are cached per phone and email for
// good (`user_id_<phone>_<email>`, as SPS keys them); a user Starling refuses to create (errorCode
// 60016) is remembered as invalid for `[memory_cache] ttl` s, so each login does not ask again.
// SPS keeps both in its memory cache; here they live in the plugin's persistent state directory.
import type { Clock, LdapDirectory, PluginLogger, StateStore } from '../sdk/index.js';
import type { StarlingClient } from './client.js';
import { isObject } from './json.js';
import type { ProvisionSettings } from './settings.js';

/** The Starling id; `undefined`: not provisioned (keep the identity); `false`: Starling refuses this user. */
export type Provisioned = string | undefined | false;

export class UserProvisioning {
  constructor(
    private readonly settings: ProvisionSettings,
    private readonly ldap: LdapDirectory | undefined,
    private readonly store: StateStore,
    private readonly clock: Clock,
    private readonly log: PluginLogger,
  ) {}

  async starlingId(user: string, client: StarlingClient): Promise<Provisioned> {
    const details = await this.directoryDetails(user);
    if (!details) return undefined;
    const key = `user_id_${details.phone}_${details.email}`;
    const cached = await this.store.update(key, (current) => ({ action: 'keep', result: current }));
    if (isObject(cached) && typeof cached.id === 'string') return cached.id;
    if (isObject(cached) && Number(cached.invalidUntil) > this.clock()) {
      this.log.info(`Starling refused to provision ${user} earlier; not asked again before ${new Date(Number(cached.invalidUntil)).toISOString()}`);
      return false;
    }
    const created = await client.createUser(details);
    if ('invalid' in created) {
      this.log.warning(`Starling refused to provision ${user} (phone ${details.phone}, email ${details.email}): ${created.invalid}`);
      const invalidUntil = this.clock() + this.settings.invalidUserTtlS * 1000;
      await this.store.update(key, () => ({ action: 'write', value: { invalidUntil }, result: undefined }));
      return false;
    }
    this.log.info(`Starling provisioned ${user} as ${created.id}`);
    await this.store.update(key, () => ({ action: 'write', value: { id: created.id }, result: undefined }));
    return created.id;
  }

  /** Phone and email (both needed) and displayName (else the user name), or undefined. */
  private async directoryDetails(user: string): Promise<{ phone: string; email: string; displayName: string } | undefined> {
    const { ldapServer, phoneAttribute, emailAttribute } = this.settings;
    if (!this.ldap) {
      this.log.error(`auto-provisioning needs LDAP, which this appliance does not offer to plugins: ${user} is not provisioned`);
      return undefined;
    }
    try {
      const [phone, email, displayName] = await Promise.all(
        [phoneAttribute, emailAttribute, 'displayName'].map((attribute) => this.ldap?.userAttribute(ldapServer, user, attribute)),
      );
      if (phone && email) return { phone, email, displayName: displayName || user };
      this.log.info(`LDAP server "${ldapServer}" has no ${phone ? emailAttribute : phoneAttribute} for ${user}: not provisioned`);
    } catch (err) {
      this.log.warning(`LDAP server "${ldapServer}": reading ${user} failed (${(err as Error).message}): not provisioned`);
    }
    return undefined;
  }
}
