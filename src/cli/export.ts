// `gatehouse export SESSION [-o FILE]`: one recording as a single asciicast v2 file (the header, then the
// events of every rotated part in order), verified first: a tampered recording is refused unless --force.
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { dataDirectory } from './paths.js';
import { openRecording } from './recordings.js';

const help = `Usage: gatehouse export [--data DIR] [-o FILE] [--force] SESSION

Writes the recording SESSION (a recording id SESSION-N, or a session id with exactly one recording)
from <data>/recordings/ as one asciicast v2 file, header and all events of all its parts, to FILE
(created mode 0600) or standard output. Any asciicast v2 player plays it (asciinema play FILE).
The recording is verified first: a tampered one is refused unless --force; an unfinished one (the
gateway stopped before closing it) is exported with a warning on standard error.
Exit status: 0 exported, 1 tampered, 2 usage (or SESSION has several recordings), 3 not found.
`;

export async function exportCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { data: { type: 'string' }, output: { type: 'string', short: 'o' }, force: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help || positionals.length !== 1) {
    process.stdout.write(help);
    return values.help ? 0 : 2;
  }
  const warn = (line: string): void => void process.stderr.write(`gatehouse: warning: ${line}\n`);
  const recording = await openRecording(dataDirectory(values.data), positionals[0]!, values.force ?? false, warn);
  if ('error' in recording) {
    process.stderr.write(`gatehouse: ${recording.error}\n`);
    return recording.status;
  }
  if (values.output === undefined) process.stdout.write(recording.text);
  else await writeFile(values.output, recording.text, { mode: 0o600 });
  return 0;
}
