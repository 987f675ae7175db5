// The Starling plugin as `npm run build` packages it: the zip holds the plugin, the SDK (its HTTPS
// client included) and nothing else, and in a real sandbox a push goes through to the fake
// Starling, the access token kept in the plugin's state directory for the next hook call.
import t from 'tap';
import { authenticateArgs } from '../../aa/sandbox/helpers/hook-calls.js';
import { startFakeStarling, TOKEN_PATH } from '../../fakes/starling.js';
import { installBuiltZip, startInSandbox } from '../helpers/plugin-zip.js';

t.test('the built zip installs and sends a push from the sandbox', async (t) => {
  const zip = await installBuiltZip(t, 'starling');
  t.same(zip.files.filter((path) => path.startsWith('starling/')), ['starling/client.js', 'starling/json.js', 'starling/main.js', 'starling/provisioning.js', 'starling/settings.js', 'starling/token.js']);
  t.ok(zip.files.includes('sdk/https/request.js') && zip.files.includes('sdk/https/proxy.js'));

  const starling = await startFakeStarling(t);
  starling.users.set('1234567', {});
  const configText = `${(zip.installed.defaultConfig as string)
    .replace(/^#token_url=.*$/m, `token_url=${starling.tokenUrl}`)
    .replace(/^#api_url=.*$/m, `api_url=${starling.apiUrl}`)}\n[usermapping source=explicit]\nalice=1234567\n`;
  const secrets = { 'starling/client_id': starling.clientId, 'starling/client_secret': starling.clientSecret, 'tls/ca_cert': starling.ca };
  const sandbox = await startInSandbox(t, zip, 'starling-2fa', configText, secrets);
  for (let i = 0; i < 2; i++) {
    t.match(await sandbox.call('authenticate', authenticateArgs({}, { otp: '' })), { verdict: 'ACCEPT', additional_metadata: '{"authentication":"push","mfa_identity":"1234567"}' });
  }
  t.equal(starling.requests.filter((r) => r.path === TOKEN_PATH).length, 1, 'the second hook call reused the token');
  t.match(starling.requests.map((r) => r.path).slice(0, 3), [TOKEN_PATH, '/v1/Users/1234567/approvalrequests', /^\/v1\/ApprovalRequests\//]);
});
