// System commands run with argv only (no shell), as root (directly, or through sudo -n for the console's
// user on the appliance), and fail with their own stderr.
import t from 'tap';
import { asRoot, runSystemCommand, SystemCommandError } from '../../src/system/system-command.js';
import { errorOf } from '../helpers/errors.js';

t.test('runSystemCommand passes argv untouched: no shell expands anything', async (t) => {
  const printed = await runSystemCommand(process.execPath, ['-e', 'process.stdout.write(JSON.stringify(process.argv.slice(1)))', '$HOME', '; echo hi', '*']);
  t.same(JSON.parse(printed), ['$HOME', '; echo hi', '*']);
});

t.test('a failing command rejects with its trimmed stderr', async (t) => {
  const err = await errorOf(runSystemCommand(process.execPath, ['-e', 'process.stderr.write("  disk is on fire\\n\\n"); process.exit(3)']));
  t.ok(err instanceof SystemCommandError);
  t.equal((err as SystemCommandError).stderr, 'disk is on fire');
  t.match(err.message, /: disk is on fire$/);
});

t.test('a command that cannot start or runs too long is reported too', async (t) => {
  const missing = await errorOf(runSystemCommand('gatehouse-no-such-command', ['x']));
  t.match(missing.message, /^gatehouse-no-such-command x: .*ENOENT/);
  const slow = await errorOf(runSystemCommand(process.execPath, ['-e', 'setTimeout(() => {}, 10_000)'], { timeoutMs: 200 }));
  t.ok(slow instanceof SystemCommandError, 'killed after the timeout');
});

t.test('as root a command runs directly; otherwise through sudo -n, which never asks for a password', async (t) => {
  t.same(asRoot('systemctl', ['reboot'], 0), ['systemctl', ['reboot']]);
  t.same(asRoot('hostnamectl', ['set-hostname', '--transient', 'edge-01'], 900), ['sudo', ['-n', '--', 'hostnamectl', 'set-hostname', '--transient', 'edge-01']]);
  t.same(asRoot('-x', [], 900)[1].slice(0, 2), ['-n', '--'], 'a command is never read as a sudo option');
});
