// Reading a distinguished name (RFC 4514) just enough to name a group: the value of one attribute
// of its first RDN, e.g. "Admins, EMEA" for "cn=Admins\, EMEA,ou=groups,dc=example,dc=com".

/** The value of `type` (case-insensitive) in the first RDN of `dn`, unescaped; undefined if it has none. */
export function firstRdnValue(dn: string, type: string): string | undefined {
  for (const [name, raw] of firstRdn(dn)) {
    if (name.trim().toLowerCase() === type.toLowerCase()) return unescapeValue(raw.trimStart());
  }
  return undefined;
}

/** The `type=value` pairs of the first RDN (`+` joins several), values still escaped. */
function firstRdn(dn: string): [string, string][] {
  const pairs: [string, string][] = [];
  let start = 0;
  for (let i = 0; i <= dn.length; i++) {
    const c = dn[i];
    if (c === '\\') {
      i++; // the escaped character (or the first hex digit) cannot end the pair
    } else if (c === '+' || c === ',' || c === undefined) {
      const pair = dn.slice(start, i);
      const equals = pair.indexOf('=');
      if (equals > 0) pairs.push([pair.slice(0, equals), pair.slice(equals + 1)]);
      if (c !== '+') return pairs;
      start = i + 1;
    }
  }
  return pairs;
}

/** `\,` → `,`; `\c3\a9` → `é` (hex escapes are UTF-8 bytes); unescaped trailing spaces dropped. */
function unescapeValue(raw: string): string {
  const bytes: number[] = [];
  let end = 0; // bytes up to the last character that is not an unescaped space
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] === '\\' && /^[0-9a-f]{2}$/i.test(raw.slice(i + 1, i + 3))) {
      bytes.push(parseInt(raw.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      const escaped = raw[i] === '\\' && i + 1 < raw.length;
      if (escaped) i++;
      const char = String.fromCodePoint(raw.codePointAt(i) as number);
      if (char.length === 2) i++;
      bytes.push(...Buffer.from(char, 'utf8'));
      if (!escaped && char === ' ') continue;
    }
    end = bytes.length;
  }
  return Buffer.from(bytes.slice(0, end)).toString('utf8');
}
