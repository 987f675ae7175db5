// `gatehouse verify SESSION`: checks the recordings of a session (or one recording) against their hash
// chains and the appliance's signature, one line per recording.
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { verifyRecording, type VerifyResult } from '../audit/recording/verify.js';
import { dataDirectory } from './paths.js';
import { recordingsOf } from '../audit/recording/files.js';
import { recordingPublicKey, recordingsDirectory } from './recordings.js';

const help = `Usage: gatehouse verify [--data DIR] SESSION

Checks the recordings of SESSION (a session id, as in the session events, or one recording id
SESSION-N) in <data>/recordings/ against their hash chains and the appliance's recording key:
  ID: intact (N chunks, B bytes)
  ID: tampered: chunk K of FILE: REASON
  ID: unfinished: N chunks verified, B bytes unverified (the gateway stopped before ...)
Exit status: 0 all intact, 1 any tampered, 2 some unfinished (none tampered), 3 not found.
`;

export async function verifyCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { data: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help || positionals.length !== 1) {
    process.stdout.write(help);
    return values.help ? 0 : 2;
  }
  const [session] = positionals as [string];
  const dataDir = dataDirectory(values.data);
  const directory = recordingsDirectory(dataDir);
  const ids = await recordingsOf(directory, session);
  if (ids.length === 0) {
    process.stderr.write(`gatehouse: no recording of "${session}" in ${directory}\n`);
    return 3;
  }
  const publicKey = await recordingPublicKey(dataDir);
  let tampered = false;
  let unfinished = false;
  for (const id of ids) {
    const result = await verifyRecording(join(directory, id), publicKey);
    if (result.status === 'tampered') tampered = true;
    if (result.status === 'unfinished') unfinished = true;
    process.stdout.write(`${id}: ${describe(result)}\n`);
  }
  return tampered ? 1 : unfinished ? 2 : 0;
}

function describe(result: VerifyResult): string {
  switch (result.status) {
    case 'intact':
      return `intact (${result.chunks} chunks, ${result.bytes} bytes)`;
    case 'tampered':
      return `tampered: chunk ${result.chunk} of ${result.file}: ${result.reason}`;
    case 'unfinished':
      return `unfinished: ${result.chunks} chunks verified, ${result.unverifiedTail} bytes unverified (the gateway stopped before the recording was closed)`;
  }
}
