// The network interfaces this box really has, for the console's network screens and status page.
// Sources: systeminformation (names, MAC, state), node:os (every address with its prefix length) and,
// on Linux, /sys/class/net — which alone lists an interface that has no address yet, the usual case of
// a NIC at first boot.
import { access, readdir, readFile } from 'node:fs/promises';
import { networkInterfaces as osNetworkInterfaces, type NetworkInterfaceInfo as OsAddressInfo } from 'node:os';
import { join } from 'node:path';
import si, { type Systeminformation } from 'systeminformation';

export interface NetworkInterfaceInfo {
  name: string;
  mac: string;
  /** Every address with its prefix length, IPv4 first: "192.0.2.10/24", "fd00::2/64". */
  addresses: string[];
  /** The link is up (operstate "up", or "unknown" on an administratively up interface such as lo). */
  up: boolean;
  /** Not backed by a hardware device (bridges, tunnels, veth, ifb, lo). */
  virtual: boolean;
  loopback: boolean;
}

/** What /sys/class/net/<name> says of one interface. */
export interface SysfsInterfaceFacts {
  mac: string;
  operstate: string;
  flags: number;
  hasDevice: boolean;
}

const IFF_UP = 0x1;
const IFF_LOOPBACK = 0x8;

/**
 * The interfaces of this machine sorted by name. Loopback is left out unless `includeLoopback`: none of
 * the console's choices (which NIC gets DHCP or an address) applies to it.
 */
export async function listInterfaces(options: { includeLoopback?: boolean } = {}): Promise<NetworkInterfaceInfo[]> {
  const [reported, sysfs] = await Promise.all([si.networkInterfaces(), readSysfs('/sys/class/net')]);
  const all = describeInterfaces(Array.isArray(reported) ? reported : [reported], osNetworkInterfaces(), sysfs);
  return options.includeLoopback ? all : all.filter((i) => !i.loopback);
}

/**
 * Merges the three sources into one description per interface, sorted by name. sysfs wins where it has
 * the fact (it is what the kernel says now); systeminformation fills in elsewhere (no /sys, other OS).
 */
export function describeInterfaces(
  reported: Pick<Systeminformation.NetworkInterfacesData, 'iface' | 'mac' | 'operstate' | 'internal' | 'virtual'>[],
  addresses: NodeJS.Dict<OsAddressInfo[]>,
  sysfs: Map<string, SysfsInterfaceFacts>,
): NetworkInterfaceInfo[] {
  const names = new Set([...reported.map((r) => r.iface), ...sysfs.keys()]);
  const out: NetworkInterfaceInfo[] = [];
  for (const name of names) {
    const r = reported.find((x) => x.iface === name);
    const s = sysfs.get(name);
    const own = addresses[name] ?? [];
    const ordered = [...own.filter((a) => a.family === 'IPv4'), ...own.filter((a) => a.family !== 'IPv4')];
    const operstate = s?.operstate ?? r?.operstate ?? 'unknown';
    out.push({
      name,
      mac: s?.mac ?? r?.mac ?? '',
      addresses: ordered.map((a) => a.cidr).filter((c): c is string => c !== null),
      up: operstate === 'up' || (operstate === 'unknown' && (s ? (s.flags & IFF_UP) !== 0 : r?.internal === true)),
      virtual: s ? !s.hasDevice : (r?.virtual ?? false),
      loopback: s ? (s.flags & IFF_LOOPBACK) !== 0 : (r?.internal ?? false),
    });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** /sys/class/net as a map by interface name; empty where there is no sysfs (not Linux, a sandbox). */
async function readSysfs(dir: string): Promise<Map<string, SysfsInterfaceFacts>> {
  const facts = new Map<string, SysfsInterfaceFacts>();
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return facts;
  }
  const read = (name: string, file: string) => readFile(join(dir, name, file), 'utf8').then((s) => s.trim(), () => undefined);
  await Promise.all(
    names.map(async (name) => {
      const [mac, operstate, flags] = await Promise.all([read(name, 'address'), read(name, 'operstate'), read(name, 'flags')]);
      if (mac === undefined || operstate === undefined || flags === undefined) return;
      const hasDevice = await access(join(dir, name, 'device')).then(() => true, () => false);
      facts.set(name, { mac, operstate, flags: Number.parseInt(flags, 16), hasDevice });
    }),
  );
  return facts;
}
