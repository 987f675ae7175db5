// The configuration of directory-backed gateway authentication: LDAP and RADIUS servers, the
// policy that names one, and usermapping rules by gateway group.
import t from 'tap';
import { ConfigError, validateConfig } from '../../src/config/load.js';

/** The ConfigError `build` throws. */
function thrown(build: () => unknown): ConfigError {
  try {
    build();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

const policy = (gatewayAuthentication: unknown) => ({ name: 'p', targets: [{ host: '*' }], gatewayAuthentication });
const ldap = { name: 'corp', urls: ['ldaps://dc1.example.com', 'ldap://dc2.example.com'], userBase: 'ou=people,dc=example,dc=com' };

t.test('a policy authenticates against local users by default, or the LDAP/RADIUS server it names', async (t) => {
  const config = validateConfig({ ldapServers: [ldap], radiusServers: [{ name: 'rad', host: '127.0.0.1' }], connectionPolicies: [policy(undefined), { ...policy({ type: 'ldap', server: 'corp' }), name: 'q', listen: { port: 2223 } }, { ...policy({ type: 'radius', server: 'rad' }), name: 'r', listen: { port: 2224 } }] });
  t.same(config.connectionPolicies.map((p) => p.gatewayAuthentication), [{ type: 'local' }, { type: 'ldap', server: 'corp' }, { type: 'radius', server: 'rad' }]);
  t.match(config.radiusServers[0], { port: 1812, authType: 'pap', retries: 3, timeoutSeconds: 5, nasIdentifier: 'gatehouse' });
  t.match(config.ldapServers[0], { membership: 'memberOf', userFilter: '(uid={user})', startTls: false, timeoutSeconds: 10 });
});

t.test('a dangling server name, an unknown backend, and a secret in the configuration are refused', async (t) => {
  const missing = thrown(() => validateConfig({ connectionPolicies: [policy({ type: 'ldap', server: 'corp' })] }));
  t.match(missing.message, /connectionPolicies\.0\.gatewayAuthentication\.server: no LDAP server named "corp"/);
  const radius = thrown(() => validateConfig({ connectionPolicies: [policy({ type: 'radius', server: 'rad' })] }));
  t.match(radius.message, /no RADIUS server named "rad"/);
  t.throws(() => validateConfig({ connectionPolicies: [policy({ type: 'kerberos' })] }), ConfigError);
  const secret = thrown(() => validateConfig({ radiusServers: [{ name: 'rad', host: '127.0.0.1', secret: 'x' }], connectionPolicies: [policy(undefined)] }));
  t.match(secret.message, /radiusServers\.0/, 'shared secrets belong in the credential store, not the configuration');
  t.notMatch(secret.message, /"x"/);
});

t.test('an LDAP server needs {user} in its filter, and a groupBase unless groups come from memberOf', async (t) => {
  const base = { connectionPolicies: [policy(undefined)] };
  t.match(thrown(() => validateConfig({ ...base, ldapServers: [{ ...ldap, userFilter: '(uid=alice)' }] })).message, /ldapServers\.0\.userFilter: expected a filter with \{user\}/);
  t.match(thrown(() => validateConfig({ ...base, ldapServers: [{ ...ldap, membership: 'member' }] })).message, /ldapServers\.0\.groupBase: this membership style searches groups/);
  t.ok(validateConfig({ ...base, ldapServers: [{ ...ldap, membership: 'member', groupBase: 'ou=groups,dc=example,dc=com' }] }));
});

t.test('usermapping rules match by gateway user or gateway group, and need at least one of them', async (t) => {
  const base = { connectionPolicies: [policy(undefined)] };
  const config = validateConfig({ ...base, usermappingPolicies: [{ name: 'm', rules: [{ gatewayGroups: ['dba'], serverUsers: ['postgres'] }] }] });
  t.same(config.usermappingPolicies[0]?.rules[0], { gatewayUsers: [], gatewayGroups: ['dba'], serverUsers: ['postgres'] });
  const empty = thrown(() => validateConfig({ ...base, usermappingPolicies: [{ name: 'm', rules: [{ serverUsers: ['root'] }] }] }));
  t.match(empty.message, /usermappingPolicies\.0\.rules\.0: expected at least one gateway user/);
});
