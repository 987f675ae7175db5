// System commands run with argv only (no shell) and fail with their own stderr; the console continues as the
// data directory's owner only when it is root and the owner is not.
import { chownSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import t from 'tap';
import { dataOwnerToActAs, runSystemCommand, SystemCommandError } from '../../src/system/system-command.js';
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

t.test('the console acts as the data owner only when it is root and the owner is not', async (t) => {
  const gatehouse = { uid: 998, gid: 997 };
  t.same(dataOwnerToActAs(0, gatehouse), gatehouse, 'root, data owned by the gateway user: switch');
  t.equal(dataOwnerToActAs(0, { uid: 0, gid: 0 }), undefined, 'data owned by root: stay root');
  t.equal(dataOwnerToActAs(0, undefined), undefined, 'no data directory yet: stay');
  t.equal(dataOwnerToActAs(1000, gatehouse), undefined, 'not root: nothing to switch');
});

t.test('as root, a process acting as the data owner creates files as the owner and still runs commands as root', { skip: process.getuid?.() !== 0 && 'needs root' }, async (t) => {
  const dir = t.testdir();
  const owner = { uid: 65534, gid: 65534 };
  chownSync(dir, owner.uid, owner.gid);
  // A child of its own: the switch is for the rest of the process's life.
  const script = `
    import { writeFileSync } from 'node:fs';
    import { actAsDataOwner, runSystemCommand } from ${JSON.stringify(pathToFileURL(join(import.meta.dirname, '../../dist/src/system/system-command.js')).href)};
    const owner = actAsDataOwner(${JSON.stringify(dir)});
    writeFileSync(${JSON.stringify(join(dir, 'made'))}, '');
    const idInChild = (await runSystemCommand('id', ['-u'])).trim();
    process.stdout.write(JSON.stringify({ owner, euid: process.geteuid(), groups: process.getgroups(), idInChild }));`;
  const result = JSON.parse(await runSystemCommand(process.execPath, ['--input-type=module', '-e', script]));
  t.same(result.owner, owner);
  t.equal(result.euid, owner.uid);
  t.ok(result.groups.includes(owner.gid), 'the owner\'s group is a supplementary group');
  t.equal(statSync(join(dir, 'made')).uid, owner.uid, 'the file belongs to the owner');
  t.equal(result.idInChild, '0', 'system commands run as root');
});
