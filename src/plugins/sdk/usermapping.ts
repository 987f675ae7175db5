// Gateway user → MFA identity: `[usermapping source=explicit]`, else `[usermapping source=ldap_server]`
// (explicit has priority, as SPS documents), then `[username_transform] append_domain`.
// A mapping that finds nothing keeps the identity found so far.
import type { LdapDirectory } from './contract.js';
import type { PluginConfiguration } from './configuration.js';
import type { PluginLogger } from './logger.js';
import { LDAP_SERVER_SECTION } from './whitelist.js';

export const EXPLICIT_MAPPING = 'usermapping source=explicit';
export const LDAP_MAPPING = 'usermapping source=ldap_server';
export const USERNAME_TRANSFORM = 'username_transform';

export async function resolveMfaIdentity(
  config: PluginConfiguration,
  ldap: LdapDirectory | undefined,
  user: string,
  log: PluginLogger,
): Promise<string> {
  // Option names are lower-cased, so the explicit mapping ignores the case of the user name (as in SPS).
  const explicit = await config.get(EXPLICIT_MAPPING, user);
  const mapped = explicit || (await ldapIdentity(config, ldap, user, log)) || user;
  const domain = await config.get(USERNAME_TRANSFORM, 'append_domain');
  return domain ? `${mapped}@${domain}` : mapped;
}

async function ldapIdentity(config: PluginConfiguration, ldap: LdapDirectory | undefined, user: string, log: PluginLogger): Promise<string | undefined> {
  const attribute = await config.get(LDAP_MAPPING, 'user_attribute');
  if (!attribute) return undefined;
  const server = await config.require(LDAP_SERVER_SECTION, 'name');
  if (!ldap) {
    log.error(`[${LDAP_MAPPING}] needs LDAP, which this appliance does not offer to plugins: ${user} keeps their name`);
    return undefined;
  }
  try {
    const identity = await ldap.userAttribute(server, user, attribute);
    if (!identity) log.info(`LDAP server "${server}" has no ${attribute} for ${user}: ${user} keeps their name`);
    return identity;
  } catch (err) {
    log.warning(`LDAP server "${server}": reading ${attribute} of ${user} failed (${(err as Error).message}): ${user} keeps their name`);
    return undefined;
  }
}
