import { mkdir, readdir, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { prepareSandboxPaths } from '../../../src/aa/sandbox/sandbox-paths.js';

t.test('creates the state directory, empties the ephemeral one, resolves symlinks', async (t) => {
  const dir = t.testdir({ plugin: { 'main.mjs': '' }, ephemeral: { leftover: 'x', sub: { deeper: 'y' } } });
  await symlink(join(dir, 'plugin'), join(dir, 'plugin-link'));
  const paths = await prepareSandboxPaths({ pluginDir: join(dir, 'plugin-link'), entryPoint: 'main.mjs', stateDir: join(dir, 'state/totp'), ephemeralDir: join(dir, 'ephemeral') });
  t.equal(paths.pluginDir, join(dir, 'plugin'));
  t.equal(paths.entry, join(dir, 'plugin/main.mjs'));
  t.equal((await stat(paths.stateDir)).mode & 0o777, 0o700);
  t.strictSame(await readdir(paths.ephemeralDir), []);
});

t.test('refuses what would confine the wrong thing or wipe the wrong thing', async (t) => {
  const dir = t.testdir({ plugin: { 'main.mjs': '', lib: {} }, elsewhere: { 'x.mjs': '' } });
  await symlink(join(dir, 'elsewhere/x.mjs'), join(dir, 'plugin/lib/escape.mjs'));
  const base = { pluginDir: join(dir, 'plugin'), entryPoint: 'main.mjs', stateDir: join(dir, 'state'), ephemeralDir: join(dir, 'ephemeral') };
  await t.rejects(prepareSandboxPaths({ ...base, stateDir: 'relative/state' }), /stateDir must be an absolute path/);
  await t.rejects(prepareSandboxPaths({ ...base, entryPoint: '../elsewhere/x.mjs' }), /leads outside/);
  await t.rejects(prepareSandboxPaths({ ...base, entryPoint: 'lib/escape.mjs' }), /leads outside/);
  await t.rejects(prepareSandboxPaths({ ...base, entryPoint: 'missing.mjs' }), /is not in/);
  await t.rejects(prepareSandboxPaths({ ...base, ephemeralDir: dir }), /must not contain the plugin/);
  await t.rejects(prepareSandboxPaths({ ...base, ephemeralDir: base.stateDir }), /must not contain/);
  await mkdir(join(dir, 'keep'));
  await writeFile(join(dir, 'keep/file'), 'kept');
  await t.rejects(prepareSandboxPaths({ ...base, stateDir: join(dir, 'keep/state'), ephemeralDir: join(dir, 'keep') }), /must not contain/);
  t.strictSame(await readdir(join(dir, 'keep')), ['file']);
});
