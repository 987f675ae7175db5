// What the connection database keeps of one session and what a search asks of it: the contract every
// storage engine (the embedded SQLite default, PostgreSQL for a fleet) implements.

/**
 * How a session ended. `running` while it lasts; `interrupted` when the gateway stopped (crash, kill -9)
 * before the session's end was written; `unauthenticated` never reaches the database.
 */
export const SESSION_RESULTS = ['running', 'ok', 'refused', 'error', 'killed', 'interrupted'] as const;
export type SessionResult = (typeof SESSION_RESULTS)[number];

/** One authenticated client connection. Times are milliseconds since the epoch. */
export interface SessionRow {
  sessionId: string;
  startedAt: number;
  endedAt: number | null;
  gatewayUser: string;
  gatewayGroups: string[];
  serverUser: string | null;
  target: string | null;
  clientIp: string;
  clientPort: number;
  policy: string;
  /** "session=1,exec=2", as in session-ended. */
  channels: string;
  /** The AA plugin configuration that decided the session, and each hook's verdict ("authenticate:ACCEPT"). */
  aaConfig: string | null;
  verdicts: string[];
  /** The plugin's `additional_metadata` as it returned it; a JSON object's top-level keys are searchable. */
  additionalMetadata: string | null;
  result: SessionResult;
  reason: string | null;
  bytesFromClient: number;
  bytesToClient: number;
  /** Recording ids (`<sessionId>-<n>`), in channel order. */
  recordings: string[];
}

/** What a recording contributes to the text index: its terminal text, or its file-operation log. */
export interface RecordingText {
  sessionId: string;
  recording: string;
  kind: 'terminal' | 'files';
  text: string;
  /** The text hit the per-recording cap and was cut. */
  truncated: boolean;
}

export const SORT_KEYS = ['started', 'ended', 'duration', 'bytes', 'user', 'target'] as const;
export type SortKey = (typeof SORT_KEYS)[number];

/** Every criterion narrows the result (AND); a list criterion needs all its items. */
export interface SessionQuery {
  /** Gateway user, server user, target, client IP, policy: exact, or a glob with `*` and `?`. */
  gatewayUser?: string;
  serverUser?: string;
  target?: string;
  clientIp?: string;
  policy?: string;
  /** Started at or after / before (ms since the epoch). */
  since?: number;
  until?: number;
  result?: SessionResult[];
  /** `additional_metadata` key = value pairs: a JSON object's top-level key, or the whole text under key "". */
  metadata?: { key: string; value: string }[];
  /** Text that appeared on screen (or in the file log), case-insensitive, taken literally: no query syntax. */
  text?: string[];
  sort?: SortKey;
  descending?: boolean;
  limit: number;
  offset: number;
}

/** One result: the session and, for a text search, a line where the first text appeared. */
export interface SessionMatch extends SessionRow {
  snippet: string | null;
}

export interface SearchPage {
  total: number;
  offset: number;
  sessions: SessionMatch[];
}

/** The connection database, wherever it lives. Writes from one gateway apply in the order they were made. */
export interface ConnectionStore {
  /** Inserts or replaces the session's row (at login, again at the end). */
  saveSession(row: SessionRow): Promise<void>;
  addText(text: RecordingText): Promise<void>;
  /** Retention deleted these recordings: their text leaves the index and their ids leave their sessions. */
  forgetRecordings(ids: string[]): Promise<void>;
  /** Sessions still `running` (a gateway that stopped without ending them). */
  runningSessions(): Promise<SessionRow[]>;
  search(query: SessionQuery): Promise<SearchPage>;
  close(): Promise<void>;
}
