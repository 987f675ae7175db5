// Tests of applying network, host name and time settings: the exact files written under a test root,
// stale interface files removed, reruns idempotent, invalid settings refused whole, reload commands.
import { lstat, readFile, readlink, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import {
  applyOsSettings,
  hostsWithName,
  OsSettingsInvalidError,
  OsSettingsReloadError,
  renderNetworkFile,
  renderTimesyncdConf,
  type OsSettings,
} from '../../src/system/os-settings.js';
import { errorOf } from '../helpers/errors.js';
import { treeSnapshot } from '../helpers/tree.js';

const HEADER = '# Written by Gatehouse: changes made here are replaced the next time its settings are applied.\n';

/** A root with the zoneinfo files the settings refer to (and nothing else of a real system). */
function testRoot(t: Test, extra: Record<string, unknown> = {}): string {
  return t.testdir({ usr: { share: { zoneinfo: { Europe: { Berlin: 'TZif2 Berlin' }, UTC: 'TZif2 UTC' } } }, ...extra });
}

const settings: OsSettings = {
  hostname: 'gw1.example.com',
  interfaces: [
    { name: 'eth0', dhcp: false, address: '192.0.2.10/24', gateway: '192.0.2.1' },
    { name: 'eth1', dhcp: true },
  ],
  dns: ['192.0.2.53', '2001:db8::53'],
  ntp: ['0.pool.ntp.org', '192.0.2.123'],
  timeZone: 'Europe/Berlin',
};

t.test('renderNetworkFile', async (t) => {
  t.equal(
    renderNetworkFile({ name: 'eth0', dhcp: true }, []),
    `${HEADER}[Match]\nName=eth0\n\n[Network]\nDHCP=yes\n`,
    'DHCP',
  );
  t.equal(
    renderNetworkFile({ name: 'eth0', dhcp: false, address: '192.0.2.10/24', gateway: '192.0.2.1' }, ['192.0.2.53', '192.0.2.54']),
    `${HEADER}[Match]\nName=eth0\n\n[Network]\nAddress=192.0.2.10/24\nGateway=192.0.2.1\nDNS=192.0.2.53\nDNS=192.0.2.54\n`,
    'static IPv4',
  );
  t.equal(
    renderNetworkFile({ name: 'ens3', dhcp: false, address: '2001:db8::10/64', gateway: 'fe80::1' }, ['2001:db8::53']),
    `${HEADER}[Match]\nName=ens3\n\n[Network]\nAddress=2001:db8::10/64\nGateway=fe80::1\nDNS=2001:db8::53\n`,
    'static IPv6',
  );
  t.equal(
    renderNetworkFile({ name: 'eth0', dhcp: false, address: '192.0.2.10/24' }, []),
    `${HEADER}[Match]\nName=eth0\n\n[Network]\nAddress=192.0.2.10/24\n`,
    'static without gateway',
  );
});

t.test('renderTimesyncdConf', async (t) => {
  t.equal(renderTimesyncdConf(['0.pool.ntp.org', '192.0.2.123']), `${HEADER}[Time]\nNTP=0.pool.ntp.org 192.0.2.123\n`);
  t.equal(renderTimesyncdConf([]), `${HEADER}[Time]\nNTP=\n`, 'no servers: timesyncd keeps its fallback servers');
});

t.test('hostsWithName keeps exactly one 127.0.1.1 line', async (t) => {
  const debian = '127.0.0.1\tlocalhost\n127.0.1.1\told\n\n# IPv6\n::1\tlocalhost ip6-localhost ip6-loopback\n';
  const once = hostsWithName(debian, 'gw1.example.com');
  t.equal(once, '127.0.0.1\tlocalhost\n127.0.1.1\tgw1.example.com gw1\n\n# IPv6\n::1\tlocalhost ip6-localhost ip6-loopback\n');
  t.equal(hostsWithName(once, 'gw1.example.com'), once, 'idempotent');
  t.equal(hostsWithName('', 'gatehouse'), '127.0.0.1\tlocalhost\n127.0.1.1\tgatehouse\n::1\t\tlocalhost ip6-localhost ip6-loopback\n', 'no file yet');
  t.equal(hostsWithName('127.0.0.1 localhost\n', 'gatehouse'), '127.0.0.1 localhost\n127.0.1.1\tgatehouse\n', 'added after localhost');
});

t.test('applyOsSettings writes every file under the root', async (t) => {
  const root = testRoot(t, { etc: { hosts: '127.0.0.1\tlocalhost\n::1\tlocalhost\n' } });
  const result = await applyOsSettings(settings, { root, reload: false });
  t.same(result, {
    written: [
      'etc/systemd/network/10-gatehouse-eth0.network',
      'etc/systemd/network/10-gatehouse-eth1.network',
      'etc/hostname',
      'etc/hosts',
      'etc/systemd/timesyncd.conf.d/gatehouse.conf',
      'etc/localtime',
      'etc/timezone',
    ].map((f) => join(root, f)),
    removed: [],
    reloaded: [],
  });
  const read = (f: string) => readFile(join(root, f), 'utf8');
  t.equal(
    await read('etc/systemd/network/10-gatehouse-eth0.network'),
    `${HEADER}[Match]\nName=eth0\n\n[Network]\nAddress=192.0.2.10/24\nGateway=192.0.2.1\nDNS=192.0.2.53\nDNS=2001:db8::53\n`,
  );
  t.equal(await read('etc/systemd/network/10-gatehouse-eth1.network'), `${HEADER}[Match]\nName=eth1\n\n[Network]\nDHCP=yes\nDNS=192.0.2.53\nDNS=2001:db8::53\n`);
  t.equal(await read('etc/hostname'), 'gw1.example.com\n');
  t.equal(await read('etc/hosts'), '127.0.0.1\tlocalhost\n127.0.1.1\tgw1.example.com gw1\n::1\tlocalhost\n');
  t.equal(await read('etc/systemd/timesyncd.conf.d/gatehouse.conf'), `${HEADER}[Time]\nNTP=0.pool.ntp.org 192.0.2.123\n`);
  t.equal(await readlink(join(root, 'etc/localtime')), '/usr/share/zoneinfo/Europe/Berlin');
  t.equal(await read('etc/timezone'), 'Europe/Berlin\n');
  for (const f of ['etc/hostname', 'etc/hosts', 'etc/timezone', 'etc/systemd/network/10-gatehouse-eth0.network', 'etc/systemd/timesyncd.conf.d/gatehouse.conf']) {
    t.equal((await lstat(join(root, f))).mode & 0o777, 0o644, `${f} is 0644`);
  }
  t.same((await readdir(join(root, 'etc'))).filter((f) => f.endsWith('.tmp')), [], 'no temporary files left');
});

t.test('files go under the OS root while time zones are checked in zoneinfoDir (the appliance: /data/os and /usr/share/zoneinfo)', async (t) => {
  const systemRoot = testRoot(t);
  const osRoot = join(systemRoot, 'data/os');
  const result = await applyOsSettings(settings, { root: osRoot, zoneinfoDir: join(systemRoot, 'usr/share/zoneinfo'), reload: false });
  t.ok(result.written.every((file) => file.startsWith(`${osRoot}/`)), 'every file under the OS root');
  t.equal(await readlink(join(osRoot, 'etc/localtime')), '/usr/share/zoneinfo/Europe/Berlin', 'the link points at the system zoneinfo');
  const err = await errorOf(applyOsSettings(settings, { root: osRoot, zoneinfoDir: join(systemRoot, 'nowhere'), reload: false }));
  t.match((err as OsSettingsInvalidError).problems, ['time zone: unknown time zone "Europe/Berlin", e.g. Europe/Berlin']);
});

t.test('a rerun is idempotent and stale interface files are removed', async (t) => {
  const root = testRoot(t, {
    etc: { systemd: { network: { '10-gatehouse-eth9.network': 'old', '20-admin.network': 'not ours', '10-gatehouse-eth0.network': 'old' } } },
  });
  const first = await applyOsSettings(settings, { root, reload: false });
  t.same(first.removed, [join(root, 'etc/systemd/network/10-gatehouse-eth9.network')]);
  t.same((await readdir(join(root, 'etc/systemd/network'))).sort(), ['10-gatehouse-eth0.network', '10-gatehouse-eth1.network', '20-admin.network']);
  const before = await treeSnapshot(root);
  const second = await applyOsSettings(settings, { root, reload: false });
  t.same(second.removed, []);
  t.same(await treeSnapshot(root), before, 'same tree after the second run');

  const dhcpOnly: OsSettings = { hostname: 'gatehouse', interfaces: [{ name: 'eth1', dhcp: true }], dns: [], ntp: [] };
  const third = await applyOsSettings(dhcpOnly, { root, reload: false });
  t.same(third.removed, [join(root, 'etc/systemd/network/10-gatehouse-eth0.network')]);
  t.same((await readdir(join(root, 'etc/systemd/network'))).sort(), ['10-gatehouse-eth1.network', '20-admin.network']);
  t.equal(await readlink(join(root, 'etc/localtime')), '/usr/share/zoneinfo/Europe/Berlin', 'no time zone given: localtime untouched');
  t.match(await readFile(join(root, 'etc/hosts'), 'utf8'), /^127\.0\.1\.1\tgatehouse$/m);
  t.notMatch(await readFile(join(root, 'etc/hosts'), 'utf8'), /gw1/);
});

t.test('invalid settings throw one error listing every problem and write nothing', async (t) => {
  const root = testRoot(t, { etc: { hosts: '127.0.0.1 localhost\n' } });
  const before = await treeSnapshot(root);
  const bad: OsSettings = {
    hostname: 'bad_name',
    interfaces: [
      { name: 'eth0', dhcp: false, address: '192.0.2.0/24', gateway: '192.0.2.1' },
      { name: 'eth1', dhcp: false, address: '192.0.2.10/24', gateway: '198.51.100.1' },
      { name: 'eth2', dhcp: false },
      { name: 'eth3', dhcp: true, address: '192.0.2.10/24' },
      { name: 'eth1', dhcp: true },
      { name: '../x', dhcp: true },
    ],
    dns: ['192.0.2.300'],
    ntp: ['ntp server'],
    timeZone: 'Mars/Olympus',
  };
  const err = await errorOf(applyOsSettings(bad, { root, reload: true, run: async () => void t.fail('nothing may run') }));
  t.ok(err instanceof OsSettingsInvalidError);
  t.same((err as OsSettingsInvalidError).problems, [
    'host name: "_" is not allowed in a host name: use letters, digits and "-"',
    'interface eth0 address: 192.0.2.0 is the network address of 192.0.2.0/24; choose a host address',
    'interface eth1 gateway: gateway 198.51.100.1 is outside the interface\'s subnet 192.0.2.10/24',
    'interface eth2: DHCP is off, so enter an address with prefix length, e.g. 192.0.2.10/24',
    'interface eth3: DHCP is on, so leave address and gateway empty',
    'interface eth1: configured twice',
    'interface ../x: expected an interface name of letters, digits, ".", "_" and "-" (at most 15)',
    'DNS server 1: 300 in "192.0.2.300" is out of range: 0-255',
    'NTP server 1: remove the spaces from the NTP server',
    'time zone: unknown time zone "Mars/Olympus", e.g. Europe/Berlin',
  ]);
  t.match(err.message, /^network and time settings not applied, nothing was changed:\n- host name/);
  t.same(await treeSnapshot(root), before, 'nothing written');
});

t.test('reload: false runs nothing; reload: true runs the commands in order', async (t) => {
  const calls: string[][] = [];
  const run = async (command: string, args: string[]) => {
    calls.push([command, ...args]);
  };
  const quiet = await applyOsSettings(settings, { root: testRoot(t), reload: false, run });
  t.same(calls, []);
  t.same(quiet.reloaded, []);

  const result = await applyOsSettings(settings, { root: testRoot(t), reload: true, run });
  t.same(calls, [
    ['networkctl', 'reload'],
    ['hostnamectl', 'set-hostname', '--transient', 'gw1.example.com'],
    ['systemctl', 'restart', 'systemd-timesyncd'],
  ]);
  t.same(result.reloaded, ['networkctl reload', 'hostnamectl set-hostname --transient gw1.example.com', 'systemctl restart systemd-timesyncd']);
});

t.test('a failing reload command is reported, and the files stay written', async (t) => {
  const root = testRoot(t);
  const calls: string[] = [];
  const run = async (command: string) => {
    calls.push(command);
    if (command === 'hostnamectl') throw Object.assign(new Error('exit 1'), { stderr: 'Could not set hostname: Access denied\n' });
  };
  const err = await errorOf(applyOsSettings(settings, { root, reload: true, run }));
  t.ok(err instanceof OsSettingsReloadError);
  t.equal(
    err.message,
    '`hostnamectl set-hostname --transient gw1.example.com` failed: Could not set hostname: Access denied. ' +
      'The settings files are written and take effect at the next boot (already run: `networkctl reload`)',
  );
  const failure = err as OsSettingsReloadError;
  t.equal(failure.command, 'hostnamectl set-hostname --transient gw1.example.com');
  t.same(failure.result.reloaded, ['networkctl reload']);
  t.equal(failure.result.written.length, 7);
  t.same(calls, ['networkctl', 'hostnamectl'], 'stops at the failing command');
  t.equal(await readFile(join(root, 'etc/hostname'), 'utf8'), 'gw1.example.com\n');

  const noStderr = await errorOf(applyOsSettings(settings, { root, reload: true, run: async () => Promise.reject(new Error('spawn networkctl ENOENT')) }));
  t.match(noStderr.message, /^`networkctl reload` failed: spawn networkctl ENOENT\. The settings files are written/);
});
