// Events of short-lived processes (the CLI: config commits, seal, plugin installs) reach the running
// gateway's journal through an inbox directory: one file per event, written whole then renamed into place,
// so the gateway never reads half an event; it takes them in name (= time) order and removes them.
// When the gateway is not running they wait there, on disk.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AuditSink } from './audit-log.js';
import { decodeEntry, encodeEntry, EntryFormatError, type AuditEntry } from './entry.js';

export function inboxDirectory(dataDir: string): string {
  return join(dataDir, 'audit', 'inbox');
}

const EVENT_FILE = /^\d{13}-\d+-[0-9a-f]{8}-[0-9a-f]{8}\.json$/;
let counter = 0;

export class InboxSink implements AuditSink {
  constructor(private readonly dataDir: string) {}

  append(entry: AuditEntry): void {
    const dir = inboxDirectory(this.dataDir);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    // Time first so that names sort in order; pid, counter and random part keep names unique across processes.
    const name = `${String(entry.time.getTime()).padStart(13, '0')}-${process.pid}-${(counter++ & 0xffffffff).toString(16).padStart(8, '0')}-${randomBytes(4).toString('hex')}.json`;
    const temporary = join(dir, `.${name}.tmp`);
    writeFileSync(temporary, encodeEntry(entry), { mode: 0o600 });
    renameSync(temporary, join(dir, name));
  }
}

export interface InboxItem {
  file: string;
  entry?: AuditEntry;
  /** Why the file could not be read as an event; it is then reported and removed. */
  problem?: string;
}

/** The waiting events, oldest first. */
export function readInbox(dataDir: string): InboxItem[] {
  const dir = inboxDirectory(dataDir);
  let names: string[];
  try {
    names = readdirSync(dir).filter((name) => EVENT_FILE.test(name)).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return names.map((name) => {
    const file = join(dir, name);
    try {
      return { file, entry: decodeEntry(readFileSync(file, 'utf8')) };
    } catch (err) {
      if (err instanceof EntryFormatError) return { file, problem: err.message };
      throw err;
    }
  });
}

export function removeInboxItem(item: InboxItem): void {
  rmSync(item.file, { force: true });
}

/** Keeps an unreadable event file for inspection under a name the inbox no longer picks up. */
export function rejectInboxItem(item: InboxItem): void {
  renameSync(item.file, `${item.file}.rejected`);
}
