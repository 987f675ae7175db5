// `gatehouse firmware` on a layout of plain files (ESP directory, slot "devices", a kernel command line):
// a signed bundle is verified and written to the inactive slot with a one-try entry; an unknown key, a
// sealed appliance (remote) and --force from remote are refused with nothing written; the health check
// blesses the booted slot only when the gateway answers; rollback makes the other slot boot next.
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { writeBundle } from '../../src/system/firmware/bundle.js';
import { GATEHOUSE_VERSION } from '../../src/cli/version.js';
import { openConfigStore } from '../../src/cli/stores.js';
import { gatehouse, startServe } from '../helpers/cli.js';

/** The console wizard's mark: a console administrator password. */
async function setUp(dataDir: string): Promise<void> {
  const store = await openConfigStore(dataDir);
  const config = store.current().config;
  await store.commit({ origin: 'console', author: 'test', message: 'set up', config: { ...config, console: { ...config.console, adminPasswordHash: '$scrypt$N=16384,r=8,p=1$c2FsdA$aGFzaA' } } });
}

function nextVersion(version: string): string {
  const [major, minor, patch] = version.split('.').map(Number) as [number, number, number];
  return `${major}.${minor}.${patch + 1}`;
}

async function appliance(t: Test) {
  const dir = t.testdir({ esp: { loader: { entries: { 'a.conf': 'title old\nversion 0.0.1\n' } } }, slots: { 'root-a': 'OLD ROOT A', 'root-b': 'OLD ROOT B' }, keys: {}, data: {}, files: {} });
  writeFileSync(join(dir, 'cmdline'), 'root=PARTLABEL=root-a ro console=ttyS0,115200 appliance.slot=a panic=5\n');
  const signer = generateKeyPairSync('ed25519');
  writeFileSync(join(dir, 'keys', 'release.pem'), signer.publicKey.export({ type: 'spki', format: 'pem' }));
  const files = { 'root.erofs': join(dir, 'files', 'root.erofs'), vmlinuz: join(dir, 'files', 'vmlinuz'), 'initrd.img': join(dir, 'files', 'initrd.img') };
  writeFileSync(files['root.erofs'], Buffer.alloc(3 * 1024 * 1024 + 17, 0x5a));
  writeFileSync(files.vmlinuz, 'KERNEL');
  writeFileSync(files['initrd.img'], 'INITRD');
  const bundle = join(dir, 'update.bundle');
  await writeBundle(bundle, { version: nextVersion(GATEHOUSE_VERSION), arch: process.arch === 'arm64' ? 'aarch64' : 'x86_64', files }, signer.privateKey);
  const layout = ['--esp', join(dir, 'esp'), '--cmdline', join(dir, 'cmdline'), '--slots', join(dir, 'slots'), '--trusted-keys', join(dir, 'keys'), '--data', join(dir, 'data')];
  return { dir, bundle, layout, files };
}

t.test('upgrade writes the inactive slot and a one-try entry; status shows it', async (t) => {
  const a = await appliance(t);
  const run = await gatehouse(['firmware', 'upgrade', a.bundle, ...a.layout], { GATEHOUSE_ORIGIN: 'remote' });
  t.equal(run.code, 0, run.stderr);
  t.match(run.stdout, /verified: signed by SHA256:/);
  t.match(run.stdout, new RegExp(`version ${nextVersion(GATEHOUSE_VERSION).replaceAll('.', '\\.')} written to slot b`));
  t.same(readFileSync(join(a.dir, 'slots', 'root-b')), readFileSync(a.files['root.erofs']), 'slot b holds the new root');
  t.equal(readFileSync(join(a.dir, 'slots', 'root-a'), 'utf8'), 'OLD ROOT A', 'the booted slot is untouched');
  t.same(readdirSync(join(a.dir, 'esp', 'loader', 'entries')).sort(), ['a.conf', 'b+1.conf']);
  const status = await gatehouse(['firmware', 'status', ...a.layout]);
  t.equal(status.code, 0, status.stderr);
  t.match(status.stdout, /slot a \(booted\): .*blessed/);
  t.match(status.stdout, /slot b: .*on trial \(1 tries left/);
});

t.test('refused before anything is written: unknown key, sealed from remote, --force from remote', async (t) => {
  const a = await appliance(t);
  const stranger = generateKeyPairSync('ed25519');
  writeFileSync(join(a.dir, 'keys', 'release.pem'), stranger.publicKey.export({ type: 'spki', format: 'pem' }));
  const unknown = await gatehouse(['firmware', 'upgrade', a.bundle, ...a.layout]);
  t.equal(unknown.code, 1);
  t.match(unknown.stderr, /signature|key/i);
  t.equal(readFileSync(join(a.dir, 'slots', 'root-b'), 'utf8'), 'OLD ROOT B', 'nothing written');
  t.notOk(existsSync(join(a.dir, 'esp', 'b')));

  const sealed = await gatehouse(['seal'], { GATEHOUSE_DATA: join(a.dir, 'data'), GATEHOUSE_ORIGIN: 'console' });
  t.equal(sealed.code, 0, sealed.stderr);
  const remote = await gatehouse(['firmware', 'upgrade', a.bundle, ...a.layout], { GATEHOUSE_ORIGIN: 'remote' });
  t.equal(remote.code, 1);
  t.match(remote.stderr, 'the appliance is sealed: firmware upgrade is allowed from the console only');
  const forced = await gatehouse(['firmware', 'upgrade', a.bundle, '--force', ...a.layout], { GATEHOUSE_ORIGIN: 'console' });
  t.equal(forced.code, 1, 'still the unknown key');
  const remoteForce = await gatehouse(['unseal'], { GATEHOUSE_DATA: join(a.dir, 'data'), GATEHOUSE_ORIGIN: 'console' });
  t.equal(remoteForce.code, 0);
  const force = await gatehouse(['firmware', 'upgrade', a.bundle, '--force', ...a.layout], { GATEHOUSE_ORIGIN: 'remote' });
  t.equal(force.code, 1);
  t.match(force.stderr, '--force (an older or equal version) is allowed from the console only');
  t.equal(readFileSync(join(a.dir, 'slots', 'root-b'), 'utf8'), 'OLD ROOT B', 'still nothing written');
});

t.test('health blesses the booted slot only when the gateway answers; rollback picks the other slot', async (t) => {
  const a = await appliance(t);
  t.equal((await gatehouse(['firmware', 'upgrade', a.bundle, ...a.layout])).code, 0);
  // Booted into b on trial.
  writeFileSync(join(a.dir, 'cmdline'), 'root=PARTLABEL=root-b ro appliance.slot=b\n');
  const entries = join(a.dir, 'esp', 'loader', 'entries');
  const fresh = await gatehouse(['firmware', 'health', ...a.layout]);
  t.equal(fresh.code, 0, 'not set up yet: the gateway waits for the wizard, so it is not asked');
  t.same(readdirSync(entries).sort(), ['a.conf', 'b.conf'], 'blessed');
  renameSync(join(entries, 'b.conf'), join(entries, 'b+1.conf'));
  await setUp(join(a.dir, 'data'));
  const sick = await gatehouse(['firmware', 'health', ...a.layout]);
  t.equal(sick.code, 1);
  t.match(sick.stderr, /the gateway does not answer/);
  t.ok(existsSync(join(entries, 'b+1.conf')), 'not blessed');
  // --wait keeps asking: the gateway starts after the check did.
  const waiting = gatehouse(['firmware', 'health', '--wait', '60', ...a.layout]);
  const serve = startServe(t, { GATEHOUSE_DATA: join(a.dir, 'data') });
  await serve.waitFor('gateway started', 30_000);
  const healthy = await waiting;
  t.equal(healthy.code, 0, healthy.stderr);
  t.same(readdirSync(entries).sort(), ['a.conf', 'b.conf'], 'blessed');
  await serve.stop();
  const back = await gatehouse(['firmware', 'rollback', ...a.layout]);
  t.equal(back.code, 0, back.stderr);
  t.match(back.stdout, 'slot a boots next');
});
