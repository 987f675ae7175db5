// Tests of the interface list: this machine's interfaces in the documented shape, and the merge of
// systeminformation, node:os and /sys facts on fixed input.
import t from 'tap';
import { describeInterfaces, listInterfaces, type NetworkInterfaceInfo } from '../../src/system/interfaces.js';

function checkShape(t: { ok: (v: unknown, m: string) => void }, i: NetworkInterfaceInfo): void {
  t.ok(typeof i.name === 'string' && i.name.length > 0, `${i.name}: name`);
  t.ok(typeof i.mac === 'string', `${i.name}: mac is a string`);
  t.ok(Array.isArray(i.addresses) && i.addresses.every((a) => /^[0-9a-f.:]+\/\d{1,3}$/i.test(a)), `${i.name}: addresses with prefix ${i.addresses.join(' ')}`);
  t.ok(typeof i.up === 'boolean' && typeof i.virtual === 'boolean' && typeof i.loopback === 'boolean', `${i.name}: flags are booleans`);
}

t.test('listInterfaces on this machine', async (t) => {
  const all = await listInterfaces({ includeLoopback: true });
  t.ok(all.some((i) => i.name === 'lo' || i.name === 'eth0'), `found ${all.map((i) => i.name).join(', ')}`);
  for (const i of all) checkShape(t, i);
  t.same(all.map((i) => i.name), all.map((i) => i.name).sort(), 'sorted by name');
  const lo = all.find((i) => i.name === 'lo');
  if (lo) t.ok(lo.loopback, 'lo is the loopback');

  const withoutLoopback = await listInterfaces();
  t.same(withoutLoopback.map((i) => i.name), all.filter((i) => !i.loopback).map((i) => i.name), 'loopback left out by default');
});

t.test('describeInterfaces merges the sources', async (t) => {
  const reported = [
    { iface: 'lo', mac: '00:00:00:00:00:00', operstate: 'unknown', internal: true, virtual: false },
    { iface: 'eth0', mac: '02:00:00:00:00:01', operstate: 'up', internal: false, virtual: false },
    { iface: 'wlan0', mac: '02:00:00:00:00:09', operstate: 'down', internal: false, virtual: true },
  ];
  const addresses = {
    lo: [{ address: '::1', netmask: 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', family: 'IPv6' as const, mac: '', internal: true, cidr: '::1/128', scopeid: 0 }, { address: '127.0.0.1', netmask: '255.0.0.0', family: 'IPv4' as const, mac: '', internal: true, cidr: '127.0.0.1/8' }],
    eth0: [{ address: '192.0.2.2', netmask: '255.255.255.0', family: 'IPv4' as const, mac: '', internal: false, cidr: '192.0.2.2/24' }],
  };
  const sysfs = new Map([
    ['lo', { mac: '00:00:00:00:00:00', operstate: 'unknown', flags: 0x9, hasDevice: false }],
    ['eth0', { mac: '02:00:00:00:00:01', operstate: 'up', flags: 0x1003, hasDevice: true }],
    // No address yet: systeminformation does not list it, sysfs does.
    ['eth1', { mac: '02:00:00:00:00:02', operstate: 'down', flags: 0x1002, hasDevice: true }],
    ['ifb0', { mac: '46:51:a7:ab:79:60', operstate: 'down', flags: 0x82, hasDevice: false }],
  ]);
  t.same(describeInterfaces(reported, addresses, sysfs), [
    { name: 'eth0', mac: '02:00:00:00:00:01', addresses: ['192.0.2.2/24'], up: true, virtual: false, loopback: false },
    { name: 'eth1', mac: '02:00:00:00:00:02', addresses: [], up: false, virtual: false, loopback: false },
    { name: 'ifb0', mac: '46:51:a7:ab:79:60', addresses: [], up: false, virtual: true, loopback: false },
    { name: 'lo', mac: '00:00:00:00:00:00', addresses: ['127.0.0.1/8', '::1/128'], up: true, virtual: true, loopback: true },
    { name: 'wlan0', mac: '02:00:00:00:00:09', addresses: [], up: false, virtual: true, loopback: false },
  ]);
});
