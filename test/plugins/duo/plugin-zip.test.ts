// The Duo plugin as `npm run build` packages it: the zip holds the plugin, the SDK (its HTTPS
// client included) and nothing else, and in a real sandbox a push goes through to the fake Duo.
import t from 'tap';
import { authenticateArgs } from '../../aa/sandbox/helpers/hook-calls.js';
import { startFakeDuo } from '../../fakes/duo.js';
import { installBuiltZip, startInSandbox } from '../helpers/plugin-zip.js';

t.test('the built zip installs and sends a push from the sandbox', async (t) => {
  const zip = await installBuiltZip(t, 'duo');
  t.same(zip.files.filter((path) => path.startsWith('duo/')), ['duo/client.js', 'duo/main.js', 'duo/settings.js', 'duo/signature.js']);
  t.ok(zip.files.includes('sdk/https/request.js') && zip.files.includes('sdk/https/proxy.js'));

  const duo = await startFakeDuo(t);
  duo.users.set('alice', {});
  const configText = (zip.installed.defaultConfig as string).replace('#host=api-XXXXXXXX.duosecurity.com', `host=${duo.host}`);
  const sandbox = await startInSandbox(t, zip, 'duo-mfa', configText, { 'duo/ikey': duo.ikey, 'duo/skey': duo.skey, 'tls/ca_cert': duo.ca });
  t.match(await sandbox.call('authenticate', authenticateArgs({}, { otp: '' })), { verdict: 'ACCEPT', additional_metadata: '{"authentication":"push","mfa_identity":"alice"}' });
  t.match(duo.requests.map((r) => r.path), ['/auth/v2/preauth', '/auth/v2/auth', '/auth/v2/auth_status']);
});
