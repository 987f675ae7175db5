#!/usr/bin/env node
// The `gatehouse` command: one entry point, one subcommand per job.
import { parseArgs } from 'node:util';
import { serveCommand } from './serve.js';
import { userCommand } from './user.js';
import { backupCommand } from './backup.js';
import { configCommand } from './config.js';
import { credstoreCommand } from './credstore.js';
import { pluginCommand } from './plugin.js';
import { totpCommand } from './totp.js';
import { sealCommand } from './seal.js';
import { verifyCommand } from './verify.js';
import { exportCommand } from './export.js';
import { replayCommand } from './replay.js';
import { sessionsCommand } from './sessions.js';
import { searchCommand } from './search.js';
import { consoleCommand } from './console.js';
import { firmwareCommand } from './firmware.js';
import { firewallCommand } from './firewall.js';

export const usage = `Usage: gatehouse <command> [options]

Privileged session gateway: SSH clients log in through it to protected servers.

Commands:
  serve                 run the gateway (creates the data directory and the default configuration)
  config show|validate|apply|history|diff|rollback
                        the versioned configuration store
  console               the serial console: first-boot wizard, then the menu (--device /dev/ttyS0)
  firmware status|upgrade BUNDLE|rollback|health
                        the A/B slots: signed image upgrade with automatic fallback
  firewall [--apply]    open the gateway's listening ports in the appliance firewall (nft)
  seal, unseal          lock the appliance against remote changes, or lift it (console only)
  credstore init|status|unlock|lock|passwd|add|list|remove
                        the encrypted local credential store
  plugin install|list|activate|remove, plugin config create|edit|show|remove
                        AA plugin packages and their configurations
  totp enroll USER --config NAME
                        a new TOTP seed in the credential store, shown as otpauth:// URI and QR code
  backup FILE, restore FILE
                        configuration, plugins and credential store in one checked archive
  sessions [kill ID]    the running gateway's live sessions; end one (--reason TEXT)
  search [TEXT]         find recorded sessions by user, target, time, result, metadata and
                        text on screen (--help for the options; --json for scripts)
  verify SESSION        check a session's recordings: intact, tampered (which chunk) or unfinished
  export SESSION        one recording as a single asciicast v2 file (-o FILE), verified first
  replay SESSION        play a recording in this terminal (--speed, --idle-limit, --from, --no-wait)
  user add NAME         add a gateway user (--password-stdin, --authorized-key FILE)
  user passwd NAME      set a gateway user's password (read from stdin or a no-echo prompt)
  user remove NAME      remove a gateway user
  user list             list gateway users and how they authenticate

Environment:
  GATEHOUSE_DATA        data directory (default ./var): configuration store, host keys, known_hosts
  GATEHOUSE_ORIGIN      console or remote: where a change comes from (default: remote unless
                        standard input is the local console)

Run "gatehouse <command> --help" for the options of a command.
`;

type Command = (args: string[]) => Promise<number>;

const commands: Record<string, Command> = {
  serve: serveCommand,
  user: userCommand,
  config: configCommand,
  credstore: credstoreCommand,
  plugin: pluginCommand,
  totp: totpCommand,
  backup: backupCommand('backup'),
  restore: backupCommand('restore'),
  seal: sealCommand(true),
  unseal: sealCommand(false),
  verify: verifyCommand,
  export: exportCommand,
  replay: replayCommand,
  sessions: sessionsCommand,
  search: searchCommand,
  console: consoleCommand,
  firmware: firmwareCommand,
  firewall: firewallCommand,
};

export async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({ args: argv.slice(0, 1), options: { help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: false });
  const name = positionals[0];
  if (!name || values.help) {
    process.stdout.write(usage);
    return values.help ? 0 : 2;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`gatehouse: unknown command "${name}"\n\n${usage}`);
    return 2;
  }
  return command(argv.slice(1));
}

// A reader that stops early (`gatehouse search --json | head`) is not an error: end quietly, as a shell tool would.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err;
  process.exit(process.exitCode ?? 0);
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: Error) => {
    process.stderr.write(`gatehouse: ${err.message}\n`);
    process.exitCode = 1;
  },
);
