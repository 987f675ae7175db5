// The Duo plugin as `npm run build` packages it: the zip holds the plugin, the SDK (its HTTPS
// client included) and nothing else, and in a real sandbox a push goes through to the fake Duo.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { buildPluginZip } from '../../../scripts/build-plugins.js';
import { PluginSlots } from '../../../src/aa/slots.js';
import { sealGuard } from '../../../src/config/sealed.js';
import { authenticateArgs } from '../../aa/sandbox/helpers/hook-calls.js';
import { captureLog, loadSandbox } from '../../aa/sandbox/helpers/plain-sandbox.js';
import { startFakeDuo } from '../../fakes/duo.js';
import { transpileTree } from '../../helpers/plain-node-child.js';
import { treeSnapshot } from '../../helpers/tree.js';

const sourceDir = fileURLToPath(new URL('../../../src/plugins/', import.meta.url));

t.test('the built zip installs and sends a push from the sandbox', async (t) => {
  const dir = t.testdir({});
  await transpileTree(join(sourceDir, 'duo/main.ts'), join(dir, 'compiled'));
  const zipPath = await buildPluginZip({ name: 'duo', sourceDir, compiledDir: join(dir, 'compiled/src/plugins'), outDir: join(dir, 'zip') });
  const slots = await PluginSlots.open(join(dir, 'data'), { guard: sealGuard(() => false), configurations: () => [] });
  const installed = await slots.install('console', zipPath);
  t.match(installed, { name: 'duo', version: '0.1.0', manifest: { entryPoint: 'main.js' } });
  const files = Object.keys(await treeSnapshot(installed.dir));
  t.same(files.filter((path) => path.startsWith('duo/')), ['duo/client.js', 'duo/main.js', 'duo/settings.js', 'duo/signature.js']);
  t.ok(files.includes('sdk/https/request.js') && files.includes('sdk/https/proxy.js'));

  const duo = await startFakeDuo(t);
  duo.users.set('alice', {});
  const configText = (installed.defaultConfig as string).replace('#host=api-XXXXXXXX.duosecurity.com', `host=${duo.host}`);
  const secrets: Record<string, string> = { 'duo/ikey': duo.ikey, 'duo/skey': duo.skey, 'tls/ca_cert': duo.ca };
  const { PluginSandbox } = await loadSandbox(join(dir, 'sandbox'));
  const sandbox = await PluginSandbox.start({
    configName: 'duo-mfa',
    pluginName: 'duo',
    pluginDir: installed.dir,
    entryPoint: installed.manifest.entryPoint,
    configText,
    stateDir: join(dir, 'state'),
    ephemeralDir: join(dir, 'ephemeral'),
    secret: async (section, option) => secrets[`${section}/${option}`],
    log: captureLog().log,
  });
  t.teardown(() => sandbox.close());
  t.match(await sandbox.call('authenticate', authenticateArgs({}, { otp: '' })), { verdict: 'ACCEPT', additional_metadata: '{"authentication":"push","mfa_identity":"alice"}' });
  t.match(duo.requests.map((r) => r.path), ['/auth/v2/preauth', '/auth/v2/auth', '/auth/v2/auth_status']);
});
