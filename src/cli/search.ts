// `gatehouse search`: finds recorded sessions in the connection database (<data>/connections.db) by who,
// where, when, how they ended, the AA plugin's metadata and the text on screen; pages of a table, or JSON.
// It reads the file directly, so it works whether or not the gateway is running.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SESSION_RESULTS, SORT_KEYS, type SearchPage, type SessionQuery, type SessionResult, type SortKey } from '../audit/connections/session-row.js';
import { CONNECTION_DATABASE_FILE, SqliteConnectionDatabase } from '../audit/connections/sqlite-database.js';
import { dataDirectory } from './paths.js';
import { byteCount, duration, textTable } from './table.js';

const MAX_LIMIT = 1000;

const help = `Usage: gatehouse search [TEXT ...] [options]

Finds sessions in the connection database. Every criterion narrows the result.

  TEXT, --text TEXT      text that appeared on the terminal (or in an sftp file log): found anywhere,
                         case-insensitive, taken literally ("rm -rf", quotes, * and - are just text);
                         repeat for sessions that show all of them
  --user NAME            gateway user          --server-user NAME   account on the target
  --target HOST:PORT     target                --client-ip IP       where the user came from
  --policy NAME          connection policy     (these five take * and ? as wildcards)
  --since WHEN           started at or after   --until WHEN         started before
                         WHEN: an ISO 8601 date or time (2026-11-22, 2026-11-22T10:00Z) or an age
                         (90s, 30m, 12h, 7d)
  --result R[,R...]      ${SESSION_RESULTS.join(', ')}
  --meta KEY=VALUE       the AA plugin's additional_metadata: a JSON object's key (VALUE may use *);
                         repeatable. Metadata that is not a JSON object is matched with --meta =VALUE
  --sort KEY             ${SORT_KEYS.join(', ')} (default started), newest/largest first
  --asc                  ascending instead
  --limit N              sessions per page (default 20, at most ${MAX_LIMIT})
  --page N               which page (default 1)
  --json                 one JSON object: total, page, limit and the sessions with every field
  --data DIR             the data directory (default: GATEHOUSE_DATA or ./var)

Exit status: 0 sessions found, 1 none found, 2 bad arguments.
`;

export async function searchCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      text: { type: 'string', multiple: true },
      user: { type: 'string' },
      'server-user': { type: 'string' },
      target: { type: 'string' },
      'client-ip': { type: 'string' },
      policy: { type: 'string' },
      since: { type: 'string' },
      until: { type: 'string' },
      result: { type: 'string' },
      meta: { type: 'string', multiple: true },
      sort: { type: 'string' },
      asc: { type: 'boolean' },
      limit: { type: 'string' },
      page: { type: 'string' },
      json: { type: 'boolean' },
      data: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(help);
    return 0;
  }
  let query: SessionQuery;
  try {
    query = searchQuery(values, positionals, Date.now());
  } catch (err) {
    process.stderr.write(`gatehouse search: ${(err as Error).message}\n`);
    return 2;
  }
  const path = join(dataDirectory(values.data), CONNECTION_DATABASE_FILE);
  const page = existsSync(path) ? searchIn(path, query) : { total: 0, offset: query.offset, sessions: [] };
  if (values.json) {
    process.stdout.write(`${JSON.stringify(jsonPage(page, query), null, 2)}\n`);
  } else {
    process.stdout.write(table(page, query, Date.now()));
    if (!existsSync(path)) process.stderr.write(`gatehouse search: no connection database at ${path} yet: no session has been recorded\n`);
  }
  return page.sessions.length > 0 ? 0 : 1;
}

function searchIn(path: string, query: SessionQuery): SearchPage {
  const db = SqliteConnectionDatabase.open(path, { readOnly: true });
  try {
    return db.search(query);
  } finally {
    db.close();
  }
}

type Values = Partial<Record<'user' | 'server-user' | 'target' | 'client-ip' | 'policy' | 'since' | 'until' | 'result' | 'sort' | 'limit' | 'page', string>> & {
  text?: string[];
  meta?: string[];
  asc?: boolean;
};

/** The command line as a query; throws a message naming the bad argument. */
export function searchQuery(values: Values, positionals: string[], now: number): SessionQuery {
  const limit = count(values.limit, 'limit', 20);
  if (limit > MAX_LIMIT) throw new Error(`--limit is at most ${MAX_LIMIT}`);
  const page = count(values.page, 'page', 1);
  const query: SessionQuery = { limit, offset: (page - 1) * limit, descending: !values.asc };
  const text = [...positionals, ...(values.text ?? [])];
  if (text.some((t) => t.length === 0)) throw new Error('empty search text');
  if (text.length > 0) query.text = text;
  if (values.user !== undefined) query.gatewayUser = values.user;
  if (values['server-user'] !== undefined) query.serverUser = values['server-user'];
  if (values.target !== undefined) query.target = values.target;
  if (values['client-ip'] !== undefined) query.clientIp = values['client-ip'];
  if (values.policy !== undefined) query.policy = values.policy;
  if (values.since !== undefined) query.since = when(values.since, now, 'since');
  if (values.until !== undefined) query.until = when(values.until, now, 'until');
  if (query.since !== undefined && query.until !== undefined && query.since >= query.until) throw new Error('--since must be before --until');
  if (values.result !== undefined) {
    const results = values.result.split(',').map((r) => r.trim());
    const unknown = results.find((r) => !(SESSION_RESULTS as readonly string[]).includes(r));
    if (unknown !== undefined) throw new Error(`--result: "${unknown.slice(0, 40)}" is not one of ${SESSION_RESULTS.join(', ')}`);
    query.result = results as SessionResult[];
  }
  if (values.meta) {
    query.metadata = values.meta.map((pair) => {
      const at = pair.indexOf('=');
      if (at < 0) throw new Error(`--meta "${pair.slice(0, 40)}": expected KEY=VALUE`);
      return { key: pair.slice(0, at), value: pair.slice(at + 1) };
    });
  }
  if (values.sort !== undefined) {
    if (!(SORT_KEYS as readonly string[]).includes(values.sort)) throw new Error(`--sort: "${values.sort.slice(0, 40)}" is not one of ${SORT_KEYS.join(', ')}`);
    query.sort = values.sort as SortKey;
  }
  return query;
}

function count(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^[1-9]\d{0,6}$/.test(value)) throw new Error(`--${name} must be a whole number from 1`);
  return Number(value);
}

const AGE_UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** An ISO 8601 date/time, or an age (`30m`) counted back from now. */
function when(value: string, now: number, name: string): number {
  const age = /^(\d{1,9})([smhd])$/.exec(value);
  if (age) return now - Number(age[1]) * AGE_UNITS[age[2]!]!;
  const time = /^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(value) ? Date.parse(value) : NaN;
  if (Number.isNaN(time)) throw new Error(`--${name} "${value.slice(0, 40)}": expected an ISO 8601 date or time, or an age such as 30m, 12h, 7d`);
  return time;
}

function jsonPage(page: SearchPage, query: SessionQuery): unknown {
  return {
    total: page.total,
    page: query.offset / query.limit + 1,
    limit: query.limit,
    sessions: page.sessions.map((s) => ({
      ...s,
      startedAt: new Date(s.startedAt).toISOString(),
      endedAt: s.endedAt === null ? null : new Date(s.endedAt).toISOString(),
    })),
  };
}

function table(page: SearchPage, query: SessionQuery, now: number): string {
  if (page.sessions.length === 0) return page.total > 0 ? `no sessions on this page (${page.total} in all)\n` : 'no sessions found\n';
  const rows = page.sessions.map((s) => [
    s.sessionId,
    new Date(s.startedAt).toISOString().replace(/\.\d+Z$/, 'Z'),
    duration((s.endedAt ?? now) - s.startedAt),
    s.gatewayUser,
    s.target ? `${s.serverUser ?? '-'}@${s.target}` : (s.serverUser ?? '-'),
    s.clientIp,
    s.result,
    byteCount(s.bytesFromClient + s.bytesToClient),
    String(s.recordings.length),
  ]);
  const lines = textTable(['ID', 'STARTED', 'DURATION', 'USER', 'SERVER', 'CLIENT', 'RESULT', 'BYTES', 'REC'], rows).split('\n');
  const out = [lines[0]];
  page.sessions.forEach((s, i) => {
    out.push(lines[i + 1]);
    if (s.snippet !== null) out.push(`    > ${s.snippet.replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ')}`);
  });
  const first = page.offset + 1;
  const last = page.offset + page.sessions.length;
  const pages = Math.ceil(page.total / query.limit);
  const current = page.offset / query.limit + 1;
  out.push(`sessions ${first}-${last} of ${page.total} (page ${current} of ${pages}${current < pages ? `; --page ${current + 1} for more` : ''})`);
  return `${out.join('\n')}\n`;
}
