// Tests of MANIFEST parsing and of a package's compatibility with an appliance, with fuzzing:
// no text, however malformed, makes the validator do anything but return or refuse in one line.
import fc from 'fast-check';
import t from 'tap';
import { PluginPackageError } from '../../src/aa/errors.js';
import { checkCompatibility, parseManifest, type PluginManifest } from '../../src/aa/manifest.js';
import { manifestText } from './zips.js';

const parse = (text: string | Uint8Array) => parseManifest(typeof text === 'string' ? Buffer.from(text) : text);

function refusal(text: string): string {
  try {
    parse(text);
  } catch (err) {
    if (err instanceof PluginPackageError) return err.reason;
    throw err;
  }
  throw new Error('expected a refusal');
}

t.test('an SPS-style MANIFEST: comments, quoting, values kept exactly as written', async (t) => {
  const manifest = parse(`# Duo for Gatehouse
name: "SPS_Duo"
description: >
  Duo multi-factor authentication
version: 1.10
type: aa
api: 1.2
entry_point: lib/main.mjs
author_name: One Identity
author_email: 'plugins@example.com'
scb_min_version: 0.1~
scb_max_version: 7.0~
unknown_future_field: [ignored]
`);
  t.same(manifest, {
    name: 'SPS_Duo',
    description: 'Duo multi-factor authentication\n',
    version: '1.10',
    type: 'aa',
    api: '1.2',
    entryPoint: 'lib/main.mjs',
    authorName: 'One Identity',
    authorEmail: 'plugins@example.com',
    minApplianceVersion: '0.1~',
    maxApplianceVersion: '7.0~',
  } satisfies PluginManifest);
  t.equal(parse(manifestText({ min_appliance_version: '1.0', max_appliance_version: '2.0' })).maxApplianceVersion, '2.0');
});

t.test('refusals name the field and say what was expected', async (t) => {
  t.equal(refusal(''), 'MANIFEST must be a YAML mapping of fields such as "name: my_plugin"');
  t.equal(refusal('just text'), 'MANIFEST must be a YAML mapping of fields such as "name: my_plugin"');
  t.match(refusal('a: &x 1\nb: *x\n'), /^MANIFEST is not valid YAML: /, 'no aliases');
  t.match(refusal('a: 1\n---\nb: 2\n'), /^MANIFEST is not valid YAML: Source contains multiple documents/);
  t.equal(refusal(manifestText({ name: undefined, type: 'signingca' })), 'MANIFEST: name: is missing; type: expected "aa" (this appliance installs AA plugins only), not "signingca"');
  t.equal(refusal(manifestText({ description: '{a: b}' })), 'MANIFEST: description: expected a single value, not a map');
  t.equal(refusal(manifestText({ scb_max_version: 'soon' })), 'MANIFEST: scb_max_version: expected a version such as 8.1.0, or 9.0~ for "below 9.0"');
  t.equal(refusal(manifestText({ max_appliance_version: '2.0', scb_max_version: '2.0' })), 'MANIFEST: scb_max_version: give max_appliance_version or scb_max_version, not both');
  t.equal(refusal(`${manifestText()}${'#'.repeat(64 * 1024)}`), 'MANIFEST is larger than 64 KiB');
});

t.test('compatibility: api major equal, minor no newer; appliance version within min/max (with "~")', async (t) => {
  const manifest = (fields: Partial<PluginManifest>): PluginManifest => ({ ...parse(manifestText()), ...fields });
  const check = (fields: Partial<PluginManifest>, version = '7.0.0', pluginApi = '1.2') => {
    try {
      checkCompatibility(manifest(fields), { version, pluginApi });
      return 'ok';
    } catch (err) {
      return (err as PluginPackageError).reason;
    }
  };
  t.equal(check({ api: '1.0' }), 'ok');
  t.equal(check({ api: '1.2' }), 'ok');
  t.equal(check({ api: '1.3' }), 'MANIFEST: api 1.3 is not supported: this appliance offers plugin API 1.2 (major 1, minor at most 2)');
  t.match(check({ api: '2.0' }), /api 2.0 is not supported/);
  t.match(check({ api: '0.9' }), /api 0.9 is not supported/);
  t.equal(check({ maxApplianceVersion: '7.0~' }), 'demo_plugin 1.0.0 needs appliance version below 7.0; this appliance is 7.0.0');
  t.equal(check({ maxApplianceVersion: '7.0~' }, '7.0.0-rc1'), 'demo_plugin 1.0.0 needs appliance version below 7.0; this appliance is 7.0.0-rc1');
  t.equal(check({ maxApplianceVersion: '7.0~' }, '6.99'), 'ok');
  t.equal(check({ maxApplianceVersion: '7.0' }), 'ok', 'without "~" the bound is inclusive');
  t.equal(check({ maxApplianceVersion: '6.4' }), 'demo_plugin 1.0.0 needs appliance version 6.4 or earlier; this appliance is 7.0.0');
  t.equal(check({ minApplianceVersion: '7.0' }), 'ok');
  t.equal(check({ minApplianceVersion: '7.0~' }, '7.0.0-rc1'), 'ok', '"X~" as a minimum admits X\'s pre-releases');
  t.equal(check({ minApplianceVersion: '7.0' }, '7.0.0-rc1'), 'demo_plugin 1.0.0 needs appliance version 7.0 or later; this appliance is 7.0.0-rc1');
});

/** Whether the input was accepted or refused with a one-line PluginPackageError; anything else is thrown. */
function outcome(input: string | Uint8Array): 'accepted' | 'refused' {
  try {
    parse(input);
    return 'accepted';
  } catch (err) {
    if (err instanceof PluginPackageError && !err.message.includes('\n')) return 'refused';
    throw err;
  }
}

t.test('fuzz: arbitrary text and bytes never crash the validator', async () => {
  fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (text) => void outcome(text)), { numRuns: 1000 });
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => void outcome(bytes)), { numRuns: 500 });
});

t.test('fuzz: YAML-shaped MANIFESTs (known and unknown fields, odd values, nesting) never crash the validator', async (t) => {
  const fields = ['name', 'description', 'version', 'type', 'api', 'entry_point', 'author_name', 'author_email', 'min_appliance_version', 'max_appliance_version', 'scb_min_version', 'scb_max_version', '__proto__', 'constructor', 'x'];
  const atom = fc.oneof(
    fc.constantFrom('aa', '1.2', '1.10', 'main.js', '7.0~', '~', 'null', 'true', '0x1F', '.inf', '', '""', "'", '"', '&a', '*a', '!!binary aGk=', '!foo x', '|', '>', '-', '? x', '{', '}', '[', ']', ':', '#', '%YAML 1.2', '---', '...', '@x'),
    fc.string({ maxLength: 20 }),
  );
  const value: fc.Arbitrary<string> = fc.letrec((tie) => ({
    value: fc.oneof(
      { depthSize: 'small' },
      atom,
      fc.array(tie('value'), { maxLength: 3 }).map((items) => `[${items.join(', ')}]`),
      fc.array(fc.tuple(fc.constantFrom(...fields), tie('value')), { maxLength: 3 }).map((pairs) => `{${pairs.map(([k, v]) => `${k}: ${v}`).join(', ')}}`),
    ),
  })).value as fc.Arbitrary<string>;
  const line = fc.tuple(fc.constantFrom('', ' ', '  ', '\t', '- '), fc.constantFrom(...fields), fc.constantFrom(': ', ':', ' : ', ': |\n  ', ': >\n  '), value).map((parts) => parts.join(''));
  const document = fc.tuple(fc.array(line, { maxLength: 14 }), fc.boolean()).map(([lines, good]) => (good ? manifestText() : '') + lines.join('\n'));
  let accepted = 0;
  fc.assert(
    fc.property(document, (text) => {
      if (outcome(text) === 'accepted') accepted++;
    }),
    { numRuns: 1500 },
  );
  t.comment(`${accepted} of 1500 generated MANIFESTs were valid`);
});
