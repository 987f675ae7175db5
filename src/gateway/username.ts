// Owns the login-name grammar: parsing and formatting the SSH (`@`) and RDP (`%`) username forms and their targets.
import { isIPv6 } from 'node:net';

export type TargetHost = { kind: 'hostname' | 'ipv4' | 'ipv6'; host: string; port?: number };

export interface ParsedUsername {
  /** The syntax the username was parsed from; the formatters ignore it. */
  form: 'ssh' | 'rdp';
  /** Null-prototype record, in input order. */
  keyValuePairs: Record<string, string>;
  serverUser: string;
  serverDomain?: string;
  target?: TargetHost;
}

const MAX_USERNAME_LENGTH = 1024;
const MAX_SERVER_USER_LENGTH = 256;
const MAX_DOMAIN_LENGTH = 255;
const MAX_HOSTNAME_LENGTH = 253;
const MAX_FRAGMENT_LENGTH = 80;

const KEY = /^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/;
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const WHITESPACE = /\s/u;
const HOSTNAME_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i;
const OCTET = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const IPV4 = new RegExp(`^${OCTET}(?:\\.${OCTET}){3}$`);
const NUMERIC_LABEL = /^(?:\d+|0x[0-9a-f]*)$/i;
const PORT = /^[1-9]\d{0,4}$/;
// Characters that could break or disguise a log line: controls, format (bidi) characters, line separators, lone surrogates.
const UNSAFE_FOR_LOGS = /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/u;

const SSH_SHAPE = '[key=value@...]server_user[@target]';
const TARGET_SHAPE = 'a hostname, an IPv4 address or an [IPv6] address, optionally followed by :port';

export class UsernameError extends Error {
  override readonly name = 'UsernameError';
  /** The part that is wrong, e.g. 'username', 'target', 'port', 'server user', 'domain', 'key', 'key "otp"'. */
  readonly part: string;
  /** The offending fragment, truncated and with control characters escaped: safe to log. Never a key/value value. */
  readonly input: string;

  /** `describe` receives the safe fragment already quoted, so messages cannot embed raw input by accident. */
  constructor(part: string, fragment: string, describe: (quoted: string) => string) {
    const input = safeFragment(fragment);
    super(describe(`"${input}"`));
    this.part = part;
    this.input = input;
  }
}

// ---------------------------------------------------------------- SSH form

export function parseSshUsername(raw: string): ParsedUsername {
  checkLength(raw);
  const fields = splitFields(raw, '@');
  const firstPlain = fields.findIndex((field) => !field.includes('='));
  const pairCount = firstPlain < 0 ? fields.length : firstPlain;
  const keyValuePairs = collectPairs(fields.slice(0, pairCount).map(splitSshPair));
  const rest = fields.slice(pairCount);
  if (rest.length === 0) {
    throw new UsernameError('server user', '', () => `missing server user: expected ${SSH_SHAPE}`);
  }
  if (rest.length > 2) {
    throw new UsernameError('username', rest.map(redact).join('@'), (q) =>
      `invalid username: too many "@"-separated fields ${q} after the key=value pairs: expected ${SSH_SHAPE} (write "@@" for a literal "@")`);
  }
  const serverUser = checkServerUser(rest[0]);
  const parsed: ParsedUsername = { form: 'ssh', keyValuePairs, serverUser };
  if (rest.length === 2) parsed.target = parseSshTarget(rest[1]);
  return parsed;
}

export function formatSshUsername(u: ParsedUsername): string {
  if (u.serverDomain !== undefined) {
    throw new UsernameError('domain', u.serverDomain, (q) =>
      `the SSH form has no domain field for ${q}: expected the domain inside the server user, e.g. "CORP\\alice"`);
  }
  const pairs = Object.entries(collectPairs(Object.entries(u.keyValuePairs)));
  const fields = [...pairs.map(([key, value]) => `${key}=${value}`), checkServerUser(u.serverUser)];
  if (u.target !== undefined) fields.push(formatTarget(u.target));
  return checkLength(fields.map((field) => field.replaceAll('@', '@@')).join('@'));
}

function splitSshPair(field: string): [string, string] {
  const equals = field.indexOf('=');
  return [field.slice(0, equals), field.slice(equals + 1)];
}

function parseSshTarget(field: string): TargetHost {
  // A misplaced pair such as `root@otp=123456` must not reach parseTarget, whose message would echo the OTP.
  if (field.includes('=')) {
    throw new UsernameError('target', redact(field), (q) =>
      `invalid target ${q}: expected key=value pairs before the server user, not after it`);
  }
  return parseTarget(field);
}

// ---------------------------------------------------------------- RDP form

export function parseRdpUsername(raw: string): ParsedUsername {
  checkLength(raw);
  // Everything before the first backslash is the domain; an empty one (leading `\`) means "no domain".
  const backslash = raw.indexOf('\\');
  const domain = backslash < 0 ? '' : raw.slice(0, backslash);
  const serverDomain = domain === '' ? undefined : checkDomain(domain);
  const fields = splitFields(raw.slice(backslash + 1), '%');
  const keyValuePairs = collectPairs(fields.slice(0, -1).map(splitRdpPair));
  const serverUser = checkServerUser(decodeRdpText(fields[fields.length - 1]));
  const parsed: ParsedUsername = { form: 'rdp', keyValuePairs, serverUser };
  if (serverDomain !== undefined) parsed.serverDomain = serverDomain;
  return parsed;
}

export function formatRdpUsername(u: ParsedUsername): string {
  if (u.target !== undefined) {
    throw new UsernameError('target', u.target.host, (q) =>
      `the RDP form cannot carry target ${q}: expected no target (pass it as a key/value pair instead)`);
  }
  const pairs = Object.entries(collectPairs(Object.entries(u.keyValuePairs)));
  const fields = [...pairs.map(([key, value]) => `${key}~${encodeRdpText(value)}`), encodeRdpText(checkServerUser(u.serverUser))];
  const body = fields.join('%');
  // Without a domain, a backslash in the body would be read as the domain separator: an empty domain protects it.
  const prefix = u.serverDomain !== undefined ? `${checkDomain(u.serverDomain)}\\` : body.includes('\\') ? '\\' : '';
  return checkLength(prefix + body);
}

function splitRdpPair(field: string): [string, string] {
  // Keys cannot contain `~`, so the first `~` always ends the key, even when it starts a `~~` in the value.
  const tilde = field.indexOf('~');
  if (tilde < 0) {
    throw new UsernameError('key', redact(field), (q) =>
      `invalid key/value field ${q}: expected key~value before the user (write "%%" for a literal "%")`);
  }
  return [field.slice(0, tilde), decodeRdpText(field.slice(tilde + 1))];
}

/** In the RDP form `~` stands for `=` and `^` for `:`; a doubled `~~`/`^^` is the literal character. */
const RDP_SUBSTITUTES = new Map([['~', '='], ['^', ':']]);
const RDP_CODES = new Map([...RDP_SUBSTITUTES].map(([code, char]) => [char, code]));

function decodeRdpText(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    const substitute = RDP_SUBSTITUTES.get(char);
    if (substitute === undefined) out += char;
    else if (text[i + 1] === char) out += text[i++];
    else out += substitute;
  }
  return out;
}

function encodeRdpText(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    const code = RDP_CODES.get(char);
    if (char === '%' || RDP_SUBSTITUTES.has(char)) out += char + char;
    // `::` as `^^` would read back as `^`: before another `:`/`^` (resp. `=`/`~`) the raw character is written instead.
    else if (code !== undefined) out += text[i + 1] === char || text[i + 1] === code ? char : code;
    else out += char;
  }
  return out;
}

// ---------------------------------------------------------------- targets

export function parseTarget(raw: string): TargetHost {
  if (raw.startsWith('[')) return parseBracketedTarget(raw);
  const colon = raw.indexOf(':');
  if (colon >= 0 && raw.indexOf(':', colon + 1) >= 0) {
    throw new UsernameError('target', raw, (q) =>
      `invalid target ${q}: expected an IPv6 address in brackets, e.g. "[2001:db8::1]" or "[2001:db8::1]:22"`);
  }
  const host = colon < 0 ? raw : raw.slice(0, colon);
  return withPort(parseHost(host, raw), colon < 0 ? undefined : raw.slice(colon + 1), raw);
}

export function formatTarget(t: TargetHost): string {
  const host = t.kind === 'ipv6' ? `[${t.host}]` : t.host;
  const text = t.port === undefined ? host : `${host}:${t.port}`;
  const parsed = parseTarget(text);
  if (parsed.kind !== t.kind || parsed.host !== t.host || parsed.port !== t.port) {
    throw new UsernameError('target', text, (q) =>
      `target ${q} is not in normal form: expected kind "${parsed.kind}" and host "${parsed.host}" as parseTarget returns them`);
  }
  return text;
}

function parseBracketedTarget(raw: string): TargetHost {
  const close = raw.indexOf(']');
  const address = close < 0 ? '' : raw.slice(1, close);
  // Zone IDs name an interface of the gateway itself: not something a remote user should choose.
  if (close < 0 || !isIPv6(address) || address.includes('%')) {
    throw new UsernameError('target', raw, (q) =>
      `invalid IPv6 target ${q}: expected "[address]" or "[address]:port" with a valid IPv6 address and no zone ID`);
  }
  const after = raw.slice(close + 1);
  if (after !== '' && !after.startsWith(':')) {
    throw new UsernameError('target', raw, (q) => `invalid target ${q}: expected nothing or ":port" after "]"`);
  }
  return withPort({ kind: 'ipv6', host: address.toLowerCase() }, after === '' ? undefined : after.slice(1), raw);
}

function parseHost(host: string, raw: string): TargetHost {
  const name = host.endsWith('.') ? host.slice(0, -1) : host;
  // Resolvers read names ending in a number (`010.0.0.1`, `0x7f.1`, `2130706433`) as IPv4 in octal/hex/short forms,
  // which would slip past hostname policies; so such names must be a strict dotted quad.
  if (NUMERIC_LABEL.test(name.slice(name.lastIndexOf('.') + 1))) {
    if (!IPV4.test(host)) {
      throw new UsernameError('target', raw, (q) =>
        `invalid IPv4 address in target ${q}: expected four decimal numbers 0-255 without leading zeros`);
    }
    return { kind: 'ipv4', host };
  }
  if (name.length > MAX_HOSTNAME_LENGTH || !name.split('.').every((label) => HOSTNAME_LABEL.test(label))) {
    throw new UsernameError('target', raw, (q) =>
      `invalid target ${q}: expected ${TARGET_SHAPE}; hostnames are ASCII letters, digits and "-" in dot-separated labels of 1-63 characters, at most 253 in total`);
  }
  return { kind: 'hostname', host: name.toLowerCase() };
}

function withPort(target: TargetHost, port: string | undefined, raw: string): TargetHost {
  if (port === undefined) return target;
  if (!PORT.test(port) || Number(port) > 65535) {
    throw new UsernameError('port', raw, (q) => `invalid port in target ${q}: expected 1-65535`);
  }
  return { ...target, port: Number(port) };
}

// ---------------------------------------------------------------- shared fields

/** Splits on `sep`, scanning left to right: `sepsep` is a literal `sep`, a lone one separates (`a@@@b` is `a@`, `b`). */
function splitFields(raw: string, sep: string): string[] {
  const fields: string[] = [];
  let current = '';
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] !== sep) current += raw[i];
    else if (raw[i + 1] === sep) current += raw[i++];
    else {
      fields.push(current);
      current = '';
    }
  }
  fields.push(current);
  return fields;
}

function collectPairs(pairs: ReadonlyArray<readonly [string, string]>): Record<string, string> {
  const record: Record<string, string> = Object.create(null);
  for (const [key, value] of pairs) {
    checkKey(key);
    if (Object.hasOwn(record, key)) {
      throw new UsernameError(`key "${key}"`, key, (q) => `duplicate key ${q}: expected each key at most once`);
    }
    if (CONTROL.test(value)) {
      throw new UsernameError(`key "${key}"`, key, (q) => `invalid value for key ${q}: expected no control characters`);
    }
    record[key] = value;
  }
  return record;
}

function checkKey(key: string): void {
  if (!KEY.test(key)) {
    throw new UsernameError('key', key, (q) =>
      `invalid key ${q}: expected a letter or "_" followed by at most 63 letters, digits, "_", "." or "-"`);
  }
  // Harmless in our null-prototype record, but a consumer copying pairs with plain assignment would change a prototype.
  if (key === '__proto__') {
    throw new UsernameError('key', key, (q) => `reserved key ${q}: expected any other key name`);
  }
}

function checkServerUser(user: string): string {
  const fail = (expected: string): never => {
    throw new UsernameError('server user', redact(user), (q) => `invalid server user ${q}: expected ${expected}`);
  };
  if (user.length === 0 || user.length > MAX_SERVER_USER_LENGTH) fail(`1-${MAX_SERVER_USER_LENGTH} characters`);
  if (CONTROL.test(user) || WHITESPACE.test(user)) fail('no whitespace or control characters');
  if (user.includes('=')) fail('no "=" (key=value pairs go before the server user)');
  // A leading `@`/`%` would merge with the separator before it: `k=v@@@root` must mean `k=v@` then `root`.
  if (user.startsWith('@') || user.startsWith('%')) fail('no leading "@" or "%"');
  return user;
}

function checkDomain(domain: string): string {
  if (domain.length === 0 || domain.length > MAX_DOMAIN_LENGTH || domain.includes('\\') || CONTROL.test(domain) || WHITESPACE.test(domain)) {
    throw new UsernameError('domain', domain, (q) =>
      `invalid domain ${q}: expected 1-${MAX_DOMAIN_LENGTH} characters without "\\", whitespace or control characters`);
  }
  return domain;
}

function checkLength(username: string): string {
  if (username.length > MAX_USERNAME_LENGTH) {
    throw new UsernameError('username', '', () =>
      `username is ${username.length} characters long: expected at most ${MAX_USERNAME_LENGTH}`);
  }
  return username;
}

/** Hides everything after the first `=`, so a misplaced key=value pair never has its value echoed. */
function redact(field: string): string {
  const equals = field.indexOf('=');
  return equals < 0 ? field : `${field.slice(0, equals)}=***`;
}

function safeFragment(fragment: string): string {
  // One unit past the limit is enough to know truncation is needed.
  const pieces = Array.from(fragment.slice(0, MAX_FRAGMENT_LENGTH + 1), (char) =>
    UNSAFE_FOR_LOGS.test(char) ? escapeCodePoint(char) : char);
  const whole = pieces.join('');
  if (whole.length <= MAX_FRAGMENT_LENGTH) return whole;
  let out = '';
  for (const piece of pieces) {
    if (out.length + piece.length > MAX_FRAGMENT_LENGTH - 1) break;
    out += piece;
  }
  return `${out}…`;
}

function escapeCodePoint(char: string): string {
  const code = char.codePointAt(0) ?? 0;
  return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`;
}
