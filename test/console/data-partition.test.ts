// Without its data partition the console offers formatting (confirmed by typing ERASE), reboot and shut down,
// and runs the commands it is given: here recorded, never mkfs for real.
import { join } from 'node:path';
import t from 'tap';
import { DATA_PARTITION_MISSING, isMountPoint, runDataPartitionMenu } from '../../src/console/data-partition.js';
import { ConsoleClosed } from '../../src/console/terminal.js';
import { fakeConsole } from './harness.js';

const DEVICE = '/dev/disk/by-partlabel/test-data';

/** Runs the menu with recorded commands; `fail` makes one command fail with that error output. */
function rescue(fail?: { command: string; stderr: string }) {
  const c = fakeConsole();
  const calls: string[] = [];
  const run = async (command: string, args: string[]) => {
    calls.push([command, ...args].join(' '));
    if (command === fail?.command) throw new Error(`${[command, ...args].join(' ')}: ${fail.stderr}`);
  };
  const ended = runDataPartitionMenu(c.term, { device: DEVICE, run }).catch((err: unknown) => err);
  const stop = async () => {
    c.term.close();
    return ended;
  };
  return { c, calls, stop };
}

t.test('the message and the menu', async (t) => {
  const { c, calls, stop } = rescue();
  await c.waitFor('Choice (1-3): ');
  t.match(c.screen(), DATA_PARTITION_MISSING);
  t.match(c.screen(), 'Data partition\r\n  1) Factory reset: format the data partition\r\n  2) Reboot\r\n  3) Shut down\r\n');
  t.ok((await stop()) instanceof ConsoleClosed, 'it ends only with the console');
  t.same(calls, []);
});

t.test('formatting is refused unless ERASE is typed', async (t) => {
  const { c, calls, stop } = rescue();
  c.type('1\rerase\r');
  await c.waitFor('Not confirmed: nothing erased.');
  t.match(c.screen(), `Formatting erases everything on ${DEVICE}`);
  t.match(c.screen(), 'Type ERASE to format the data partition: ');
  await stop();
  t.same(calls, [], 'nothing run');
});

t.test('ERASE formats the partition, then reboots', async (t) => {
  const { c, calls, stop } = rescue();
  c.type('1\rERASE\r');
  await c.waitFor('Rebooting');
  await stop();
  t.same(calls, [`mkfs.ext4 -F -q -L data ${DEVICE}`, 'systemctl reboot']);
});

t.test('a failing mkfs is shown and nothing else happens', async (t) => {
  const { c, calls, stop } = rescue({ command: 'mkfs.ext4', stderr: 'Device size reported to be zero' });
  c.type('1\rERASE\r');
  await c.waitFor('Device size reported to be zero');
  await c.waitFor('Choice (1-3): ');
  t.match(c.screen(), `! mkfs.ext4 -F -q -L data ${DEVICE}: Device size reported to be zero`);
  t.notMatch(c.screen(), 'Rebooting');
  await stop();
  t.same(calls, [`mkfs.ext4 -F -q -L data ${DEVICE}`], 'no reboot');
});

t.test('reboot and shut down are confirmed', async (t) => {
  const { c, calls, stop } = rescue();
  c.type('2\rn\r3\ry\r');
  await c.waitFor('Shut the appliance down? [y/N]: y');
  await stop();
  t.same(calls, ['systemctl poweroff']);
});

t.test('a mount point is on another device than its parent', async (t) => {
  const dir = t.testdir();
  t.equal(isMountPoint('/proc'), true);
  t.equal(isMountPoint(dir), false, 'a plain directory');
  t.equal(isMountPoint(join(dir, 'missing')), false, 'a missing directory');
});
