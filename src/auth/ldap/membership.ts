// The groups of a user as names (each group's `cn`): read from the user's memberOf values, or
// searched for under groupBase, page by page.
import type { Client, Entry } from 'ldapts';
import type { Logger } from '../../log/logger.js';
import { firstRdnValue } from './dn.js';
import { attributeValues } from './values.js';

/** Beyond this many groups the list is refused rather than cut: a cut list could drop the group that denies. */
export const MAX_GROUPS = 10_000;
// Below Active Directory's MaxPageSize (1000) and OpenLDAP's default size limit (500).
const PAGE_SIZE = 500;

/** The names of the groups in the user entry's memberOf, or undefined when there are more than `maxGroups`. */
export function groupsFromMemberOf(user: Entry, log: Logger, maxGroups = MAX_GROUPS): string[] | undefined {
  const dns = attributeValues(user, 'memberOf', log);
  if (dns.length > maxGroups) return undefined;
  return dns.flatMap((dn) => firstRdnValue(dn, 'cn') ?? []);
}

/** The names of the groups `filter` finds under `base`, or undefined when there are more than `maxGroups`. */
export async function searchGroups(client: Client, base: string, filter: string, log: Logger, maxGroups = MAX_GROUPS): Promise<string[] | undefined> {
  const groups: string[] = [];
  const pages = client.searchPaginated(base, { scope: 'sub', filter, attributes: ['cn'], paged: { pageSize: PAGE_SIZE } });
  for await (const page of pages) {
    for (const entry of page.searchEntries) groups.push(...attributeValues(entry, 'cn', log).slice(0, 1));
    if (groups.length > maxGroups) return undefined;
  }
  return groups;
}
