// The SPS ini parser: accepted syntax, interpolation, DEFAULT, errors with their place, and fuzzing.
import fc from 'fast-check';
import t from 'tap';
import { parseIni, PluginConfigurationError } from '../../../src/plugins/sdk/index.js';

/** Section → option → value, the way a plugin sees the text. */
function view(text: string): Record<string, Record<string, string>> {
  // fromEntries defines own properties, so a section named "__proto__" stays a plain key.
  return Object.fromEntries(
    [...parseIni(text).sections].map(([name, section]) => [name, Object.fromEntries([...section.options].map(([option, { value }]) => [option, value]))]),
  );
}

t.test('accepted syntax', async (t) => {
  const cases: [string, string, Record<string, Record<string, string>>][] = [
    ['name=value and name: value', '[s]\na=1\nb = 2\nc: 3\nd :4', { s: { a: '1', b: '2', c: '3', d: '4' } }],
    ['the first = or : splits', '[s]\nprompt=Ticket: \nx:y=z\nurl=https://h:8443/p?q=1', { s: { prompt: 'Ticket:', x: 'y=z', url: 'https://h:8443/p?q=1' } }],
    ['option names are lower-cased', '[s]\nIKey=abc\nDISABLE_ECHO=yes', { s: { ikey: 'abc', disable_echo: 'yes' } }],
    ['section names keep their case', '[Auth]\na=1\n[auth]\na=2', { Auth: { a: '1' }, auth: { a: '2' } }],
    ['leading whitespace is stripped (the SPS manual layout)', ' [duo]\n ikey=$\n host=api.example.com\n  [auth]\n prompt=Go:', { duo: { ikey: '$', host: 'api.example.com' }, auth: { prompt: 'Go:' } }],
    ['comment lines, also indented; no inline comments', '# top\n[s]\n; note\n   # indented\na=1 # not a comment\nb=x;y', { s: { a: '1 # not a comment', b: 'x;y' } }],
    ['empty values', '[s]\na=\nb =   ', { s: { a: '', b: '' } }],
    ['deeper indentation continues a value (PEM)', '[tls]\nca_cert=-----BEGIN CERTIFICATE-----\n MIIBIjAN\n -----END CERTIFICATE-----\nenabled=yes', { tls: { ca_cert: '-----BEGIN CERTIFICATE-----\nMIIBIjAN\n-----END CERTIFICATE-----', enabled: 'yes' } }],
    ['a blank line ends a continued value', '[s]\na=1\n\n  b=2', { s: { a: '1', b: '2' } }],
    ['an indented option line continues the one above (as in Python)', '[s]\na=1\n  b=2', { s: { a: '1\nb=2' } }],
    ['a comment inside a continued value is skipped', '[s]\na=1\n# c\n  more', { s: { a: '1\nmore' } }],
    ['CRLF and CR line ends', '[s]\r\na=1\r\nb=2\rc=3', { s: { a: '1', b: '2', c: '3' } }],
    ['a section may be empty', '[empty]\n[s]\na=1', { empty: {}, s: { a: '1' } }],
    ['square brackets inside a section name', '[whitelist source=user_list]\nname=admins\n[a]b]\nx=1', { 'whitelist source=user_list': { name: 'admins' }, 'a]b': { x: '1' } }],
    ['$ and $$ are left to the configuration layer', '[duo]\nikey=$\nliteral=$$', { duo: { ikey: '$', literal: '$$' } }],
  ];
  for (const [name, text, expected] of cases) t.same(view(text), expected, name);
});

t.test('interpolation', async (t) => {
  const cases: [string, string, Record<string, Record<string, string>>][] = [
    ['the SPS manual example (forward reference)', '[section name]\ndirname=%(dir)s/mydirectory\ndir=/var', { 'section name': { dirname: '/var/mydirectory', dir: '/var' } }],
    ['%% is a literal %', '[s]\na=100%%\nb=%%(a)s', { s: { a: '100%', b: '%(a)s' } }],
    ['references ignore case', '[s]\nDir=/var\npath=%(DIR)s/x', { s: { dir: '/var', path: '/var/x' } }],
    ['chains and repeated references', '[s]\na=x\nb=%(a)s%(a)s\nc=[%(b)s|%(b)s]', { s: { a: 'x', b: 'xx', c: '[xx|xx]' } }],
    ['a referenced %% stays a single %', '[s]\na=50%%\nb=%(a)s off', { s: { a: '50%', b: '50% off' } }],
    ['within the section only', '[one]\na=1\n[two]\na=2\nb=%(a)s', { one: { a: '1' }, two: { a: '2', b: '2' } }],
    ['DEFAULT options appear in every section', '[DEFAULT]\nbase=/srv\n[s]\npath=%(base)s/x\n[t]', { s: { base: '/srv', path: '/srv/x' }, t: { base: '/srv' } }],
    ['a section overrides DEFAULT, also in DEFAULT values', '[DEFAULT]\nx=1\ngreeting=hi %(name)s\n[s]\nx=2\ny=%(x)s\nname=bob', { s: { x: '2', greeting: 'hi bob', y: '2', name: 'bob' } }],
  ];
  for (const [name, text, expected] of cases) t.same(view(text), expected, name);
  const chain = (length: number) => '[s]\n' + Array.from({ length }, (_, i) => `o${i}=%(o${i + 1})s`).join('\n') + `\no${length}=%%end`;
  t.equal(view(chain(9)).s.o0, '%end', 'ten nested interpolations are allowed (Python MAX_INTERPOLATION_DEPTH)');
  t.throws(() => parseIni(chain(10)), /nested more than 10 deep/, 'eleven are not');
  t.throws(() => parseIni(chain(5000)), /nested more than 10 deep/, 'a very long chain is a clean error, not a stack overflow');
});

t.test('errors name the line, section and option', async (t) => {
  const cases: [string, string, RegExp][] = [
    ['option before any section', 'a=1', /^line 1: an option must follow a \[section\] header$/],
    ['no delimiter', '[s]\n\nnovalue', /^line 3, \[s\]: expected "name=value", got "novalue"$/],
    ['no option name', '[s]\n = x', /^line 2, \[s\]: missing option name before "="$/],
    ['duplicate option, whatever its case', '[s]\na=1\nA=2', /^line 3, \[s\] a: already set on line 2$/],
    ['duplicate section', '[s]\n[t]\n[s]', /^line 3, \[s\]: section defined twice \(first on line 1\)$/],
    ['unclosed header', '[s]\na=1\n[auth', /^line 3: a section header must end with "\]": "\[auth"$/],
    ['empty header', '[ ]', /^line 1: empty section name$/],
    ['spaces inside brackets', '[ auth ]', /^line 1: no spaces allowed just inside the brackets of "\[ auth \]"$/],
    ['lone %', '[s]\na=1\nb=50% off', /^line 3, \[s\] b: "%" must be followed by "%" or "\(name\)s" \(write %% for a literal %\), found "% off"$/],
    ['reference without s', '[s]\na=%(b)\nb=1', /^line 2, \[s\] a: "%" must be followed/],
    ['missing reference', '[s]\na=1\nb=%(nope)s', /^line 3, \[s\] b: %\(nope\)s refers to an option this section does not have$/],
    ['no reference across sections', '[one]\nx=1\n[two]\ny=%(x)s', /^line 4, \[two\] y: %\(x\)s refers to an option/],
    ['self reference', '[s]\na=%(a)s', /^line 2, \[s\] a: interpolation loop/],
    ['loop', '[s]\na=%(b)s\nb=%(c)s\nc=%(a)s', /interpolation loop/],
    ['a broken DEFAULT value, read through a section', '[DEFAULT]\nx=%(y)s\n[s]\nz=1', /^line 2, \[s\] x: %\(y\)s refers to an option/],
  ];
  for (const [name, text, message] of cases) {
    t.throws(() => parseIni(text), { name: 'PluginConfigurationError', message }, name);
  }
});

t.test('property: any text parses or fails with a PluginConfigurationError naming a line', async () => {
  const tokens = fc.constantFrom('[', ']', '=', ':', '%', '%%', '%(a)s', '%(A)s', '(', ')', 's', 'a', 'b', 'DEFAULT', '[DEFAULT]', '[s]', '\n', '\r\n', '\r', ' ', '\t', '#', ';', '$', '$$', '\u00a0', '\ufeff', 'é');
  const soup = fc.array(tokens, { maxLength: 80 }).map((parts) => parts.join(''));
  const check = (text: string) => {
    try {
      parseIni(text);
    } catch (err) {
      if (!(err instanceof PluginConfigurationError) || !/^line \d+/.test(err.message)) throw err;
    }
  };
  fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 300 }), check), { numRuns: 1500 });
  fc.assert(fc.property(soup, check), { numRuns: 3000 });
});

/** A name or value that survives a line of ini text unchanged. */
const lineText = fc.string({ unit: 'grapheme', maxLength: 12 }).filter((text) => !/[\r\n]/.test(text) && text === text.trim());
const optionName = lineText.filter((name) => name !== '' && !/[=:]/.test(name) && !/^[[#;]/.test(name));
const sectionName = lineText.filter((name) => name !== '' && name !== 'DEFAULT');

t.test('a section or option named __proto__ is an ordinary name', async (t) => {
  t.same(Object.entries(view('[__proto__]\n__proto__=x')), [['__proto__', Object.fromEntries([['__proto__', 'x']])]]);
});

t.test('property: serialising a model and parsing it gives the model back', async () => {
  const model = fc.uniqueArray(fc.tuple(sectionName, fc.uniqueArray(fc.tuple(optionName, lineText), { selector: ([name]) => name.toLowerCase(), maxLength: 6 })), {
    selector: ([name]) => name,
    maxLength: 5,
  });
  const layout = fc.record({ delimiter: fc.constantFrom('=', ' = ', ': ', ':'), indent: fc.constantFrom('', ' ', '\t'), upper: fc.boolean() });
  fc.assert(
    fc.property(model, layout, (sections, { delimiter, indent, upper }) => {
      const text = sections
        .map(([section, options]) =>
          [`[${section}]`, ...options.map(([name, value]) => `${indent}${upper ? name.toUpperCase() : name}${delimiter}${value.replace(/%/g, '%%')}`)].join('\n'),
        )
        .join('\n\n# comment\n');
      const expected = Object.fromEntries(sections.map(([section, options]) => [section, Object.fromEntries(options.map(([name, value]) => [name.toLowerCase(), value]))]));
      // toUpperCase can change a name's lower-case form (e.g. "ß" → "SS"): compare what the parser must do.
      if (upper && sections.some(([, options]) => options.some(([name]) => name.toUpperCase().toLowerCase() !== name.toLowerCase()))) return true;
      return JSON.stringify(view(text)) === JSON.stringify(expected);
    }),
    { numRuns: 500 },
  );
});

t.test('property: %(name)s is replaced by the value it names', async () => {
  const plain = lineText.filter((value) => !value.includes('%'));
  fc.assert(
    fc.property(plain, plain, plain, (value, before, after) => {
      const parsed = view(`[s]\nref=${before}%(target)s${after}\ntarget=${value}`);
      return parsed.s.ref === `${before}${value}${after}`.trim();
    }),
    { numRuns: 300 },
  );
});
