// The test directory loaded into slapd by the LDAP tests, and LdapDirectory settings pointing at it.
import type { LdapServerConfig } from '../../../src/config/schema.js';
import type { TestSlapd } from '../../helpers/slapd.js';

export const SERVICE_PASSWORD = 'service-account-secret';
export const PASSWORDS = { alice: 'alice-secret', bob: 'bob-secret', jose: 'josé-secret', twin: 'twin-secret', starry: 'starry-secret' };

export const serviceDn = (slapd: TestSlapd): string => `cn=gatehouse,ou=services,${slapd.baseDn}`;
export const userDn = (slapd: TestSlapd, uid: string): string => `uid=${uid},ou=people,${slapd.baseDn}`;

/** Settings for the test tree; membership memberOf through the service account unless overridden. */
export function ldapSettings(slapd: TestSlapd, overrides: Partial<LdapServerConfig> = {}): LdapServerConfig {
  return {
    name: 'corp',
    urls: [slapd.url],
    startTls: false,
    bindDn: serviceDn(slapd),
    userBase: `ou=people,${slapd.baseDn}`,
    userFilter: '(&(objectClass=inetOrgPerson)(uid={user}))',
    groupBase: `ou=groups,${slapd.baseDn}`,
    membership: 'memberOf',
    timeoutSeconds: 5,
    ...overrides,
  };
}

/**
 * People: alice (mail, telephoneNumber, displayName), bob, josé, two entries named twin, and
 * "a*" whose name holds a filter wildcard. Groups of every membership style; alice is in
 * admins, ops and "Admins, EMEA" (groupOfNames), auditors (groupOfUniqueNames), wheel and staff
 * (posixGroup). outer contains admins: a nested group.
 */
export function testTree(slapd: TestSlapd): string {
  const base = slapd.baseDn;
  const alice = userDn(slapd, 'alice');
  const bob = userDn(slapd, 'bob');
  return `dn: ou=people,${base}
objectClass: organizationalUnit
ou: people

dn: ou=contractors,ou=people,${base}
objectClass: organizationalUnit
ou: contractors

dn: ou=groups,${base}
objectClass: organizationalUnit
ou: groups

dn: ou=services,${base}
objectClass: organizationalUnit
ou: services

dn: ${serviceDn(slapd)}
objectClass: organizationalRole
objectClass: simpleSecurityObject
cn: gatehouse
userPassword: ${SERVICE_PASSWORD}

${person(alice, 'alice', PASSWORDS.alice, ['mail: alice@example.test', 'telephoneNumber: +41 79 555 01 23', 'displayName: Alice Liddell'])}
${person(bob, 'bob', PASSWORDS.bob)}
dn:: ${Buffer.from(userDn(slapd, 'josé')).toString('base64')}
objectClass: inetOrgPerson
uid:: ${Buffer.from('josé').toString('base64')}
cn: Jose
sn: Jose
userPassword:: ${Buffer.from(PASSWORDS.jose).toString('base64')}

${person(userDn(slapd, 'twin'), 'twin', PASSWORDS.twin)}
${person(`uid=twin,ou=contractors,ou=people,${base}`, 'twin', PASSWORDS.twin)}
${person(userDn(slapd, 'a*'), 'a*', PASSWORDS.starry)}
${group('groupOfNames', 'admins', 'member', [alice], base)}
${group('groupOfNames', 'ops', 'member', [alice, bob], base)}
dn: cn=Admins\\, EMEA,ou=groups,${base}
objectClass: groupOfNames
cn: Admins, EMEA
member: ${alice}

${group('groupOfNames', 'outer', 'member', [`cn=admins,ou=groups,${base}`], base)}
${group('groupOfUniqueNames', 'auditors', 'uniqueMember', [alice], base)}
${group('posixGroup', 'wheel', 'memberUid', ['alice'], base, ['gidNumber: 10'])}
${group('posixGroup', 'staff', 'memberUid', ['alice', 'bob'], base, ['gidNumber: 50'])}`;
}

export function person(dn: string, uid: string, password: string, extra: string[] = []): string {
  return [`dn: ${dn}`, 'objectClass: inetOrgPerson', `uid: ${uid}`, `cn: ${uid}`, `sn: ${uid}`, `userPassword: ${password}`, ...extra, '', ''].join('\n');
}

export function group(objectClass: string, cn: string, attribute: string, members: string[], base: string, extra: string[] = []): string {
  return [`dn: cn=${cn},ou=groups,${base}`, `objectClass: ${objectClass}`, `cn: ${cn}`, ...members.map((m) => `${attribute}: ${m}`), ...extra, '', ''].join('\n');
}
