import t from 'tap';
import { workerLaunch } from '../../../src/aa/sandbox/worker-launch.js';

t.test('the worker runs under the permission model with its own directories and an empty environment', async (t) => {
  process.env.GATEHOUSE_LAUNCH_TEST = 'must not pass';
  const launch = workerLaunch({ workerScript: '/app/dist/src/aa/sandbox/worker.js', pluginDir: '/data/plugins/totp/1.0', stateDir: '/data/plugin-state/totp', ephemeralDir: '/run/gatehouse/totp', memoryMb: 64 });
  t.equal(launch.command, process.execPath);
  t.strictSame(launch.args, [
    '--experimental-permission',
    '--allow-fs-read=/app/dist/src/aa/sandbox',
    '--allow-fs-read=/data/plugins/totp/1.0',
    '--allow-fs-read=/data/plugin-state/totp',
    '--allow-fs-read=/run/gatehouse/totp',
    '--allow-fs-write=/data/plugin-state/totp',
    '--allow-fs-write=/run/gatehouse/totp',
    '--max-old-space-size=64',
    '--disable-warning=ExperimentalWarning',
    '/app/dist/src/aa/sandbox/worker.js',
  ]);
  t.strictSame(launch.env, { PATH: '/usr/bin:/bin' });
  t.equal(launch.cwd, '/data/plugins/totp/1.0');
  delete process.env.GATEHOUSE_LAUNCH_TEST;
});
