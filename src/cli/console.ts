// `gatehouse console [--device /dev/ttyS0] [--baud 115200]`: the appliance's serial console. On a
// configuration that has not been set up (no console administrator password) it runs the first-boot wizard,
// then the menu. Without --device it uses this process's own terminal. One console at a time: a second one
// is told which process holds the console and exits. On the appliance it runs as the gateway's user, so what
// it writes in the data directory stays the gateway's; its few system commands run as root through sudo
// (src/system/system-command.ts).
import { existsSync, mkdirSync, readlinkSync, symlinkSync, unlinkSync } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import si from 'systeminformation';
import type { ChangeOrigin } from '../config/sealed.js';
import type { ApplianceControl } from '../console/appliance.js';
import { DATA_PARTITION_DEVICE, isMountPoint, runDataPartitionMenu } from '../console/data-partition.js';
import { runMenu } from '../console/menu.js';
import { openSerialConsole } from '../console/serial.js';
import { ConsoleClosed, ConsoleTerminal, type ConsoleIo } from '../console/terminal.js';
import { changeNetwork, runWizard } from '../console/wizard.js';
import { loadOrCreateKey } from '../gateway/ssh/host-key.js';
import { applyOsSettings } from '../system/os-settings.js';
import { listInterfaces } from '../system/interfaces.js';
import { isProcessAlive } from '../system/process.js';
import { applianceId } from '../system/appliance-id.js';
import { runSystemCommand } from '../system/system-command.js';
import { credentialStoreFiles } from '../credstore/service.js';
import { callControl, controlSocketPath, type ControlRequest } from '../system/control-socket.js';
import { cliAudit, reportCommit } from './audit.js';
import { send } from './credstore.js';
import { changeAuthor, changeOrigin } from './origin.js';
import { dataDirectory } from './paths.js';
import { askGateway } from './gateway-call.js';
import { GATEHOUSE_VERSION } from './version.js';
import { APPLIANCE_LAYOUT, DEFAULT_TRUSTED_KEYS, statusLines as firmwareStatusLines, upgradeFirmware } from './firmware.js';
import { rollback, type FirmwareLayout } from '../system/firmware/updater.js';
import { openConfigStore } from './stores.js';

const help = `Usage: gatehouse console [--device PATH] [--baud N] [--root DIR] [--os-root DIR] [--data DIR]
                        [--data-mount DIR]
       gatehouse console --check-setup [--data DIR]

The appliance console: the first-boot wizard when the appliance is not set up yet (no console
administrator password), then the menu (status, network, credential store, seal/unseal, sessions,
gateway users and servers, events, reboot, shutdown) behind the administrator's password.

  --device PATH     a serial port (e.g. /dev/ttyS0; 8N1); default: this terminal
  --baud N          its speed (default 115200)
  --root DIR        the system root (default /; tests use a temporary directory): time zones are
                    looked up under it, and services are reloaded or started only when DIR is /
  --os-root DIR     where network, host name and time files are written (default: --root; the
                    appliance's root is read-only and uses /data/os)
  --data DIR        the data directory (default: GATEHOUSE_DATA or ./var)
  --data-mount DIR  the data partition's mount point (the appliance: /data); when nothing is
                    mounted there, no store is opened and the console offers to format it
  --check-setup     print nothing; exit 0 when the appliance is set up (the gateway may start),
                    1 when not

Changes made here have origin "console" when --device is given or this terminal is a local console;
they are the only way to unseal the appliance.
`;

export async function consoleCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      device: { type: 'string' },
      baud: { type: 'string' },
      root: { type: 'string' },
      'os-root': { type: 'string' },
      data: { type: 'string' },
      'data-mount': { type: 'string' },
      'check-setup': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(help);
    return 0;
  }
  const baudRate = Number(values.baud ?? 115200);
  if (!Number.isInteger(baudRate) || baudRate < 50 || baudRate > 4_000_000) throw new Error('--baud must be a whole number of bits per second, e.g. 115200');
  const dataDir = dataDirectory(values.data);
  const root = values.root ?? '/';
  const terminal = { device: values.device, baudRate };
  const dataMounted = values['data-mount'] === undefined || isMountPoint(values['data-mount']);
  if (values['check-setup']) return dataMounted && (await isSetUp(dataDir)) ? 0 : 1;
  if (!dataMounted) return withConsole(terminal, {}, (term) => runDataPartitionMenu(term, { device: DATA_PARTITION_DEVICE, run: systemCommandsOn(root) }));
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const release = holdConsoleLock(dataDir);
  if (typeof release === 'string') {
    process.stderr.write(`gatehouse console: ${release}\n`);
    return 1;
  }
  try {
    const idleTimeoutMs = (await openConfigStore(dataDir)).current().config.console.idleTimeoutMinutes * 60_000;
    const origin: ChangeOrigin = values.device ? 'console' : changeOrigin();
    const zoneinfoDir = join(root, 'usr/share/zoneinfo');
    const appliance = applianceOn(dataDir, { root, osRoot: values['os-root'] ?? root, zoneinfoDir }, origin);
    return await withConsole(terminal, { idleTimeoutMs }, async (term) => {
      // The menu returns only after a factory reset: the appliance is then set up again.
      for (;;) {
        if (!(await appliance.current()).config.console.adminPasswordHash) await runWizard(term, appliance, { zoneinfoDir });
        await runMenu(term, appliance, { networkSettings: (t) => changeNetwork(t, appliance, { zoneinfoDir }) });
      }
    });
  } finally {
    release();
  }
}

/** The gateway unit's start condition: the wizard has set the administrator password. Creates nothing when there is no data yet. */
async function isSetUp(dataDir: string): Promise<boolean> {
  return existsSync(dataDir) && Boolean((await openConfigStore(dataDir)).current().config.console.adminPasswordHash);
}

/**
 * Runs `session` on the serial port (or this terminal) after the banner the boot test waits for; the
 * console's input ending is a normal end (0).
 */
async function withConsole(
  terminal: { device: string | undefined; baudRate: number },
  options: { idleTimeoutMs?: number },
  session: (term: ConsoleTerminal) => Promise<void>,
): Promise<number> {
  const serial = terminal.device ? await openSerialConsole({ device: terminal.device, baudRate: terminal.baudRate }) : undefined;
  const io: ConsoleIo = serial ?? { input: process.stdin, output: process.stdout };
  if (!serial && process.stdin.isTTY) process.stdin.setRawMode(true);
  const term = new ConsoleTerminal(io, options);
  try {
    term.write(`Gatehouse ${GATEHOUSE_VERSION} console on ${os.hostname()}\n`);
    await session(term);
    return 0;
  } catch (err) {
    if (err instanceof ConsoleClosed) return 0;
    throw err;
  } finally {
    term.close();
    if (!serial && process.stdin.isTTY) process.stdin.setRawMode(false);
    await serial?.close();
  }
}

/** System commands run on the appliance only: under a test root they are refused, never run on the host. */
function systemCommandsOn(root: string): (command: string, args: string[]) => Promise<string> {
  if (root === '/') return runSystemCommand;
  return async (command, args) => {
    throw new Error(`not the appliance (--root ${root}): \`${[command, ...args].join(' ')}\` refused`);
  };
}

/** Takes `<data>/console.lock` (our pid); a stale lock of a dead process is taken over. Returns why not, or the release. */
function holdConsoleLock(dataDir: string): (() => void) | string {
  // A symlink whose target is our pid: made in one step, and it needs no data block, so the console
  // still starts on a full data partition.
  const file = join(dataDir, 'console.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      symlinkSync(String(process.pid), file);
      return () => {
        if (lockHolder(file) === process.pid) unlinkSync(file);
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = lockHolder(file);
      if (holder !== undefined && isProcessAlive(holder)) return `another console (pid ${holder}) is in use; only one console runs at a time`;
      unlinkSync(file);
    }
  }
  return 'could not take the console lock';
}

/** The pid a console lock names; undefined for a lock of an older form or a damaged one (taken over). */
function lockHolder(file: string): number | undefined {
  try {
    const pid = Number(readlinkSync(file));
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function applianceOn(dataDir: string, { root, osRoot, zoneinfoDir }: { root: string; osRoot: string; zoneinfoDir: string }, origin: ChangeOrigin): ApplianceControl {
  const system = systemCommandsOn(root);
  const author = `console:${changeAuthor()}`;
  const control = (request: ControlRequest): Promise<Record<string, unknown>> => askGateway(dataDir, request);
  return {
    current: async () => (await openConfigStore(dataDir)).current(),
    commit: async (config, message) => {
      const committed = await (await openConfigStore(dataDir)).commit({ origin, author, message, config });
      reportCommit(dataDir, committed, 'console');
      return committed;
    },
    setSealed: async (sealed) => {
      const store = await openConfigStore(dataDir);
      const committed = sealed ? await store.seal(origin, author) : await store.unseal(origin, author);
      cliAudit(dataDir).emit(sealed ? 'appliance-sealed' : 'appliance-unsealed', { version: committed.version, author, origin });
      return committed;
    },
    credentialStore: async () => {
      const status = await send(dataDir, { op: 'credstore-status' });
      const exists = status.exists !== false && status.mode !== undefined;
      return { exists, ...(exists ? { mode: status.mode as 'appliance-key' | 'passphrase', parts: Number(status.parts ?? 1), unlocked: status.unlocked === true } : {}) };
    },
    initCredentialStore: async (parts) => void (await send(dataDir, { op: 'credstore-init', origin, ...(parts ? { parts } : {}) })),
    discardNewCredentialStore: async () => {
      const status = await send(dataDir, { op: 'credstore-list' });
      if (Array.isArray(status.entries) && status.entries.length > 0) throw new Error('the credential store holds entries: it is kept');
      await rm(credentialStoreFiles(dataDir, await applianceId(dataDir)).file, { force: true });
    },
    unlockCredentialStore: async (parts) => void (await control({ op: 'credstore-unlock', origin, ...(parts ? { parts } : {}) })),
    lockCredentialStore: async () => void (await control({ op: 'credstore-lock', origin })),
    sessions: async () => {
      const list = (await control({ op: 'sessions-list' })).sessions as { sessionId: string; gatewayUser: string | null; serverUser: string | null; target: string | null; clientIp: string; startedAt: string }[];
      return list.map((s) => ({ id: s.sessionId, line: `${s.sessionId} ${s.gatewayUser ?? '-'} -> ${s.serverUser ?? '-'}@${s.target ?? '-'} from ${s.clientIp} since ${s.startedAt.slice(11, 19)}` }));
    },
    killSession: async (id, reason) => void (await control({ op: 'sessions-kill', id, reason, origin })),
    recentEvents: (count) => recentEvents(dataDir, count),
    hostKeyFingerprints: async () => [(await loadOrCreateKey(join(dataDir, 'ssh_host_ed25519_key'), 'gatehouse host key')).fingerprint],
    applyOsSettings: async (settings) => (await applyOsSettings(settings, { root: osRoot, zoneinfoDir, reload: root === '/' })).written,
    interfaces: async () =>
      (await listInterfaces()).filter((i) => !i.loopback).map((i) => ({ name: i.name, description: `${i.name} ${i.mac || ''} ${i.up ? 'up' : 'down'} ${i.addresses.join(' ')}`.replace(/\s+/g, ' ').trim() })),
    status: () => statusLines(dataDir, control),
    factoryReset: async () => {
      const gatewayRunning = await callControl(controlSocketPath(dataDir), { op: 'sessions-list' }).then(
        () => true,
        (err: Error) => !/not running/.test(err.message),
      );
      if (gatewayRunning) {
        if (root !== '/') throw new Error('the gateway is running: stop it first (its keys and stores are in use); nothing was erased');
        await system('systemctl', ['stop', 'gatehouse.service']);
      }
      for (const name of await readdir(dataDir)) if (name !== 'console.lock') await rm(join(dataDir, name), { recursive: true, force: true });
      cliAudit(dataDir).emit('factory-reset', { origin });
    },
    firmwareStatus: () => firmwareStatusLines(firmwareLayout(root)),
    upgradeFirmware: (bundle, say) => upgradeFirmware(firmwareLayout(root), bundle, root === '/' ? DEFAULT_TRUSTED_KEYS : join(root, DEFAULT_TRUSTED_KEYS), false, say),
    rollbackFirmware: async () => `slot ${(await rollback(firmwareLayout(root))).slot} boots next`,
    applyToGateway: async () => {
      if (root !== '/') return 'Restart the gateway to use it: it reads its configuration when it starts.';
      const state = (await system('systemctl', ['is-active', 'gatehouse.service']).catch(() => 'inactive')).trim();
      if (state !== 'active' && state !== 'activating') return 'The gateway is not running: it uses the new configuration when it starts.';
      // A gateway still starting may have read the older configuration: it is restarted too.
      const running = await control({ op: 'sessions-list' }).catch(() => undefined);
      const active = running ? (running.sessions as unknown[]).length : 0;
      if (active > 0) return `The gateway keeps its configuration until it restarts: ${active} session(s) active. End them (Active sessions) or reboot to apply it.`;
      await system('systemctl', ['try-restart', 'gatehouse.service']);
      return 'The gateway restarted with the new configuration.';
    },
    startGateway: async () => {
      if (root !== '/') return false;
      await system('systemctl', ['start', 'gatehouse.service']);
      return true;
    },
    power: async (action) => void (await system('systemctl', [action])),
  };
}

/** The appliance's slots, or the same paths under a test root. */
function firmwareLayout(root: string): FirmwareLayout {
  if (root === '/') return APPLIANCE_LAYOUT;
  return { cmdlineFile: join(root, 'proc/cmdline'), esp: join(root, 'efi'), slotDevice: (slot) => join(root, `dev/disk/by-partlabel/root-${slot}`) };
}

/** The newest security events of the journal (`<data>/audit/journal/`), one line each, newest last. */
async function recentEvents(dataDir: string, count: number): Promise<string[]> {
  const directory = join(dataDir, 'audit', 'journal');
  const segments = (await readdir(directory).catch(() => [] as string[])).sort();
  const lines: string[] = [];
  for (let i = segments.length - 1; i >= 0 && lines.length < count; i--) {
    const text = await readFile(join(directory, segments[i]!), 'utf8').catch(() => '');
    lines.unshift(...text.split('\n').filter(Boolean));
  }
  return lines.slice(-count).map((line) => {
    try {
      const entry = JSON.parse(line) as { time: string; eventId: string; fields: Record<string, unknown> };
      const detail = Object.entries(entry.fields).filter(([, v]) => v !== null).map(([k, v]) => `${k}=${String(v)}`).join(' ');
      return `${entry.time.slice(0, 19).replace('T', ' ')} ${entry.eventId} ${detail}`.slice(0, 79);
    } catch {
      return '(unreadable entry)';
    }
  });
}

async function statusLines(dataDir: string, control: (request: ControlRequest) => Promise<Record<string, unknown>>): Promise<string[]> {
  const [load, memory, disks, time, osInfo] = await Promise.all([si.currentLoad(), si.mem(), si.fsSize(), Promise.resolve(si.time()), si.osInfo()]);
  const store = await openConfigStore(dataDir);
  const gateway = await control({ op: 'sessions-list' }).then(
    (answer) => `running, ${(answer.sessions as unknown[]).length} active session(s)`,
    (err: Error) => err.message,
  );
  const credstore = await send(dataDir, { op: 'credstore-status' }).then(
    (s) => (s.mode ? `${String(s.mode)}, ${s.unlocked ? 'unlocked' : 'LOCKED'}` : 'not created'),
    (err: Error) => `unknown (${err.message})`,
  );
  const interfaces = (await listInterfaces()).filter((i) => !i.loopback).map((i) => `${i.name} ${i.up ? 'up' : 'down'} ${i.addresses.join(' ')}`.trim());
  const gib = (bytes: number): string => `${(bytes / 2 ** 30).toFixed(1)} GiB`;
  return [
    `Host        ${os.hostname()}  ${osInfo.distro} ${osInfo.release}, Linux ${osInfo.kernel}`,
    `Uptime      ${Math.floor(time.uptime / 3600)} h ${Math.floor((time.uptime % 3600) / 60)} min`,
    `CPU         ${os.cpus().length} x ${load.currentLoad.toFixed(0)}% busy`,
    `Memory      ${gib(memory.active)} used of ${gib(memory.total)}`,
    ...disks.slice(0, 4).map((d) => `Disk        ${d.mount} ${gib(d.used)} of ${gib(d.size)} (${d.use.toFixed(0)}%)`),
    ...interfaces.map((line) => `Network     ${line}`),
    `Gatehouse   ${GATEHOUSE_VERSION}, node ${process.version}; gateway ${gateway}`,
    `Config      version ${store.current().version}, ${store.current().sealed ? 'SEALED' : 'not sealed'}`,
    `Credentials ${credstore}`,
  ].map((line) => line.slice(0, 79));
}
