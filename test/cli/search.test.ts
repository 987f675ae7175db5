// `gatehouse search` as a user runs it, on a connection database made in a temp data directory: arguments
// checked with clear errors, pages and JSON, no database yet, and a reader that stops early.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import t from 'tap';
import { CONNECTION_DATABASE_FILE, SqliteConnectionDatabase } from '../../src/audit/connections/sqlite-database.js';
import { searchQuery } from '../../src/cli/search.js';
import { cliPath, gatehouse } from '../helpers/cli.js';

const NOW = Date.UTC(2026, 10, 22, 12);

function fill(dataDir: string, count: number): void {
  const db = SqliteConnectionDatabase.open(join(dataDir, CONNECTION_DATABASE_FILE), { bulkLoad: true });
  for (let n = 0; n < count; n++) {
    db.saveSession({
      sessionId: `s${String(n).padStart(4, '0')}`, startedAt: NOW - n * 60_000, endedAt: NOW - n * 60_000 + 5000, gatewayUser: n % 2 ? 'bob' : 'alice', gatewayGroups: [],
      serverUser: 'root', target: '10.0.0.1:22', clientIp: '127.0.0.1', clientPort: 5000, policy: 'ssh', channels: 'session=1', aaConfig: null, verdicts: [],
      additionalMetadata: n === 3 ? '{"ticket":"INC-3"}' : null, result: 'ok', reason: null, bytesFromClient: 10, bytesToClient: 2048, recordings: [`s${String(n).padStart(4, '0')}-1`],
    });
    db.addText({ sessionId: `s${String(n).padStart(4, '0')}`, recording: `s${String(n).padStart(4, '0')}-1`, kind: 'terminal', text: `# uptime\nsession number ${n}\n`, truncated: false });
  }
  db.close();
}

t.test('the command line becomes a query; bad arguments are named', async (t) => {
  t.match(searchQuery({ since: '2h', until: '2026-11-22T11:30:00Z', limit: '5', page: '3', asc: true }, ['rm -rf'], NOW), {
    since: NOW - 2 * 3_600_000, until: Date.UTC(2026, 10, 22, 11, 30), limit: 5, offset: 10, descending: false, text: ['rm -rf'],
  });
  t.same(searchQuery({ meta: ['k=a=b', '=free'] }, [], NOW).metadata, [{ key: 'k', value: 'a=b' }, { key: '', value: 'free' }]);
  const bad: [Parameters<typeof searchQuery>[0], RegExp][] = [
    [{ limit: '0' }, /--limit must be a whole number/],
    [{ limit: '5000' }, /at most 1000/],
    [{ page: 'x' }, /--page/],
    [{ since: 'yesterday' }, /--since "yesterday": expected an ISO 8601/],
    [{ since: '1h', until: '2h' }, /--since must be before --until/],
    [{ result: 'ok,fine' }, /"fine" is not one of/],
    [{ meta: ['novalue'] }, /expected KEY=VALUE/],
    [{ sort: 'size' }, /--sort: "size"/],
  ];
  for (const [values, message] of bad) t.throws(() => searchQuery(values, [], NOW), message);
  t.throws(() => searchQuery({}, [''], NOW), /empty search text/);
});

t.test('pages of a table, JSON for scripts, exit status 1 when nothing is found', async (t) => {
  const data = t.testdir();
  fill(data, 45);
  const page = await gatehouse(['search', 'session number', '--user', 'alice', '--limit', '10', '--page', '3', '--data', data]);
  t.equal(page.code, 0, page.stderr);
  t.match(page.stdout, /^ID {2,}STARTED/);
  t.match(page.stdout, /\n {4}> session number 40\n/);
  t.match(page.stdout, /sessions 21-23 of 23 \(page 3 of 3\)\n$/);
  const json = await gatehouse(['search', '--json', '--meta', 'ticket=INC-3', '--data', data]);
  t.equal(json.code, 0, json.stderr);
  t.match(JSON.parse(json.stdout), { total: 1, page: 1, limit: 20, sessions: [{ sessionId: 's0003', startedAt: new Date(NOW - 3 * 60_000).toISOString(), additionalMetadata: '{"ticket":"INC-3"}' }] });
  const none = await gatehouse(['search', 'never shown', '--data', data]);
  t.equal(none.code, 1);
  t.equal(none.stdout, 'no sessions found\n');
  const bad = await gatehouse(['search', '--sort', 'size', '--data', data]);
  t.equal(bad.code, 2);
  t.match(bad.stderr, 'gatehouse search: --sort: "size" is not one of started, ended, duration, bytes, user, target');
});

t.test('no database yet: nothing found, and why', async (t) => {
  const run = await gatehouse(['search', '--data', t.testdir()]);
  t.equal(run.code, 1);
  t.match(run.stderr, /no connection database at .*connections\.db yet: no session has been recorded/);
  t.same(JSON.parse((await gatehouse(['search', '--json', '--data', t.testdir()])).stdout), { total: 0, page: 1, limit: 20, sessions: [] });
});

t.test('a reader that stops early ends the command quietly', async (t) => {
  const data = t.testdir();
  fill(data, 400);
  const child = spawn(process.execPath, [cliPath, 'search', '--json', '--limit', '400', '--data', data], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout.once('data', () => child.stdout.destroy());
  const code = await new Promise((resolve) => child.on('close', resolve));
  t.equal(code, 0);
  t.equal(stderr, '', 'no EPIPE stack trace');
});
