// Tests of plugin slots: versions side by side with one active, rollback, removal guarded by the
// AA plugin configurations that use a plugin, sealed mode through the configuration store's
// guard, crash leftovers, concurrency, and new AA plugin configurations pre-filled from default.cfg.
import { mkdir, readdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { PluginPackageError, PluginSlotError } from '../../src/aa/errors.js';
import { newPluginConfiguration } from '../../src/aa/plugin-configuration.js';
import { PluginSlots, type PluginReference } from '../../src/aa/slots.js';
import { sealGuard, SealedError } from '../../src/config/sealed.js';
import { ConfigStore } from '../../src/config/store.js';
import { treeSnapshot } from '../helpers/tree.js';
import { packageFiles, yazlZip, zipFile } from './zips.js';
import { errorOf } from '../helpers/errors.js';

const SEALED_MESSAGE = 'appliance is sealed: change it from the local console';

async function setup(root: string, configurations: () => readonly PluginReference[] = () => []) {
  const dataDir = join(root, 'data');
  const zips = join(root, 'zips');
  await mkdir(zips, { recursive: true });
  const slots = await PluginSlots.open(dataDir, { guard: sealGuard(() => false), configurations });
  const pkg = async (fields: Record<string, string | undefined> = {}, changes: Record<string, string> = {}) =>
    zipFile(zips, await yazlZip({ ...packageFiles(fields), ...changes }));
  return { dataDir, plugins: join(dataDir, 'plugins'), slots, pkg };
}

t.test('two versions side by side: the newly installed one is active, the older stays for rollback', async (t) => {
  const { plugins, slots, pkg } = await setup(t.testdir());
  t.same(await slots.list(), []);
  t.equal(await slots.activeVersion('demo_plugin'), undefined);
  await slots.install('console', await pkg({ version: '1.0.0' }, { 'default.cfg': '[v1]\n' }));
  const v2 = await slots.install('console', await pkg({ version: '1.1.0' }, { 'default.cfg': '[v2]\n' }));
  t.equal(v2.version, '1.1.0');
  t.same(await slots.list(), [{ name: 'demo_plugin', active: '1.1.0', versions: ['1.0.0', '1.1.0'] }]);
  t.same((await readdir(join(plugins, 'demo_plugin'))).sort(), ['1.0.0', '1.1.0', 'slot.json']);

  const rolledBack = await slots.activate('console', 'demo_plugin', '1.0.0');
  t.same([rolledBack.version, rolledBack.defaultConfig, rolledBack.dir], ['1.0.0', '[v1]\n', join(plugins, 'demo_plugin', '1.0.0')]);
  t.equal((await slots.activeVersion('demo_plugin'))?.version, '1.0.0');
  t.same(JSON.parse(await readFile(join(plugins, 'demo_plugin', 'slot.json'), 'utf8')), { active: '1.0.0' });

  // Installing an older version than the newest also makes it active: what was installed last runs.
  await slots.install('console', await pkg({ version: '0.9' }));
  t.same(await slots.list(), [{ name: 'demo_plugin', active: '0.9', versions: ['0.9', '1.0.0', '1.1.0'] }]);

  t.same(await errorOf(slots.activate('console', 'demo_plugin', '3.0')), new PluginSlotError('plugin demo_plugin has no version "3.0" (installed: 0.9, 1.0.0, 1.1.0)'));
  t.same(await errorOf(slots.activate('console', 'nothing', '1.0')), new PluginSlotError('no plugin named "nothing" is installed'));
  t.same(await errorOf(slots.activate('console', '../demo_plugin', '1.0.0')), new PluginSlotError('no plugin named "../demo_plugin" is installed'));
  t.same(await errorOf(slots.activate('console', 'demo_plugin', '../../x')), new PluginSlotError('plugin demo_plugin has no version "../../x" (installed: 0.9, 1.0.0, 1.1.0)'));
  t.equal(await slots.activeVersion('..'), undefined);
});

t.test('remove: refused while a configuration uses the plugin, allowed when none does', async (t) => {
  let configurations: PluginReference[] = [{ name: 'mfa', plugin: 'demo_plugin' }, { name: 'mfa-backup', plugin: 'demo_plugin' }, { name: 'x', plugin: 'other' }];
  const { plugins, slots, pkg } = await setup(t.testdir(), () => configurations);
  await slots.install('console', await pkg({ version: '1.0.0' }));
  await slots.install('console', await pkg({ version: '2.0.0' }));
  await slots.install('console', await pkg({ version: '3.0.0' }));
  await slots.activate('console', 'demo_plugin', '2.0.0');

  const inUse = new PluginSlotError('plugin demo_plugin is used by AA plugin configuration "mfa", "mfa-backup": change or remove them first');
  const before = await treeSnapshot(plugins);
  t.same(await errorOf(slots.remove('console', 'demo_plugin')), inUse);
  t.same(
    await errorOf(slots.remove('console', 'demo_plugin', '2.0.0')),
    new PluginSlotError('demo_plugin 2.0.0 is the active version: activate another one first (installed: 1.0.0, 2.0.0, 3.0.0)'),
  );
  t.same(await errorOf(slots.remove('console', 'demo_plugin', '4.0.0')), new PluginSlotError('plugin demo_plugin has no version "4.0.0" (installed: 1.0.0, 2.0.0, 3.0.0)'));
  t.same(await treeSnapshot(plugins), before, 'nothing changed');

  // An inactive version is used by nothing: it may go even while the plugin is in use.
  await slots.remove('console', 'demo_plugin', '3.0.0');
  await slots.remove('console', 'demo_plugin', '1.0.0');
  t.same(await slots.list(), [{ name: 'demo_plugin', active: '2.0.0', versions: ['2.0.0'] }]);
  // The only version left is the plugin itself.
  t.same(await errorOf(slots.remove('console', 'demo_plugin', '2.0.0')), new PluginSlotError('plugin demo_plugin is used by AA plugin configuration "mfa", "mfa-backup": change or remove them first'));

  configurations = [{ name: 'mfa', plugin: 'demo_plugin' }];
  t.match((await errorOf(slots.remove('console', 'demo_plugin'))).message, /used by AA plugin configuration "mfa": change or remove it first/);
  configurations = [];
  await slots.remove('console', 'demo_plugin');
  t.same(await slots.list(), []);
  t.same(await readdir(plugins), [], 'no slot directory and no trash left');
  t.same(await errorOf(slots.remove('console', 'demo_plugin')), new PluginSlotError('no plugin named "demo_plugin" is installed'));
});

t.test('sealed (the configuration store’s guard): remote install, activate and remove are refused; the console may', async (t) => {
  const { dataDir, zips, store, slots } = await slotsWithConfigStore(t.testdir());
  const pkg = async (version: string) => zipFile(zips, await yazlZip(packageFiles({ version })));
  await slots.install('remote', await pkg('1.0.0'));
  await slots.install('remote', await pkg('1.1.0'));
  await store.seal('console', 'root');

  const plugins = join(dataDir, 'plugins');
  const before = await treeSnapshot(plugins);
  for (const attempt of [slots.install('remote', await pkg('2.0.0')), slots.activate('remote', 'demo_plugin', '1.0.0'), slots.remove('remote', 'demo_plugin', '1.0.0'), slots.remove('remote', 'demo_plugin')]) {
    const error = await errorOf(attempt);
    t.ok(error instanceof SealedError);
    t.equal(error.message, SEALED_MESSAGE);
  }
  t.same(await treeSnapshot(plugins), before, 'plugins untouched');
  t.same(await errorOf(slots.install('remote', join(zips, 'does-not-exist.zip'))), new SealedError(), 'refused before the zip is even read');

  t.equal((await slots.install('console', await pkg('2.0.0'))).version, '2.0.0');
  t.equal((await slots.activate('console', 'demo_plugin', '1.0.0')).version, '1.0.0');
  await slots.remove('console', 'demo_plugin', '1.1.0');
  t.same(await slots.list(), [{ name: 'demo_plugin', active: '1.0.0', versions: ['1.0.0', '2.0.0'] }]);
  await slots.remove('console', 'demo_plugin');
  t.same(await slots.list(), []);
});

t.test('newPluginConfiguration: text from the active version’s default.cfg, committed by the store, then guarding removal', async (t) => {
  const { zips, store, slots } = await slotsWithConfigStore(t.testdir());
  await slots.install('console', await zipFile(zips, await yazlZip({ ...packageFiles({ version: '1.0' }), 'default.cfg': '[duo]\nikey=$\n' })));
  await slots.install('console', await zipFile(zips, await yazlZip({ ...packageFiles({ version: '2.0' }), 'default.cfg': '[duo]\nikey=$\ntimeout=60\n' })));
  const { 'default.cfg': _dropped, ...withoutDefault } = packageFiles({ name: 'bare' });
  await slots.install('console', await zipFile(zips, await yazlZip(withoutDefault)));

  const configuration = await newPluginConfiguration('mfa', 'demo_plugin', slots);
  t.same(configuration, { name: 'mfa', plugin: 'demo_plugin', text: '[duo]\nikey=$\ntimeout=60\n' });
  await slots.activate('console', 'demo_plugin', '1.0');
  t.same(await newPluginConfiguration('mfa', 'demo_plugin', slots), { name: 'mfa', plugin: 'demo_plugin', text: '[duo]\nikey=$\n' }, 'follows the active version');
  t.same(await newPluginConfiguration('plain', 'bare', slots), { name: 'plain', plugin: 'bare', text: '' });
  t.same(await errorOf(newPluginConfiguration('x', 'missing', slots)), new PluginSlotError('no plugin named "missing" is installed'));

  const { config } = store.current();
  await store.commit({ origin: 'console', author: 'root', message: 'add mfa', config: { ...config, aaPluginConfigurations: [configuration] } });
  t.match((await errorOf(slots.remove('console', 'demo_plugin'))).message, /plugin demo_plugin is used by AA plugin configuration "mfa"/);
  await store.commit({ origin: 'console', author: 'root', message: 'drop mfa', config });
  await slots.remove('console', 'demo_plugin');
  t.same((await slots.list()).map((p) => p.name), ['bare']);
});

t.test('changes are serialised: concurrent installs of different versions all land, of one version exactly one', async (t) => {
  const { slots, pkg } = await setup(t.testdir());
  const versions = ['1.0.0', '1.0.1', '1.0.2', '1.0.3', '1.0.4'];
  const zips = await Promise.all(versions.map((version) => pkg({ version })));
  await Promise.all(zips.map((zip) => slots.install('console', zip)));
  t.same((await slots.list())[0].versions, versions);
  t.equal((await slots.list())[0].active, '1.0.4', 'the last one queued is active');

  const same = await pkg({ name: 'racer', version: '1.0.0' });
  const results = await Promise.allSettled([slots.install('console', same), slots.install('console', same), slots.install('console', same)]);
  t.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
  for (const r of results) if (r.status === 'rejected') t.same(r.reason, new PluginPackageError('racer 1.0.0 is already installed'));
});

t.test('after a crash: leftovers of dead processes go at open; a missing or stale slot.json means the newest is active', async (t) => {
  const { dataDir, plugins, slots, pkg } = await setup(t.testdir());
  await slots.install('console', await pkg({ version: '1.0.0' }));
  await slots.install('console', await pkg({ version: '2.0.0' }));
  await slots.activate('console', 'demo_plugin', '1.0.0');

  // pid_max is at most 2^22, so no process has this pid.
  const deadPid = 2 ** 22 + 1;
  await mkdir(join(plugins, `.install-${deadPid}-0a1b2c`, 'lib'), { recursive: true });
  await writeFile(join(plugins, `.install-${deadPid}-0a1b2c`, 'lib', 'half.js'), 'x');
  await mkdir(join(plugins, `.trash-${deadPid}-0a1b2d`));
  await mkdir(join(plugins, `.install-${process.pid}-0a1b2e`), { recursive: true });
  await PluginSlots.open(dataDir, { guard: sealGuard(() => false), configurations: () => [] });
  t.same((await readdir(plugins)).sort(), [`.install-${process.pid}-0a1b2e`, 'demo_plugin'], "a live process's staging directory stays");

  await writeFile(join(plugins, 'demo_plugin', 'slot.json'), '{"active": "9.9.9"}\n');
  t.equal((await slots.activeVersion('demo_plugin'))?.version, '2.0.0', 'slot.json names a version that is not there');
  await unlink(join(plugins, 'demo_plugin', 'slot.json'));
  t.equal((await slots.activeVersion('demo_plugin'))?.version, '2.0.0', 'no slot.json');
  await writeFile(join(plugins, 'demo_plugin', 'slot.json'), 'not json');
  t.equal((await slots.activeVersion('demo_plugin'))?.version, '2.0.0', 'unreadable slot.json');
  await slots.activate('console', 'demo_plugin', '1.0.0');
  t.equal((await slots.activeVersion('demo_plugin'))?.version, '1.0.0');

  // Only plugin names and version names count: stray files and directories are ignored.
  await writeFile(join(plugins, 'README'), 'x');
  await mkdir(join(plugins, 'demo_plugin', 'not-a-version'));
  await mkdir(join(plugins, 'empty_plugin'));
  t.same(await slots.list(), [{ name: 'demo_plugin', active: '1.0.0', versions: ['1.0.0', '2.0.0'] }]);
});

/** Plugin slots guarded by, and checked against, a real configuration store. */
async function slotsWithConfigStore(root: string): Promise<{ dataDir: string; zips: string; store: ConfigStore; slots: PluginSlots }> {
  const dataDir = join(root, 'data');
  const zips = join(root, 'zips');
  await mkdir(zips);
  const store = await ConfigStore.open(dataDir);
  const slots = await PluginSlots.open(dataDir, { guard: store.guard, configurations: () => store.current().config.aaPluginConfigurations });
  return { dataDir, zips, store, slots };
}
