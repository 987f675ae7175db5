// The inWebo plugin as `npm run build` packages it: the zip holds the plugin, the SDK (its HTTPS
// client included) and nothing else, and in a real sandbox a push goes through a real tinyproxy
// to the fake inWebo, with the client certificate from the credential store.
import t from 'tap';
import { authenticateArgs } from '../../aa/sandbox/helpers/hook-calls.js';
import { startFakeInwebo } from '../../fakes/inwebo.js';
import { startTinyproxy } from '../../helpers/tinyproxy.js';
import { installBuiltZip, startInSandbox } from '../helpers/plugin-zip.js';

t.test('the built zip installs and sends a push from the sandbox through tinyproxy', async (t) => {
  const zip = await installBuiltZip(t, 'inwebo');
  t.same(zip.files.filter((path) => path.startsWith('inwebo/')), ['inwebo/client-certificate.js', 'inwebo/client.js', 'inwebo/main.js', 'inwebo/settings.js']);
  t.ok(zip.files.includes('sdk/https/request.js') && zip.files.includes('sdk/https/proxy.js'));

  const inwebo = await startFakeInwebo(t);
  inwebo.users.set('alice', { waiting: 0 });
  const proxy = await startTinyproxy(t, { connectPorts: [inwebo.port] });
  const configText = (zip.installed.defaultConfig as string)
    .replace('#service_id=<numeric Service ID>', `service_id=${inwebo.serviceId}`)
    .replace(/^api_url=.*$/m, `api_url=${inwebo.apiUrl}`)
    .concat(`\n[https_proxy]\nserver=${proxy.host}\nport=${proxy.port}\n`);
  const sandbox = await startInSandbox(t, zip, 'inwebo-mfa', configText, { 'inwebo/client_cert': inwebo.clientCert, 'tls/ca_cert': inwebo.ca });
  t.match(await sandbox.call('authenticate', authenticateArgs({}, { otp: '' })), { verdict: 'ACCEPT', additional_metadata: '{"authentication":"push","mfa_identity":"alice"}' });
  t.same(inwebo.requests.map((r) => r.params.action), ['pushAuthenticate', 'checkPushResult']);
  t.match(proxy.logs(), new RegExp(`CONNECT 127\\.0\\.0\\.1:${inwebo.port}`));
});
