// The image build's TypeScript steps: the first boot entry the image ships is one the appliance's updater
// reads back as slot a, blessed, at the built version; the bundle it signs is accepted by the same
// verification the appliance runs, with the image's public key, and refused with another key.
import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { firmwareStatus } from '../../src/system/firmware/updater.js';
import { openBundle } from '../../src/system/firmware/bundle.js';
import { errorOf } from '../helpers/errors.js';

const tool = join(import.meta.dirname, '../../dist/scripts/image/image-tool.js');
const run = promisify(execFile);

t.test('the image ships slot a blessed at its version', async (t) => {
  const dir = t.testdir({ esp: { loader: { entries: {} } } });
  const { stdout } = await run(process.execPath, [tool, 'entry', 'a', '3.4.5']);
  writeFileSync(join(dir, 'esp/loader/entries/a.conf'), stdout);
  writeFileSync(join(dir, 'cmdline'), stdout.split('\n').find((l) => l.startsWith('options '))!.slice('options '.length));
  const status = await firmwareStatus({ cmdlineFile: join(dir, 'cmdline'), esp: join(dir, 'esp'), slotDevice: (slot) => join(dir, slot) });
  t.equal(status.booted, 'a', 'its kernel command line names slot a');
  t.match(status.slots, [{ slot: 'a', version: '3.4.5', blessed: true }, { slot: 'b', entry: undefined }]);
  t.match(stdout, /^options .*\bpanic=5\b/m, 'a kernel that cannot mount its root reboots instead of offering a shell');
  const bad = await errorOf(run(process.execPath, [tool, 'entry', 'c', '3.4.5']));
  t.match(bad.message, /usage: entry a\|b VERSION/);
});

t.test('the signed bundle verifies with the image key only', async (t) => {
  const dir = t.testdir();
  const signer = generateKeyPairSync('ed25519');
  const keyFile = join(dir, 'key.pem');
  writeFileSync(keyFile, signer.privateKey.export({ type: 'pkcs8', format: 'pem' }));
  mkdirSync(join(dir, 'in'));
  for (const name of ['root.erofs', 'vmlinuz', 'initrd.img']) writeFileSync(join(dir, 'in', name), `${name} bytes`);
  const out = join(dir, 'up.bundle');
  await run(process.execPath, [tool, 'bundle', out, '2.0.0', join(dir, 'in/root.erofs'), join(dir, 'in/vmlinuz'), join(dir, 'in/initrd.img'), keyFile]);
  const expect = { arch: 'x86_64' as const, currentVersion: '1.0.0', allowOlder: false };
  const bundle = await openBundle(out, [signer.publicKey], expect);
  t.equal(bundle.manifest.version, '2.0.0');
  await bundle.close();
  const stranger = await errorOf(openBundle(out, [generateKeyPairSync('ed25519').publicKey], expect));
  t.match(stranger.message, /unknown key|bad signature/);
});
