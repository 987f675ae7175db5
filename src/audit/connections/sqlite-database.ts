// The embedded connection database: SQLite (compiled to WebAssembly, so no native addon) in one file,
// `<data>/connections.db`. Sessions are rows; the terminal text of each recording is a row of
// `recording_text`, indexed by an FTS5 trigram index so any substring of three characters or more is
// found through the index. Synchronous: the gateway runs it in a worker thread (embedded-store.ts), the CLI
// directly.
//
// Concurrency: the WebAssembly build locks the file with a `<file>.lock` directory for each transaction,
// readers included. Other processes wait (busy_timeout). A killed process leaves its lock behind: the
// gateway (the only writer) removes a lock that outlives a reader's transaction when it opens the database,
// and a reader removes one older than any transaction could be.
import { rmSync, statSync } from 'node:fs';
import sqlite from 'node-sqlite3-wasm';
import { buildSearch } from './search-sql.js';
import { SESSION_RESULTS, type RecordingText, type SearchPage, type SessionMatch, type SessionQuery, type SessionResult, type SessionRow } from './session-row.js';

/** The embedded database's file in the data directory. */
export const CONNECTION_DATABASE_FILE = 'connections.db';

const SCHEMA_VERSION = 1;
const BUSY_TIMEOUT_MS = 5000;
/** No transaction of ours holds the lock this long: an older lock directory belongs to a dead process. */
const STALE_LOCK_MS = 30_000;
/** A reader (`gatehouse search`) holds the lock for one query; the opening gateway waits this long for it. */
const READER_GRACE_MS = 3000;

const SCHEMA = `
CREATE TABLE sessions (
  session_id TEXT PRIMARY KEY,
  started_at INTEGER NOT NULL,
  ended_at INTEGER,
  gateway_user TEXT NOT NULL,
  gateway_groups TEXT NOT NULL,
  server_user TEXT,
  target TEXT,
  client_ip TEXT NOT NULL,
  client_port INTEGER NOT NULL,
  policy TEXT NOT NULL,
  channels TEXT NOT NULL,
  aa_config TEXT,
  verdicts TEXT NOT NULL,
  additional_metadata TEXT,
  result TEXT NOT NULL,
  reason TEXT,
  bytes_from_client INTEGER NOT NULL,
  bytes_to_client INTEGER NOT NULL,
  recordings TEXT NOT NULL
);
CREATE INDEX sessions_started ON sessions (started_at);
CREATE INDEX sessions_user ON sessions (gateway_user, started_at);
CREATE INDEX sessions_target ON sessions (target, started_at);
CREATE INDEX sessions_result ON sessions (result, started_at);
CREATE TABLE session_metadata (
  session_id TEXT NOT NULL REFERENCES sessions (session_id) ON DELETE CASCADE,
  key TEXT NOT NULL,
  value TEXT NOT NULL
);
CREATE INDEX session_metadata_pair ON session_metadata (key, value);
CREATE INDEX session_metadata_session ON session_metadata (session_id);
CREATE TABLE recording_text (
  id INTEGER PRIMARY KEY,
  session_id TEXT NOT NULL,
  recording TEXT NOT NULL UNIQUE,
  kind TEXT NOT NULL,
  truncated INTEGER NOT NULL,
  body TEXT NOT NULL
);
CREATE INDEX recording_text_session ON recording_text (session_id);
CREATE VIRTUAL TABLE recording_text_index USING fts5 (body, content = 'recording_text', content_rowid = 'id', tokenize = 'trigram');
CREATE TRIGGER recording_text_added AFTER INSERT ON recording_text BEGIN
  INSERT INTO recording_text_index (rowid, body) VALUES (new.id, new.body);
END;
CREATE TRIGGER recording_text_removed AFTER DELETE ON recording_text BEGIN
  INSERT INTO recording_text_index (recording_text_index, rowid, body) VALUES ('delete', old.id, old.body);
END;
`;

export interface OpenOptions {
  /** The CLI only reads: it never creates the file or changes the schema. */
  readOnly?: boolean;
  /**
   * Filling a new database in one go (a benchmark, a rebuild): no fsync and the rollback journal in memory,
   * a hundred times faster, and a crash meanwhile leaves a file to throw away. Never for the gateway's own.
   */
  bulkLoad?: boolean;
}

export class SqliteConnectionDatabase {
  readonly #db: sqlite.Database;

  private constructor(db: sqlite.Database) {
    this.#db = db;
  }

  /** Opens (creating when allowed) the database at `path`; throws a clear error for a file that is not one of ours. */
  static open(path: string, options: OpenOptions = {}): SqliteConnectionDatabase {
    removeStaleLock(path, options.readOnly ? STALE_LOCK_MS : READER_GRACE_MS);
    const db = new sqlite.Database(path, options.readOnly ? { readOnly: true, fileMustExist: true } : {});
    const database = new SqliteConnectionDatabase(db);
    try {
      db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}; PRAGMA foreign_keys = ON;`);
      if (options.bulkLoad) db.exec('PRAGMA synchronous = OFF; PRAGMA journal_mode = MEMORY;');
      database.#migrate(path, options.readOnly ?? false);
    } catch (err) {
      db.close();
      throw err;
    }
    return database;
  }

  saveSession(row: SessionRow): void {
    this.#transaction(() => {
      this.#db.run(
        `INSERT OR REPLACE INTO sessions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [
          row.sessionId, row.startedAt, row.endedAt, row.gatewayUser, JSON.stringify(row.gatewayGroups), row.serverUser, row.target,
          row.clientIp, row.clientPort, row.policy, row.channels, row.aaConfig, JSON.stringify(row.verdicts), row.additionalMetadata,
          row.result, row.reason, row.bytesFromClient, row.bytesToClient, JSON.stringify(row.recordings),
        ],
      );
      this.#db.run('DELETE FROM session_metadata WHERE session_id = ?', [row.sessionId]);
      for (const [key, value] of metadataPairs(row.additionalMetadata)) {
        this.#db.run('INSERT INTO session_metadata VALUES (?, ?, ?)', [row.sessionId, key, value]);
      }
    });
  }

  /** A recording's text replaces what the index had of it (recovery may index a recording twice). */
  addText(text: RecordingText): void {
    this.#transaction(() => {
      this.#db.run('DELETE FROM recording_text WHERE recording = ?', [text.recording]);
      this.#db.run('INSERT INTO recording_text (session_id, recording, kind, truncated, body) VALUES (?, ?, ?, ?, ?)', [
        text.sessionId, text.recording, text.kind, text.truncated ? 1 : 0, text.text,
      ]);
    });
  }

  forgetRecordings(ids: string[]): void {
    if (ids.length === 0) return;
    this.#transaction(() => {
      for (const id of ids) {
        const owner = this.#db.get('SELECT session_id FROM recording_text WHERE recording = ?', [id]);
        this.#db.run('DELETE FROM recording_text WHERE recording = ?', [id]);
        const sessionId = owner ? String(owner.session_id) : sessionOfRecording(id);
        const session = this.#db.get('SELECT recordings FROM sessions WHERE session_id = ?', [sessionId]);
        if (!session) continue;
        const left = (JSON.parse(String(session.recordings)) as string[]).filter((r) => r !== id);
        this.#db.run('UPDATE sessions SET recordings = ? WHERE session_id = ?', [JSON.stringify(left), sessionId]);
      }
    });
  }

  runningSessions(): SessionRow[] {
    return this.#db.all(`SELECT * FROM sessions WHERE result = 'running' ORDER BY started_at`).map(toRow);
  }

  search(query: SessionQuery): SearchPage {
    const { where, params, order, snippetOf } = buildSearch(query);
    // The count and the page read under one lock, so they agree.
    return this.#transaction(() => {
      const total = Number(this.#db.get(`SELECT count(*) AS n FROM sessions s WHERE ${where}`, params)?.n ?? 0);
      const rows = this.#db.all(`SELECT s.* FROM sessions s WHERE ${where} ORDER BY ${order} LIMIT ? OFFSET ?`, [...params, query.limit, query.offset]);
      const sessions: SessionMatch[] = rows.map((r) => ({ ...toRow(r), snippet: snippetOf ? this.#snippet(String(r.session_id), snippetOf) : null }));
      return { total, offset: query.offset, sessions };
    });
  }

  close(): void {
    if (this.#db.isOpen) this.#db.close();
  }

  /** The line around the first place `needle` appears in the session's text. */
  #snippet(sessionId: string, needle: string): string | null {
    const bodies = this.#db.all('SELECT body FROM recording_text WHERE session_id = ? ORDER BY recording', [sessionId]);
    for (const { body } of bodies) {
      const text = String(body);
      const at = text.toLowerCase().indexOf(needle.toLowerCase());
      if (at < 0) continue;
      const start = Math.max(text.lastIndexOf('\n', at) + 1, at - 60);
      const endOfLine = text.indexOf('\n', at);
      const end = Math.min(endOfLine < 0 ? text.length : endOfLine, at + needle.length + 60);
      return text.slice(start, end);
    }
    return null;
  }

  #transaction<T>(work: () => T): T {
    this.#db.exec('BEGIN');
    try {
      const result = work();
      this.#db.exec('COMMIT');
      return result;
    } catch (err) {
      if (this.#db.inTransaction) this.#db.exec('ROLLBACK');
      throw err;
    }
  }

  #migrate(path: string, readOnly: boolean): void {
    const version = Number(this.#db.get('PRAGMA user_version')?.user_version ?? 0);
    if (version === SCHEMA_VERSION) return;
    const tables = Number(this.#db.get('SELECT count(*) AS n FROM sqlite_schema')?.n ?? 0);
    if (version === 0 && tables === 0 && !readOnly) {
      this.#transaction(() => this.#db.exec(`${SCHEMA} PRAGMA user_version = ${SCHEMA_VERSION};`));
      return;
    }
    if (version === 0 && tables === 0) throw new Error(`${path} is empty: no session has been recorded yet`);
    throw new Error(`${path} has schema version ${version}, this gatehouse reads version ${SCHEMA_VERSION}`);
  }
}

/** A JSON object's top-level keys (values as text); anything else is one pair under the empty key. */
export function metadataPairs(metadata: string | null): [string, string][] {
  if (metadata === null || metadata === '') return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(metadata);
  } catch {
    return [['', metadata]];
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return [['', metadata]];
  return Object.entries(parsed).map(([key, value]) => [key, typeof value === 'string' ? value : JSON.stringify(value)]);
}

/** `<sessionId>-<n>` → `<sessionId>`. */
function sessionOfRecording(id: string): string {
  return id.replace(/-\d+$/, '');
}

function toRow(r: Record<string, unknown>): SessionRow {
  const result = String(r.result) as SessionResult;
  return {
    sessionId: String(r.session_id),
    startedAt: Number(r.started_at),
    endedAt: r.ended_at === null ? null : Number(r.ended_at),
    gatewayUser: String(r.gateway_user),
    gatewayGroups: JSON.parse(String(r.gateway_groups)) as string[],
    serverUser: r.server_user === null ? null : String(r.server_user),
    target: r.target === null ? null : String(r.target),
    clientIp: String(r.client_ip),
    clientPort: Number(r.client_port),
    policy: String(r.policy),
    channels: String(r.channels),
    aaConfig: r.aa_config === null ? null : String(r.aa_config),
    verdicts: JSON.parse(String(r.verdicts)) as string[],
    additionalMetadata: r.additional_metadata === null ? null : String(r.additional_metadata),
    result: SESSION_RESULTS.includes(result) ? result : 'error',
    reason: r.reason === null ? null : String(r.reason),
    bytesFromClient: Number(r.bytes_from_client),
    bytesToClient: Number(r.bytes_to_client),
    recordings: JSON.parse(String(r.recordings)) as string[],
  };
}

/** Waits until `<path>.lock` is gone or older than `staleMs`, then removes it if it is still there. */
function removeStaleLock(path: string, staleMs: number): void {
  const lock = `${path}.lock`;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (;;) {
    let age: number;
    try {
      age = Date.now() - statSync(lock).mtimeMs;
    } catch {
      return;
    }
    if (age > staleMs) {
      rmSync(lock, { recursive: true, force: true });
      return;
    }
    Atomics.wait(pause, 0, 0, 100);
  }
}
