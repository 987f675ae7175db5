// When the data partition is not mounted (damaged, or never formatted) the console opens no store: it says
// so and offers only what still works without one — formatting the partition (a factory reset), reboot and
// shut down. No password guards this menu: there is no configuration to hold one.
import { statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { POWER_QUESTIONS } from './menu.js';
import { ask, choose, confirm } from './prompts.js';
import { ConsoleClosed, ConsoleIdle, ConsoleInterrupt, type ConsoleTerminal } from './terminal.js';

/** The appliance's data partition, found by its GPT label. */
export const DATA_PARTITION_DEVICE = '/dev/disk/by-partlabel/data';

export const DATA_PARTITION_MISSING =
  'The data partition is not mounted: it may be damaged or unformatted. Configuration, credentials and recordings are unavailable; the gateway is not running.';

/** True when `dir` is a mount point: on another device than its parent. A missing `dir` is not one. */
export function isMountPoint(dir: string): boolean {
  const path = resolve(dir);
  const own = statSync(path, { throwIfNoEntry: false });
  return own !== undefined && own.dev !== statSync(dirname(path)).dev;
}

export interface DataPartitionOptions {
  /** The data partition's block device (DATA_PARTITION_DEVICE on the appliance). */
  device: string;
  /** Runs a system command as root (argv, no shell); rejects with the command's error output. */
  run: (command: string, args: string[]) => Promise<unknown>;
}

/** The menu of a console without its data partition. Returns never: the appliance reboots or powers off. */
export async function runDataPartitionMenu(term: ConsoleTerminal, options: DataPartitionOptions): Promise<never> {
  for (;;) {
    term.write(`\n${DATA_PARTITION_MISSING}\n\n`);
    try {
      const action = await choose(term, 'Data partition', [
        { label: 'Factory reset: format the data partition', value: 'format' as const },
        { label: 'Reboot', value: 'reboot' as const },
        { label: 'Shut down', value: 'poweroff' as const },
      ]);
      if (action === 'format') await formatDataPartition(term, options);
      else if (await confirm(term, POWER_QUESTIONS[action], false)) await options.run('systemctl', [action]);
    } catch (err) {
      if (err instanceof ConsoleClosed) throw err;
      if (!(err instanceof ConsoleInterrupt || err instanceof ConsoleIdle)) term.write(`\n! ${(err as Error).message}\n`);
    }
  }
}

async function formatDataPartition(term: ConsoleTerminal, options: DataPartitionOptions): Promise<void> {
  term.write(`Formatting erases everything on ${options.device}: configuration, credential store, host keys and recordings.\n`);
  if ((await ask(term, 'Type ERASE to format the data partition')) !== 'ERASE') {
    term.write('Not confirmed: nothing erased.\n');
    return;
  }
  term.write(`Formatting ${options.device}…\n`);
  await options.run('mkfs.ext4', ['-F', '-q', '-L', 'data', options.device]);
  term.write('Formatted. Rebooting: the first-boot setup starts after the reboot.\n');
  await options.run('systemctl', ['reboot']);
}
