// `[whitelist source=user_list]` and `[whitelist source=ldap_server_group]`: who may skip MFA
// (break-glass). A list or directory that cannot be consulted lets nobody skip.
import type { LdapDirectory, PluginContext, UserList } from './contract.js';
import type { PluginConfiguration } from './configuration.js';
import type { PluginLogger } from './logger.js';

export const USER_LIST_WHITELIST = 'whitelist source=user_list';
export const LDAP_GROUP_WHITELIST = 'whitelist source=ldap_server_group';
export const LDAP_SERVER_SECTION = 'ldap_server';

export type WhitelistSource = 'user_list' | 'ldap_server_group';

/** SPS's rule: a user in `except` is the exception to `allow`. Names compare case-sensitively. */
export function userListAllows(list: UserList, user: string): boolean {
  return list.except.includes(user) === (list.allow === 'no_user');
}

/** The same rule over group membership; group names compare case-insensitively. */
export function groupsAllow(allow: UserList['allow'], except: readonly string[], groups: readonly string[]): boolean {
  const exceptions = new Set(except.map((group) => group.toLowerCase()));
  return groups.some((group) => exceptions.has(group.toLowerCase())) === (allow === 'no_user');
}

/** Which whitelist lets `user` skip MFA, if any. */
export async function whitelistBypass(
  config: PluginConfiguration,
  lookups: Pick<PluginContext, 'userList' | 'ldap'>,
  user: string,
  log: PluginLogger,
): Promise<WhitelistSource | undefined> {
  const listName = await config.get(USER_LIST_WHITELIST, 'name');
  if (listName !== undefined) {
    const list = lookups.userList ? await lookups.userList(listName) : undefined;
    if (!list) log.error(`[${USER_LIST_WHITELIST}] names user list "${listName}", which the appliance does not have: nobody skips MFA through it`);
    else if (userListAllows(list, user)) return 'user_list';
  }
  if (config.hasSection(LDAP_GROUP_WHITELIST)) {
    const allow = await config.getEnum(LDAP_GROUP_WHITELIST, 'allow', ['all_users', 'no_user'] as const, 'no_user');
    const except = await config.getList(LDAP_GROUP_WHITELIST, 'except');
    const server = await config.require(LDAP_SERVER_SECTION, 'name');
    const groups = await userGroups(lookups.ldap, server, user, log);
    if (groups && groupsAllow(allow, except, groups)) return 'ldap_server_group';
  }
  return undefined;
}

async function userGroups(ldap: LdapDirectory | undefined, server: string, user: string, log: PluginLogger): Promise<readonly string[] | undefined> {
  if (!ldap) {
    log.error(`[${LDAP_GROUP_WHITELIST}] needs LDAP, which this appliance does not offer to plugins: nobody skips MFA through it`);
    return undefined;
  }
  try {
    const groups = await ldap.userGroups(server, user);
    if (!groups) log.info(`LDAP server "${server}" does not know ${user}: no MFA bypass by group`);
    return groups;
  } catch (err) {
    log.warning(`LDAP server "${server}": group lookup of ${user} failed (${(err as Error).message}): no MFA bypass by group`);
    return undefined;
  }
}
