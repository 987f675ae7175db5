// Tests of backup and restore: a round trip, and every kind of bad archive refused with its reason
// while the data directory stays byte-identical.
import { createHash, randomBytes } from 'node:crypto';
import { chmod, mkdir, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import t from 'tap';
import { BackupError, createBackup, restoreBackup } from '../../src/config/backup.js';
import { validateConfig } from '../../src/config/load.js';
import { ConfigStore, type ConfigStoreOptions } from '../../src/config/store.js';
import { credentialStoreFiles } from '../../src/credstore/service.js';
import { LocalCredentialStore } from '../../src/credstore/local-store.js';
import { applianceId } from '../../src/system/appliance-id.js';
import { treeSnapshot } from '../helpers/tree.js';
import { numberedConfig } from './fixtures/configs.js';
import { errorOf } from '../helpers/errors.js';

const SEALED_MESSAGE = 'appliance is sealed: change it from the local console';
const consoleChange = { origin: 'console', author: 'root' } as const;

/** The appliance's credential store (appliance-key mode), opened and unlocked. */
async function openCredentials(dataDir: string, store: ConfigStore): Promise<LocalCredentialStore> {
  const credentials = await LocalCredentialStore.open({ ...credentialStoreFiles(dataDir, await applianceId(dataDir)), guard: store.guard });
  await credentials.unlock();
  return credentials;
}

/** A data directory with a committed configuration, two plugins and a credential store holding one password. */
async function appliance(dataDir: string, opts: ConfigStoreOptions = {}): Promise<ConfigStore> {
  const store = await ConfigStore.open(dataDir, opts);
  await store.commit({ origin: 'console', author: 'alice', message: 'config 5', config: numberedConfig(5) });
  // The plugin slot layout: plugins/<name>/slot.json and plugins/<name>/<version>/...
  const plugin = (name: string, file: string) => join(dataDir, 'plugins', name, file);
  await mkdir(join(dataDir, 'plugins', 'duo', '1.0', 'lib'), { recursive: true });
  await mkdir(join(dataDir, 'plugins', 'radius', '1.0'), { recursive: true });
  await writeFile(plugin('duo', 'slot.json'), '{"active":"1.0"}\n');
  await writeFile(plugin('duo', '1.0/MANIFEST'), 'name: duo\napi: 1.0\n');
  await writeFile(plugin('duo', '1.0/main.py'), 'print("duo")\n');
  await chmod(plugin('duo', '1.0/main.py'), 0o755);
  await writeFile(plugin('duo', '1.0/lib/helper.bin'), randomBytes(3000));
  await writeFile(plugin('radius', '1.0/MANIFEST'), 'name: radius\n');
  const credentials = await LocalCredentialStore.init({
    ...credentialStoreFiles(dataDir, await applianceId(dataDir)),
    guard: store.guard,
    origin: 'console',
    method: { kind: 'appliance-key' },
  });
  await credentials.setTargetCredential('console', { hostPattern: 'db1.example.com', username: 'root', password: 'backed-up secret' });
  return store;
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** Builds an archive the way format 1 lays it out, with whatever (possibly wrong) content a test wants. */
function craftArchive(files: Record<string, string | Buffer>, tweak: { magic?: string; manifest?: Record<string, unknown> } = {}): Buffer {
  const contents = Object.entries(files).map(([path, data]) => [path, Buffer.from(data)] as const);
  const manifest = {
    kind: 'gatehouse-backup',
    format: 1,
    applianceId: 'test-appliance',
    created: new Date().toISOString(),
    configVersion: {},
    files: contents.map(([path, data]) => ({ path, size: data.length, sha256: sha256(data), mode: 0o644 })),
    ...tweak.manifest,
  };
  const manifestBytes = Buffer.from(JSON.stringify(manifest));
  const length = Buffer.alloc(4);
  length.writeUInt32BE(manifestBytes.length);
  const body = Buffer.concat([Buffer.from(tweak.magic ?? 'GATEHOUSE-BACKUP 1\n'), gzipSync(Buffer.concat([length, manifestBytes, ...contents.map(([, d]) => d)]))]);
  return Buffer.concat([body, Buffer.from(`SHA256 ${sha256(body)}\n`)]);
}

const goodFiles = () => ({
  'config.json': JSON.stringify(numberedConfig(9)),
  'plugins/okta/1.0/MANIFEST': 'name: okta\n',
});

t.test('round trip: configuration, plugins and credential store come back byte for byte', async (t) => {
  const root = t.testdir();
  const dataDir = join(root, 'data');
  const store = await appliance(dataDir);
  const pluginsBefore = await treeSnapshot(join(dataDir, 'plugins'));
  const credstoreBefore = await readFile(join(dataDir, 'credstore.json'));
  const archive = join(root, 'nightly.ghbackup');

  const manifest = await createBackup(dataDir, store, archive);
  t.match(manifest, { kind: 'gatehouse-backup', format: 1, applianceId: await applianceId(dataDir), configVersion: { version: 2, message: 'config 5' } });
  t.ok(!Number.isNaN(Date.parse(manifest.created)), 'created is an ISO date');
  t.notOk('config' in manifest.configVersion, 'the manifest names the version without repeating it');
  t.same(manifest.files.map((f) => f.path), ['config.json', 'plugins/duo/1.0/MANIFEST', 'plugins/duo/1.0/lib/helper.bin', 'plugins/duo/1.0/main.py', 'plugins/duo/slot.json', 'plugins/radius/1.0/MANIFEST', 'credstore.json']);
  t.match(manifest.files.find((f) => f.path === 'credstore.json'), { size: credstoreBefore.length, sha256: sha256(credstoreBefore), mode: 0o600 });
  t.equal(manifest.files.find((f) => f.path === 'plugins/duo/1.0/main.py')?.mode, 0o755);
  t.ok((await readFile(archive)).subarray(0, 19).equals(Buffer.from('GATEHOUSE-BACKUP 1\n')));

  // Change everything, then restore.
  await store.commit({ origin: 'console', author: 'alice', message: 'config 6', config: numberedConfig(6) });
  await store.seal('console', 'root');
  await rm(join(dataDir, 'plugins', 'radius'), { recursive: true });
  await mkdir(join(dataDir, 'plugins', 'other', '1.0'), { recursive: true });
  await writeFile(join(dataDir, 'plugins', 'other', '1.0', 'MANIFEST'), 'name: other\n');
  const credentials = await openCredentials(dataDir, store);
  await credentials.setTargetCredential('console', { hostPattern: 'db1.example.com', username: 'root', password: 'changed since' });
  t.notOk((await readFile(join(dataDir, 'credstore.json'))).equals(credstoreBefore), 'the credential store changed');

  const restored = await restoreBackup(dataDir, store, archive, consoleChange);
  t.same(restored, manifest);
  t.match(store.current(), { version: 5, origin: 'console', author: 'root', message: 'restored from backup nightly.ghbackup', sealed: true });
  t.same(store.current().config, validateConfig(numberedConfig(5)));
  t.same(await treeSnapshot(join(dataDir, 'plugins')), pluginsBefore, 'plugins identical, modes included');
  t.ok((await readFile(join(dataDir, 'credstore.json'))).equals(credstoreBefore), 'credential store bytes identical');
  t.match(
    (await openCredentials(dataDir, store)).findTargetCredential('db1.example.com', 'root'),
    { password: 'backed-up secret' },
    'the restored credential store unlocks and holds the backed-up secret',
  );
  t.same((await readdir(dataDir)).sort(), ['appliance-id', 'appliance.key', 'config', 'credstore.json', 'plugins'], 'no staging directory left');
});

t.test('a backup without plugins or credential store restores to neither', async (t) => {
  const root = t.testdir();
  const bare = join(root, 'bare');
  const bareStore = await ConfigStore.open(bare);
  const archive = join(root, 'bare.ghbackup');
  const manifest = await createBackup(bare, bareStore, archive);
  t.same(manifest.files.map((f) => f.path), ['config.json']);

  const dataDir = join(root, 'data');
  const store = await appliance(dataDir);
  await restoreBackup(dataDir, store, archive, consoleChange);
  t.same(await readdir(join(dataDir, 'plugins')), []);
  t.same((await readdir(dataDir)).sort(), ['appliance-id', 'appliance.key', 'config', 'plugins']);
  t.same(store.current().config, bareStore.current().config);
});

t.test('bad archives are refused with the reason, leaving the data directory byte-identical', async (t) => {
  const root = t.testdir();
  const dataDir = join(root, 'data');
  const store = await appliance(dataDir);
  const good = join(root, 'good.ghbackup');
  await createBackup(dataDir, store, good);
  const goodBytes = await readFile(good);
  await store.commit({ origin: 'console', author: 'alice', message: 'later', config: numberedConfig(8) });
  const before = await treeSnapshot(dataDir);

  async function refused(what: string, bytes: Buffer, reason: RegExp): Promise<void> {
    const file = join(root, 'candidate.ghbackup');
    await writeFile(file, bytes);
    const err = await errorOf(restoreBackup(dataDir, store, file, consoleChange));
    t.type(err, BackupError, what);
    t.match(err.message, reason, `${what}: ${err.message.split('\n')[0]}`);
    t.same(await treeSnapshot(dataDir), before, `${what}: data directory unchanged`);
  }

  for (const cut of [1, 71, 72, 100, goodBytes.length >> 1, goodBytes.length - 1]) {
    await refused(`truncated by ${cut} bytes`, goodBytes.subarray(0, goodBytes.length - cut), /^candidate\.ghbackup refused: the archive is truncated or damaged|SHA-256 mismatch/);
  }
  await refused('header only', Buffer.from('GATEHOUSE-BACKUP 1\n'), /truncated or damaged/);
  await refused('empty file', Buffer.alloc(0), /refused: not a Gatehouse backup$/);

  // Bytes of the magic line, spread over the compressed body, and in the checksum trailer.
  const n = goodBytes.length;
  const positions = [0, 9, 17, 18, 19, 25, ...Array.from({ length: 20 }, (_, k) => 30 + Math.floor(((n - 110) * k) / 20)), n - 72, n - 60, n - 8, n - 2, n - 1];
  for (const [k, at] of positions.entries()) {
    const flipped = Buffer.from(goodBytes);
    flipped[at] ^= 1 << k % 8;
    await refused(`bit ${k % 8} flipped at byte ${at}`, flipped, /refused: (the archive is damaged or was altered \(SHA-256 mismatch\)|the archive is truncated or damaged|not a Gatehouse backup|backup format \d+ is not supported)/);
  }

  await refused('a zip file', Buffer.concat([Buffer.from('PK\u0003\u0004\u0014\u0000\u0000\u0000'), randomBytes(500)]), /refused: not a Gatehouse backup$/);
  await refused('a text file', Buffer.from('# my notes\nnothing to see\n'), /refused: not a Gatehouse backup$/);
  await refused('a newer format', craftArchive(goodFiles(), { magic: 'GATEHOUSE-BACKUP 2\n' }), /refused: backup format 2 is not supported \(this gateway reads format 1\)$/);
  await refused('a manifest of another kind', craftArchive(goodFiles(), { manifest: { kind: 'something-else' } }), /its manifest is not a Gatehouse backup manifest/);
  await refused('a manifest of another format', craftArchive(goodFiles(), { manifest: { format: 2 } }), /its manifest is not a Gatehouse backup manifest/);
  await refused(
    'a file not matching its manifest entry',
    craftArchive(goodFiles(), { manifest: { files: Object.entries(goodFiles()).map(([path, d]) => ({ path, size: Buffer.byteLength(d), sha256: '0'.repeat(64), mode: 0o644 })) } }),
    /config\.json does not match its size and SHA-256 in the manifest/,
  );
  await refused('an invalid configuration', craftArchive({ ...goodFiles(), 'config.json': '{"connectionPolicies":[]}' }), /its configuration is invalid:\n {2}- connectionPolicies: expected at least one connection policy/);
  await refused('a configuration that is not JSON', craftArchive({ ...goodFiles(), 'config.json': '{"users": [' }), /its config\.json is not JSON/);
  await refused('no configuration', craftArchive({ 'plugins/okta/1.0/MANIFEST': 'x' }), /it holds no config\.json/);
  await refused('a plugin without MANIFEST', craftArchive({ ...goodFiles(), 'plugins/evil/1.0/main.py': 'x' }), /plugin evil version 1\.0 has no MANIFEST/);
  await refused('a stray file in a plugin slot', craftArchive({ ...goodFiles(), 'plugins/okta/notes.txt': 'x' }), /is not part of a plugin slot/);
  await refused('a file directly in plugins/', craftArchive({ ...goodFiles(), 'plugins/README': 'x' }), /"plugins\/README" is not something a backup holds/);
  await refused('a path leaving the data directory', craftArchive({ ...goodFiles(), 'plugins/okta/../../../etc/cron.d/x': 'x' }), /is not something a backup holds/);
  await refused('an unknown file', craftArchive({ ...goodFiles(), 'ssh_host_ed25519_key': 'x' }), /"ssh_host_ed25519_key" is not something a backup holds/);
  await refused('a credential store that is not JSON', craftArchive({ ...goodFiles(), 'credstore.json': 'not json' }), /refused: credential store file credstore\.json is corrupted: not valid JSON$/);
  await refused('a credential store of another kind', craftArchive({ ...goodFiles(), 'credstore.json': '{"format":1}' }), /credstore\.json is corrupted: not a Gatehouse credential store$/);
  const document = JSON.parse((await readFile(join(dataDir, 'credstore.json'))).toString('utf8')) as Record<string, unknown>;
  await refused(
    'a credential store missing its MAC',
    craftArchive({ ...goodFiles(), 'credstore.json': JSON.stringify({ ...document, mac: undefined }) }),
    /credstore\.json is corrupted: mac: /,
  );
  await refused(
    "another appliance's credential store",
    craftArchive({ ...goodFiles(), 'credstore.json': JSON.stringify({ ...document, applianceId: 'someone-else' }) }),
    new RegExp(`its credstore\\.json belongs to appliance "someone-else", not to this one \\("${await applianceId(dataDir)}"\\)$`),
  );

  t.match(await restoreBackup(dataDir, store, good, consoleChange), { kind: 'gatehouse-backup' }, 'the good archive still restores');
});

t.test('restore is a change: refused from remote while sealed', async (t) => {
  const root = t.testdir();
  const dataDir = join(root, 'data');
  const store = await appliance(dataDir);
  const archive = join(root, 'b.ghbackup');
  await createBackup(dataDir, store, archive);
  await store.seal('console', 'root');
  const before = await treeSnapshot(dataDir);
  const err = await errorOf(restoreBackup(dataDir, store, archive, { origin: 'remote', author: 'bob' }));
  t.equal(err.message, SEALED_MESSAGE);
  t.same(await treeSnapshot(dataDir), before);
  t.match((await restoreBackup(dataDir, store, archive, consoleChange)).kind, 'gatehouse-backup', 'the console may restore');
  t.equal(store.guard.isSealed(), true, 'restoring keeps the appliance sealed');
});

t.test('a failure while replacing puts the previous state back', async (t) => {
  const root = t.testdir();
  const dataDir = join(root, 'data');
  let diskFull = false;
  const store = await appliance(dataDir, {
    writeFile: async (handle, data) => {
      if (diskFull) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      await handle.writeFile(data);
    },
  });
  const archive = join(root, 'before.ghbackup');
  await createBackup(dataDir, store, archive);
  await writeFile(join(dataDir, 'plugins', 'radius', '1.0', 'MANIFEST'), 'changed\n');
  await (await openCredentials(dataDir, store)).setTargetCredential('console', { hostPattern: '*', username: 'deploy', password: 'later' });
  await store.commit({ origin: 'console', author: 'alice', message: 'later', config: numberedConfig(8) });

  const before = await treeSnapshot(dataDir);
  diskFull = true;
  const err = await errorOf(restoreBackup(dataDir, store, archive, consoleChange));
  t.match(err.message, /^commit of version 4 failed: ENOSPC/);
  t.same(await treeSnapshot(dataDir), before, 'plugins, credential store and configuration as before');
});

t.test("a credential store does not move to another appliance", async (t) => {
  const root = t.testdir();
  const source = join(root, 'source');
  const archive = join(root, 'source.ghbackup');
  await createBackup(source, await appliance(source), archive);
  const sourceId = await applianceId(source);

  const other = join(root, 'other');
  const otherStore = await appliance(other);
  const fresh = join(root, 'fresh');
  const freshStore = await ConfigStore.open(fresh);
  for (const [dataDir, store, why] of [
    [other, otherStore, `not to this one \\("${await applianceId(other)}"\\)`],
    [fresh, freshStore, 'this one has no appliance id yet'],
  ] as const) {
    const before = await treeSnapshot(dataDir);
    const err = await errorOf(restoreBackup(dataDir, store, archive, consoleChange));
    t.match(err.message, new RegExp(`^source\\.ghbackup refused: its credstore\\.json belongs to appliance "${sourceId}", ${why}$`));
    t.same(await treeSnapshot(dataDir), before, 'data directory unchanged');
  }
});

t.test('createBackup refuses what restore could not take back', async (t) => {
  const root = t.testdir();
  const dataDir = join(root, 'data');
  const store = await appliance(dataDir);
  await mkdir(join(dataDir, 'plugins', 'broken', '2.0'), { recursive: true });
  await writeFile(join(dataDir, 'plugins', 'broken', '2.0', 'main.py'), 'x');
  const out = join(root, 'x.ghbackup');
  t.match((await errorOf(createBackup(dataDir, store, out))).message, /^cannot back up .*: plugin broken version 2\.0 has no MANIFEST$/);
  await rm(join(dataDir, 'plugins', 'broken'), { recursive: true });
  // An install in progress (a staging directory) is left out, not refused.
  await mkdir(join(dataDir, 'plugins', '.install-1-abc'));
  await writeFile(join(dataDir, 'plugins', '.install-1-abc', 'main.py'), 'x');
  t.notOk((await createBackup(dataDir, store, out)).files.some((f) => f.path.includes('.install')), 'staging directories are skipped');
  await rm(join(dataDir, 'plugins', '.install-1-abc'), { recursive: true });
  await rm(out);
  await symlink('/etc/passwd', join(dataDir, 'plugins', 'duo', '1.0', 'link'));
  t.match((await errorOf(createBackup(dataDir, store, out))).message, /only regular files and directories belong in plugins\//);
  t.same((await readdir(root)).sort(), ['data'], 'no archive written');
});
