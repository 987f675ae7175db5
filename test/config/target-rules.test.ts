// Tests of target allowlist rules: host kinds, port lists, rule errors and a CIDR property.
import fc from 'fast-check';
import t from 'tap';
import { compileTargetRule, parsePortList, TargetAllowlist } from '../../src/config/target-rules.js';

type Case = [host: string, expected: boolean];
type Asserter = Pick<typeof t, 'equal'>;

function check(t: Asserter, ruleHost: string, cases: Case[]): void {
  const rule = compileTargetRule({ host: ruleHost, ports: '*' });
  for (const [host, expected] of cases) t.equal(rule.matches(host, 22), expected, `${ruleHost} vs ${JSON.stringify(host)}`);
}

t.test('hostname rules', async (t) => {
  check(t, 'db1.example.com', [
    ['db1.example.com', true],
    ['DB1.Example.COM', true],
    ['db1.example.com.', true],
    ['db1.example.com..', false],
    ['db2.example.com', false],
    ['x.db1.example.com', false],
    ['db1.example.co', false],
    ['db1.example.com.evil.net', false],
    [' db1.example.com', false],
    ['db1.example.com:22', false],
    ['', false],
  ]);
  check(t, 'DB1.EXAMPLE.COM.', [['db1.example.com', true]]);
  check(t, 'localhost', [
    ['localhost', true],
    ['127.0.0.1', false],
  ]);
});

t.test('wildcard rules', async (t) => {
  check(t, '*.example.com', [
    ['a.example.com', true],
    ['a.b.example.com', true],
    ['A.EXAMPLE.COM.', true],
    ['example.com', false],
    ['.example.com', false],
    ['evilexample.com', false],
    ['a.evilexample.com', false],
    ['example.com.evil.net', false],
    ['a..example.com', false],
    ['a/.example.com', false],
    ['a b.example.com', false],
    ['10.0.0.1', false],
  ]);
});

t.test('IP literal rules', async (t) => {
  check(t, '10.0.0.5', [
    ['10.0.0.5', true],
    ['::ffff:10.0.0.5', true],
    ['::ffff:a00:5', true],
    ['10.0.0.50', false],
    ['10.0.0.4', false],
    ['010.0.0.5', false],
    ['10.0.0.5.', false],
    ['10.0.0.5.example.com', false],
  ]);
  check(t, '2001:db8::1', [
    ['2001:db8::1', true],
    ['2001:DB8:0:0::1', true],
    ['[2001:db8::1]', true],
    ['2001:db8::2', false],
    ['2001:db8::1%eth0', false],
  ]);
  check(t, '::ffff:10.0.0.5', [['10.0.0.5', true]]);
});

t.test('CIDR rules', async (t) => {
  check(t, '10.0.0.0/8', [
    ['10.0.0.0', true],
    ['10.255.255.255', true],
    ['::ffff:10.1.2.3', true],
    ['11.0.0.0', false],
    ['9.255.255.255', false],
    ['10.example.com', false],
    ['host.internal', false],
  ]);
  check(t, '192.168.1.128/25', [
    ['192.168.1.128', true],
    ['192.168.1.255', true],
    ['192.168.1.127', false],
  ]);
  check(t, '10.0.0.7/32', [
    ['10.0.0.7', true],
    ['10.0.0.6', false],
  ]);
  check(t, '0.0.0.0/0', [
    ['1.2.3.4', true],
    ['example.com', false],
  ]);
  check(t, '2001:db8::/32', [
    ['2001:db8::1', true],
    ['2001:db8:ffff:ffff:ffff:ffff:ffff:ffff', true],
    ['2001:DB8:1::', true],
    ['2001:db9::1', false],
    ['2001:db7:ffff::1', false],
    ['10.0.0.1', false],
    ['db.example.com', false],
  ]);
  check(t, 'fd00::/8', [
    ['fd12:3456::1', true],
    ['fe80::1', false],
  ]);
});

t.test('"*" matches anything', async (t) => {
  check(t, '*', [
    ['example.com', true],
    ['10.0.0.1', true],
    ['::1', true],
    ['anything at all', true],
  ]);
});

t.test('ports', async (t) => {
  t.same(parsePortList('22'), [{ from: 22, to: 22 }]);
  t.same(parsePortList('22,2222'), [
    { from: 22, to: 22 },
    { from: 2222, to: 2222 },
  ]);
  t.same(parsePortList(' 22 , 2200-2299 '), [
    { from: 22, to: 22 },
    { from: 2200, to: 2299 },
  ]);
  t.same(parsePortList('*'), [{ from: 1, to: 65535 }]);
  t.same(parsePortList('1-65535'), [{ from: 1, to: 65535 }]);
  t.same(parsePortList('80-80'), [{ from: 80, to: 80 }]);

  for (const [spec, message] of [
    ['0', /invalid port "0" in "0"/],
    ['65536', /invalid port "65536"/],
    ['10-5', /invalid port range "10-5" in "10-5": start is after end/],
    ['', /invalid port "" in ""/],
    ['a', /invalid port "a"/],
    ['22,', /invalid port ""/],
    ['22,,23', /invalid port ""/],
    ['-5', /invalid port ""/],
    ['1-2-3', /invalid port range "1-2-3"/],
    ['22.5', /invalid port "22.5"/],
    ['1e3', /invalid port "1e3"/],
    ['22,*', /invalid port "\*"/],
    ['999999', /invalid port "999999"/],
  ] as const) {
    t.throws(() => parsePortList(spec), { message }, JSON.stringify(spec));
  }

  const rule = compileTargetRule({ host: '*', ports: '22,2200-2299' });
  for (const [port, expected] of [
    [22, true],
    [2200, true],
    [2250, true],
    [2299, true],
    [21, false],
    [23, false],
    [2199, false],
    [2300, false],
    [0, false],
    [22.5, false],
    [Number.NaN, false],
  ] as const) {
    t.equal(rule.matches('example.com', port), expected, `port ${port}`);
  }
});

t.test('invalid rules name the bad part', async (t) => {
  for (const [host, ports, message] of [
    ['10.0.0.0/33', '22', 'invalid CIDR prefix /33 in "10.0.0.0/33"'],
    ['2001:db8::/129', '22', 'invalid CIDR prefix /129 in "2001:db8::/129"'],
    ['10.0.0.0/', '22', 'invalid CIDR prefix / in "10.0.0.0/"'],
    ['10.0.0.0/8/9', '22', 'invalid CIDR prefix /8/9 in "10.0.0.0/8/9"'],
    ['10.0.0.0/-1', '22', 'invalid CIDR prefix /-1 in "10.0.0.0/-1"'],
    ['10.0.0.0/ 8', '22', 'invalid CIDR prefix / 8 in "10.0.0.0/ 8"'],
    ['10.0.0/8', '22', 'invalid CIDR address "10.0.0" in "10.0.0/8"'],
    ['db.example.com/24', '22', 'invalid CIDR address "db.example.com" in "db.example.com/24"'],
    ['*.example.com/8', '22', 'invalid CIDR address "*.example.com" in "*.example.com/8"'],
    ['db*.example.com', '22', 'invalid host "db*.example.com": "*" is only allowed alone or as a leading "*."'],
    ['*.*.example.com', '22', 'invalid wildcard "*.*.example.com": expected "*." followed by a domain name'],
    ['*.', '22', 'invalid wildcard "*.": expected "*." followed by a domain name'],
    ['*.10.0.0.1', '22', 'invalid wildcard "*.10.0.0.1": expected "*." followed by a domain name'],
    ['', '22', 'invalid host "": expected a hostname, IP address, CIDR block, "*.domain" or "*"'],
    ['bad host', '22', 'invalid host "bad host"'],
    ['host..example.com', '22', 'invalid host "host..example.com"'],
    ['-host.example.com', '22', 'invalid host "-host.example.com"'],
    ['010.0.0.1', '22', 'invalid host "010.0.0.1"'],
    ['10.1', '22', 'invalid host "10.1"'],
    ['fe80::1%eth0', '22', 'invalid host "fe80::1%eth0"'],
    ['db.example.com', '0', 'invalid port "0" in "0"'],
    ['db.example.com', '22-', 'invalid port "" in "22-"'],
  ] as const) {
    t.throws(() => compileTargetRule({ host, ports }), { message: new RegExp(`^${escapeRegExp(message)}`) }, host);
  }
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

t.test('describe', async (t) => {
  t.equal(compileTargetRule({ host: '10.0.0.0/8', ports: '22, 2200-2299' }).describe(), '10.0.0.0/8 ports 22,2200-2299');
  t.equal(compileTargetRule({ host: '*.example.com', ports: '*' }).describe(), '*.example.com ports 1-65535');
});

t.test('TargetAllowlist', async (t) => {
  const list = new TargetAllowlist([
    { host: 'bastion.example.com', ports: '22' },
    { host: '*.db.example.com', ports: '5432' },
    { host: '10.0.0.0/24', ports: '22,2222' },
  ]);
  t.equal(list.allows('bastion.example.com', 22), true);
  t.equal(list.allows('bastion.example.com', 2222), false);
  t.equal(list.allows('pg1.db.example.com', 5432), true);
  t.equal(list.allows('pg1.db.example.com', 22), false);
  t.equal(list.allows('10.0.0.9', 2222), true);
  t.equal(list.allows('10.0.1.9', 22), false);
  t.equal(list.allows('other.example.com', 22), false);

  t.equal(new TargetAllowlist([]).allows('anything', 22), false, 'empty list allows nothing');
  t.throws(() => new TargetAllowlist([{ host: 'ok.example.com', ports: '22' }, { host: '10.0.0.0/40', ports: '22' }]), {
    message: /invalid CIDR prefix \/40/,
  });
});

const uint32ToIp = (n: number) => [24, 16, 8, 0].map((shift) => (n >>> shift) & 255).join('.');
const maskOf = (prefix: number) => (prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0);

t.test('property: an IPv4 inside a CIDR matches, one outside does not', async (t) => {
  t.doesNotThrow(() => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 32 }),
        fc.nat(0xffffffff),
        fc.nat(0xffffffff),
        fc.nat(31),
        (prefix, network, hostBits, flipBit) => {
          const mask = maskOf(prefix);
          const base = (network & mask) >>> 0;
          const rule = compileTargetRule({ host: `${uint32ToIp(base)}/${prefix}`, ports: '22' });
          const inside = (base | (hostBits & ~mask)) >>> 0;
          if (!rule.matches(uint32ToIp(inside), 22) || !rule.matches(`::ffff:${uint32ToIp(inside)}`, 22)) return false;
          if (prefix === 0) return true;
          // Flip one of the network bits to land outside the block.
          const bit = 31 - (flipBit % prefix);
          const outside = (inside ^ (1 << bit)) >>> 0;
          return !rule.matches(uint32ToIp(outside), 22);
        },
      ),
      { numRuns: 2000 },
    );
  }, 'property held');
});
