// The audit journal on a real filesystem: order, persistence across reopen, crash repair, the size bound
// (oldest first, with the lost range reported) and a disk that refuses writes (a full tmpfs).
import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import t, { type Test } from 'tap';
import type { AuditEntry, JournalEntry } from '../../../src/log/events/entry.js';
import { AuditJournal, type JournalReader, type LostRange } from '../../../src/log/events/journal.js';
import { createLogger } from '../../../src/log/logger.js';
import { wellFormed } from '../../../src/log/syslog/text.js';

const log = createLogger('silent');

function entry(i: number, text = `user${i}`): AuditEntry {
  return { time: new Date(1_800_000_000_000 + i), eventId: 'login-failed', severity: 'warning', name: 'gateway login failed', source: 'gateway', fields: { gatewayUser: text, failures: i } };
}

// A tmpfs of `size` on a fresh directory outside tap's fixtures (which it removes before teardowns run).
function smallDisk(t: Test, size: string): string {
  const mountPoint = mkdtempSync(join(tmpdir(), 'gatehouse-small-disk-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', mountPoint]);
  t.teardown(() => {
    execFileSync('umount', ['-l', mountPoint]);
    rmSync(mountPoint, { recursive: true, force: true });
  });
  return mountPoint;
}

function readAll(reader: JournalReader, batch = 1000): { entries: JournalEntry[]; lost: LostRange[] } {
  const entries: JournalEntry[] = [];
  const lost: LostRange[] = [];
  for (;;) {
    const got = reader.read(batch);
    entries.push(...got.entries);
    lost.push(...got.lost);
    if (got.entries.length === 0 && got.lost.length === 0) return { entries, lost };
  }
}

t.test('events come back in order with their numbers, across segments and a reopen', async (t) => {
  const dir = t.testdir();
  const journal = AuditJournal.open(dir, { maxBytes: 1e9, segmentBytes: 4096, log });
  t.teardown(() => journal.close());
  for (let i = 1; i <= 500; i++) journal.append(entry(i));
  t.ok(readdirSync(dir).length > 5, 'several segments');
  const { entries, lost } = readAll(journal.reader(1), 37);
  t.same(entries.map((e) => e.seq), Array.from({ length: 500 }, (_, i) => i + 1));
  t.equal(entries[41]!.fields.gatewayUser, 'user42');
  t.same(lost, []);
  journal.close();

  const again = AuditJournal.open(dir, { maxBytes: 1e9, segmentBytes: 4096, log });
  t.teardown(() => again.close());
  t.equal(again.lastSeq, 500, 'numbering continues after a restart');
  again.append(entry(501));
  t.same(readAll(again.reader(499)).entries.map((e) => e.seq), [499, 500, 501], 'a reader starts anywhere');
});

t.test('a last line cut short by a crash is removed; numbering continues from the last whole line', async (t) => {
  const dir = t.testdir();
  const journal = AuditJournal.open(dir, { maxBytes: 1e9, log });
  for (let i = 1; i <= 3; i++) journal.append(entry(i));
  journal.close();
  const segment = join(dir, readdirSync(dir)[0]!);
  appendFileSync(segment, '{"seq":4,"time":"2027-01-');
  const again = AuditJournal.open(dir, { maxBytes: 1e9, log });
  t.teardown(() => again.close());
  t.equal(again.lastSeq, 3);
  again.append(entry(4));
  t.same(readAll(again.reader(1)).entries.map((e) => e.seq), [1, 2, 3, 4]);
  t.ok(readFileSync(segment, 'utf8').endsWith('}\n'));
});

t.test('a damaged line in the middle shows as a gap, never as a wrong event', async (t) => {
  const dir = t.testdir();
  const journal = AuditJournal.open(dir, { maxBytes: 1e9, log });
  for (let i = 1; i <= 3; i++) journal.append(entry(i));
  journal.close();
  const segment = join(dir, readdirSync(dir)[0]!);
  const lines = readFileSync(segment, 'utf8').split('\n');
  lines[1] = lines[1]!.replace('"eventId":"login-failed"', '"eventId":"no-such-event"');
  writeFileSync(segment, lines.join('\n'));
  const again = AuditJournal.open(dir, { maxBytes: 1e9, log });
  t.teardown(() => again.close());
  t.same(readAll(again.reader(1)).entries.map((e) => e.seq), [1, 3]);
});

t.test('over its size bound the journal deletes its oldest segments; a reader behind learns what it lost', async (t) => {
  const dir = t.testdir();
  const journal = AuditJournal.open(dir, { maxBytes: 20_000, segmentBytes: 5_000, log });
  t.teardown(() => journal.close());
  const slow = journal.reader(1);
  const fast = journal.reader(1);
  for (let i = 1; i <= 400; i++) {
    journal.append(entry(i));
    readAll(fast);
  }
  const total = readdirSync(dir).reduce((sum, name) => sum + statSync(join(dir, name)).size, 0);
  t.ok(total <= 20_000 + 5_000, `disk use ${total} stays near the bound`);
  const { entries, lost } = readAll(slow);
  t.equal(lost.length, 1);
  t.equal(lost[0]!.first, 1);
  t.equal(lost[0]!.reason, 'journal full');
  t.equal(entries[0]!.seq, lost[0]!.last + 1, 'the oldest events went first, and only they');
  t.equal(entries.at(-1)!.seq, 400);
  t.same(entries.map((e) => e.seq), Array.from({ length: entries.length }, (_, i) => lost[0]!.last + 1 + i), 'the rest is complete and in order');
});

t.test('property: any mix of appends, reads and reopens delivers every number once, in order', async (t) => {
  const base = t.testdir();
  const step = fc.oneof(
    fc.record({ op: fc.constant('append' as const), count: fc.integer({ min: 1, max: 40 }), text: fc.string({ unit: 'binary', maxLength: 60 }) }),
    fc.record({ op: fc.constant('read' as const), max: fc.integer({ min: 1, max: 50 }) }),
    fc.record({ op: fc.constant('reopen' as const) }),
  );
  let round = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(step, { maxLength: 30 }), async (steps) => {
      const dir = join(base, `prop-${round++}`);
      mkdirSync(dir, { recursive: true });
      const options = { maxBytes: 1e9, segmentBytes: 2048, log };
      let journal = AuditJournal.open(dir, options);
      let reader = journal.reader(1);
      const seen: number[] = [];
      const texts = new Map<number, string>();
      for (const s of steps) {
        if (s.op === 'append') {
          for (let i = 0; i < s.count; i++) {
            journal.append(entry(journal.lastSeq + 1, s.text));
            texts.set(journal.lastSeq, s.text);
          }
        } else if (s.op === 'read') {
          for (const e of reader.read(s.max).entries) {
            seen.push(e.seq);
            if (e.fields.gatewayUser !== wellFormed(texts.get(e.seq)!)) throw new Error(`event ${e.seq} changed`);
          }
        } else {
          const next = reader.nextSeq;
          reader.close();
          journal.close();
          journal = AuditJournal.open(dir, options);
          reader = journal.reader(next);
        }
      }
      seen.push(...readAll(reader).entries.map((e) => e.seq));
      reader.close();
      journal.close();
      if (seen.join() !== Array.from({ length: texts.size }, (_, i) => i + 1).join()) throw new Error(`read ${seen.join()} of ${texts.size}`);
    }),
    { numRuns: 60 },
  );
});

t.test('disk full: events wait in memory, readers still get them, and they are written once the disk has room', async (t) => {
  const mountPoint = smallDisk(t, '64k');
  const dir = join(mountPoint, 'journal');
  mkdirSync(dir);
  const journal = AuditJournal.open(dir, { maxBytes: 1e9, segmentBytes: 1e9, log });
  t.teardown(() => journal.close());
  const filler = join(mountPoint, 'filler');
  // Fill the filesystem to the last byte.
  try {
    writeFileSync(filler, Buffer.alloc(128 * 1024));
  } catch {
    // ENOSPC: it wrote what fitted
  }
  const reader = journal.reader(1);
  for (let i = 1; i <= 50; i++) journal.append(entry(i));
  t.ok(journal.pendingCount > 0, 'events are held in memory while the disk is full');
  t.same(readAll(reader).entries.map((e) => e.seq), Array.from({ length: 50 }, (_, i) => i + 1), 'readers get them anyway');
  execFileSync('rm', [filler]);
  journal.append(entry(51));
  t.equal(journal.pendingCount, 0, 'written once there is room');
  journal.close();
  const again = AuditJournal.open(dir, { maxBytes: 1e9, log });
  t.teardown(() => again.close());
  const onDisk = readAll(again.reader(1)).entries.map((e) => e.seq);
  t.same(onDisk, Array.from({ length: 51 }, (_, i) => i + 1), 'all 51 events on disk, none torn, none twice');
});

t.test('disk full for long: the memory bound drops the oldest held events and readers learn which', async (t) => {
  const mountPoint = smallDisk(t, '16k');
  try {
    writeFileSync(join(mountPoint, 'filler'), Buffer.alloc(64 * 1024));
  } catch {
    // full
  }
  const journal = AuditJournal.open(mountPoint, { maxBytes: 1e9, maxPending: 10, log });
  t.teardown(() => journal.close());
  const reader = journal.reader(1);
  for (let i = 1; i <= 25; i++) journal.append(entry(i));
  const { entries, lost } = readAll(reader);
  t.same(lost, [{ first: 1, last: 15, reason: 'journal unwritable' }]);
  t.same(entries.map((e) => e.seq), Array.from({ length: 10 }, (_, i) => i + 16));
});
