// `gatehouse totp enroll`: the seed goes into the credential store for that plugin configuration
// only, and the printed URI carries the same seed and the configuration's settings.
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { sealGuard } from '../../src/config/sealed.js';
import { LocalCredentialStore } from '../../src/credstore/local-store.js';
import { credentialStoreFiles } from '../../src/credstore/service.js';
import { gatehouse } from '../helpers/cli.js';

t.test('totp enroll stores the seed for the configuration and prints its URI and QR code', async (t) => {
  const data = t.testdir();
  const env = { GATEHOUSE_DATA: data, GATEHOUSE_ORIGIN: 'remote' };
  const config = JSON.parse((await gatehouse(['config', 'show'], env)).stdout);
  config.aaPluginConfigurations = [
    { name: 'otp', plugin: 'totp', text: '[totp]\ndigits=8\nalgorithm=SHA256\nissuer=ACME Corp\n' },
    { name: 'radius1', plugin: 'radius', text: '' },
  ];
  await writeFile(join(data, 'c.json'), JSON.stringify(config));
  t.equal((await gatehouse(['config', 'apply', join(data, 'c.json')], env)).code, 0);
  t.equal((await gatehouse(['credstore', 'init'], env)).code, 0);

  const enrolled = await gatehouse(['totp', 'enroll', 'alice', '--config', 'otp'], env);
  t.equal(enrolled.code, 0, enrolled.stderr);
  const uri = new URL(enrolled.stdout.trim().split('\n').at(-1)!);
  t.equal(uri.protocol, 'otpauth:');
  t.match(decodeURIComponent(uri.href), /^otpauth:\/\/totp\/ACME Corp:alice\?/);
  t.equal(uri.searchParams.get('digits'), '8');
  t.equal(uri.searchParams.get('algorithm'), 'SHA256');
  t.match(enrolled.stdout, /[▀▄█]/, 'a QR code drawn with half blocks');

  const store = await LocalCredentialStore.open({ ...credentialStoreFiles(data, readFileSync(join(data, 'appliance-id'), 'utf8').trim()), guard: sealGuard(() => false) });
  await store.unlock();
  t.equal(store.getPluginSecret('otp', 'totp_seed', 'alice'), uri.searchParams.get('secret'), 'the stored seed is the one in the URI');
  t.equal(store.getPluginSecret('radius1', 'totp_seed', 'alice'), undefined, 'other configurations do not see it');
  t.notMatch((await gatehouse(['credstore', 'list'], env)).stdout, uri.searchParams.get('secret')!, 'list never shows the seed');

  const wrongPlugin = await gatehouse(['totp', 'enroll', 'bob', '--config', 'radius1'], env);
  t.equal(wrongPlugin.code, 1);
  t.match(wrongPlugin.stderr, 'uses plugin "radius", not totp');
  const missing = await gatehouse(['totp', 'enroll', 'bob', '--config', 'nope'], env);
  t.match(missing.stderr, 'no AA plugin configuration named "nope"');
});
