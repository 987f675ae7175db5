// Tests of the versioned configuration store: commits, history, diff, rollback, sealed mode,
// concurrent writers (in one process and in two), a full disk, corrupted files and pruning.
import { spawn } from 'node:child_process';
import { readdir, readFile, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { ConfigError, embeddedDefaultConfig, validateConfig } from '../../src/config/load.js';
import { SealedError } from '../../src/config/sealed.js';
import { ConfigStore, ConfigStoreError, versionsDir } from '../../src/config/store.js';
import { plainNode, transpileTree } from '../helpers/plain-node-child.js';
import { numberedConfig } from './fixtures/configs.js';
import { errorOf } from '../helpers/errors.js';

const SEALED_MESSAGE = 'appliance is sealed: change it from the local console';

function change(i: number, origin: 'console' | 'remote' = 'console') {
  return { origin, author: 'alice', message: `change ${i}`, config: numberedConfig(i) };
}

async function versionFiles(dataDir: string): Promise<string[]> {
  return (await readdir(versionsDir(dataDir))).sort();
}

t.test('an empty store starts with the initial configuration as version 1', async (t) => {
  const root = t.testdir();
  const dir = join(root, 'default');
  const store = await ConfigStore.open(dir);
  const v1 = store.current();
  t.match(v1, { version: 1, origin: 'console', author: 'gatehouse', message: 'initial configuration', sealed: false });
  t.same(v1.config, validateConfig(embeddedDefaultConfig));
  t.ok(!Number.isNaN(Date.parse(v1.time)), 'the time is an ISO date');
  t.same(await versionFiles(dir), ['000000001.json']);

  const custom = await ConfigStore.open(join(root, 'custom'), { initial: () => numberedConfig(7) });
  t.same(custom.current().config, validateConfig(numberedConfig(7)));

  const reopened = await ConfigStore.open(dir, { initial: () => numberedConfig(7) });
  t.same(reopened.current(), v1, 'an existing store ignores `initial`');
});

t.test('commit, history, version, current', async (t) => {
  const dir = t.testdir();
  const store = await ConfigStore.open(dir);
  const v2 = await store.commit(change(2));
  const v3 = await store.commit({ ...change(3), origin: 'remote', author: 'bob' });
  t.match(v2, { version: 2, origin: 'console', author: 'alice', message: 'change 2', sealed: false });
  t.match(v3, { version: 3, origin: 'remote', author: 'bob' });
  t.equal(store.current(), v3);
  t.same(v3.config, validateConfig(numberedConfig(3)), 'the stored configuration is the validated one');

  const history = await store.history();
  t.same(history.map((h) => h.version), [3, 2, 1], 'newest first');
  t.same(history[1], { version: 2, time: v2.time, origin: 'console', author: 'alice', message: 'change 2', sealed: false }, 'without the configuration');
  t.same(await store.version(2), v2);

  const reopened = await ConfigStore.open(dir);
  t.same(reopened.current(), v3, 'the newest version is current after reopening');
  t.same(reopened.warnings, []);

  t.throws(() => {
    (store.current().config.users as unknown[]).push({ name: 'mallory' });
  }, TypeError, 'the current version is frozen');
});

t.test('an invalid configuration is refused with its ConfigError and nothing is written', async (t) => {
  const dir = t.testdir();
  const store = await ConfigStore.open(dir);
  const before = await versionFiles(dir);
  const err = await errorOf(store.commit({ origin: 'console', author: 'alice', message: 'bad', config: { connectionPolicies: [] } }));
  t.type(err, ConfigError);
  t.match(err.message, /connectionPolicies: expected at least one connection policy/);
  t.same(await versionFiles(dir), before, 'no version file, no temp file');
  t.equal(store.current().version, 1);

  const noAuthor = await errorOf(store.commit({ ...change(1), author: '' }));
  t.equal(noAuthor.message, 'a change needs an author');
  t.same(await versionFiles(dir), before);
});

t.test('version() explains unknown and pruned versions', async (t) => {
  const store = await ConfigStore.open(t.testdir(), { keep: 3 });
  for (let i = 2; i <= 6; i++) await store.commit(change(i));
  t.equal((await errorOf(store.version(9))).message, 'no version 9: the newest is 6');
  t.equal((await errorOf(store.version(2))).message, 'version 2 was pruned: the store keeps the last 3, the oldest kept is 4');
  t.equal((await errorOf(store.version(0))).message, 'no version 0: versions are numbered 1, 2, 3, ...');
  t.equal((await errorOf(store.version(1.5))).message, 'no version 1.5: versions are numbered 1, 2, 3, ...');
});

t.test('pruning keeps the newest N versions', async (t) => {
  const root = t.testdir();
  const dir = join(root, 'keep5');
  const store = await ConfigStore.open(dir, { keep: 5 });
  for (let i = 2; i <= 13; i++) await store.commit(change(i));
  t.same(await versionFiles(dir), ['000000009.json', '000000010.json', '000000011.json', '000000012.json', '000000013.json']);
  t.same((await store.history()).map((h) => h.version), [13, 12, 11, 10, 9]);
  const store100 = await ConfigStore.open(join(root, 'default'));
  for (let i = 2; i <= 105; i++) await store100.commit(change(i));
  t.equal((await store100.history()).length, 100, 'the default keeps 100');
});

t.test('diff shows changed lines in unified form, or says there are none', async (t) => {
  const store = await ConfigStore.open(t.testdir(), { initial: () => numberedConfig(3) });
  const base = numberedConfig(3) as { users: { name: string }[]; connectionPolicies: unknown[] };
  await store.commit({ origin: 'console', author: 'alice', message: 'rename', config: { ...base, users: base.users.map((u, k) => (k === 1 ? { ...u, name: 'renamed' } : u)) } });
  const diff = await store.diff(1, 2);
  const lines = diff.split('\n');
  t.match(lines[0], /^--- version 1 \(.*, console, gatehouse: initial configuration\)$/);
  t.match(lines[1], /^\+\+\+ version 2 \(.*, console, alice: rename\)$/);
  t.match(lines[2], /^@@ -\d+,7 \+\d+,7 @@$/, 'one hunk with three lines of context each side');
  t.same(lines.filter((l) => /^[-+] /.test(l)), ['-      "name": "user-3-1",', '+      "name": "renamed",']);

  await store.commit({ origin: 'console', author: 'alice', message: 'same again', config: numberedConfig(3) });
  t.equal(await store.diff(1, 3), 'no differences between version 1 and version 3');

  await store.seal('console', 'alice');
  t.same((await store.diff(3, 4)).split('\n').slice(2), ['sealed: false -> true'], 'a seal changes only the flag');
  t.equal((await errorOf(store.diff(1, 99))).message, 'no version 99: the newest is 4');
});

t.test('rollback commits an old configuration again as a new version, keeping the sealed flag', async (t) => {
  const store = await ConfigStore.open(t.testdir());
  await store.commit(change(2));
  await store.commit(change(3));
  await store.seal('console', 'root');
  const back = await store.rollback({ origin: 'console', author: 'alice', to: 2 });
  t.match(back, { version: 5, message: 'rollback to version 2', author: 'alice', sealed: true });
  t.same(back.config, (await store.version(2)).config);
  const named = await store.rollback({ origin: 'console', author: 'alice', to: 1, message: 'back to the default' });
  t.match(named, { version: 6, message: 'back to the default' });
  t.equal((await errorOf(store.rollback({ origin: 'console', author: 'alice', to: 42 }))).message, 'no version 42: the newest is 6');
});

t.test('sealed mode', async (t) => {
  const dir = t.testdir();
  const store = await ConfigStore.open(dir);
  await store.commit(change(2, 'remote'));
  t.equal(store.guard.isSealed(), false);

  const remoteSeal = await errorOf(store.seal('remote', 'bob'));
  t.type(remoteSeal, ConfigStoreError);
  t.equal(remoteSeal.message, 'sealing and unsealing are possible only from the local console');
  t.equal((await errorOf(store.unseal('remote', 'bob'))).message, 'sealing and unsealing are possible only from the local console');
  t.equal((await errorOf(store.unseal('console', 'root'))).message, 'appliance is not sealed');

  const sealed = await store.seal('console', 'root');
  t.match(sealed, { version: 3, sealed: true, origin: 'console', author: 'root', message: 'sealed' });
  t.same(sealed.config, (await store.version(2)).config, 'sealing keeps the configuration');
  t.equal(store.guard.isSealed(), true, 'the guard reflects the current version');
  t.equal((await errorOf(store.seal('console', 'root'))).message, 'appliance is already sealed');

  const files = await versionFiles(dir);
  for (const attempt of [
    () => store.commit(change(4, 'remote')),
    () => store.rollback({ origin: 'remote', author: 'bob', to: 1 }),
    () => store.rollback({ origin: 'remote', author: 'bob', to: 999 }),
    () => store.unseal('remote', 'bob'),
    () => store.seal('remote', 'bob'),
  ]) {
    const err = await errorOf(attempt());
    t.type(err, SealedError);
    t.equal(err.message, SEALED_MESSAGE);
  }
  t.throws(() => store.guard.assertMayChange('remote'), { message: SEALED_MESSAGE });
  t.same(await versionFiles(dir), files, 'refused changes write nothing');

  const consoleCommit = await store.commit(change(5));
  t.match(consoleCommit, { version: 4, sealed: true }, 'the console may still change a sealed appliance');

  const reopened = await ConfigStore.open(dir);
  t.equal(reopened.guard.isSealed(), true, 'the sealed flag survives reopening');

  const unsealed = await store.unseal('console', 'root');
  t.match(unsealed, { version: 5, sealed: false, message: 'unsealed' });
  t.equal(store.guard.isSealed(), false);
  t.match(await store.commit(change(6, 'remote')), { version: 6, sealed: false }, 'remote changes work again');
});

t.test('a store sees a seal made through another store instance before it commits', async (t) => {
  const dir = t.testdir();
  const first = await ConfigStore.open(dir);
  const second = await ConfigStore.open(dir);
  await first.seal('console', 'root');
  t.equal((await errorOf(second.commit(change(2, 'remote')))).message, SEALED_MESSAGE);
  t.equal(second.guard.isSealed(), true);
  t.match(await second.commit(change(3)), { version: 3, sealed: true }, 'a console commit carries the flag on');
});

t.test('50 concurrent commits in one process: unique numbers, none lost', async (t) => {
  const store = await ConfigStore.open(t.testdir(), { keep: 1000 });
  const results = await Promise.all(Array.from({ length: 50 }, (_, i) => store.commit(change(i))));
  t.same(results.map((v) => v.version).sort((a, b) => a - b), Array.from({ length: 50 }, (_, i) => i + 2));
  const history = await store.history();
  t.equal(history.length, 51);
  t.same(new Set(history.map((h) => h.message)).size, 51, 'every commit is in the history');
  t.equal(store.current().version, 51);
});

t.test('two processes committing at once: unique numbers, none lost', async (t) => {
  const dir = t.testdir({ build: {} });
  const childJs = await transpileTree(new URL('./fixtures/commit-loop.ts', import.meta.url).pathname, join(dir, 'build'));
  const dataDir = join(dir, 'data');
  await ConfigStore.open(dataDir);
  const perChild = 40;
  const children = ['A', 'B'].map((label) => {
    const [command, args] = plainNode(childJs, [dataDir, 'batch', label, String(perChild)]);
    return spawn(command, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  });
  // Start both at once, once both have opened the store.
  await Promise.all(children.map((c) => new Promise((resolve) => c.stdout.once('data', resolve))));
  for (const c of children) c.stdin.write('go\n');
  const codes = await Promise.all(children.map((c) => new Promise((resolve) => c.on('close', resolve))));
  t.same(codes, [0, 0]);

  const store = await ConfigStore.open(dataDir);
  const history = (await store.history()).reverse();
  t.same(history.map((h) => h.version), Array.from({ length: 2 * perChild + 1 }, (_, i) => i + 1), 'versions 1..81, no gaps');
  for (const label of ['A', 'B']) {
    t.same(
      history.filter((h) => h.author === label).map((h) => h.message),
      Array.from({ length: perChild }, (_, k) => `${label} ${k}`),
      `all of ${label}'s commits, in its order`,
    );
  }
  const switches = history.slice(2).filter((h, i) => h.author !== history[i + 1].author).length;
  t.comment(`the two writers alternated ${switches} times`);
});

t.test('a full disk during a commit: clear error, previous version stays, no temp file', async (t) => {
  const dir = t.testdir();
  let diskFull = false;
  const store = await ConfigStore.open(dir, {
    writeFile: async (handle, data) => {
      if (!diskFull) return handle.writeFile(data);
      await handle.write(data.subarray(0, data.length >> 1));
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    },
  });
  const v2 = await store.commit(change(2));
  const before = await versionFiles(dir);
  diskFull = true;
  const err = await errorOf(store.commit(change(3)));
  t.type(err, ConfigStoreError);
  t.equal(err.message, 'commit of version 3 failed: ENOSPC: no space left on device, write; version 2 stays current');
  t.equal(store.current(), v2);
  t.same(await versionFiles(dir), before, 'no temp file and no new version left behind');
  t.same((await ConfigStore.open(dir)).current(), v2, 'reopening finds version 2 intact');

  diskFull = false;
  t.match(await store.commit(change(3)), { version: 3 }, 'commits work again once there is space');
});

t.test('a corrupted newest version is skipped with a warning', async (t) => {
  const root = t.testdir();
  for (const [what, damage] of [
    ['truncated', (file: string) => truncate(file, 100)],
    ['garbage', (file: string) => writeFile(file, '\u0000\u0001 not json')],
    ['empty', (file: string) => truncate(file, 0)],
    ['invalid config', (file: string) => writeFile(file, JSON.stringify({ version: 3, time: 'x', origin: 'console', author: 'a', message: 'm', sealed: false, config: {} }))],
    ['wrong number', async (file: string) => writeFile(file, (await readFile(file, 'utf8')).replace('"version": 3', '"version": 2'))],
  ] as const) {
    const dir = join(root, what.replace(' ', '-'));
    const store = await ConfigStore.open(dir);
    const v2 = await store.commit(change(2));
    await store.commit(change(3));
    await damage(join(versionsDir(dir), '000000003.json'));

    const reopened = await ConfigStore.open(dir);
    t.same(reopened.current(), v2, `${what}: falls back to version 2`);
    t.equal(reopened.warnings.length, 1, `${what}: one warning`);
    t.match(reopened.warnings[0], /^skipped unreadable configuration version 3: /);
    t.same((await reopened.history()).map((h) => h.version), [2, 1], `${what}: history skips it`);
    t.match(await reopened.commit(change(4)), { version: 4 }, `${what}: numbers stay monotonic past the damaged file`);
    t.match((await errorOf(reopened.version(3))).message, /^version 3 is unreadable: /);
  }
});

t.test('temp files of dead writers are removed at open, those of live ones kept', async (t) => {
  const dir = t.testdir();
  await ConfigStore.open(dir);
  const dead = spawn(process.execPath, ['-e', '0']);
  await new Promise((resolve) => dead.on('close', resolve));
  const stale = `.${dead.pid}.0123456789ab.tmp`;
  const live = `.${process.pid}.0123456789ab.tmp`;
  await writeFile(join(versionsDir(dir), stale), '{"half": ');
  await writeFile(join(versionsDir(dir), live), '{"half": ');
  const store = await ConfigStore.open(dir);
  t.same(await versionFiles(dir), [live, '000000001.json'].sort());
  t.equal(store.current().version, 1);
});
