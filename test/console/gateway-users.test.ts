// The menu's "Gateway users and servers" on a fake console: each change is one commit that the schema judges
// (a refused one changes nothing), passwords are hashed and never shown, targets are read as host[:ports].
import t from 'tap';
import { verifyPassword } from '../../src/auth/local-users.js';
import { embeddedDefaultConfig, validateConfig } from '../../src/config/load.js';
import type { ConfigVersion } from '../../src/config/store.js';
import type { ApplianceControl } from '../../src/console/appliance.js';
import { formatTargets, gatewayUsersAndServers, parseTargets } from '../../src/console/gateway-users.js';
import { fakeConsole } from './harness.js';

/** An appliance whose commits validate like the store's; `commits` holds what was committed. */
function applianceWith(config: unknown = embeddedDefaultConfig) {
  let head: ConfigVersion = { version: 1, time: '', origin: 'console', author: 'x', message: '', sealed: true, config: validateConfig(config) };
  const commits: { message: string; config: ConfigVersion['config'] }[] = [];
  const appliance = {
    current: async () => head,
    commit: async (next: unknown, message: string) => {
      head = { ...head, version: head.version + 1, message, config: validateConfig(next) };
      commits.push({ message, config: head.config });
      return head;
    },
  } as unknown as ApplianceControl;
  return { appliance, commits };
}

/** Types every answer ahead, one line each, then runs the submenu once. */
async function run(appliance: ApplianceControl, answers: string[]) {
  const c = fakeConsole();
  c.type(answers.map((answer) => `${answer}\r`).join(''));
  await gatewayUsersAndServers(c.term, appliance);
  return c.screen();
}

t.test('add a user: the name is checked, the password asked twice and committed as a hash only', async (t) => {
  const { appliance, commits } = applianceWith({ ...embeddedDefaultConfig, users: [{ name: 'bob' }] });
  const screen = await run(appliance, ['2', 'bob', 'alice', 'too-short', 'Correct-Horse-42', 'Correct-Horse-42']);
  t.match(screen, 'User name: bob\r\n  ! user "bob" already exists\r\nUser name: alice\r\n');
  t.match(screen, 'Password: \r\n  ! at least 12 characters\r\nPassword: \r\nPassword (again): \r\n');
  t.match(screen, /User alice added \(configuration version 2\)/);
  t.equal(commits.length, 1, 'one commit');
  t.equal(commits[0]!.message, 'user add alice');
  const alice = commits[0]!.config.users.find((u) => u.name === 'alice')!;
  t.match(alice.passwordHash, /^\$scrypt\$/);
  t.ok(await verifyPassword('Correct-Horse-42', alice.passwordHash!), 'the hash is of the password typed');
  t.notOk(JSON.stringify(commits).includes('Correct-Horse-42') || screen.includes('Correct-Horse-42'), 'the password is neither committed nor shown');
});

t.test('list, set a password, remove (confirmed)', async (t) => {
  const { appliance, commits } = applianceWith({ ...embeddedDefaultConfig, users: [{ name: 'bob' }, { name: 'carol', authorizedKeys: [] }] });
  t.match(await run(appliance, ['1']), /bob {2}password: no {2}keys: 0\r\n {2}carol/);
  t.match(await run(appliance, ['4', '1', 'Battery-Staple-7', 'Battery-Staple-7']), 'Password of bob set (configuration version 2).');
  t.ok(await verifyPassword('Battery-Staple-7', commits[0]!.config.users[0]!.passwordHash!));
  t.match(await run(appliance, ['3', '2', 'n']), 'Remove user carol? [y/N]');
  t.equal(commits.length, 1, 'not confirmed: nothing committed');
  t.match(await run(appliance, ['3', '2', 'y']), 'User carol removed (configuration version 3).');
  t.same(commits[1]!.config.users.map((u) => u.name), ['bob']);
});

t.test('servers: the first policy\'s targets, replaced in one commit', async (t) => {
  const { appliance, commits } = applianceWith();
  const screen = await run(appliance, ['5', 'db1.example.com:22, 10.0.0.0/8, [2001:db8::/32]:2200-2299']);
  t.match(screen, 'Servers, comma-separated host-or-CIDR[:ports] (ports * by default) [');
  t.match(screen, 'Servers set (configuration version 2).');
  t.equal(commits.length, 1);
  t.equal(commits[0]!.message, 'gateway servers');
  t.same(commits[0]!.config.connectionPolicies[0]!.targets, [
    { host: 'db1.example.com', ports: '22' },
    { host: '10.0.0.0/8', ports: '*' },
    { host: '2001:db8::/32', ports: '2200-2299' },
  ]);
  t.match(await run(appliance, ['5', '']), 'No change.', 'Enter keeps the list');
  t.equal(commits.length, 1);
});

t.test('a target the schema refuses shows why and commits nothing', async (t) => {
  const { appliance, commits } = applianceWith();
  const before = (await appliance.current()).config.connectionPolicies[0]!.targets;
  const screen = await run(appliance, ['5', 'db1.example.com:22, 10.0.0.0/33']);
  t.match(screen, /Refused, nothing was changed:\r\n {2}- connectionPolicies\.0\.targets\.1[^\n]*\/33/);
  t.equal(commits.length, 0);
  t.same((await appliance.current()).config.connectionPolicies[0]!.targets, before);
});

t.test('targets read back as they are shown', async (t) => {
  const rules = [
    { host: '*.example.com', ports: '22,2222' },
    { host: '2001:db8::10', ports: '*' },
    { host: '192.0.2.0/24', ports: '22' },
  ];
  t.equal(formatTargets(rules), '*.example.com:22, *.example.com:2222, [2001:db8::10]:*, 192.0.2.0/24:22');
  t.same(parseTargets(formatTargets(rules)), [
    { host: '*.example.com', ports: '22' },
    { host: '*.example.com', ports: '2222' },
    { host: '2001:db8::10', ports: '*' },
    { host: '192.0.2.0/24', ports: '22' },
  ]);
  t.same(parseTargets('2001:db8::/32, host'), [
    { host: '2001:db8::/32', ports: '*' },
    { host: 'host', ports: '*' },
  ], 'a bare IPv6 CIDR is all host; no ports means all');
});
