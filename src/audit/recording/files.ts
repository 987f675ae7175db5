// Finding a session's recordings in a recordings directory and reading one whole: what the CLI's verify,
// export and replay and the gateway's recovery of interrupted sessions share.
import { readdir, readFile } from 'node:fs/promises';
import { castPath, RECORDING_ID } from './format.js';

/** `session` itself when it names a recording, else every `<session>-<n>`, in channel order. */
export async function recordingsOf(directory: string, session: string): Promise<string[]> {
  if (!RECORDING_ID.test(session)) return [];
  let names: string[];
  try {
    names = await readdir(directory);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const recordingOf = (name: string): string | undefined => /^(.+?)(?:\.\d+)?\.(?:cast|chain|sig)$/.exec(name)?.[1];
  const all = new Set(names.map(recordingOf).filter((id) => id !== undefined));
  if (all.has(session)) return [session];
  const channel = (id: string): number | undefined => {
    const n = id.startsWith(`${session}-`) ? id.slice(session.length + 1) : '';
    return /^[1-9]\d*$/.test(n) ? Number(n) : undefined;
  };
  return [...all].filter((id) => channel(id) !== undefined).sort((a, b) => channel(a)! - channel(b)!);
}

/** All cast parts of the recording at `base`, concatenated: `<base>.cast`, `<base>.1.cast`, … */
export async function readCastParts(base: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (let part = 0; ; part++) {
    try {
      parts.push(await readFile(castPath(base, part)));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' && part > 0) return Buffer.concat(parts);
      throw err;
    }
  }
}

