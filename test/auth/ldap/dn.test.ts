// Group names from memberOf DNs (src/auth/ldap/dn.ts).
import tap from 'tap';
import { firstRdnValue } from '../../../src/auth/ldap/dn.js';

tap.test('firstRdnValue: the value of one attribute of the first RDN, unescaped', async (t) => {
  t.equal(firstRdnValue('cn=admins,ou=groups,dc=example,dc=com', 'cn'), 'admins');
  t.equal(firstRdnValue('CN=Domain Admins,CN=Users,DC=corp,DC=example', 'cn'), 'Domain Admins', 'type case-insensitive');
  t.equal(firstRdnValue('cn=Admins\\, EMEA,ou=groups,dc=x', 'cn'), 'Admins, EMEA');
  t.equal(firstRdnValue('cn=a\\+b\\=c\\"d\\\\e\\<f\\>g\\;h,dc=x', 'cn'), 'a+b=c"d\\e<f>g;h');
  t.equal(firstRdnValue('cn=Jos\\C3\\A9,dc=x', 'cn'), 'José', 'hex escapes are UTF-8 bytes');
  t.equal(firstRdnValue('cn=José 山田,dc=x', 'cn'), 'José 山田');
  t.equal(firstRdnValue('cn=\\ padded\\ ,dc=x', 'cn'), ' padded ', 'escaped spaces kept');
  t.equal(firstRdnValue('cn=admins , ou=groups', 'cn'), 'admins', 'spaces around the separator dropped');
  t.equal(firstRdnValue('ou=eng+cn=devs,dc=x', 'cn'), 'devs', 'multi-valued RDN');
  t.equal(firstRdnValue('cn=devs+ou=eng,dc=x', 'cn'), 'devs');
  t.equal(firstRdnValue('cn=a\\,b\\+c+ou=x,dc=y', 'ou'), 'x');
  t.equal(firstRdnValue('cn=,dc=x', 'cn'), '');
});

tap.test('firstRdnValue: undefined without that attribute in the first RDN', async (t) => {
  t.equal(firstRdnValue('ou=groups,cn=admins,dc=x', 'cn'), undefined, 'only the first RDN counts');
  t.equal(firstRdnValue('description=huge,ou=groups', 'cn'), undefined);
  t.equal(firstRdnValue('', 'cn'), undefined);
  t.equal(firstRdnValue('not a dn', 'cn'), undefined);
});
