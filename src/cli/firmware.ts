// `gatehouse firmware status|upgrade BUNDLE|rollback|health`: the A/B slots of the appliance (issue 10).
// An upgrade verifies the whole signed bundle before anything is written, then writes the inactive slot and a
// one-try boot entry; the health check after the next boot blesses it, or the boot loader falls back.
import { readdir, readFile } from 'node:fs/promises';
import { createPublicKey, type KeyObject } from 'node:crypto';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { openBundle } from '../system/firmware/bundle.js';
import { blessBootedSlot, firmwareStatus, installBundle, rollback, type FirmwareLayout, type Slot } from '../system/firmware/updater.js';
import { callControl, controlSocketPath } from '../system/control-socket.js';
import { runSystemCommand } from '../system/system-command.js';
import { changeOrigin } from './origin.js';
import { dataDirectory } from './paths.js';
import { openConfigStore } from './stores.js';
import { GATEHOUSE_VERSION } from './version.js';

const help = (): string => `Usage: gatehouse firmware status
       gatehouse firmware upgrade BUNDLE [--force] [--reboot]
       gatehouse firmware rollback [--reboot]
       gatehouse firmware health [--wait SECONDS]

  status            the booted slot, and each slot's version and boot entry (blessed, or tries left)
  upgrade BUNDLE    verifies the bundle (Ed25519 signature by a trusted key, architecture, a newer
                    version, every file's size and SHA-256) before anything is written, then writes
                    the inactive slot and a boot entry that is tried once; --reboot reboots into it.
                    --force accepts an older or equal version, from the console only.
  rollback          the other slot boots next (it must have a boot entry); --reboot reboots now
  health            the post-boot check: the configuration loads and, once the appliance is set up,
                    the gateway answers (--wait: keep asking for up to SECONDS); then the booted slot
                    is blessed (its entry kept). Exit 1 otherwise: the boot loader falls back to the
                    previous slot on the next boot.

Upgrade and rollback are refused while the appliance is sealed, unless from the console.

Layout (tests and image builds point these elsewhere):
  --esp DIR             the EFI system partition (default /efi)
  --cmdline FILE        the kernel command line naming the booted slot (default /proc/cmdline)
  --slots DIR           slot devices are DIR/root-a and DIR/root-b (default /dev/disk/by-partlabel)
  --trusted-keys DIR    PEM public keys bundles may be signed with (default ${DEFAULT_TRUSTED_KEYS})
  --data DIR            the data directory (default: GATEHOUSE_DATA or ./var)
`;

export async function firmwareCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      force: { type: 'boolean' },
      reboot: { type: 'boolean' },
      esp: { type: 'string' },
      cmdline: { type: 'string' },
      slots: { type: 'string' },
      'trusted-keys': { type: 'string' },
      data: { type: 'string' },
      wait: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [action, bundlePath] = positionals;
  if (values.help || !action) {
    process.stdout.write(help());
    return values.help ? 0 : 2;
  }
  const slots = values.slots;
  const layout: FirmwareLayout = {
    cmdlineFile: values.cmdline ?? APPLIANCE_LAYOUT.cmdlineFile,
    esp: values.esp ?? APPLIANCE_LAYOUT.esp,
    slotDevice: slots ? (slot: Slot) => join(slots, `root-${slot}`) : APPLIANCE_LAYOUT.slotDevice,
  };
  const dataDir = dataDirectory(values.data);
  switch (action) {
    case 'status':
      for (const line of await statusLines(layout)) process.stdout.write(`${line}\n`);
      return 0;
    case 'upgrade': {
      if (!bundlePath) throw new Error('upgrade needs the bundle file');
      const origin = await mayChangeFirmware(dataDir, 'upgrade');
      if (values.force && origin !== 'console') throw new Error('--force (an older or equal version) is allowed from the console only');
      await upgradeFirmware(layout, bundlePath, values['trusted-keys'] ?? DEFAULT_TRUSTED_KEYS, values.force === true, (line) => process.stdout.write(`${line}\n`));
      return values.reboot ? reboot() : 0;
    }
    case 'rollback': {
      await mayChangeFirmware(dataDir, 'rollback');
      const { slot } = await rollback(layout);
      process.stdout.write(`slot ${slot} boots next\n`);
      return values.reboot ? reboot() : 0;
    }
    case 'health': {
      const waitSeconds = Number(values.wait ?? 0);
      if (!Number.isFinite(waitSeconds) || waitSeconds < 0 || waitSeconds > 3600) throw new Error('--wait must be a number of seconds from 0 to 3600');
      const problem = await healthProblem(dataDir, Date.now() + waitSeconds * 1000);
      if (problem) {
        process.stderr.write(`gatehouse firmware health: ${problem}; the slot is not blessed\n`);
        return 1;
      }
      await blessBootedSlot(layout);
      process.stdout.write('healthy: the booted slot is blessed\n');
      return 0;
    }
    default:
      process.stderr.write(`gatehouse firmware: unknown action "${action}"\n\n${help()}`);
      return 2;
  }
}

export const DEFAULT_TRUSTED_KEYS = '/usr/lib/gatehouse/firmware-keys';

/**
 * The appliance's own layout: /proc/cmdline, the ESP at /efi, slots by partition label. Its kernel options
 * keep the serial console readable (warnings and notices only, systemd's status only on errors); the image
 * build writes the first entry with the same ones.
 */
export const APPLIANCE_LAYOUT: FirmwareLayout = {
  cmdlineFile: '/proc/cmdline',
  esp: '/efi',
  slotDevice: (slot: Slot) => `/dev/disk/by-partlabel/root-${slot}`,
  kernelOptions: 'loglevel=6 systemd.show_status=error',
};

/** The booted slot and each slot's version and entry, one line each. */
export async function statusLines(layout: FirmwareLayout): Promise<string[]> {
  const status = await firmwareStatus(layout);
  return [
    `running ${GATEHOUSE_VERSION} from slot ${status.booted}`,
    ...status.slots.map((s) => {
      const state = !s.entry ? 'no boot entry' : s.blessed ? 'blessed' : `on trial (${s.triesLeft ?? 0} tries left${s.triesDone ? `, ${s.triesDone} failed` : ''})`;
      return `slot ${s.slot}${s.booted ? ' (booted)' : ''}: ${s.version ?? 'unknown version'}, ${state}`;
    }),
  ];
}

/** Verifies the whole bundle, then writes the inactive slot; progress and the outcome go to `say`. */
export async function upgradeFirmware(layout: FirmwareLayout, bundlePath: string, keysDir: string, allowOlder: boolean, say: (line: string) => void): Promise<void> {
  const bundle = await openBundle(bundlePath, await trustedKeys(keysDir), {
    arch: process.arch === 'arm64' ? 'aarch64' : 'x86_64',
    currentVersion: GATEHOUSE_VERSION,
    allowOlder,
  });
  try {
    say(`bundle ${bundle.manifest.version} (${bundle.manifest.arch}) verified: signed by ${bundle.keyFingerprint}`);
    const installed = await installBundle(layout, bundle, tenPercentSteps(say));
    say(`version ${installed.version} written to slot ${installed.slot}; it boots once on trial and is kept when its health check passes`);
  } finally {
    await bundle.close();
  }
}

/** Progress lines for a console: each step once, and a long step every 10 % (not every chunk written). */
function tenPercentSteps(say: (line: string) => void): (step: string, done?: number, total?: number) => void {
  let last = '';
  return (step, done, total) => {
    const line = done !== undefined && total ? `  ${step} ${Math.floor((10 * done) / total) * 10}%` : `  ${step}`;
    if (line !== last) say(line);
    last = line;
  };
}

/** Refused while sealed unless from the console; returns the origin. */
async function mayChangeFirmware(dataDir: string, what: string): Promise<'console' | 'remote'> {
  const origin = changeOrigin();
  const { sealed } = (await openConfigStore(dataDir)).current();
  if (sealed && origin !== 'console') throw new Error(`the appliance is sealed: firmware ${what} is allowed from the console only`);
  return origin;
}

/** The PEM public keys in `dir`; none is an error, so an unsigned bundle can never be accepted by default. */
async function trustedKeys(dir: string): Promise<KeyObject[]> {
  const names = (await readdir(dir).catch(() => [] as string[])).filter((name) => name.endsWith('.pem') || name.endsWith('.pub'));
  const keys = await Promise.all(names.map(async (name) => createPublicKey(await readFile(join(dir, name), 'utf8'))));
  if (keys.length === 0) throw new Error(`no trusted firmware keys in ${dir}: no bundle can be verified`);
  return keys;
}

/**
 * Why the booted system is not healthy, or undefined: the configuration must load and, once the console
 * wizard has set the appliance up, the gateway must answer before `deadline` (a fresh appliance's gateway
 * waits for the wizard, which may be days away: its slot is healthy without it).
 */
async function healthProblem(dataDir: string, deadline: number): Promise<string | undefined> {
  let configured: boolean;
  try {
    configured = Boolean((await openConfigStore(dataDir)).current().config.console.adminPasswordHash);
  } catch (err) {
    return `the configuration does not load: ${(err as Error).message}`;
  }
  if (!configured) return undefined;
  for (;;) {
    const answer = await callControl(controlSocketPath(dataDir), { op: 'sessions-list' }).catch((err: Error) => ({ ok: false as const, error: err.message }));
    if (answer.ok) return undefined;
    if (Date.now() >= deadline) return `the gateway does not answer: ${answer.error}`;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

async function reboot(): Promise<number> {
  await runSystemCommand('systemctl', ['reboot']);
  return 0;
}
