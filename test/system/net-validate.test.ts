// Tests of the network, host name and time checks: table cases with their reasons, and properties
// (valid input accepted, the host name check agrees with the configuration schema, nothing throws).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import t, { type Test } from 'tap';
import {
  checkAddressWithPrefix,
  checkGatewayInSubnet,
  checkHostname,
  checkIpAddress,
  checkIpv4,
  checkListenPort,
  checkNtpServer,
  checkPrefix,
  checkTimeZone,
} from '../../src/system/net-validate.js';

/** Each case: input, then undefined (valid) or a fragment of the expected reason. */
function table<A extends unknown[]>(t: Test, check: (...args: A) => string | undefined, cases: [A, string | undefined][]): void {
  for (const [args, expected] of cases) {
    const reason = check(...args);
    if (expected === undefined) t.equal(reason, undefined, `${JSON.stringify(args)} is valid`);
    else t.match(reason ?? '', expected, `${JSON.stringify(args)}: ${reason}`);
  }
}

const quad = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255));
const dotted = (q: number[]) => q.join('.');
const value = (q: number[]) => q.reduce((acc, o) => acc * 256 + o, 0);

t.test('checkIpv4', async (t) => {
  table(t, checkIpv4, [
    [['192.0.2.10'], undefined],
    [['0.0.0.0'], undefined],
    [['255.255.255.255'], undefined],
    [[''], 'enter an IPv4 address'],
    [['192.0.2'], 'four numbers'],
    [['192.0.2.1.5'], 'four numbers'],
    [['192.0..1'], 'empty number'],
    [['192.0.2.x'], '"x" in "192.0.2.x" is not a number'],
    [['192.0.2.256'], '256 in "192.0.2.256" is out of range: 0-255'],
    [['192.0.2.010'], 'leading zero'],
    [[' 192.0.2.1'], 'spaces'],
    [['2001:db8::1'], 'not an IPv4 address'],
  ]);
  fc.assert(fc.property(quad, (q) => checkIpv4(dotted(q)) === undefined));
});

t.test('checkIpAddress', async (t) => {
  table(t, checkIpAddress, [
    [['192.0.2.10'], undefined],
    [['2001:db8::1'], undefined],
    [['::'], undefined],
    [['::ffff:192.0.2.1'], undefined],
    [['fe80::1%eth0'], 'zone index'],
    [['192.0.2.10/24'], 'enter "192.0.2.10" without a prefix length'],
    [['192.0.2.300'], '300 in "192.0.2.300" is out of range'],
    [['2001:db8:::1'], 'is not an IPv6 address'],
    [['gateway'], 'is not an IPv4 or IPv6 address'],
    [[''], 'enter an IPv4 or IPv6 address'],
  ]);
  fc.assert(fc.property(fc.ipV6(), (a) => checkIpAddress(a) === undefined));
});

t.test('checkPrefix', async (t) => {
  table(t, checkPrefix, [
    [['192.0.2.10', '24'], undefined],
    [['192.0.2.10', '0'], undefined],
    [['192.0.2.10', '32'], undefined],
    [['192.0.2.10', '33'], 'prefix 33 is out of range: 0-32 for IPv4'],
    [['2001:db8::1', '128'], undefined],
    [['2001:db8::1', '129'], 'prefix 129 is out of range: 0-128 for IPv6'],
    [['192.0.2.10', '-1'], 'prefix "-1" is not a number'],
    [['192.0.2.10', '2 4'], 'not a number'],
    [['192.0.2.10', '024'], 'leading zero'],
    [['192.0.2.10', ''], 'enter a prefix length: 0-32 for IPv4'],
    [['nonsense', '24'], 'not an IPv4 or IPv6 address'],
  ]);
});

t.test('checkAddressWithPrefix', async (t) => {
  table(t, checkAddressWithPrefix, [
    [['192.0.2.10/24'], undefined],
    [['192.0.2.0/31'], undefined],
    [['192.0.2.255/31'], undefined],
    [['192.0.2.1/32'], undefined],
    [['2001:db8::10/64'], undefined],
    [['2001:db8::/64'], undefined],
    [['192.0.2.0/24'], '192.0.2.0 is the network address of 192.0.2.0/24; choose a host address'],
    [['192.0.2.255/24'], '192.0.2.255 is the broadcast address of 192.0.2.0/24'],
    [['10.1.2.3/8'], undefined],
    [['10.255.255.255/8'], 'broadcast address of 10.0.0.0/8'],
    [['0.0.0.0/32'], 'unspecified'],
    [['::/0'], 'unspecified'],
    [['192.0.2.10'], 'add the prefix length to "192.0.2.10", e.g. 192.0.2.10/24'],
    [['2001:db8::1'], 'e.g. 2001:db8::1/64'],
    [['192.0.2.10/33'], 'prefix 33 is out of range: 0-32 for IPv4'],
    [['192.0.2.10/'], 'enter a prefix length'],
    [['192.0.2/24'], 'four numbers'],
    [[''], 'enter an address with prefix length'],
  ]);
  // Every dotted quad with a prefix 0-32 is accepted exactly when it is not the unspecified address and,
  // below /31, neither the network nor the broadcast address of its subnet.
  fc.assert(
    fc.property(quad, fc.integer({ min: 0, max: 32 }), (q, prefix) => {
      const host = value(q) % 2 ** (32 - prefix);
      const refused = value(q) === 0 || (prefix < 31 && (host === 0 || host === 2 ** (32 - prefix) - 1));
      const reason = checkAddressWithPrefix(`${dotted(q)}/${prefix}`);
      return refused ? reason !== undefined : reason === undefined;
    }),
    { numRuns: 2000 },
  );
  fc.assert(fc.property(fc.ipV6(), fc.integer({ min: 0, max: 128 }), (a, prefix) => {
    const reason = checkAddressWithPrefix(`${a}/${prefix}`);
    return reason === undefined || /unspecified/.test(reason);
  }));
});

t.test('checkGatewayInSubnet', async (t) => {
  table(t, checkGatewayInSubnet, [
    [['192.0.2.10/24', '192.0.2.1'], undefined],
    [['192.0.2.10/24', '192.0.3.1'], 'gateway 192.0.3.1 is outside the interface\'s subnet 192.0.2.10/24'],
    [['192.0.2.10/24', '192.0.2.10'], 'own address'],
    [['192.0.2.10/24', '192.0.2.0'], 'network address'],
    [['192.0.2.10/24', '192.0.2.255'], 'broadcast address'],
    [['192.0.2.10/31', '192.0.2.11'], undefined],
    [['192.0.2.10/24', '2001:db8::1'], 'gateway 2001:db8::1 is IPv6 but the address 192.0.2.10/24 is IPv4'],
    [['2001:db8::10/64', '2001:db8::1'], undefined],
    [['2001:db8::10/64', '2001:db9::1'], 'outside'],
    [['2001:db8::10/64', 'fe80::1'], undefined],
    [['2001:db8::10/64', '::ffff:192.0.2.1'], 'outside'],
    [['192.0.2.10/24', 'router'], 'gateway: "router" is not an IPv4 or IPv6 address'],
    [['192.0.2.0/24', '192.0.2.1'], 'network address'],
  ]);
  // Any host of a /24 other than the address itself is a valid gateway.
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 254 }), fc.integer({ min: 1, max: 254 }), (a, g) => {
      const reason = checkGatewayInSubnet(`198.51.100.${a}/24`, `198.51.100.${g}`);
      return a === g ? reason !== undefined : reason === undefined;
    }),
  );
});

// The configuration schema's host name pattern: the check must accept exactly what the schema accepts.
const schemaHostname = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;

t.test('checkHostname', async (t) => {
  table(t, checkHostname, [
    [['gatehouse'], undefined],
    [['gw-01.example.com'], undefined],
    [['1gate'], undefined],
    [['a'.repeat(63)], undefined],
    [[`${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`], undefined],
    [[''], 'enter a host name'],
    [['a'.repeat(64)], 'is 64 characters long: at most 63 between dots'],
    [[`${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(62)}`], 'is 254 characters long: at most 253'],
    [['-gate'], 'starts or ends with "-"'],
    [['gate-'], 'starts or ends with "-"'],
    [['gate_house'], '"_" is not allowed in a host name'],
    [['gate house'], '" " is not allowed'],
    [['gate..house'], 'empty part'],
    [['gatehouse.'], 'empty part'],
    [['.gatehouse'], 'empty part'],
  ]);
  fc.assert(fc.property(fc.domain(), (d) => checkHostname(d) === undefined));
  const hostnameChars = fc.string({ unit: fc.constantFrom(...'ab0-._ Z'.split('')), maxLength: 80 });
  fc.assert(
    fc.property(fc.oneof(hostnameChars, fc.domain(), fc.string()), (s) => (checkHostname(s) === undefined) === schemaHostname.test(s)),
    { numRuns: 3000 },
  );
});

t.test('checkNtpServer', async (t) => {
  table(t, checkNtpServer, [
    [['pool.ntp.org'], undefined],
    [['0.debian.pool.ntp.org'], undefined],
    [['192.0.2.123'], undefined],
    [['2001:db8::123'], undefined],
    [['192.0.2.300'], 'out of range'],
    [['ntp server'], 'spaces'],
    [['ntp_1.example'], '"_" is not allowed'],
    [['pool.ntp.org:123'], 'not an IPv6 address'],
    [[''], 'enter an NTP server'],
  ]);
});

t.test('checkTimeZone', async (t) => {
  const dir = t.testdir({ Europe: { Berlin: 'TZif2...' }, UTC: 'TZif2...', 'zone.tab': '# not a zone', posixrules: 'TZif2', SECURITY: 'text' });
  table(t, (name: string) => checkTimeZone(name, dir), [
    [['Europe/Berlin'], undefined],
    [['UTC'], undefined],
    [['posixrules'], undefined],
    [['Europe/Paris'], 'unknown time zone "Europe/Paris"'],
    [['Europe'], '"Europe" is a region, not a time zone'],
    [['SECURITY'], 'is not a time zone'],
    [['zone.tab'], 'is not a time zone name'],
    [['../../etc/passwd'], 'is not a time zone name'],
    [['Europe/../UTC'], 'is not a time zone name'],
    [['/etc/passwd'], 'not a path'],
    [['UTC/x'], 'unknown time zone'],
    [[''], 'enter a time zone'],
  ]);
  // A zone outside the directory is never opened: with a real file one level up, ".." still is refused.
  mkdirSync(join(dir, 'inner'));
  writeFileSync(join(dir, 'Outside'), 'TZif2');
  t.match(checkTimeZone('../Outside', join(dir, 'inner')), 'is not a time zone name');
});

t.test('checkListenPort', async (t) => {
  table(t, checkListenPort, [
    [['22'], undefined],
    [['1'], undefined],
    [['65535'], undefined],
    [['0'], 'port 0 is out of range: 1-65535'],
    [['65536'], 'out of range'],
    [['022'], 'leading zero'],
    [['-1'], 'not a number'],
    [['2 2'], 'not a number'],
    [[''], 'enter a port number'],
  ]);
  fc.assert(fc.property(fc.integer({ min: 1, max: 65535 }), (p) => checkListenPort(String(p)) === undefined));
});

t.test('no check throws, and every reason is one line', async (t) => {
  const dir = '/nonexistent-zoneinfo';
  const checks: ((s: string) => string | undefined)[] = [
    checkIpv4,
    checkIpAddress,
    (s) => checkPrefix('192.0.2.1', s),
    (s) => checkPrefix(s, '24'),
    checkAddressWithPrefix,
    (s) => checkGatewayInSubnet(s, '192.0.2.1'),
    (s) => checkGatewayInSubnet('192.0.2.10/24', s),
    checkHostname,
    checkNtpServer,
    (s) => checkTimeZone(s, dir),
    checkListenPort,
  ];
  const text = fc.oneof(fc.string(), fc.string({ unit: fc.constantFrom(...'0123456789abcdef.:/%'.split('')) }), fc.ipV4(), fc.ipV6());
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(text, (s) => checks.every((check) => {
        const reason = check(s);
        return reason === undefined || (reason.length > 0 && !reason.includes('\n'));
      })),
      { numRuns: 2000 },
    ),
  );
});
