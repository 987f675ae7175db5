#!/usr/bin/env node
// The `gatehouse` command: one entry point, one subcommand per job.
import { parseArgs } from 'node:util';
import { serveCommand } from './serve.js';
import { userCommand } from './user.js';
import { checkConfigCommand } from './check-config.js';

export const usage = `Usage: gatehouse <command> [options]

Privileged session gateway: SSH clients log in through it to protected servers.

Commands:
  serve                 run the gateway (creates the data directory and the default configuration)
  check-config          validate the configuration file and report every problem
  user add NAME         add a gateway user (--password-stdin, --authorized-key FILE)
  user passwd NAME      set a gateway user's password (read from stdin or a no-echo prompt)
  user remove NAME      remove a gateway user
  user list             list gateway users and how they authenticate

Environment:
  GATEHOUSE_DATA        data directory (default ./var): config.json, host keys, known_hosts

Run "gatehouse <command> --help" for the options of a command.
`;

type Command = (args: string[]) => Promise<number>;

const commands: Record<string, Command> = {
  serve: serveCommand,
  user: userCommand,
  'check-config': checkConfigCommand,
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

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: Error) => {
    process.stderr.write(`gatehouse: ${err.message}\n`);
    process.exitCode = 1;
  },
);
