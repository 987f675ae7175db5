// Table, property and fuzz tests for the username grammar in src/gateway/username.ts.
import tap from 'tap';
import fc from 'fast-check';
import { deepStrictEqual } from 'node:assert/strict';
import {
  UsernameError,
  formatRdpUsername,
  formatSshUsername,
  formatTarget,
  parseRdpUsername,
  parseSshUsername,
  parseTarget,
  type ParsedUsername,
  type TargetHost,
} from '../../src/gateway/username.js';

const RUNS = { numRuns: 1000 };
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const LINE_BREAK = /[\n\r\u2028\u2029]/;

function pairs(entries: Record<string, string> = {}): Record<string, string> {
  return Object.assign(Object.create(null) as Record<string, string>, entries);
}

function ssh(serverUser: string, target?: TargetHost, keyValuePairs?: Record<string, string>): ParsedUsername {
  const u: ParsedUsername = { form: 'ssh', keyValuePairs: pairs(keyValuePairs), serverUser };
  if (target !== undefined) u.target = target;
  return u;
}

function rdp(serverUser: string, serverDomain?: string, keyValuePairs?: Record<string, string>): ParsedUsername {
  const u: ParsedUsername = { form: 'rdp', keyValuePairs: pairs(keyValuePairs), serverUser };
  if (serverDomain !== undefined) u.serverDomain = serverDomain;
  return u;
}

const host = (name: string, port?: number): TargetHost => ({ kind: 'hostname', host: name, ...(port !== undefined && { port }) });
const ipv4 = (address: string, port?: number): TargetHost => ({ kind: 'ipv4', host: address, ...(port !== undefined && { port }) });
const ipv6 = (address: string, port?: number): TargetHost => ({ kind: 'ipv6', host: address, ...(port !== undefined && { port }) });

/** The invariants every UsernameError keeps: safe, one-line, names its part. */
function checkErrorShape(error: unknown): UsernameError {
  if (!(error instanceof UsernameError)) throw new Error(`expected a UsernameError, got ${String(error)}`);
  if (LINE_BREAK.test(error.message)) throw new Error(`multi-line message: ${JSON.stringify(error.message)}`);
  if (!error.message.includes(error.part)) throw new Error(`message does not name part ${error.part}: ${error.message}`);
  if (error.input.length > 80 || CONTROL.test(error.input)) throw new Error(`unsafe input: ${JSON.stringify(error.input)}`);
  return error;
}

function errorOf(run: () => unknown): UsernameError {
  try {
    run();
  } catch (error) {
    return checkErrorShape(error);
  }
  throw new Error('expected a UsernameError, but nothing was thrown');
}

type ErrorCase = [input: string, part: string, secret?: string];

function errorTable(t: Pick<typeof tap, 'equal' | 'notOk'>, parse: (raw: string) => unknown, cases: ErrorCase[]): void {
  for (const [input, part, secret] of cases) {
    const error = errorOf(() => parse(input));
    t.equal(error.part, part, `${JSON.stringify(input.slice(0, 40))} fails in ${part}: ${error.message}`);
    if (secret !== undefined) t.notOk(error.message.includes(secret) || error.input.includes(secret), 'secret not echoed');
  }
}

// ---------------------------------------------------------------- tables

tap.test('SSH form: examples', async (t) => {
  const cases: Array<[string, ParsedUsername]> = [
    ['otp=123456@root@db1', ssh('root', host('db1'), { otp: '123456' })],
    ['gu=alice@root@db1', ssh('root', host('db1'), { gu: 'alice' })],
    ['token_id=42@root@db1:2222', ssh('root', host('db1', 2222), { token_id: '42' })],
    ['root', ssh('root')],
    ['otp=1@root', ssh('root', undefined, { otp: '1' })],
    ['root@10.0.0.1:22', ssh('root', ipv4('10.0.0.1', 22))],
    ['root@[2001:DB8::1]:22', ssh('root', ipv6('2001:db8::1', 22))],
    ['root@DB1.Example.COM.', ssh('root', host('db1.example.com'))],
    ['CORP\\alice@db1', ssh('CORP\\alice', host('db1'))],
    ['svc.backup-01$@db1', ssh('svc.backup-01$', host('db1'))],
    ['a=@root', ssh('root', undefined, { a: '' })],
    ['k=a=b:c@root', ssh('root', undefined, { k: 'a=b:c' })],
    ['constructor=1@toString=2@root', ssh('root', undefined, { constructor: '1', toString: '2' })],
    // `@@` is a literal `@`, pairs taken left to right.
    ['alice@@corp.com@db1', ssh('alice@corp.com', host('db1'))],
    ['a@@@b', ssh('a@', host('b'))],
    ['a@@@@b', ssh('a@@b')],
    ['otp=x@@@root', ssh('root', undefined, { otp: 'x@' })],
    ['otp=@@x@root', ssh('root', undefined, { otp: '@x' })],
  ];
  for (const [raw, expected] of cases) t.strictSame(parseSshUsername(raw), expected, raw);
  t.strictSame(Object.keys(parseSshUsername('z=1@a=2@m=3@root').keyValuePairs), ['z', 'a', 'm'], 'input order kept');
  t.equal(Object.getPrototypeOf(parseSshUsername('a=1@root').keyValuePairs), null, 'null-prototype record');
});

tap.test('SSH form: errors', async (t) => {
  errorTable(t, parseSshUsername, [
    ['x'.repeat(1025), 'username'],
    ['otp=1', 'server user'],
    ['', 'server user'],
    ['@db1', 'server user'],
    ['@@root', 'server user'],
    ['ro ot@db1', 'server user'],
    ['ro\tot', 'server user'],
    ['r\u00a0oot', 'server user'],
    ['r\u007foot', 'server user'],
    ['r\u0085oot', 'server user'],
    ['x'.repeat(257), 'server user'],
    ['root@', 'target'],
    ['a@b@c', 'username'],
    ['root@db1@otp=123456', 'username', '123456'],
    ['root@otp=123456', 'target', '123456'],
    ['=5@root', 'key'],
    ['1otp=5@root', 'key'],
    ['o tp=5@root', 'key'],
    [`${'k'.repeat(65)}=1@root`, 'key'],
    ['__proto__=1@root', 'key'],
    ['otp=secret1@otp=secret2@root', 'key "otp"', 'secret'],
    ['otp=sec\u0000ret@root', 'key "otp"', 'sec'],
    ['otp=sec\nret@root', 'key "otp"', 'sec'],
    ['root@db1:99999', 'port'],
    ['root@fe80::1', 'target'],
  ]);
  t.equal(errorOf(() => parseSshUsername('root@db1:99999')).message, 'invalid port in target "db1:99999": expected 1-65535');
  t.match(errorOf(() => parseSshUsername('root@fe80::1')).message, /brackets/);
  t.match(errorOf(() => parseSshUsername('otp=1')).message, /server user/);
});

tap.test('targets: valid', async (t) => {
  const cases: Array<[string, TargetHost]> = [
    ['db1', host('db1')],
    ['db1:1', host('db1', 1)],
    ['db1:65535', host('db1', 65535)],
    ['DB-1.example.com.', host('db-1.example.com')],
    ['1x', host('1x')],
    [`${'a'.repeat(63)}.b`, host(`${'a'.repeat(63)}.b`)],
    [Array(4).fill('a'.repeat(63)).join('.').slice(0, 253), host(Array(4).fill('a'.repeat(63)).join('.').slice(0, 253))],
    ['0.0.0.0', ipv4('0.0.0.0')],
    ['255.255.255.255:22', ipv4('255.255.255.255', 22)],
    ['[::1]', ipv6('::1')],
    ['[::FFFF:1.2.3.4]:443', ipv6('::ffff:1.2.3.4', 443)],
  ];
  for (const [raw, expected] of cases) {
    t.strictSame(parseTarget(raw), expected, raw);
    t.strictSame(parseTarget(formatTarget(expected)), expected, `${raw} round trip`);
  }
  t.equal(formatTarget(ipv6('2001:db8::1', 22)), '[2001:db8::1]:22');
});

tap.test('targets: errors', async (t) => {
  errorTable(t, parseTarget, [
    ['', 'target'],
    ['.', 'target'],
    ['-db1', 'target'],
    ['db1-', 'target'],
    ['a..b', 'target'],
    ['db_1', 'target'],
    ['dé.example', 'target'],
    ['db1 ', 'target'],
    ['a'.repeat(64), 'target'],
    [Array(5).fill('a'.repeat(50)).join('.'), 'target'],
    ['010.0.0.1', 'target'],
    ['256.0.0.1', 'target'],
    ['1.2.3', 'target'],
    ['1.2.3.4.', 'target'],
    ['0x7f.0.0.1', 'target'],
    ['2130706433', 'target'],
    ['example.123', 'target'],
    ['fe80::1', 'target'],
    ['2001:db8::1:22', 'target'],
    ['[::1', 'target'],
    ['[]', 'target'],
    ['[1.2.3.4]', 'target'],
    ['[fe80::1%eth0]', 'target'],
    ['[::1]x', 'target'],
    ['db1:0', 'port'],
    ['db1:65536', 'port'],
    ['db1:99999', 'port'],
    ['db1:+22', 'port'],
    ['db1:022', 'port'],
    ['db1:', 'port'],
    ['db1:2x', 'port'],
    ['db1: 22', 'port'],
    ['[::1]:0', 'port'],
    ['[::1]:', 'port'],
  ]);
});

tap.test('RDP form: examples', async (t) => {
  const cases: Array<[string, ParsedUsername]> = [
    ['CORP\\otp~123456%alice', rdp('alice', 'CORP', { otp: '123456' })],
    ['target~10.0.0.1^22%alice', rdp('alice', undefined, { target: '10.0.0.1:22' })],
    ['alice', rdp('alice')],
    ['k~%bob', rdp('bob', undefined, { k: '' })],
    ['k~50%%%bob', rdp('bob', undefined, { k: '50%' })],
    ['k~a~b%bob', rdp('bob', undefined, { k: 'a=b' })],
    ['k~~~x%bob', rdp('bob', undefined, { k: '~x' })],
    ['k~^^%bob', rdp('bob', undefined, { k: '^' })],
    ['k~fe80:^1%bob', rdp('bob', undefined, { k: 'fe80::1' })],
    ['k~=~%bob', rdp('bob', undefined, { k: '==' })],
    ['a~1%b~2%alice@corp.com', rdp('alice@corp.com', undefined, { a: '1', b: '2' })],
    ['\\a\\b', rdp('a\\b')],
    ['D\\a\\b', rdp('a\\b', 'D')],
  ];
  for (const [raw, expected] of cases) t.strictSame(parseRdpUsername(raw), expected, raw);
});

tap.test('RDP form: errors', async (t) => {
  errorTable(t, parseRdpUsername, [
    ['x'.repeat(1025), 'username'],
    ['CO RP\\alice', 'domain'],
    ['CO\u0000RP\\alice', 'domain'],
    ['otp123%alice', 'key'],
    ['otp=123456%alice', 'key', '123456'],
    ['%alice', 'key'],
    ['1k~1%alice', 'key'],
    ['otp~secret1%otp~secret2%alice', 'key "otp"', 'secret'],
    ['k~1%', 'server user'],
    ['otp~123456', 'server user', '123456'],
    ['al ice', 'server user'],
  ]);
});

tap.test('formatting: escapes and errors', async (t) => {
  t.equal(formatSshUsername(ssh('alice@corp', host('db1'), { k: 'v@' })), 'k=v@@@alice@@corp@db1');
  t.equal(formatSshUsername(ssh('root', ipv6('::1', 22))), 'root@[::1]:22');
  t.equal(formatRdpUsername(rdp('a:b', undefined, { k: '==', p: '50%' })), 'k~=~%p~50%%%a^b');
  t.equal(formatRdpUsername(rdp('a\\b')), '\\a\\b', 'a backslash without a domain gets an empty domain');
  t.equal(formatRdpUsername(rdp('alice', 'CORP', { t: '10.0.0.1:22' })), 'CORP\\t~10.0.0.1^22%alice');

  const cases: Array<[() => unknown, string]> = [
    [() => formatSshUsername(rdp('alice', 'CORP')), 'domain'],
    [() => formatSshUsername(ssh('root', host('DB1'))), 'target'],
    [() => formatSshUsername(ssh('root', host('1.2.3.4'))), 'target'],
    [() => formatSshUsername(ssh('root', host('db1@evil'))), 'target'],
    [() => formatSshUsername(ssh('root', host('db1', 0))), 'port'],
    [() => formatSshUsername(ssh('root', undefined, { 'bad key': 'x' })), 'key'],
    [() => formatSshUsername(ssh('root', undefined, { otp: 'a\nb' })), 'key "otp"'],
    [() => formatSshUsername(ssh('@root')), 'server user'],
    [() => formatSshUsername(ssh('a=b')), 'server user'],
    [() => formatSshUsername(ssh('root', undefined, { v: 'x'.repeat(1100) })), 'username'],
    [() => formatRdpUsername(ssh('root', host('db1'))), 'target'],
    [() => formatRdpUsername(rdp('root', 'A\\B')), 'domain'],
    [() => formatRdpUsername(rdp('root', '')), 'domain'],
    [() => formatRdpUsername(rdp('%root')), 'server user'],
    [() => formatTarget(ipv6('::1', 70000)), 'port'],
    [() => formatTarget({ kind: 'ipv6', host: '::G' }), 'target'],
  ];
  for (const [run, part] of cases) t.equal(errorOf(run).part, part, part);
});

tap.test('UsernameError.input is truncated and safe to log', async (t) => {
  const long = errorOf(() => parseTarget('\n'.repeat(200)));
  t.ok(long.input.length <= 80 && long.input.endsWith('…'), long.input);
  t.equal(errorOf(() => parseTarget('a\u2028b\ud800')).input, 'a\\u{2028}b\\u{d800}');
  t.equal(errorOf(() => parseTarget('a\u0000b')).input, 'a\\x00b');
  t.equal(errorOf(() => parseSshUsername('x'.repeat(2000))).input, '', 'an over-long username is not echoed');
  t.equal(errorOf(() => parseTarget('x'.repeat(80) + '.')).input, 'x'.repeat(79) + '…');
  t.equal(errorOf(() => parseTarget('-'.repeat(80))).input, '-'.repeat(80), 'exactly 80 characters are kept');
});

// ---------------------------------------------------------------- generators

const special = fc.constantFrom('@', '@', '%', '~', '^', '=', ':', '\\', '[', ']', '.', '-', '$', ' ');
const anyPrintable = fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }).filter((c) => !CONTROL.test(c));
const textChar = fc.oneof(
  { weight: 4, arbitrary: special },
  { weight: 2, arbitrary: fc.constantFrom('a', 'Z', '0', 'é', '😀') },
  { weight: 1, arbitrary: anyPrintable },
);
const valueArb = fc.string({ unit: textChar, maxLength: 16 });
const keyArb = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_.-]{0,15}$/).filter((k) => k !== '__proto__');
const pairsArb = fc
  .uniqueArray(fc.tuple(keyArb, valueArb), { selector: ([key]) => key, maxLength: 4 })
  .map((entries) => pairs(Object.fromEntries(entries)));
const userArb = fc
  .string({ unit: textChar, minLength: 1, maxLength: 16 })
  .filter((u) => !/[\s=]/u.test(u) && !u.startsWith('@') && !u.startsWith('%'));
const domainArb = fc.string({ unit: textChar, minLength: 1, maxLength: 12 }).filter((d) => !/[\s\\]/u.test(d));

const labelArb = fc.stringMatching(/^[a-z0-9](?:[a-z0-9-]{0,10}[a-z0-9])?$/);
const hostnameArb = fc
  .array(labelArb, { minLength: 1, maxLength: 4 })
  .map((labels) => labels.join('.'))
  .filter((name) => !/^(?:\d+|0x[0-9a-f]*)$/.test(name.slice(name.lastIndexOf('.') + 1)));
const hostArb = fc.oneof(
  hostnameArb.map((name) => host(name)),
  fc.ipV4().map((address) => ipv4(address)),
  fc.ipV6().map((address) => ipv6(address.toLowerCase())),
);
const targetArb = fc
  .tuple(hostArb, fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }))
  .map(([target, port]) => (port === undefined ? target : { ...target, port }));

const sshUsernameArb = fc
  .tuple(userArb, fc.option(targetArb, { nil: undefined }), pairsArb)
  .map(([user, target, keyValuePairs]) => ssh(user, target, keyValuePairs));
const rdpUsernameArb = fc
  .tuple(userArb, fc.option(domainArb, { nil: undefined }), pairsArb)
  .map(([user, domain, keyValuePairs]) => rdp(user, domain, keyValuePairs));

/** Strings made of grammar tokens, so that a good share of them parse. */
function tokenString(tokens: string[]): fc.Arbitrary<string> {
  return fc.array(fc.constantFrom(...tokens), { maxLength: 12 }).map((parts) => parts.join(''));
}
const sshTokens = ['root', 'otp', '=', '1', '@', '@', '@@', 'db1', 'DB1.', '10.0.0.1', ':22', '[::1]', '[2001:DB8::1]', ':', '%', '\\', 'é', ' '];
const rdpTokens = ['CORP', '\\', 'otp', '~', '~~', '^', '^^', '%', '%', '%%', '=', ':', 'alice', '10.0.0.1', '1', '@', ' '];
const fuzzChar = fc.oneof(
  fc.constantFrom('@', '@@', '=', '%', '~', '^', '\\', '[', ']', ':', '.', '0', 'a', '::1', '\u0000', '\n', '\u0085', '\u2028', '\u202e', '\ud800', '\udc00', '😀'),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
);
const fuzzArb = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 64 }),
  fc.string({ unit: 'grapheme', maxLength: 32 }),
  fc.string({ unit: fuzzChar, maxLength: 48 }),
  tokenString([...sshTokens, ...rdpTokens]),
  fc.string({ unit: fuzzChar, minLength: 1000, maxLength: 1100 }),
);

// ---------------------------------------------------------------- properties

tap.test('property: parsers throw nothing but well-formed UsernameErrors', async (t) => {
  const parsers = [parseSshUsername, parseRdpUsername, parseTarget];
  t.doesNotThrow(() => {
    fc.assert(
      fc.property(fuzzArb, (raw) => {
        for (const parse of parsers) {
          try {
            parse(raw);
          } catch (error) {
            checkErrorShape(error);
          }
        }
      }),
      RUNS,
    );
  }, 'no other exception escaped');
});

tap.test('property: parse(format(u)) equals u', async (t) => {
  t.doesNotThrow(() => {
    fc.assert(fc.property(sshUsernameArb, (u) => deepStrictEqual(parseSshUsername(formatSshUsername(u)), u)), RUNS);
    fc.assert(fc.property(rdpUsernameArb, (u) => deepStrictEqual(parseRdpUsername(formatRdpUsername(u)), u)), RUNS);
    fc.assert(fc.property(targetArb, (target) => deepStrictEqual(parseTarget(formatTarget(target)), target)), RUNS);
  }, 'both forms and targets round-trip');
});

/** Checks parse(format(parse(s))) = parse(s) and returns whether s parsed at all. */
function reparses(parse: (raw: string) => ParsedUsername, format: (u: ParsedUsername) => string, raw: string): boolean {
  let parsed: ParsedUsername;
  try {
    parsed = parse(raw);
  } catch (error) {
    checkErrorShape(error);
    return false;
  }
  deepStrictEqual(parse(format(parsed)), parsed);
  return true;
}

tap.test('property: format(parse(s)) re-parses to the same value', async (t) => {
  const forms = [
    { name: 'SSH', parse: parseSshUsername, format: formatSshUsername, tokens: sshTokens },
    { name: 'RDP', parse: parseRdpUsername, format: formatRdpUsername, tokens: rdpTokens },
  ];
  for (const { name, parse, format, tokens } of forms) {
    let parsedCount = 0;
    fc.assert(
      fc.property(tokenString(tokens), (raw) => {
        if (reparses(parse, format, raw)) parsedCount++;
      }),
      RUNS,
    );
    // Guards against a vacuous property: enough generated strings must be valid usernames.
    t.ok(parsedCount >= 100, `${name}: ${parsedCount} of ${RUNS.numRuns} generated strings parsed`);
  }
});

tap.test('property: values and users containing "@" survive the SSH form', async (t) => {
  const withAt = fc.tuple(valueArb, valueArb).map(([a, b]) => `${a}@${b}`);
  const arb = fc.tuple(keyArb, withAt, userArb, fc.option(targetArb, { nil: undefined })).map(([key, value, user, target]) =>
    ssh(`${user}@x`, target, { [key]: value }));
  t.doesNotThrow(() => {
    fc.assert(
      fc.property(arb, (u) => {
        const formatted = formatSshUsername(u);
        if (!formatted.includes('@@')) throw new Error(`no escaped "@" in ${formatted}`);
        deepStrictEqual(parseSshUsername(formatted), u);
      }),
      RUNS,
    );
  }, '"@" survives');
});
