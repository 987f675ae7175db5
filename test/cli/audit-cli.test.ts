// The CLI's security events: a configuration commit, sealing, plugin installs and credential-store
// changes leave one event each in the data directory's audit inbox, for the gateway's journal.
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { readInbox } from '../../src/log/events/inbox.js';
import { packageFiles, yazlZip } from '../aa/zips.js';
import { gatehouse } from '../helpers/cli.js';

function events(data: string) {
  return readInbox(data).map((item) => {
    if (!item.entry) throw new Error(`unreadable inbox file ${item.file}: ${item.problem}`);
    return item.entry;
  });
}

t.test('config apply and rollback, seal and unseal, plugin install, activate and remove', async (t) => {
  const data = t.testdir();
  const remote = { GATEHOUSE_DATA: data, GATEHOUSE_ORIGIN: 'remote', SUDO_USER: 'carol' };
  const console = { GATEHOUSE_DATA: data, GATEHOUSE_ORIGIN: 'console', SUDO_USER: 'carol' };
  const current = JSON.parse((await gatehouse(['config', 'show'], remote)).stdout);
  t.same(events(data), [], 'reading changes nothing');
  current.connectionPolicies[0].listen.port = 2299;
  await writeFile(join(data, 'next.json'), JSON.stringify(current));
  t.equal((await gatehouse(['config', 'apply', join(data, 'next.json'), '-m', 'move to 2299'], remote)).code, 0);
  t.equal((await gatehouse(['config', 'rollback', '1'], remote)).code, 0);
  t.equal((await gatehouse(['seal'], console)).code, 0);
  t.equal((await gatehouse(['seal'], remote)).code, 1, 'a refused change');
  t.equal((await gatehouse(['unseal'], console)).code, 0);

  const zips: string[] = [];
  for (const version of ['1.0.0', '1.1.0']) {
    const file = join(data, `demo-${version}.zip`);
    await writeFile(file, await yazlZip(packageFiles({ version })));
    zips.push(file);
    t.equal((await gatehouse(['plugin', 'install', file], remote)).code, 0);
  }
  t.equal((await gatehouse(['plugin', 'activate', 'demo_plugin', '1.0.0'], remote)).code, 0);
  t.equal((await gatehouse(['plugin', 'remove', 'demo_plugin', '1.1.0'], remote)).code, 0);
  t.equal((await gatehouse(['credstore', 'init'], console)).code, 0);
  t.equal((await gatehouse(['credstore', 'add', 'secret', '--section', 'duo', '--option', 'skey', '--scope', 'mfa'], console, 'very-secret-value\n')).code, 0);

  const got = events(data);
  t.same(got.map((e) => e.eventId), [
    'config-committed',
    'config-committed',
    'appliance-sealed',
    'appliance-unsealed',
    'plugin-installed',
    'plugin-installed',
    'plugin-activated',
    'plugin-deleted',
    'credential-store-created',
    'credential-store-changed',
  ]);
  t.ok(got.every((e) => e.source === 'cli'));
  t.same(got[0]!.fields, { version: 2, author: 'carol', origin: 'remote', change: 'apply', message: 'move to 2299' });
  t.same(got[1]!.fields, { version: 3, author: 'carol', origin: 'remote', change: 'rollback', message: 'rollback to version 1' });
  t.same(got[2]!.fields, { version: 4, author: 'carol', origin: 'console' });
  t.match(got[3], { severity: 'warning', fields: { version: 5, origin: 'console' } });
  const sha256 = createHash('sha256').update(await readFile(zips[0]!)).digest('hex');
  t.same(got[4]!.fields, { plugin: 'demo_plugin', version: '1.0.0', sha256, origin: 'remote' });
  t.same(got[6]!.fields, { plugin: 'demo_plugin', version: '1.0.0', origin: 'remote' });
  t.same(got[7]!.fields, { plugin: 'demo_plugin', version: '1.1.0', origin: 'remote' });
  t.match(got[8]!.fields, { mode: 'appliance-key', origin: 'console' });
  t.match(got[9]!.fields, { change: 'set-secret', scope: 'mfa', section: 'duo', option: 'skey', origin: 'console' });
  t.notMatch(JSON.stringify(got), /very-secret-value|2299,/, 'neither secrets nor configuration contents');
});
