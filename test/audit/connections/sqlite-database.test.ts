// The embedded connection database on a real SQLite file: sessions saved and found again by every
// criterion, text found by substring through the trigram index (and below three characters by scan),
// query syntax characters taken literally, paging and sorting, retention's forgetting, schema checks.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import t, { type Test } from 'tap';
import { SqliteConnectionDatabase, metadataPairs } from '../../../src/audit/connections/sqlite-database.js';
import type { SessionQuery, SessionRow } from '../../../src/audit/connections/session-row.js';

const T0 = Date.UTC(2026, 10, 1);

function row(n: number, extra: Partial<SessionRow> = {}): SessionRow {
  return {
    sessionId: `s${String(n).padStart(4, '0')}`,
    startedAt: T0 + n * 60_000,
    endedAt: T0 + n * 60_000 + 1000 * n,
    gatewayUser: n % 2 === 0 ? 'alice' : 'bob',
    gatewayGroups: ['admins'],
    serverUser: 'root',
    target: `10.0.0.${n % 5}:22`,
    clientIp: '127.0.0.1',
    clientPort: 40000 + n,
    policy: 'ssh',
    channels: 'session=1',
    aaConfig: null,
    verdicts: [],
    additionalMetadata: null,
    result: 'ok',
    reason: null,
    bytesFromClient: n,
    bytesToClient: 10 * n,
    recordings: [`s${String(n).padStart(4, '0')}-1`],
    ...extra,
  };
}

const q = (query: Partial<SessionQuery>): SessionQuery => ({ limit: 100, offset: 0, ...query });
const ids = (db: SqliteConnectionDatabase, query: Partial<SessionQuery>): string[] => db.search(q(query)).sessions.map((s) => s.sessionId);

function opened(t: Test): SqliteConnectionDatabase {
  const db = SqliteConnectionDatabase.open(join(t.testdir(), 'connections.db'));
  t.teardown(() => db.close());
  return db;
}

t.test('sessions are found by user, target, time, result and metadata; sorted and paged', async (t) => {
  const db = opened(t);
  for (let n = 1; n <= 30; n++) {
    db.saveSession(row(n, n === 7 ? { additionalMetadata: JSON.stringify({ ticket: 'INC-7', prio: 2 }), result: 'killed' } : n === 8 ? { additionalMetadata: 'free text' } : {}));
  }
  t.equal(db.search(q({})).total, 30);
  t.same(ids(db, { gatewayUser: 'alice', limit: 3 }), ['s0030', 's0028', 's0026'], 'newest first by default');
  t.same(ids(db, { gatewayUser: 'al*', sort: 'started', descending: false, limit: 2 }), ['s0002', 's0004'], 'glob, ascending');
  t.same(ids(db, { target: '10.0.0.3:22', since: T0 + 10 * 60_000, until: T0 + 20 * 60_000 }), ['s0018', 's0013']);
  t.same(ids(db, { result: ['killed'] }), ['s0007']);
  t.same(ids(db, { metadata: [{ key: 'ticket', value: 'INC-7' }] }), ['s0007']);
  t.same(ids(db, { metadata: [{ key: 'prio', value: '2' }] }), ['s0007'], 'non-string values as JSON text');
  t.same(ids(db, { metadata: [{ key: 'ticket', value: 'INC-*' }] }), ['s0007']);
  t.same(ids(db, { metadata: [{ key: '', value: 'free text' }] }), ['s0008'], 'metadata that is not an object is one value');
  t.same(ids(db, { sort: 'bytes', limit: 1 }), ['s0030']);
  t.same(ids(db, { sort: 'duration', descending: false, limit: 1 }), ['s0001']);
  const page = db.search(q({ limit: 10, offset: 25 }));
  t.equal(page.total, 30);
  t.same(page.sessions.map((s) => s.sessionId), ['s0005', 's0004', 's0003', 's0002', 's0001'], 'the last page');
  const saved = db.search(q({ result: ['killed'] })).sessions[0]!;
  t.same({ ...saved, snippet: undefined }, { ...row(7, { additionalMetadata: JSON.stringify({ ticket: 'INC-7', prio: 2 }), result: 'killed' }), snippet: undefined }, 'a row reads back as saved');
});

t.test('saving a session again replaces it: a running session becomes ended', async (t) => {
  const db = opened(t);
  db.saveSession(row(1, { result: 'running', endedAt: null, additionalMetadata: '{"a":"1"}' }));
  t.same(db.runningSessions().map((s) => s.sessionId), ['s0001']);
  db.saveSession(row(1, { additionalMetadata: '{"a":"2"}' }));
  t.same(db.runningSessions(), []);
  t.same(ids(db, { metadata: [{ key: 'a', value: '1' }] }), [], 'old metadata is gone');
  t.same(ids(db, { metadata: [{ key: 'a', value: '2' }] }), ['s0001']);
});

t.test('text on screen is found by substring, case-insensitively, with a snippet', async (t) => {
  const db = opened(t);
  db.saveSession(row(1));
  db.saveSession(row(2));
  db.addText({ sessionId: 's0001', recording: 's0001-1', kind: 'terminal', text: 'login ok\nroot@db:~# rm -rf /var/tmp/cache\nroot@db:~# exit\n', truncated: false });
  db.addText({ sessionId: 's0002', recording: 's0002-1', kind: 'terminal', text: 'ls -l\nRM -RF is dangerous\n', truncated: false });
  t.same(ids(db, { text: ['rm -rf'] }).sort(), ['s0001', 's0002']);
  t.same(ids(db, { text: ['rm -rf /var'] }), ['s0001']);
  t.same(ids(db, { text: ['rm -rf', 'dangerous'] }), ['s0002'], 'every text must appear');
  t.same(ids(db, { text: ['ls'] }), ['s0002'], 'two characters: scanned, not indexed');
  t.equal(db.search(q({ text: ['/var/tmp'] })).sessions[0]!.snippet, 'root@db:~# rm -rf /var/tmp/cache');
  t.same(ids(db, { text: ['nothing like this'] }), []);
});

t.test('query syntax characters are text to find, never syntax', async (t) => {
  const db = opened(t);
  const nasty = ['"', 'a"b', 'x OR y', 'NEAR(a b)', '*', 'col:val', '(((', "'; DROP TABLE sessions; --", '^start', 'a AND NOT b', '\\', '%_%'];
  nasty.forEach((text, n) => {
    db.saveSession(row(n + 1));
    db.addText({ sessionId: row(n + 1).sessionId, recording: `${row(n + 1).sessionId}-1`, kind: 'terminal', text: `before ${text} after`, truncated: false });
  });
  nasty.forEach((text, n) => t.ok(ids(db, { text: [`before ${text} after`] }).includes(row(n + 1).sessionId), `finds ${JSON.stringify(text)}`));
  t.equal(db.search(q({})).total, nasty.length, 'nothing was dropped');
  fc.assert(
    fc.property(fc.string({ maxLength: 40 }), (text) => {
      const found = db.search(q({ text: [text] }));
      return found.total >= 0;
    }),
  );
  fc.assert(
    fc.property(fc.string({ minLength: 1, maxLength: 30 }), (text) => {
      db.addText({ sessionId: 's0001', recording: 's0001-1', kind: 'terminal', text: `<<${text}>>`, truncated: false });
      return ids(db, { text: [`<<${text}>>`] }).includes('s0001');
    }),
    { numRuns: 200 },
  );
});

t.test('forgetting a recording drops its text and its id from the session', async (t) => {
  const db = opened(t);
  db.saveSession(row(1, { recordings: ['s0001-1', 's0001-2'] }));
  db.addText({ sessionId: 's0001', recording: 's0001-1', kind: 'terminal', text: 'secret plans', truncated: false });
  db.addText({ sessionId: 's0001', recording: 's0001-2', kind: 'files', text: 'open /etc/hosts', truncated: false });
  db.forgetRecordings(['s0001-1', 'nosuch-1']);
  t.same(ids(db, { text: ['secret plans'] }), []);
  t.same(ids(db, { text: ['/etc/hosts'] }), ['s0001']);
  t.same(db.search(q({})).sessions[0]!.recordings, ['s0001-2']);
});

t.test('a file that is not a connection database is refused with a clear error', async (t) => {
  const dir = t.testdir();
  writeFileSync(join(dir, 'garbage.db'), 'this is not sqlite at all, just text padded out to look like a file'.repeat(100));
  t.throws(() => SqliteConnectionDatabase.open(join(dir, 'garbage.db')), /not a database|file is not|malformed/i);
  t.throws(() => SqliteConnectionDatabase.open(join(dir, 'missing.db'), { readOnly: true }), /could not open/i);
  const db = SqliteConnectionDatabase.open(join(dir, 'ok.db'));
  db.close();
  const again = SqliteConnectionDatabase.open(join(dir, 'ok.db'), { readOnly: true });
  t.equal(again.search(q({})).total, 0, 'reopened read-only');
  again.close();
});

t.test('metadataPairs', async (t) => {
  t.same(metadataPairs(null), []);
  t.same(metadataPairs('{"k":"v","n":1,"o":{"a":1}}'), [['k', 'v'], ['n', '1'], ['o', '{"a":1}']]);
  t.same(metadataPairs('[1,2]'), [['', '[1,2]']]);
  t.same(metadataPairs('not json'), [['', 'not json']]);
});
