// Sessions the database still calls `running` when the gateway starts: the gateway stopped (crash, kill -9,
// power cut) before it could write their end. Each becomes `interrupted`, with the recordings found on disk
// and their text indexed from the files: the recordings are unfinished but readable, and stay searchable.
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { castPath } from '../recording/format.js';
import { readCastParts, recordingsOf } from '../recording/files.js';
import { parseCast } from '../recording/player.js';
import type { ConnectionStore } from './session-row.js';
import { TerminalText } from './terminal-text.js';

export async function recoverInterruptedSessions(store: ConnectionStore, recordingsDirectory: string, maxIndexedChars: number): Promise<string[]> {
  const running = await store.runningSessions();
  for (const session of running) {
    const recordings = await recordingsOf(recordingsDirectory, session.sessionId);
    let endedAt: number | null = null;
    for (const id of recordings) {
      const base = join(recordingsDirectory, id);
      const text = await terminalTextOf(base, maxIndexedChars);
      if (text) await store.addText({ sessionId: session.sessionId, recording: id, kind: 'terminal', ...text });
      const written = await stat(castPath(base, 0)).then((s) => s.mtimeMs, () => null);
      if (written !== null) endedAt = Math.max(endedAt ?? 0, Math.floor(written));
    }
    await store.saveSession({ ...session, result: 'interrupted', endedAt, reason: 'the gateway stopped before the session ended', recordings });
  }
  return running.map((s) => s.sessionId);
}

/** The output text of the recording at `base`, its torn last line left out; undefined when unreadable. */
async function terminalTextOf(base: string, maxChars: number): Promise<{ text: string; truncated: boolean } | undefined> {
  let bytes: Buffer;
  try {
    bytes = await readCastParts(base);
  } catch {
    return undefined;
  }
  let cast;
  try {
    cast = parseCast(bytes.toString('utf8', 0, bytes.lastIndexOf(0x0a) + 1));
  } catch {
    return undefined;
  }
  const text = new TerminalText(maxChars);
  for (const event of cast.events) if (event.code === 'o') text.write(Buffer.from(event.data, 'utf8'));
  return { text: text.text(), truncated: text.truncated };
}
