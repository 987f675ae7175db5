// The file-based state store: values, deletes, key names, and no lost update across processes,
// even when a writer is killed in the middle.
import { spawn } from 'node:child_process';
import { readdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { plainNode, transpileTree } from '../../helpers/plain-node-child.js';
import { FileStateStore, type JsonValue } from '../../../src/plugins/sdk/index.js';

const read = (store: FileStateStore, key: string) => store.update(key, (current) => ({ action: 'keep', result: current }));
const increment = (store: FileStateStore, key = 'counter') =>
  store.update(key, (current) => ({ action: 'write', value: (typeof current === 'number' ? current : 0) + 1, result: undefined }));

t.test('write, keep, delete', async (t) => {
  const store = new FileStateStore(t.testdir());
  t.equal(await read(store, 'k'), undefined);
  const value: JsonValue = { list: ['a', 1, null, true], nested: { x: 1.5 } };
  t.equal(await store.update('k', () => ({ action: 'write', value, result: 'written' })), 'written');
  t.same(await read(store, 'k'), value);
  await store.update('k', () => ({ action: 'delete', result: undefined }));
  t.equal(await read(store, 'k'), undefined);
  await store.update('k', () => ({ action: 'write', value: null, result: undefined }));
  t.equal(await read(store, 'k'), null, 'null is a value, not a delete');
});

t.test('keys are file names that stay inside the root, whatever they hold', async (t) => {
  const root = t.testdir();
  const store = new FileStateStore(root);
  const keys = ['..', '.', '../escape', 'a/b', 'x'.repeat(300), 'ünïcødé@10.0.0.1', ''];
  for (const [index, key] of keys.entries()) await store.update(key, () => ({ action: 'write', value: index, result: undefined }));
  for (const [index, key] of keys.entries()) t.equal(await read(store, key), index, JSON.stringify(key).slice(0, 20));
  t.equal((await readdir(root)).length, keys.length);
  t.notOk((await readdir(join(root, '..'))).some((name) => name.includes('escape')));
});

t.test('concurrent updates in one process lose nothing', async (t) => {
  const store = new FileStateStore(t.testdir());
  await Promise.all(Array.from({ length: 20 }, () => increment(store)));
  t.equal(await read(store, 'counter'), 20);
});

t.test('concurrent updates from several processes lose nothing', async (t) => {
  const dir = t.testdir({ state: {} });
  const child = await transpileTree(new URL('../fixtures/state-increment.ts', import.meta.url).pathname, join(dir, 'build'));
  const root = join(dir, 'state');
  const run = () =>
    new Promise<void>((resolve, reject) => {
      const [command, args] = plainNode(child, [root, '25']);
      spawn(command, args, { stdio: 'ignore' }).on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`child exited ${code}`))));
    });
  const store = new FileStateStore(root);
  await Promise.all([run(), run(), run(), ...Array.from({ length: 10 }, () => increment(store))]);
  t.equal(await read(store, 'counter'), 85);
});

t.test('a writer killed at any moment leaves no lock: the others go on', async (t) => {
  const dir = t.testdir({ state: {} });
  const child = await transpileTree(new URL('../fixtures/state-increment.ts', import.meta.url).pathname, join(dir, 'build'));
  const root = join(dir, 'state');
  const store = new FileStateStore(root);
  let acknowledged = 0;
  for (let kill = 0; kill < 5; kill++) {
    const [command, args] = plainNode(child, [root, '100000']);
    const writer = spawn(command, args, { stdio: ['ignore', 'pipe', 'ignore'] });
    let lines = 0;
    await new Promise<void>((resolve) => {
      writer.stdout.on('data', (chunk: Buffer) => {
        lines += chunk.toString().split('\n').length - 1;
        if (lines >= 3 + kill * 5) writer.kill('SIGKILL');
      });
      writer.on('exit', () => resolve());
    });
    acknowledged += lines;
    const value = (await read(store, 'counter')) as number;
    t.ok(value >= acknowledged && value <= acknowledged + 1, `after kill ${kill + 1}: ${value} for ${acknowledged} acknowledged`);
    acknowledged = value; // the increment in flight may or may not have landed
  }
  await increment(store);
  t.equal(await read(store, 'counter'), acknowledged + 1);
});

t.test('superseded versions and abandoned temporary files are swept once old', async (t) => {
  const root = t.testdir();
  const store = new FileStateStore(root);
  for (let i = 0; i < 3; i++) await increment(store, 'k');
  const [dir] = await readdir(root);
  await writeFile(join(root, dir, '.tmp-abandoned'), 'partial');
  t.same((await readdir(join(root, dir))).sort(), ['.tmp-abandoned', '1.json', '2.json', '3.json'], 'recent versions are kept');
  const old = new Date(Date.now() - 11 * 60_000);
  for (const name of ['.tmp-abandoned', '1.json', '2.json']) await utimes(join(root, dir, name), old, old);
  await increment(store, 'k');
  t.same((await readdir(join(root, dir))).sort(), ['3.json', '4.json']);
  t.equal(await read(store, 'k'), 4);
});
