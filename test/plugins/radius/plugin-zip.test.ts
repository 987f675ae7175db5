// The RADIUS plugin as `npm run build` packages it: the zip holds the plugin, its own RADIUS client
// and the SDK, nothing else, and in a real sandbox (file access limited to its own directory) it
// talks UDP to FreeRADIUS, challenge included.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { buildPluginZip } from '../../../scripts/build-plugins.js';
import { PluginSlots } from '../../../src/aa/slots.js';
import { sealGuard } from '../../../src/config/sealed.js';
import { authenticateArgs } from '../../aa/sandbox/helpers/hook-calls.js';
import { RADIUS_USERS, startFreeRadius } from '../../helpers/freeradius.js';
import { transpileTree } from '../../helpers/plain-node-child.js';
import { treeSnapshot } from '../../helpers/tree.js';
import { startInSandbox } from '../helpers/plugin-zip.js';

const sourceDir = fileURLToPath(new URL('../../../src/plugins/', import.meta.url));

t.test('the built zip installs and authenticates against FreeRADIUS from the sandbox', async (t) => {
  const dir = t.testdir({});
  await transpileTree(join(sourceDir, 'radius/main.ts'), join(dir, 'compiled'));
  const zipPath = await buildPluginZip({ name: 'radius', sourceDir, compiledDir: join(dir, 'compiled/src/plugins'), outDir: join(dir, 'zip') });
  t.equal(zipPath, join(dir, 'zip/radius-0.1.0.zip'));

  const slots = await PluginSlots.open(join(dir, 'data'), { guard: sealGuard(() => false), configurations: () => [] });
  const installed = await slots.install('console', zipPath);
  t.match(installed, { name: 'radius', version: '0.1.0', manifest: { entryPoint: 'main.js' } });
  const files = Object.keys(await treeSnapshot(installed.dir)).filter((path) => !['sdk', 'radius', 'radius/protocol'].includes(path));
  t.same(files.filter((path) => !path.endsWith('.js')), ['MANIFEST', 'default.cfg']);
  t.same(
    files.filter((path) => path.startsWith('radius/')),
    ['radius/main.js', 'radius/protocol/access.js', 'radius/protocol/authenticators.js', 'radius/protocol/client.js', 'radius/protocol/index.js', 'radius/protocol/packet.js', 'radius/protocol/passwords.js', 'radius/settings.js'],
  );

  const server = await startFreeRadius(t);
  const configText = (installed.defaultConfig as string).replace('#server=radius.example.org', 'server=127.0.0.1').replace('port=1812', `port=${server.port}`);
  const sandbox = await startInSandbox(t, { dir, installed, files }, 'radius-mfa', configText, { 'radius/secret': server.secret });

  t.match(await sandbox.call('authenticate', authenticateArgs({}, { otp: RADIUS_USERS.alice.password })), { verdict: 'ACCEPT' });
  const bob = { ...authenticateArgs({}, { otp: 'first factor' }), gateway_user: RADIUS_USERS.bob.username };
  const challenge = await sandbox.call('authenticate', bob);
  t.match(challenge, { verdict: 'NEEDINFO', question: { key: 'radius_password', prompt: RADIUS_USERS.bob.challenge, disable_echo: true } });
  const cookie = challenge.failure === undefined ? (challenge.cookie ?? {}) : {};
  const answered = await sandbox.call('authenticate', { ...bob, cookie, key_value_pairs: { otp: 'first factor', radius_password: RADIUS_USERS.bob.answer } });
  t.match(answered, { verdict: 'ACCEPT', additional_metadata: '{"authentication":"otp","mfa_identity":"bob"}' });
  t.equal(await readFile(join(installed.dir, 'main.js'), 'utf8'), "export { Plugin } from './radius/main.js';\n");
});
