// Tests of the encrypted local credential store: life cycle in both modes, compound passphrases,
// passwd, entries and best-match lookup, sealed mode, failing writes, concurrency, and secrets
// staying out of errors, inspect/JSON output, list() and the file on disk.
import { randomBytes } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { inspect } from 'node:util';
import t from 'tap';
import { sealGuard } from '../../src/config/sealed.js';
import {
  CredentialStoreError,
  CredentialStoreLockedError,
  LocalCredentialStore,
  type OpenOptions,
  type UnlockMethod,
} from '../../src/credstore/local-store.js';
import { writeFileAtomic } from '../../src/system/atomic-file.js';
import { generateEd25519Key } from '../../src/gateway/ssh/host-key.js';

const SEALED_MESSAGE = 'appliance is sealed: change it from the local console';
const privateKey = generateEd25519Key().private;
const encryptedKey = generateEd25519Key({ passphrase: 'kp', cipher: 'aes256-ctr', rounds: 16 }).private;
const publicKey = generateEd25519Key().public;

/** A fresh data directory, a guard whose sealed flag the test controls, and a writer it can make fail. */
function setup(t: { testdir(): string }) {
  const dir = t.testdir();
  const state = { sealed: false, failWrites: false };
  const options: OpenOptions = {
    file: join(dir, 'credstore.json'),
    keyFile: join(dir, 'appliance.key'),
    applianceId: 'appliance-0001',
    guard: sealGuard(() => state.sealed),
    scryptCost: 2 ** 10,
    writeFile: async (file, data) => {
      if (state.failWrites) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      await writeFileAtomic(file, data);
    },
  };
  const init = (method: UnlockMethod) => LocalCredentialStore.init({ ...options, origin: 'console', method });
  const open = () => LocalCredentialStore.open(options);
  return { dir, state, options, init, open };
}

const passphrase = (...parts: string[]): UnlockMethod => ({ kind: 'passphrase', parts });

function reason(reason: string, message?: string | RegExp) {
  return message === undefined ? { name: 'CredentialStoreError', reason } : { name: 'CredentialStoreError', reason, message };
}

t.test('appliance-key mode: init, open locked, unlock without a passphrase, lock', async (t) => {
  const { init, open, options } = setup(t);
  const created = await init({ kind: 'appliance-key' });
  t.equal(created.isUnlocked(), true);
  t.equal(created.mode, 'appliance-key');
  t.equal(created.partCount, 0);
  await created.setTargetCredential('console', { hostPattern: 'db1.example.com', username: 'root', password: 'pw-1' });

  t.equal((await stat(options.file)).mode & 0o777, 0o600);
  t.equal((await stat(options.keyFile)).mode & 0o777, 0o600);
  t.equal((await readFile(options.keyFile)).length, 32);

  const store = await open();
  t.equal(store.isUnlocked(), false);
  t.equal(store.mode, 'appliance-key');
  t.same(
    store.list().map((e) => e.label),
    ['target root@db1.example.com'],
  );
  t.throws(() => store.findTargetCredential('db1.example.com', 'root'), new CredentialStoreLockedError());
  t.throws(() => store.findTargetCredential('db1.example.com', 'root'), { message: 'credential store is locked' });
  t.throws(() => store.getPluginSecret('', 's', 'o'), CredentialStoreLockedError);

  await t.rejects(store.unlock(['a passphrase']), reason('invalid', /takes no passphrase/));
  await store.unlock();
  t.same(store.findTargetCredential('db1.example.com', 'root'), { password: 'pw-1' });
  store.lock();
  t.equal(store.isUnlocked(), false);
  t.throws(() => store.findTargetCredential('db1.example.com', 'root'), CredentialStoreLockedError);
  await t.rejects(store.setPluginSecret('console', { section: 's', option: 'o', value: 'v' }), CredentialStoreLockedError);
  await t.rejects(store.remove('console', store.list()[0]!.id), CredentialStoreLockedError);
  await store.unlock([]);
  t.equal(store.isUnlocked(), true);
});

t.test('passphrase mode: unlock, wrong passphrase, missing passphrase', async (t) => {
  const { init, open } = setup(t);
  const created = await init(passphrase('correct horse battery staple'));
  await created.setPluginSecret('console', { scope: 'radius-1', section: 'radius', option: 'secret', value: 's3cret' });

  const store = await open();
  t.equal(store.mode, 'passphrase');
  t.equal(store.partCount, 1);
  await t.rejects(store.unlock(), reason('invalid', /locked by a master passphrase in 1 part/));
  await t.rejects(store.unlock(['correct horse battery stapl']), reason('wrong-passphrase', 'wrong passphrase'));
  await t.rejects(store.unlock(['Correct horse battery staple']), { message: 'wrong passphrase' });
  t.equal(store.isUnlocked(), false);
  await store.unlock(['correct horse battery staple']);
  t.equal(store.getPluginSecret('radius-1', 'radius', 'secret'), 's3cret');

  // A failed unlock of an unlocked store keeps it unlocked with the key it had.
  await t.rejects(store.unlock(['nope']), { message: 'wrong passphrase' });
  t.equal(store.getPluginSecret('radius-1', 'radius', 'secret'), 's3cret');
});

t.test('compound passphrase: all parts, in order, split where they were split', async (t) => {
  const { init, open } = setup(t);
  await init(passphrase('ab', 'c', 'second officer'));
  const store = await open();
  t.equal(store.partCount, 3);
  for (const parts of [
    ['a', 'bc', 'second officer'],
    ['c', 'ab', 'second officer'],
    ['ab', 'c', 'second officeR'],
    ['abc', '', 'second officer'],
  ]) {
    await t.rejects(store.unlock(parts), CredentialStoreError, parts.join('|'));
  }
  await t.rejects(store.unlock(['ab', 'c']), reason('invalid', "this credential store's master passphrase has 3 part(s), 2 given"));
  await t.rejects(store.unlock(['ab', 'x', 'second officer']), reason('wrong-passphrase', 'wrong passphrase'));
  await store.unlock(['ab', 'c', 'second officer']);
  t.equal(store.isUnlocked(), true);
});

t.test('empty passphrases and empty parts are refused', async (t) => {
  const { init, open, options } = setup(t);
  await t.rejects(init(passphrase('')), reason('invalid', 'the passphrase is empty'));
  await t.rejects(init(passphrase()), reason('invalid', 'the passphrase is empty'));
  await t.rejects(init(passphrase('a', '')), reason('invalid', 'passphrase part 2 is empty'));
  await t.rejects(stat(options.file), { code: 'ENOENT' });

  const created = await init(passphrase('x', 'y'));
  await t.rejects(created.passwd('console', passphrase('', 'y')), reason('invalid', 'passphrase part 1 is empty'));
  const store = await open();
  await t.rejects(store.unlock(['x', '']), reason('invalid', 'passphrase part 2 is empty'));
});

t.test('non-ASCII passphrases work, and NFC and NFD forms are the same passphrase', async (t) => {
  const { init, open } = setup(t);
  const nfc = 'pässwört 🔑'.normalize('NFC');
  const nfd = nfc.normalize('NFD');
  t.not(nfc, nfd);
  await init(passphrase(nfc, 'Ωmega'));
  const store = await open();
  await t.rejects(store.unlock(['passwort 🔑', 'Ωmega']), { message: 'wrong passphrase' });
  await store.unlock([nfd, 'Ωmega'.normalize('NFD')]);
  t.equal(store.isUnlocked(), true);
});

t.test('passwd re-wraps the data key without re-encrypting entries', async (t) => {
  const { init, open, options } = setup(t);
  const store = await init(passphrase('old one'));
  await store.setTargetCredential('console', { hostPattern: '*.example.com', username: 'root', privateKey });
  await store.setPluginSecret('console', { section: 'ldap', option: 'bind_password', value: 'ldap-pw' });
  const sealedParts = async () => {
    const doc = JSON.parse(await readFile(options.file, 'utf8')) as { keyWrap: object; entries: object[] };
    return { keyWrap: doc.keyWrap, entries: doc.entries };
  };
  const before = await sealedParts();

  await store.passwd('console', passphrase('new', 'parts'));
  t.equal(store.mode, 'passphrase');
  t.equal(store.partCount, 2);
  const after = await sealedParts();
  t.same(after.entries, before.entries, 'entry IVs, ciphertexts and tags unchanged');
  t.notSame(after.keyWrap, before.keyWrap);

  const reopened = await open();
  await t.rejects(reopened.unlock(['old one']), reason('invalid', /has 2 part/));
  await t.rejects(reopened.unlock(['new', 'part']), { message: 'wrong passphrase' });
  await reopened.unlock(['new', 'parts']);
  t.same(reopened.findTargetCredential('web.example.com', 'root'), { privateKey });

  await reopened.passwd('console', passphrase('single again'));
  await t.rejects((await open()).unlock(['new', 'parts']), reason('invalid'));

  await reopened.passwd('console', { kind: 'appliance-key' });
  t.equal(reopened.mode, 'appliance-key');
  t.same((await sealedParts()).entries, before.entries);
  const byApplianceKey = await open();
  await byApplianceKey.unlock();
  t.equal(byApplianceKey.getPluginSecret('', 'ldap', 'bind_password'), 'ldap-pw');

  await byApplianceKey.passwd('console', passphrase('back to a passphrase'));
  const final = await open();
  t.equal(final.mode, 'passphrase');
  await t.rejects(final.unlock(), reason('invalid'));
  await final.unlock(['back to a passphrase']);
  t.same(final.findTargetCredential('a.example.com', 'root'), { privateKey });
  t.same((await sealedParts()).entries, before.entries);

  final.lock();
  await t.rejects(final.passwd('console', passphrase('x')), CredentialStoreLockedError);
});

t.test('a lock() while passwd derives its key makes passwd fail, never wrap a wiped key', async (t) => {
  const { init, open, options } = setup(t);
  const store = await init(passphrase('first'));
  const before = await readFile(options.file);
  const pending = store.passwd('console', passphrase('second'));
  setImmediate(() => store.lock());
  await t.rejects(pending, CredentialStoreLockedError);
  t.same(await readFile(options.file), before);
  await (await open()).unlock(['first']);
});

t.test('add, replace, remove and list', async (t) => {
  const { init, open } = setup(t);
  const store = await init({ kind: 'appliance-key' });
  await store.setTargetCredential('console', { hostPattern: 'DB1.Example.COM.', username: 'root', password: 'pw-1', privateKey });
  await store.setPluginSecret('console', { scope: 'radius-1', section: 'radius', option: 'secret', value: 'r1' });
  await store.setPluginSecret('console', { section: 'radius', option: 'secret', value: 'r0' });
  const [target, scoped, unscoped] = store.list();
  t.match(target, {
    kind: 'target',
    hostPattern: 'db1.example.com',
    username: 'root',
    hasPassword: true,
    hasPrivateKey: true,
    label: 'target root@db1.example.com',
  });
  t.match(target!.id, /^[0-9a-f]{12}$/);
  t.equal(target!.created, target!.updated);
  t.match(scoped, {
    kind: 'plugin-secret',
    scope: 'radius-1',
    section: 'radius',
    option: 'secret',
    label: 'plugin secret radius-1:[radius] secret',
  });
  t.match(unscoped, { scope: '', label: 'plugin secret [radius] secret' });

  await new Promise((resolve) => setTimeout(resolve, 5));
  await store.setTargetCredential('console', { hostPattern: 'db1.example.com', username: 'root', privateKey });
  const replaced = store.list()[0]!;
  t.equal(replaced.id, target!.id, 'same entry');
  t.equal(replaced.created, target!.created);
  t.ok(replaced.updated > target!.updated);
  t.match(replaced, { hasPassword: false, hasPrivateKey: true });
  t.same(store.findTargetCredential('db1.example.com', 'root'), { privateKey }, 'the whole secret was replaced');
  t.equal(store.list().length, 3);

  // The username is case-sensitive: a different entry.
  await store.setTargetCredential('console', { hostPattern: 'db1.example.com', username: 'Root', password: 'pw-R' });
  t.equal(store.list().length, 4);

  await store.remove('console', scoped!.id);
  t.equal(store.getPluginSecret('radius-1', 'radius', 'secret'), undefined);
  t.equal(store.getPluginSecret('', 'radius', 'secret'), 'r0');
  await t.rejects(store.remove('console', scoped!.id), reason('invalid', `no credential store entry with id "${scoped!.id}"`));

  const reopened = await open();
  t.same(reopened.list(), store.list());
  await reopened.unlock();
  t.same(reopened.findTargetCredential('db1.example.com', 'Root'), { password: 'pw-R' });
});

t.test('host patterns are stored in canonical form', async (t) => {
  const { init } = setup(t);
  const store = await init({ kind: 'appliance-key' });
  const cases: Array<[string, string]> = [
    ['*.Example.COM.', '*.example.com'],
    ['2001:DB8:0::5', '2001:db8::5'],
    ['[::1]', '::1'],
    ['2001:DB8::/32', '2001:db8::/32'],
    ['10.0.0.0/08', '10.0.0.0/8'],
    [' *  ', '*'],
    ['Host_1.local', 'host_1.local'],
  ];
  for (const [input, canonical] of cases) {
    await store.setTargetCredential('console', { hostPattern: input, username: 'u', password: 'p' });
    t.match(store.list().at(-1), { hostPattern: canonical }, input);
  }
  // Same canonical pattern: replaced, not added.
  await store.setTargetCredential('console', { hostPattern: '2001:db8:0:0::5', username: 'u', password: 'p2' });
  t.equal(store.list().length, cases.length);
});

t.test('invalid entries are refused without quoting secrets', async (t) => {
  const { init } = setup(t);
  const store = await init({ kind: 'appliance-key' });
  const set = (input: { hostPattern?: string; username?: string; password?: string; privateKey?: string }) =>
    store.setTargetCredential('console', { hostPattern: 'db1', username: 'root', ...input });
  await t.rejects(set({ hostPattern: '10.0.0.0/33', password: 'p' }), reason('invalid', 'invalid CIDR prefix /33 in "10.0.0.0/33"'));
  await t.rejects(set({ hostPattern: 'a*b.example.com', password: 'p' }), reason('invalid', /"\*" is only allowed/));
  await t.rejects(set({ hostPattern: '', password: 'p' }), reason('invalid'));
  await t.rejects(set({ username: '', password: 'p' }), reason('invalid', 'the username is empty'));
  await t.rejects(set({ username: 'ro\not', password: 'p' }), reason('invalid', 'the username contains control characters'));
  await t.rejects(set({}), reason('invalid', 'give a password, a private key or both'));
  await t.rejects(set({ password: '' }), reason('invalid', 'the password is empty'));
  await t.rejects(set({ privateKey: encryptedKey }), reason('invalid', /the private key is encrypted/));
  await t.rejects(set({ privateKey: publicKey }), reason('invalid', 'expected a private key, got a public key'));
  const garbage = '-----BEGIN OPENSSH PRIVATE KEY-----\nTOPSECRETMATERIAL\n-----END OPENSSH PRIVATE KEY-----';
  const err = await set({ privateKey: garbage }).catch((e: Error) => e);
  t.match(err, reason('invalid', /^the private key cannot be read/));
  t.notMatch((err as Error).message, 'TOPSECRETMATERIAL');
  const setSecret = (section: string, value: string) => store.setPluginSecret('console', { section, option: 'o', value });
  await t.rejects(setSecret('', 'v'), reason('invalid', 'the section is empty'));
  await t.rejects(setSecret('s', ''), reason('invalid', 'the secret value is empty'));
  t.same(store.list(), []);
});

t.test('best-match lookup', async (t) => {
  const { init } = setup(t);
  const store = await init({ kind: 'appliance-key' });
  const entries: Array<[string, string, string]> = [
    ['*', 'root', 'any'],
    ['*.example.com', 'root', 'example'],
    ['*.db.example.com', 'root', 'db-domain'],
    ['db1.db.example.com', 'root', 'exact-db1'],
    ['10.0.0.0/8', 'root', 'ten'],
    ['10.1.0.0/16', 'root', 'ten-one'],
    ['10.1.2.3', 'root', 'exact-ip'],
    ['2001:db8::/32', 'root', 'v6'],
    ['2001:db8:1::/48', 'root', 'v6-48'],
    ['2001:DB8::5', 'root', 'exact-v6'],
    ['*.example.com', 'Admin', 'admin'],
  ];
  // Insert in reverse so that file order cannot be what picks the winner.
  for (const [hostPattern, username, password] of [...entries].reverse()) {
    await store.setTargetCredential('console', { hostPattern, username, password });
  }
  const table: Array<[string, string, string | undefined]> = [
    ['db1.db.example.com', 'root', 'exact-db1'],
    ['DB1.DB.Example.com.', 'root', 'exact-db1'],
    ['db2.db.example.com', 'root', 'db-domain'],
    ['web.example.com', 'root', 'example'],
    ['example.com', 'root', 'any'],
    ['evilexample.com', 'root', 'any'],
    ['10.1.2.3', 'root', 'exact-ip'],
    ['::ffff:10.1.2.3', 'root', 'exact-ip'],
    ['10.1.9.9', 'root', 'ten-one'],
    ['10.200.0.1', 'root', 'ten'],
    ['192.168.1.1', 'root', 'any'],
    ['[2001:db8::5]', 'root', 'exact-v6'],
    ['2001:db8:0:0::5', 'root', 'exact-v6'],
    ['2001:db8::6', 'root', 'v6'],
    ['2001:db8:1::6', 'root', 'v6-48'],
    ['web.example.com', 'Admin', 'admin'],
    ['web.example.com', 'admin', undefined],
    ['other.org', 'Admin', undefined],
    ['10.1.2.3', 'nobody', undefined],
  ];
  for (const [host, user, expected] of table) {
    const found = store.findTargetCredential(host, user);
    t.same(found, expected === undefined ? undefined : { password: expected }, `${user}@${host}`);
  }
});

t.test('equally specific patterns resolve the same way whatever the insertion order', async (t) => {
  for (const order of [0, 1]) {
    const { init } = setup(t);
    const store = await init({ kind: 'appliance-key' });
    const pair: Array<[string, string]> = [
      ['10.0.0.0/8', 'v4'],
      ['::ffff:10.0.0.0/104', 'mapped'],
    ];
    for (const [hostPattern, password] of order === 0 ? pair : [...pair].reverse()) {
      await store.setTargetCredential('console', { hostPattern, username: 'root', password });
    }
    // Both cover 10.0.0.0/8; the canonical texts ("10.0.0.0/8" < "::ffff:a00:0/104") break the tie.
    t.same(store.findTargetCredential('10.2.3.4', 'root'), { password: 'v4' }, `order ${order}`);
  }
});

t.test('plugin secrets are only found in their own scope', async (t) => {
  const { init } = setup(t);
  const store = await init({ kind: 'appliance-key' });
  await store.setPluginSecret('console', { scope: 'duo-prod', section: 'duo', option: 'skey', value: 'duo-secret' });
  t.equal(store.getPluginSecret('duo-prod', 'duo', 'skey'), 'duo-secret');
  t.equal(store.getPluginSecret('duo-test', 'duo', 'skey'), undefined);
  t.equal(store.getPluginSecret('', 'duo', 'skey'), undefined);
  t.equal(store.getPluginSecret('duo-prod', 'Duo', 'skey'), undefined);
  await store.setPluginSecret('console', { scope: 'duo-prod', section: 'duo', option: 'skey', value: 'rotated' });
  t.equal(store.getPluginSecret('duo-prod', 'duo', 'skey'), 'rotated');
  t.equal(store.list().length, 1);
});

t.test('sealed mode: remote changes are refused, console changes and unlock/lock are allowed', async (t) => {
  const { init, open, state, options } = setup(t);
  const store = await init(passphrase('pp'));
  await store.setTargetCredential('console', { hostPattern: 'db1', username: 'root', password: 'pw' });
  const id = store.list()[0]!.id;
  state.sealed = true;
  const before = await readFile(options.file);

  const sealed = { name: 'SealedError', message: SEALED_MESSAGE };
  await t.rejects(store.setTargetCredential('remote', { hostPattern: 'db2', username: 'root', password: 'pw' }), sealed);
  await t.rejects(store.setPluginSecret('remote', { section: 's', option: 'o', value: 'v' }), sealed);
  await t.rejects(store.remove('remote', id), sealed);
  await t.rejects(store.passwd('remote', passphrase('other')), sealed);
  // The guard comes first: even an invalid request from a remote origin hears "sealed".
  await t.rejects(store.setTargetCredential('remote', { hostPattern: '10.0.0.0/33', username: '', password: '' }), sealed);
  await t.rejects(
    LocalCredentialStore.init({ ...options, file: join(t.testdirName, 'other.json'), origin: 'remote', method: passphrase('x') }),
    sealed,
  );
  t.same(await readFile(options.file), before, 'nothing written');
  t.equal(store.list().length, 1);

  store.lock();
  await store.unlock(['pp']);
  await store.setTargetCredential('console', { hostPattern: 'db2', username: 'root', password: 'pw2' });
  await store.passwd('console', passphrase('new pp'));
  await store.remove('console', id);
  const reopened = await open();
  await reopened.unlock(['new pp']);
  t.same(
    reopened.list().map((e) => e.label),
    ['target root@db2'],
  );

  state.sealed = false;
  await store.setPluginSecret('remote', { section: 's', option: 'o', value: 'v' });
  t.equal(store.list().length, 2);
});

t.test('a failing write leaves the file and the in-memory state as they were', async (t) => {
  const { init, open, state, options } = setup(t);
  const store = await init(passphrase('pp'));
  await store.setTargetCredential('console', { hostPattern: 'db1', username: 'root', password: 'pw-1' });
  const before = await readFile(options.file);
  const listed = store.list();
  const id = listed[0]!.id;

  state.failWrites = true;
  const enospc = { code: 'ENOSPC' };
  await t.rejects(store.setTargetCredential('console', { hostPattern: 'db1', username: 'root', password: 'pw-2' }), enospc);
  await t.rejects(store.setTargetCredential('console', { hostPattern: 'db2', username: 'root', password: 'pw-2' }), enospc);
  await t.rejects(store.setPluginSecret('console', { section: 's', option: 'o', value: 'v' }), enospc);
  await t.rejects(store.remove('console', id), enospc);
  await t.rejects(store.passwd('console', { kind: 'appliance-key' }), enospc);
  await t.rejects(store.passwd('console', passphrase('other')), enospc);

  t.same(await readFile(options.file), before, 'file untouched');
  t.same(store.list(), listed, 'in-memory entries untouched');
  t.equal(store.mode, 'passphrase');
  t.same(store.findTargetCredential('db1', 'root'), { password: 'pw-1' });
  t.equal(store.findTargetCredential('db2', 'root'), undefined);
  const reopened = await open();
  await reopened.unlock(['pp']);

  state.failWrites = false;
  await store.setTargetCredential('console', { hostPattern: 'db2', username: 'root', password: 'pw-2' });
  t.equal(store.list().length, 2, 'the store works again once writes succeed');
});

t.test('concurrent changes are serialised and none is lost', async (t) => {
  const { init, open } = setup(t);
  const store = await init({ kind: 'appliance-key' });
  await Promise.all([
    ...Array.from({ length: 20 }, (_, i) =>
      store.setTargetCredential('console', { hostPattern: `host${i}.example.com`, username: 'root', password: `pw-${i}` }),
    ),
    ...Array.from({ length: 10 }, (_, i) =>
      store.setPluginSecret('console', { section: 'plugin', option: `o${i}`, value: `v-${i}` }),
    ),
    store.passwd('console', passphrase('changed midway')),
  ]);
  const reopened = await open();
  t.equal(reopened.list().length, 30);
  await reopened.unlock(['changed midway']);
  t.same(reopened.findTargetCredential('host13.example.com', 'root'), { password: 'pw-13' });
  t.equal(reopened.getPluginSecret('', 'plugin', 'o7'), 'v-7');
});

t.test('init refuses an existing file; open reports a missing one', async (t) => {
  const { init, open, options } = setup(t);
  await t.rejects(open(), reason('missing', `credential store file ${options.file} does not exist`));
  await init({ kind: 'appliance-key' });
  const before = await readFile(options.file);
  await t.rejects(init(passphrase('x')), reason('invalid', `credential store file ${options.file} already exists`));
  t.same(await readFile(options.file), before);
  await t.rejects(LocalCredentialStore.open({ ...options, scryptCost: 1000 }), reason('invalid', /power of 2/));
});

t.test('secrets never appear in JSON, inspect output, list(), errors or the file', async (t) => {
  const { init, open, options } = setup(t);
  const secret = (label: string) => `${label}-${randomBytes(12).toString('hex')}`;
  const masterParts = [secret('part-one'), secret('part-two')];
  const password = secret('password');
  const pluginValue = secret('plugin');
  const store = await init(passphrase(...masterParts));
  await store.setTargetCredential('console', { hostPattern: '*.example.com', username: 'root', password, privateKey });
  await store.setPluginSecret('console', { scope: 'radius-1', section: 'radius', option: 'secret', value: pluginValue });

  const errors: Error[] = [];
  const collect = async (p: Promise<unknown>) => errors.push(await p.then(() => new Error('no error'), (e: Error) => e));
  const locked = await open();
  await collect(locked.unlock([masterParts[0]!, password]));
  await collect(locked.unlock([masterParts[1]!, masterParts[0]!]));
  await collect(locked.unlock([masterParts[0]!]));
  await collect(store.setTargetCredential('console', { hostPattern: 'bad/host', username: 'root', password }));
  await collect(store.setTargetCredential('console', { hostPattern: 'h', username: password, password: '' }));
  await collect(store.setTargetCredential('console', { hostPattern: 'h', username: 'u', privateKey: `${password}\n${privateKey}` }));
  await collect(store.passwd('console', passphrase(password, '')));
  await collect(Promise.resolve().then(() => locked.findTargetCredential('x.example.com', 'root')));
  t.equal(errors.length, 8);
  t.notOk(errors.some((e) => e.message === 'no error'));

  const secretLines = privateKey.split('\n').filter((line) => line.length > 0 && !line.startsWith('-----'));
  const secrets = [...masterParts, password, pluginValue, ...secretLines];
  const outputs: Record<string, string> = {
    json: JSON.stringify(store),
    inspect: inspect(store, { showHidden: true, depth: Infinity }),
    inspectLocked: inspect(locked, { showHidden: true, depth: Infinity }),
    list: JSON.stringify([store.list(), locked.list()]),
    errors: errors.map((e) => `${e.message}\n${e.stack ?? ''}`).join('\n'),
    file: await readFile(options.file, 'utf8'),
  };
  for (const [where, text] of Object.entries(outputs)) {
    for (const s of secrets) {
      t.notOk(text.includes(s), `${where} does not contain a secret`);
      t.notOk(text.includes(Buffer.from(s).toString('base64')), `${where} does not contain a secret in base64`);
    }
  }
  t.match(outputs.inspect, /^LocalCredentialStore \{/);
  t.same(JSON.parse(outputs.json!), { file: options.file, mode: 'passphrase', partCount: 2, unlocked: true, entries: 2 });

  // The secrets are really there, behind the API.
  t.same(store.findTargetCredential('a.example.com', 'root'), { password, privateKey });
});
