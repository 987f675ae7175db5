// The inWebo plugin as `npm run build` packages it: the zip holds the plugin, the SDK (its HTTPS
// client included) and nothing else, and in a real sandbox a push goes through a real tinyproxy
// to the fake inWebo, with the client certificate from the credential store.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { buildPluginZip } from '../../../scripts/build-plugins.js';
import { PluginSlots } from '../../../src/aa/slots.js';
import { sealGuard } from '../../../src/config/sealed.js';
import { authenticateArgs } from '../../aa/sandbox/helpers/hook-calls.js';
import { captureLog, loadSandbox } from '../../aa/sandbox/helpers/plain-sandbox.js';
import { startFakeInwebo } from '../../fakes/inwebo.js';
import { transpileTree } from '../../helpers/plain-node-child.js';
import { startTinyproxy } from '../../helpers/tinyproxy.js';
import { treeSnapshot } from '../../helpers/tree.js';

const sourceDir = fileURLToPath(new URL('../../../src/plugins/', import.meta.url));

t.test('the built zip installs and sends a push from the sandbox through tinyproxy', async (t) => {
  const dir = t.testdir({});
  await transpileTree(join(sourceDir, 'inwebo/main.ts'), join(dir, 'compiled'));
  const zipPath = await buildPluginZip({ name: 'inwebo', sourceDir, compiledDir: join(dir, 'compiled/src/plugins'), outDir: join(dir, 'zip') });
  const slots = await PluginSlots.open(join(dir, 'data'), { guard: sealGuard(() => false), configurations: () => [] });
  const installed = await slots.install('console', zipPath);
  t.match(installed, { name: 'inwebo', version: '0.1.0', manifest: { entryPoint: 'main.js' } });
  const files = Object.keys(await treeSnapshot(installed.dir));
  t.same(files.filter((path) => path.startsWith('inwebo/')), ['inwebo/client-certificate.js', 'inwebo/client.js', 'inwebo/main.js', 'inwebo/settings.js']);
  t.ok(files.includes('sdk/https/request.js') && files.includes('sdk/https/proxy.js'));

  const inwebo = await startFakeInwebo(t);
  inwebo.users.set('alice', { waiting: 0 });
  const proxy = await startTinyproxy(t, { connectPorts: [inwebo.port] });
  const configText = (installed.defaultConfig as string)
    .replace('#service_id=<numeric Service ID>', `service_id=${inwebo.serviceId}`)
    .replace(/^api_url=.*$/m, `api_url=${inwebo.apiUrl}`)
    .concat(`\n[https_proxy]\nserver=${proxy.host}\nport=${proxy.port}\n`);
  const secrets: Record<string, string> = { 'inwebo/client_cert': inwebo.clientCert, 'tls/ca_cert': inwebo.ca };
  const { PluginSandbox } = await loadSandbox(join(dir, 'sandbox'));
  const sandbox = await PluginSandbox.start({
    configName: 'inwebo-mfa',
    pluginName: 'inwebo',
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
  t.same(inwebo.requests.map((r) => r.params.action), ['pushAuthenticate', 'checkPushResult']);
  t.match(proxy.logs(), new RegExp(`CONNECT 127\\.0\\.0\\.1:${inwebo.port}`));
});
