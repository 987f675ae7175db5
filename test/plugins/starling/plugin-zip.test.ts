// The Starling plugin as `npm run build` packages it: the zip holds the plugin, the SDK (its HTTPS
// client included) and nothing else, and in a real sandbox a push goes through to the fake
// Starling, the access token kept in the plugin's state directory for the next hook call.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { buildPluginZip } from '../../../scripts/build-plugins.js';
import { PluginSlots } from '../../../src/aa/slots.js';
import { sealGuard } from '../../../src/config/sealed.js';
import { authenticateArgs } from '../../aa/sandbox/helpers/hook-calls.js';
import { captureLog, loadSandbox } from '../../aa/sandbox/helpers/plain-sandbox.js';
import { startFakeStarling, TOKEN_PATH } from '../../fakes/starling.js';
import { transpileTree } from '../../helpers/plain-node-child.js';
import { treeSnapshot } from '../../helpers/tree.js';

const sourceDir = fileURLToPath(new URL('../../../src/plugins/', import.meta.url));

t.test('the built zip installs and sends a push from the sandbox', async (t) => {
  const dir = t.testdir({});
  await transpileTree(join(sourceDir, 'starling/main.ts'), join(dir, 'compiled'));
  const zipPath = await buildPluginZip({ name: 'starling', sourceDir, compiledDir: join(dir, 'compiled/src/plugins'), outDir: join(dir, 'zip') });
  const slots = await PluginSlots.open(join(dir, 'data'), { guard: sealGuard(() => false), configurations: () => [] });
  const installed = await slots.install('console', zipPath);
  t.match(installed, { name: 'starling', version: '0.1.0', manifest: { entryPoint: 'main.js' } });
  const files = Object.keys(await treeSnapshot(installed.dir));
  t.same(files.filter((path) => path.startsWith('starling/')), ['starling/client.js', 'starling/json.js', 'starling/main.js', 'starling/provisioning.js', 'starling/settings.js', 'starling/token.js']);
  t.ok(files.includes('sdk/https/request.js') && files.includes('sdk/https/proxy.js'));

  const starling = await startFakeStarling(t);
  starling.users.set('1234567', {});
  const configText = `${(installed.defaultConfig as string)
    .replace(/^#token_url=.*$/m, `token_url=${starling.tokenUrl}`)
    .replace(/^#api_url=.*$/m, `api_url=${starling.apiUrl}`)}\n[usermapping source=explicit]\nalice=1234567\n`;
  const secrets: Record<string, string> = { 'starling/client_id': starling.clientId, 'starling/client_secret': starling.clientSecret, 'tls/ca_cert': starling.ca };
  const { PluginSandbox } = await loadSandbox(join(dir, 'sandbox'));
  const sandbox = await PluginSandbox.start({
    configName: 'starling-2fa',
    pluginName: 'starling',
    pluginDir: installed.dir,
    entryPoint: installed.manifest.entryPoint,
    configText,
    stateDir: join(dir, 'state'),
    ephemeralDir: join(dir, 'ephemeral'),
    secret: async (section, option) => secrets[`${section}/${option}`],
    log: captureLog().log,
  });
  t.teardown(() => sandbox.close());
  for (let i = 0; i < 2; i++) {
    t.match(await sandbox.call('authenticate', authenticateArgs({}, { otp: '' })), { verdict: 'ACCEPT', additional_metadata: '{"authentication":"push","mfa_identity":"1234567"}' });
  }
  t.equal(starling.requests.filter((r) => r.path === TOKEN_PATH).length, 1, 'the second hook call reused the token');
  t.match(starling.requests.map((r) => r.path).slice(0, 3), [TOKEN_PATH, '/v1/Users/1234567/approvalrequests', /^\/v1\/ApprovalRequests\//]);
});
