// The appliance's keys: generated readable every time, kept once made.
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import t from 'tap';
import { generateEd25519Key, loadOrCreateKey } from '../../src/gateway/ssh/host-key.js';

t.test('every generated ed25519 key is readable (ssh2 drops a leading zero byte of 1 public key in 256)', async (t) => {
  let unreadable = 0;
  for (let i = 0; i < 2000; i++) if (ssh2.utils.parseKey(generateEd25519Key({ comment: 'k' }).private) instanceof Error) unreadable++;
  t.equal(unreadable, 0, '2,000 keys, all readable');
});

t.test('the key is created once, mode 0600, and loaded afterwards', async (t) => {
  const file = join(t.testdir(), 'ssh_host_ed25519_key');
  const made = await loadOrCreateKey(file, 'gatehouse host key');
  t.ok(made.created);
  const again = await loadOrCreateKey(file, 'gatehouse host key');
  t.notOk(again.created);
  t.equal(again.fingerprint, made.fingerprint);
  t.match(await readFile(file, 'utf8'), /^-----BEGIN OPENSSH PRIVATE KEY-----/);
  t.equal((await stat(file)).mode & 0o777, 0o600);
});
