// The recording signing key: created once (mode 0600, PKCS#8 PEM), loaded afterwards, fingerprinted as OpenSSH does.
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { describeKey, generateEd25519Key } from '../../../src/gateway/ssh/host-key.js';
import { loadOrCreateRecordingKey, RECORDING_KEY_FILE, recordingKeyFingerprint } from '../../../src/audit/recording/signing-key.js';

t.test('the key is created once, mode 0600, and loaded afterwards', async (t) => {
  const dir = t.testdir();
  const made = await loadOrCreateRecordingKey(dir);
  t.ok(made.created);
  const again = await loadOrCreateRecordingKey(dir);
  t.notOk(again.created);
  t.equal(again.fingerprint, made.fingerprint);
  t.match(again.fingerprint, /^SHA256:[A-Za-z0-9+/]{43}$/);
  t.equal(again.publicPem, made.publicPem);
  const file = join(dir, RECORDING_KEY_FILE);
  t.match(readFileSync(file, 'utf8'), /^-----BEGIN PRIVATE KEY-----/);
  t.equal(statSync(file).mode & 0o777, 0o600);
});

t.test('the fingerprint is the one OpenSSH shows for the same key', async (t) => {
  for (let i = 0; i < 20; i++) {
    const ssh = describeKey(generateEd25519Key().private);
    const blob = Buffer.from(ssh.publicLine.split(' ')[1], 'base64');
    const publicKey = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: blob.subarray(-32).toString('base64url') }, format: 'jwk' });
    t.equal(recordingKeyFingerprint(publicKey), ssh.fingerprint);
  }
  t.throws(() => recordingKeyFingerprint(generateKeyPairSync('x25519').publicKey), /not ed25519/);
});

t.test('an unreadable key file is an error, never replaced', async (t) => {
  const dir = t.testdir({ [RECORDING_KEY_FILE]: 'not a key' });
  await t.rejects(loadOrCreateRecordingKey(dir), /unreadable recording signing key/);
  t.equal(readFileSync(join(dir, RECORDING_KEY_FILE), 'utf8'), 'not a key');
});
