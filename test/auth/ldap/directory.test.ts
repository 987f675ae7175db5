// LdapDirectory against a real OpenLDAP slapd: logins, groups by membership style, lookups, and
// hostile input (filter injection, oversized values, users in thousands of groups).
import tap from 'tap';
import { Client } from 'ldapts';
import { LdapDirectory, LdapUnavailableError, type LdapDirectoryOptions } from '../../../src/auth/ldap/index.js';
import { simpleBind } from '../../../src/auth/ldap/connection.js';
import { groupsFromMemberOf, searchGroups } from '../../../src/auth/ldap/membership.js';
import type { LdapServerConfig } from '../../../src/config/schema.js';
import { createLogger } from '../../../src/log/logger.js';
import { errorOf } from '../../helpers/errors.js';
import { startSlapd } from '../../helpers/slapd.js';
import { PASSWORDS, SERVICE_PASSWORD, group, ldapSettings, person, testTree, userDn } from './tree.js';

const slapd = await startSlapd(tap);
await slapd.add(testTree(slapd));

interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}
const logLines: LogLine[] = [];
const log = createLogger('debug', { write: (line: string) => void logLines.push(JSON.parse(line) as LogLine) });

function directory(overrides: Partial<LdapServerConfig> = {}, options: Partial<LdapDirectoryOptions> = {}): LdapDirectory {
  const ldap = new LdapDirectory(ldapSettings(slapd, overrides), { bindPassword: async () => SERVICE_PASSWORD, log, ...options });
  tap.teardown(() => ldap.close());
  return ldap;
}

const sorted = (groups: string[] | undefined): string[] | undefined => groups && [...groups].sort();
const alice = userDn(slapd, 'alice');

tap.test('a login with the right password gives the DN and the groups, for each membership style', async (t) => {
  const cases: [LdapServerConfig['membership'], string[]][] = [
    ['memberOf', ['Admins, EMEA', 'admins', 'ops']],
    ['member', ['Admins, EMEA', 'admins', 'ops']],
    ['uniqueMember', ['auditors']],
    ['memberUid', ['staff', 'wheel']],
  ];
  for (const [membership, groups] of cases) {
    const login = await directory({ membership }).authenticate('alice', PASSWORDS.alice);
    t.same(login.ok && { ...login, groups: sorted(login.groups) }, { ok: true, dn: alice, groups }, membership);
  }
  t.same(sorted(await directory({ membership: 'member' }).userGroups('bob')), ['ops'], 'userGroups without a password');
});

tap.test('nested groups: member does not expand them, and slapd does not know the AD in-chain rule', async (t) => {
  t.notOk((await directory({ membership: 'member' }).userGroups('alice'))?.includes('outer'), 'outer contains admins, not alice');
  // Active Directory would answer admins, ops, "Admins, EMEA" and outer; slapd matches nothing.
  t.same(await directory({ membership: 'ad-nested' }).userGroups('alice'), []);
});

tap.test('refusals: wrong password, empty password, unknown user, ambiguous user', async (t) => {
  const ldap = directory();
  t.same(await ldap.authenticate('alice', 'not-her-password'), { ok: false, reason: 'wrong-password' });
  t.same(await ldap.authenticate('alice', PASSWORDS.bob), { ok: false, reason: 'wrong-password' }, "another user's password");
  t.same(await ldap.authenticate('alice', ''), { ok: false, reason: 'empty-password' });
  t.same(await ldap.authenticate('nobody', 'whatever'), { ok: false, reason: 'no-such-user' });
  t.same(await ldap.authenticate('twin', PASSWORDS.twin), { ok: false, reason: 'ambiguous-user' });
  t.equal(await ldap.userGroups('nobody'), undefined);
  t.equal(await ldap.userGroups('twin'), undefined);
});

tap.test('an empty password is never sent: this slapd, like AD, accepts it as an unauthenticated bind', async (t) => {
  const client = new Client({ url: slapd.url });
  t.teardown(() => client.unbind());
  await client.bind(alice, ''); // what a naive client would take for a successful login
  await t.rejects(simpleBind(client, alice, ''), /unauthenticated bind/);
  t.same(await directory().authenticate('alice', ''), { ok: false, reason: 'empty-password' });
});

tap.test('filter injection: special characters match themselves, never a wildcard or another filter', async (t) => {
  const ldap = directory();
  const attempts = ['*', '**', 'a*', 'alice)(uid=*', 'alice)(|(uid=*', '*)(uid=*))(|(uid=*', '(', ')', '\\', '\\2a', 'alice\\', 'alice\u0000', '\u0000', 'al*ce', '$&', "$'", '$`'];
  for (const name of attempts) {
    for (const password of [PASSWORDS.alice, PASSWORDS.starry]) {
      const login = await ldap.authenticate(name, password);
      if (name === 'a*' && password === PASSWORDS.starry) t.same(login, { ok: true, dn: userDn(slapd, 'a*'), groups: [] }, 'the user literally named a*');
      else t.equal(login.ok, false, `${JSON.stringify(name)} with ${password === PASSWORDS.alice ? "alice's" : "a*'s"} password`);
    }
    if (name !== 'a*') {
      t.equal(await ldap.userGroups(name), undefined, `no groups for ${JSON.stringify(name)}`);
      t.equal(await ldap.userAttribute(name, 'mail'), undefined, `no mail for ${JSON.stringify(name)}`);
    }
  }
  // `$'` and `` $` `` would paste parts of the configured filter around the name with a replacement string.
  t.same(await directory({ userFilter: '(|(uid={user})(mail={user}))' }).authenticate("$'", PASSWORDS.alice), { ok: false, reason: 'no-such-user' });
});

tap.test('names that cannot be in a directory are not looked up', async (t) => {
  const ldap = directory();
  for (const name of ['', 'x'.repeat(257), 'alice\n', 'ali\rce', 'alice\u007f', 'alice\u0085']) {
    t.same(await ldap.authenticate(name, PASSWORDS.alice), { ok: false, reason: 'no-such-user' }, JSON.stringify(name).slice(0, 20));
  }
});

tap.test('a non-ASCII user name is found and logs in', async (t) => {
  const login = await directory().authenticate('josé', PASSWORDS.jose);
  t.same(login, { ok: true, dn: userDn(slapd, 'josé'), groups: [] });
});

tap.test('userAttribute: the first value of mail, telephoneNumber, displayName', async (t) => {
  const ldap = directory();
  t.equal(await ldap.userAttribute('alice', 'mail'), 'alice@example.test');
  t.equal(await ldap.userAttribute('alice', 'telephoneNumber'), '+41 79 555 01 23');
  t.equal(await ldap.userAttribute('alice', 'displayName'), 'Alice Liddell');
  t.equal(await ldap.userAttribute('bob', 'mail'), undefined, 'no value');
  t.equal(await ldap.userAttribute('nobody', 'mail'), undefined, 'no user');
  t.equal(await ldap.userAttribute('alice', 'userPassword'), undefined, 'the ACL hides it from the service account');
  for (const attribute of ['*', '+', 'mail;binary', 'mail)(x', '']) {
    await t.rejects(ldap.userAttribute('alice', attribute), /not an LDAP attribute name/, JSON.stringify(attribute));
  }
});

tap.test('anonymous search when no bind DN is configured', async (t) => {
  const login = await directory({ bindDn: undefined }, { bindPassword: async () => undefined }).authenticate('alice', PASSWORDS.alice);
  t.equal(login.ok, true);
});

tap.test('the service account: a refused bind or a missing password is the directory failing, not the user', async (t) => {
  const refused = await errorOf(directory({}, { bindPassword: async () => 'not-the-service-password' }).authenticate('alice', PASSWORDS.alice));
  t.type(refused, LdapUnavailableError);
  t.match(refused.message, /^LDAP server "corp" unavailable: ldap:\/\/127\.0\.0\.1:\d+: service account cn=gatehouse,ou=services,dc=gatehouse,dc=test refused: invalid credentials \(49\)$/);
  t.notMatch(refused.message, /not-the-service-password|alice-secret/);

  const missing = await errorOf(directory({}, { bindPassword: async () => undefined }).authenticate('alice', PASSWORDS.alice));
  t.type(missing, LdapUnavailableError);
  t.match(missing.message, /no password for the service account cn=gatehouse/);
});

tap.test('a user in 2,000 groups: memberOf values and a paged group search', async (t) => {
  const busy = userDn(slapd, 'busy');
  const names = Array.from({ length: 2000 }, (_, i) => `g${String(i).padStart(4, '0')}`);
  await slapd.add(person(busy, 'busy', 'busy-secret') + names.map((cn) => group('groupOfNames', cn, 'member', [busy], slapd.baseDn)).join(''));

  for (const membership of ['memberOf', 'member'] as const) {
    const login = await directory({ membership }).authenticate('busy', 'busy-secret');
    t.same(login.ok && sorted(login.groups), names, `${membership}: all 2,000 (slapd answers at most 500 per page)`);
  }

  // Past the cap, no list at all: a cut list could drop the group that denies.
  const client = new Client({ url: slapd.url });
  t.teardown(() => client.unbind());
  const [entry] = (await client.search(busy, { scope: 'base', attributes: ['memberOf'] })).searchEntries;
  t.equal(groupsFromMemberOf(entry!, log, 2000)?.length, 2000);
  t.equal(groupsFromMemberOf(entry!, log, 1999), undefined);
  t.equal(await searchGroups(client, `ou=groups,${slapd.baseDn}`, `(member=${busy})`, log, 1999), undefined);
});

tap.test('values over 64 KiB are ignored with a warning', async (t) => {
  const carol = userDn(slapd, 'carol');
  const huge = 'x'.repeat(70 * 1024);
  // slapd refuses a DN that long, so the group is named by another attribute.
  const hugeGroup = [`dn: description=huge,ou=groups,${slapd.baseDn}`, 'objectClass: groupOfNames', 'description: huge', `cn: ${huge}`, `member: ${carol}`, '', ''].join('\n');
  await slapd.add(person(carol, 'carol', 'carol-secret', [`description: ${huge}`]) + hugeGroup + group('groupOfNames', 'small', 'member', [carol], slapd.baseDn));
  const from = logLines.length;
  const ldap = directory();
  t.equal(await ldap.userAttribute('carol', 'description'), undefined);
  t.same(await ldap.userGroups('carol'), ['small'], 'memberOf: a group DN without cn is left out');
  t.same(await directory({ membership: 'member' }).userGroups('carol'), ['small'], 'member: the huge cn is left out');
  const warnings = logLines.slice(from).filter((line) => line.level === 40 && /over 65536 bytes/.test(line.msg));
  t.same(warnings.map((line) => line.attribute), ['description', 'cn']);
});

tap.test('no log line carries a password', async (t) => {
  const text = JSON.stringify(logLines);
  for (const secret of [SERVICE_PASSWORD, ...Object.values(PASSWORDS)]) t.notOk(text.includes(secret), secret);
});
