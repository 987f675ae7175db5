// Filter building from untrusted names (src/auth/ldap/filter.ts): examples and properties.
import tap from 'tap';
import fc from 'fast-check';
import { EqualityFilter, FilterParser } from 'ldapts';
import { MAX_USERNAME_LENGTH, escapeFilterValue, groupSearchFilter, userSearchFilter } from '../../../src/auth/ldap/filter.js';

const RUNS = { numRuns: 2000 };
// Names an attacker may type: every code point, with filter syntax and escapes overrepresented.
const hostile = fc.string({ unit: fc.oneof(fc.constantFrom('*', '(', ')', '\\', '\u0000', '=', '|', '&', '!', '$&', '2a', 'é'), fc.string({ unit: 'binary', maxLength: 1 })) });

/** RFC 4515 valueencoding read back: `\XX` is one byte, anything else its UTF-8 bytes, the whole UTF-8. */
function rfc4515Unescape(value: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < value.length; i++) {
    if (value[i] === '\\') {
      bytes.push(parseInt(value.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      const char = String.fromCodePoint(value.codePointAt(i) as number);
      bytes.push(...Buffer.from(char));
      i += char.length - 1;
    }
  }
  return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(bytes));
}

tap.test('escapeFilterValue: filter syntax, backslash and control characters become \\XX', async (t) => {
  t.equal(escapeFilterValue('*'), '\\2a');
  t.equal(escapeFilterValue('alice)(uid=*'), 'alice\\29\\28uid=\\2a');
  t.equal(escapeFilterValue('a\\b'), 'a\\5cb');
  t.equal(escapeFilterValue('\u0000\n\u007f'), '\\00\\0a\\7f');
  t.equal(escapeFilterValue('josé 山田'), 'josé 山田', 'UTF-8 is valid as it is (and ldapts would mangle \\c3\\a9)');
});

tap.test('escapeFilterValue: property: the value reads back intact and no filter syntax is left bare', async () => {
  fc.assert(
    fc.property(hostile, (value) => {
      const escaped = escapeFilterValue(value);
      return rfc4515Unescape(escaped) === value && /^(?:[^*()\\\u0000-\u001f\u007f]|\\[0-9a-f]{2})*$/.test(escaped);
    }),
    RUNS,
  );
});

tap.test('userSearchFilter: property: ldapts reads one equality assertion holding exactly the name', async () => {
  fc.assert(
    fc.property(hostile, (name) => {
      const filter = userSearchFilter('(uid={user})', name);
      if (filter === undefined) return /[\u0000-\u001f\u007f-\u009f]/.test(name) || name === '' || name.length > MAX_USERNAME_LENGTH;
      const parsed = FilterParser.parseString(filter);
      return parsed instanceof EqualityFilter && parsed.attribute === 'uid' && parsed.value === name;
    }),
    RUNS,
  );
});

tap.test('userSearchFilter: every {user}, replacement patterns taken literally, implausible names refused', async (t) => {
  t.equal(userSearchFilter('(|(uid={user})(mail={user}))', 'a*'), '(|(uid=a\\2a)(mail=a\\2a))');
  t.equal(userSearchFilter('(&(objectClass=person)(uid={user}))', "$`$&$'"), "(&(objectClass=person)(uid=$`$&$'))");
  t.equal(userSearchFilter('(uid={user})', 'x'.repeat(MAX_USERNAME_LENGTH)), `(uid=${'x'.repeat(MAX_USERNAME_LENGTH)})`);
  for (const name of ['', 'x'.repeat(MAX_USERNAME_LENGTH + 1), 'alice\u0000', 'alice\n', 'alice\u0085']) {
    t.equal(userSearchFilter('(uid={user})', name), undefined, JSON.stringify(name).slice(0, 20));
  }
});

tap.test('groupSearchFilter: one filter per membership style, the DN or name escaped', async (t) => {
  const user = { dn: 'cn=Smith\\, John (ext),ou=people,dc=example,dc=com', uid: 'jsmith*' };
  t.equal(groupSearchFilter('member', user), '(member=cn=Smith\\5c, John \\28ext\\29,ou=people,dc=example,dc=com)');
  t.equal(groupSearchFilter('uniqueMember', user), '(uniqueMember=cn=Smith\\5c, John \\28ext\\29,ou=people,dc=example,dc=com)');
  t.equal(groupSearchFilter('memberUid', user), '(memberUid=jsmith\\2a)');
  t.equal(groupSearchFilter('ad-nested', user), '(member:1.2.840.113556.1.4.1941:=cn=Smith\\5c, John \\28ext\\29,ou=people,dc=example,dc=com)');
  const nested = FilterParser.parseString(groupSearchFilter('ad-nested', user));
  t.match(nested, { matchType: 'member', rule: '1.2.840.113556.1.4.1941', value: user.dn }, 'ldapts sends the in-chain rule with the DN as is');
});
