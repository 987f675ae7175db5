// Text sanitising shared by every syslog format: valid UTF-8 out, and one event = one line.

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Replaces lone UTF-16 surrogates (what undecodable bytes become) by U+FFFD, so the text encodes as valid UTF-8. */
export function wellFormed(s: string): string {
  return s.replace(LONE_SURROGATE, '\uFFFD');
}

// C0, DEL, C1 and the Unicode line/paragraph separators: anything a reader may take as a line break or a
// terminal may act on.
const CONTROLS = '\\x00-\\x1f\\x7f-\\x9f\\u2028\\u2029';
const CONTROL = new RegExp(`[${CONTROLS}]`);
const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** A global pattern matching the given characters plus every control character, for `escapeText`. */
export function escapeSet(chars: string): RegExp {
  return new RegExp(`[${chars.replace(/[\\\]^-]/g, '\\$&')}${CONTROLS}]`, 'g');
}

/**
 * JSON-style escaping: control characters become \n, \r, \t or \uXXXX; the other characters of `set` get a
 * backslash before them. `set` must contain the backslash so that the result reads back unambiguously.
 */
export function escapeText(s: string, set: RegExp): string {
  return wellFormed(s).replace(set, (c) =>
    CONTROL.test(c) ? (NAMED[c] ?? '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0')) : '\\' + c,
  );
}
