// Gateway authentication and lookups against LDAP / Active Directory (see README.md).
export { LdapDirectory, type LdapDirectoryOptions, type LdapLogin } from './directory.js';
export { LdapUnavailableError } from './errors.js';
