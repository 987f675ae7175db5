// What `verify`, `export` and `replay` share: finding the recordings a SESSION argument names in
// <data>/recordings/, the appliance's recording public key, and one recording opened after verification.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { KeyObject } from 'node:crypto';
import { readCastParts, recordingsOf } from '../audit/recording/files.js';
import { describeRecordingKey, RECORDING_KEY_FILE } from '../audit/recording/signing-key.js';
import { verifyRecording } from '../audit/recording/verify.js';

export const recordingsDirectory = (dataDir: string): string => join(dataDir, 'recordings');

/** The public half of `<data>/recording_ed25519_key`. */
export async function recordingPublicKey(dataDir: string): Promise<KeyObject> {
  return describeRecordingKey(await readFile(join(dataDir, RECORDING_KEY_FILE), 'utf8')).publicKey;
}

/** One recording ready to export or play, or why not, with the exit status to give. */
export type OpenedRecording = { id: string; text: Buffer } | { error: string; status: number };

/**
 * The single recording `session` names, verified first: a tampered one is refused unless `force`, an
 * unfinished one is opened with a warning (and without a torn last line). Warnings go to `warn`.
 */
export async function openRecording(dataDir: string, session: string, force: boolean, warn: (line: string) => void): Promise<OpenedRecording> {
  const directory = recordingsDirectory(dataDir);
  const ids = await recordingsOf(directory, session);
  if (ids.length === 0) return { error: `no recording of "${session}" in ${directory}`, status: 3 };
  if (ids.length > 1) return { error: `"${session}" has ${ids.length} recordings (${ids.join(', ')}): name one of them`, status: 2 };
  const [id] = ids as [string];
  const base = join(directory, id);
  const result = await verifyRecording(base, await recordingPublicKey(dataDir));
  if (result.status === 'tampered') {
    const where = `chunk ${result.chunk} of ${result.file}: ${result.reason}`;
    if (!force) return { error: `${id} is tampered (${where}); --force to use it anyway`, status: 1 };
    warn(`${id} is tampered (${where}); used anyway (--force)`);
  }
  let text = await readCastParts(base);
  if (result.status === 'unfinished') {
    warn(`${id} is unfinished: ${result.unverifiedTail} bytes after the last verified chunk (the gateway stopped before the recording was closed)`);
    const end = text.lastIndexOf(0x0a) + 1;
    if (end < text.length) {
      warn(`${id}: dropped a torn last line of ${text.length - end} bytes`);
      text = text.subarray(0, end);
    }
  }
  return { id, text };
}


