// Test-only RFC 5424 reader: splits header, structured data and MSG, undoing our escaping.

export interface Parsed {
  header: string[];
  sd: { id: string; params: [string, string][] }[];
  msg: string | undefined;
}

const UNESCAPE: Record<string, string> = { n: '\n', r: '\r', t: '\t' };

/** Reverses `escapeText`: \n \r \t \uXXXX and backslash-char. */
export function unescape(s: string): string {
  return s.replace(/\\(u[0-9a-f]{4}|.)/gs, (_, e: string) => (e.length === 5 ? String.fromCharCode(parseInt(e.slice(1), 16)) : (UNESCAPE[e] ?? e)));
}

export function parseRfc5424(line: string): Parsed {
  const header: string[] = [];
  let i = 0;
  for (let n = 0; n < 6; n++) {
    const sp = line.indexOf(' ', i);
    if (sp === -1) throw new Error('short header');
    header.push(line.slice(i, sp));
    i = sp + 1;
  }
  const sd: Parsed['sd'] = [];
  if (line[i] === '-') i++;
  else {
    while (line[i] === '[') {
      const idEnd = line.slice(i + 1).search(/[ \]]/) + i + 1;
      const el = { id: line.slice(i + 1, idEnd), params: [] as [string, string][] };
      i = idEnd;
      while (line[i] === ' ') {
        const eq = line.indexOf('="', i);
        const name = line.slice(i + 1, eq);
        let j = eq + 2;
        let raw = '';
        while (line[j] !== '"') {
          if (j >= line.length) throw new Error('unterminated value');
          if (line[j] === '\\') raw += line[j++];
          raw += line[j++];
        }
        el.params.push([name, unescape(raw)]);
        i = j + 1;
      }
      if (line[i] !== ']') throw new Error(`expected ] at ${i}`);
      i++;
      sd.push(el);
    }
  }
  if (i === line.length) return { header, sd, msg: undefined };
  if (line[i] !== ' ') throw new Error(`expected SP at ${i}`);
  return { header, sd, msg: unescape(line.slice(i + 1)) };
}
