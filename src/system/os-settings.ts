// Network, host name and time settings applied to the operating system: systemd-networkd `.network`
// files, /etc/hostname and /etc/hosts, a systemd-timesyncd drop-in and /etc/localtime, all written under
// a root directory (/data/os on the appliance, whose read-only root links those /etc paths there; a
// temporary directory in tests), then — on the appliance only — the services told to reload. Everything is
// validated first: settings are applied whole or not at all.
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, symlink, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { writeFileAtomic, syncDirectory } from './atomic-file.js';
import { runSystemCommand } from './system-command.js';
import {
  checkAddressWithPrefix,
  checkGatewayInSubnet,
  checkHostname,
  checkIpAddress,
  checkNtpServer,
  checkTimeZone,
} from './net-validate.js';

export interface OsSettings {
  hostname: string;
  /** As in the configuration's `network.interfaces`; a static interface (dhcp false) needs `address`. */
  interfaces: { name: string; dhcp: boolean; address?: string; gateway?: string }[];
  dns: string[];
  ntp: string[];
  /** e.g. "Europe/Berlin"; when absent /etc/localtime and /etc/timezone are left as they are. */
  timeZone?: string;
}

export interface ApplyOptions {
  /** Where the files are written: /data/os on the appliance, a temporary directory in tests. */
  root: string;
  /** Where time zone names are checked; default <root>/usr/share/zoneinfo. /etc/localtime points at /usr/share/zoneinfo either way. */
  zoneinfoDir?: string;
  /** Run the reload commands (on the appliance); false writes the files only. */
  reload: boolean;
  /** Runs one command (argv, no shell); rejects with an Error whose `stderr` is the command's. Default: runSystemCommand. */
  run?: (command: string, args: string[]) => Promise<unknown>;
}

export interface ApplyResult {
  /** Absolute paths of the files written (or replaced), in the order written. */
  written: string[];
  /** Absolute paths of stale Gatehouse `.network` files removed. */
  removed: string[];
  /** The commands run, e.g. "networkctl reload", in the order run. */
  reloaded: string[];
}

/** Settings refused before anything was written; `problems` holds one line per problem. */
export class OsSettingsInvalidError extends Error {
  constructor(readonly problems: string[]) {
    super(`network and time settings not applied, nothing was changed:\n${problems.map((p) => `- ${p}`).join('\n')}`);
    this.name = 'OsSettingsInvalidError';
  }
}

/** A reload command failed after every file was written: the settings take effect at the next boot. */
export class OsSettingsReloadError extends Error {
  constructor(
    readonly command: string,
    readonly stderr: string,
    readonly result: ApplyResult,
  ) {
    super(
      `\`${command}\` failed: ${stderr || 'no error output'}. The settings files are written and take effect at the next boot` +
        (result.reloaded.length ? ` (already run: ${result.reloaded.map((c) => `\`${c}\``).join(', ')})` : ''),
    );
    this.name = 'OsSettingsReloadError';
  }
}

const NETWORK_DIR = 'etc/systemd/network';
const NETWORK_FILE = /^10-gatehouse-(.+)\.network$/;
const TIMESYNCD_DROPIN = 'etc/systemd/timesyncd.conf.d/gatehouse.conf';
const ZONEINFO = '/usr/share/zoneinfo';
const HEADER = '# Written by Gatehouse: changes made here are replaced the next time its settings are applied.\n';

/** The systemd.network(5) file of one interface. */
export function renderNetworkFile(i: OsSettings['interfaces'][number], dns: string[]): string {
  const lines = [HEADER.trimEnd(), '[Match]', `Name=${i.name}`, '', '[Network]'];
  if (i.dhcp) {
    lines.push('DHCP=yes');
  } else {
    if (i.address) lines.push(`Address=${i.address}`);
    if (i.gateway) lines.push(`Gateway=${i.gateway}`);
  }
  for (const server of dns) lines.push(`DNS=${server}`);
  return `${lines.join('\n')}\n`;
}

/** The timesyncd.conf(5) drop-in; an empty list ("NTP=") leaves timesyncd on its fallback servers. */
export function renderTimesyncdConf(ntp: string[]): string {
  return `${HEADER}[Time]\nNTP=${ntp.join(' ')}\n`;
}

/** Every problem of the settings, one line each, each naming the field it is about. */
export function osSettingsProblems(settings: OsSettings, zoneinfoDir: string): string[] {
  const problems: string[] = [];
  const note = (where: string, reason: string | undefined) => {
    if (reason) problems.push(`${where}: ${reason}`);
  };
  note('host name', checkHostname(settings.hostname));
  const seen = new Set<string>();
  for (const i of settings.interfaces) {
    const where = `interface ${i.name || '(no name)'}`;
    if (!/^[a-z0-9._-]{1,15}$/i.test(i.name) || i.name === '.' || i.name === '..') {
      problems.push(`${where}: expected an interface name of letters, digits, ".", "_" and "-" (at most 15)`);
    } else if (seen.has(i.name)) {
      problems.push(`${where}: configured twice`);
    }
    seen.add(i.name);
    if (i.dhcp) {
      if (i.address !== undefined || i.gateway !== undefined) problems.push(`${where}: DHCP is on, so leave address and gateway empty`);
      continue;
    }
    if (i.address === undefined) {
      problems.push(`${where}: DHCP is off, so enter an address with prefix length, e.g. 192.0.2.10/24`);
      if (i.gateway !== undefined) note(`${where} gateway`, checkIpAddress(i.gateway));
      continue;
    }
    const addressReason = checkAddressWithPrefix(i.address);
    note(`${where} address`, addressReason);
    if (i.gateway !== undefined) {
      note(`${where} gateway`, addressReason ? checkIpAddress(i.gateway) : checkGatewayInSubnet(i.address, i.gateway));
    }
  }
  settings.dns.forEach((server, n) => note(`DNS server ${n + 1}`, checkIpAddress(server)));
  settings.ntp.forEach((server, n) => note(`NTP server ${n + 1}`, checkNtpServer(server)));
  if (settings.timeZone !== undefined) note('time zone', checkTimeZone(settings.timeZone, zoneinfoDir));
  return problems;
}

/**
 * Validates every setting, then writes the files under `options.root` (each atomically, mode 0644) and
 * removes `.network` files Gatehouse wrote for interfaces no longer configured. With `reload` it runs, in
 * order, `networkctl reload`, `hostnamectl set-hostname --transient <name>` (the static name is the file
 * just written: hostnamed cannot write /etc/hostname on a read-only root), `systemctl restart systemd-timesyncd`.
 * Throws OsSettingsInvalidError (nothing written) or OsSettingsReloadError (files written, a command failed).
 */
export async function applyOsSettings(settings: OsSettings, options: ApplyOptions): Promise<ApplyResult> {
  const { root } = options;
  const problems = osSettingsProblems(settings, options.zoneinfoDir ?? join(root, ZONEINFO));
  if (problems.length) throw new OsSettingsInvalidError(problems);

  const result: ApplyResult = { written: [], removed: [], reloaded: [] };
  const write = async (relative: string, text: string) => {
    const file = join(root, relative);
    await mkdir(dirname(file), { recursive: true, mode: 0o755 });
    await writeFileAtomic(file, text, 0o644);
    result.written.push(file);
  };

  const networkDir = join(root, NETWORK_DIR);
  for (const i of settings.interfaces) await write(join(NETWORK_DIR, `10-gatehouse-${i.name}.network`), renderNetworkFile(i, settings.dns));
  const configured = new Set(settings.interfaces.map((i) => i.name));
  for (const entry of await readdir(networkDir).catch(() => [] as string[])) {
    const match = NETWORK_FILE.exec(entry);
    if (!match || configured.has(match[1])) continue;
    await unlink(join(networkDir, entry));
    result.removed.push(join(networkDir, entry));
  }
  if (result.removed.length) await syncDirectory(networkDir);

  await write('etc/hostname', `${settings.hostname}\n`);
  await write('etc/hosts', hostsWithName(await readFile(join(root, 'etc/hosts'), 'utf8').catch(missingAs('')), settings.hostname));
  await write(TIMESYNCD_DROPIN, renderTimesyncdConf(settings.ntp));
  if (settings.timeZone !== undefined) {
    await symlinkAtomic(`${ZONEINFO}/${settings.timeZone}`, join(root, 'etc/localtime'));
    result.written.push(join(root, 'etc/localtime'));
    await write('etc/timezone', `${settings.timeZone}\n`);
  }

  if (!options.reload) return result;
  const run = options.run ?? runSystemCommand;
  const commands: [string, string[]][] = [
    ['networkctl', ['reload']],
    ['hostnamectl', ['set-hostname', '--transient', settings.hostname]],
    ['systemctl', ['restart', 'systemd-timesyncd']],
  ];
  for (const [command, args] of commands) {
    const line = [command, ...args].join(' ');
    try {
      await run(command, args);
    } catch (err) {
      const stderr = (err as { stderr?: unknown }).stderr;
      throw new OsSettingsReloadError(line, (typeof stderr === 'string' && stderr.trim()) || (err as Error).message, result);
    }
    result.reloaded.push(line);
  }
  return result;
}

/**
 * /etc/hosts with exactly one `127.0.1.1` line naming the host (Debian's convention): an existing one is
 * replaced, otherwise one is added after the localhost line. Applying the same name twice changes nothing.
 */
export function hostsWithName(hosts: string, hostname: string): string {
  const short = hostname.split('.')[0];
  const entry = short === hostname ? `127.0.1.1\t${hostname}` : `127.0.1.1\t${hostname} ${short}`;
  const lines = hosts === '' ? ['127.0.0.1\tlocalhost', '::1\t\tlocalhost ip6-localhost ip6-loopback'] : hosts.replace(/\n$/, '').split('\n');
  const kept = lines.filter((l) => !/^\s*127\.0\.1\.1\s/.test(l));
  const at = kept.findIndex((l) => /^\s*127\.0\.0\.1\s/.test(l));
  kept.splice(at + 1, 0, entry);
  return `${kept.join('\n')}\n`;
}

/** Replaces `link` by a symlink to `target` in one rename: readers see the old or the new link. */
async function symlinkAtomic(target: string, link: string): Promise<void> {
  await mkdir(dirname(link), { recursive: true, mode: 0o755 });
  const temp = join(dirname(link), `.${basename(link)}.${randomBytes(6).toString('hex')}.tmp`);
  await symlink(target, temp);
  try {
    await rename(temp, link);
  } catch (err) {
    await unlink(temp).catch(() => undefined);
    throw err;
  }
  await syncDirectory(dirname(link));
}

function missingAs<T>(value: T) {
  return (err: NodeJS.ErrnoException): T => {
    if (err.code === 'ENOENT') return value;
    throw err;
  };
}
