// The gateway applies recording retention at start: a recording older than its policy's days, planted
// before the gateway starts, is deleted with a `recording-deleted` event; a recent one stays.
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { CastWriter } from '../../src/audit/recording/asciicast.js';
import { ChainedFile } from '../../src/audit/recording/chain.js';
import { describeRecordingKey } from '../../src/audit/recording/signing-key.js';
import { freshTestDir, startTestGateway } from './helpers/gateway.js';

const key = describeRecordingKey(generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }) as string);

function plant(dir: string, id: string, ageDays: number): void {
  const file = new ChainedFile(join(dir, id), { id, policy: 'test' });
  const cast = new CastWriter(file, { width: 80, height: 24, startedAt: new Date(), title: id, recordInput: false });
  cast.output(Buffer.from('hello\r\n'));
  cast.end();
  file.close(key);
  const when = new Date(Date.now() - ageDays * 86_400_000);
  for (const name of readdirSync(dir)) if (name.startsWith(`${id}.`)) utimesSync(join(dir, name), when, when);
}

t.test('an expired recording is deleted at start with recording-deleted', async (t) => {
  const dataDir = freshTestDir(t);
  const recordings = join(dataDir, 'recordings');
  mkdirSync(recordings, { recursive: true, mode: 0o700 });
  plant(recordings, 'old-1', 40);
  plant(recordings, 'new-1', 2);
  const gw = await startTestGateway(t, { policy: { recording: { retentionDays: 30 } } }, dataDir);
  await gw.close(); // waits for the retention run started with the gateway
  const deleted = gw.events.filter((e) => e.eventId === 'recording-deleted');
  t.equal(deleted.length, 1);
  t.match(deleted[0], { fields: { recording: 'old-1', policy: 'test', reason: 'expired', ageDays: 40 } });
  t.notOk(existsSync(join(recordings, 'old-1.cast')));
  t.ok(existsSync(join(recordings, 'new-1.sig')));
});
