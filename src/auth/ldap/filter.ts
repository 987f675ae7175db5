// LDAP search filters built from untrusted input (RFC 4515): the user search and the group searches.
import type { LdapServerConfig } from '../../config/schema.js';

/** Longer login names are not looked up: no directory holds them, and they only cost a query. */
export const MAX_USERNAME_LENGTH = 256;

const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * `value` as an RFC 4515 assertion value: `*`, `(`, `)`, `\`, NUL and the other ASCII control
 * characters become `\XX`. Other characters, non-ASCII included, stay as they are, which RFC 4515
 * allows (UTF-8 is valid in a filter): ldapts decodes each `\XX` to one Latin-1 character, so an
 * escaped UTF-8 byte sequence would reach the server as a different string.
 */
export function escapeFilterValue(value: string): string {
  return value.replace(/[*()\\\u0000-\u001f\u007f]/g, (c) => `\\${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/**
 * The user search for `username`: `{user}` in the configured filter replaced by the escaped name;
 * undefined for a name no entry can carry (empty, too long, control characters), not worth a query.
 */
export function userSearchFilter(template: string, username: string): string | undefined {
  if (username === '' || username.length > MAX_USERNAME_LENGTH || CONTROL_CHARACTERS.test(username)) return undefined;
  // A replacement function, because a replacement string would expand `$&`, `$'`... in the username.
  return template.replaceAll('{user}', () => escapeFilterValue(username));
}

export type GroupSearchMembership = Exclude<LdapServerConfig['membership'], 'memberOf'>;

/** The search under groupBase for the groups of a user (DN `dn`, login name `uid`). */
export function groupSearchFilter(membership: GroupSearchMembership, user: { dn: string; uid: string }): string {
  switch (membership) {
    case 'member':
    case 'uniqueMember':
      return `(${membership}=${escapeFilterValue(user.dn)})`;
    case 'memberUid':
      return `(memberUid=${escapeFilterValue(user.uid)})`;
    case 'ad-nested':
      // LDAP_MATCHING_RULE_IN_CHAIN: Active Directory follows nested groups itself. Other servers
      // (OpenLDAP included) do not know the rule and match nothing.
      return `(member:1.2.840.113556.1.4.1941:=${escapeFilterValue(user.dn)})`;
  }
}
