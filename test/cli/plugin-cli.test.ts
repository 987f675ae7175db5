// `gatehouse plugin ...` as an administrator runs it: install, list, configurations from default.cfg,
// activate an older version, removal refused while referenced, sealed mode.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { packageFiles, yazlZip } from '../aa/zips.js';
import { gatehouse } from '../helpers/cli.js';

t.test('plugin lifecycle through the CLI', async (t) => {
  const data = t.testdir();
  const remote = { GATEHOUSE_DATA: data, GATEHOUSE_ORIGIN: 'remote' };
  const console = { GATEHOUSE_DATA: data, GATEHOUSE_ORIGIN: 'console' };
  const zips: string[] = [];
  for (const version of ['1.0.0', '1.1.0']) {
    const file = join(data, `demo-${version}.zip`);
    await writeFile(file, await yazlZip(packageFiles({ version })));
    zips.push(file);
  }
  for (const zip of zips) {
    const installed = await gatehouse(['plugin', 'install', zip], remote);
    t.equal(installed.code, 0, installed.stderr);
  }
  const again = await gatehouse(['plugin', 'install', zips[0]!], remote);
  t.equal(again.code, 1);
  t.match(again.stderr, /plugin package refused: .*1\.0\.0.*already installed/);
  t.match((await gatehouse(['plugin', 'list'], remote)).stdout, 'demo_plugin\tactive 1.1.0\tversions 1.0.0, 1.1.0');

  const created = await gatehouse(['plugin', 'config', 'create', 'otp', '--plugin', 'demo_plugin'], remote);
  t.equal(created.code, 0, created.stderr);
  t.equal((await gatehouse(['plugin', 'config', 'show', 'otp'], remote)).stdout, '[auth]\nprompt=Your one-time password: \n', 'pre-filled from default.cfg');
  await writeFile(join(data, 'otp.cfg'), '[auth]\nprompt=OTP: \n');
  t.equal((await gatehouse(['plugin', 'config', 'edit', 'otp', '--file', join(data, 'otp.cfg')], remote)).code, 0);
  t.equal((await gatehouse(['plugin', 'config', 'show', 'otp'], remote)).stdout, '[auth]\nprompt=OTP: \n');

  t.equal((await gatehouse(['plugin', 'activate', 'demo_plugin', '1.0.0'], remote)).code, 0, 'roll back to 1.0.0');
  t.match((await gatehouse(['plugin', 'list'], remote)).stdout, 'active 1.0.0');
  const referenced = await gatehouse(['plugin', 'remove', 'demo_plugin'], remote);
  t.equal(referenced.code, 1);
  t.match(referenced.stderr, /otp/, 'names the configuration that uses it');

  t.equal((await gatehouse(['seal'], console)).code, 0);
  for (const change of [['plugin', 'install', zips[1]!], ['plugin', 'activate', 'demo_plugin', '1.1.0'], ['plugin', 'remove', 'demo_plugin', '1.1.0'], ['plugin', 'config', 'remove', 'otp']]) {
    const refused = await gatehouse(change, remote);
    t.equal(refused.code, 1, change.join(' '));
    t.match(refused.stderr, 'appliance is sealed: change it from the local console', change.join(' '));
  }
  t.equal((await gatehouse(['plugin', 'config', 'remove', 'otp'], console)).code, 0);
  t.equal((await gatehouse(['plugin', 'remove', 'demo_plugin'], console)).code, 0, 'removable once no configuration uses it');
  t.equal((await gatehouse(['plugin', 'list'], remote)).stdout, '');
});
