// Tests of version syntax and order: SemVer-like pre-releases, padding, and SPS's "X~" bounds.
import fc from 'fast-check';
import t from 'tap';
import { compareVersions, isVersion, isVersionBound } from '../../src/aa/version.js';

t.test('syntax', async (t) => {
  for (const v of ['1', '1.0', '2.3.1', '6.0.0.1', '1.0.0-beta.2', '1.0.0-rc-1', '0.9']) t.ok(isVersion(v), v);
  for (const v of ['', 'v1', '1.', '.1', '1..0', '1.0.0.0.0', '1.0-', '1.0-a..b', '1.0+build', '1.0~', ' 1.0', '1.0/..', '1'.repeat(10), `1.0-${'a'.repeat(70)}`]) {
    t.notOk(isVersion(v), JSON.stringify(v));
  }
  t.ok(isVersionBound('7.0~'));
  t.ok(isVersionBound('7.0'));
  t.notOk(isVersionBound('7.0-rc1~'), 'a pre-release takes no "~"');
  t.notOk(isVersionBound('~'));
});

t.test('order', async (t) => {
  const ascending = ['0.9', '1.0~', '1.0.0-alpha', '1.0.0-alpha.1', '1.0.0-alpha.beta', '1.0.0-beta', '1.0.0-beta.2', '1.0.0-beta.11', '1.0.0-rc.1', '1.0', '1.0.1', '1.2', '1.10', '2.0.0.1'];
  for (let i = 0; i < ascending.length; i++) {
    for (let j = 0; j < ascending.length; j++) {
      t.equal(compareVersions(ascending[i], ascending[j]), Math.sign(i - j), `${ascending[i]} vs ${ascending[j]}`);
    }
  }
  t.equal(compareVersions('1.0', '1.0.0'), 0, 'missing numbers count as 0');
  t.equal(compareVersions('1.0.0-01', '1.0.0-1'), 0, 'numeric identifiers compare as numbers');
  t.equal(compareVersions('1.0.0-99999999999999999999', '1.0.0-100000000000000000000'), -1, 'beyond 2^53');
  t.throws(() => compareVersions('1.0', 'x'), /not a version: "x"/);
});

t.test('property: a total order (antisymmetric, transitive) over generated versions', async () => {
  const identifier = fc.oneof(fc.nat({ max: 20 }).map(String), fc.constantFrom('alpha', 'beta', 'rc', 'a-b'));
  const version = fc
    .record({
      numbers: fc.array(fc.nat({ max: 12 }), { minLength: 1, maxLength: 4 }),
      pre: fc.option(fc.array(identifier, { minLength: 1, maxLength: 3 })),
      tilde: fc.boolean(),
    })
    .map(({ numbers, pre, tilde }) => `${numbers.join('.')}${tilde ? '~' : pre ? `-${pre.join('.')}` : ''}`);
  fc.assert(
    fc.property(version, version, version, (a, b, c) => {
      if (compareVersions(a, b) !== -compareVersions(b, a)) return false;
      if (compareVersions(a, b) <= 0 && compareVersions(b, c) <= 0 && compareVersions(a, c) > 0) return false;
      return compareVersions(a, a) === 0;
    }),
    { numRuns: 2000 },
  );
});
