// `gatehouse user ...`: manage local gateway users (first factor) in the configuration file.
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { hashPassword, parseAuthorizedKey } from '../auth/local-users.js';
import { reportCommit } from './audit.js';
import { dataDirectory } from './paths.js';
import { changeAuthor, changeOrigin } from './origin.js';
import { openConfigStore } from './stores.js';
import { readSecret } from './secret-input.js';

const help = `Usage: gatehouse user <action> [options]

  add NAME [--password-stdin] [--authorized-key FILE]...
  passwd NAME
  remove NAME
  list

Local gateway users authenticate the first factor with a password (stored as an scrypt hash)
and/or OpenSSH public keys. Passwords are read from standard input (--password-stdin, or
always when stdin is not a terminal) or from a prompt that does not echo; never from the
command line. Each change is a configuration commit; restart the gateway to apply it.
`;

export async function userCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      'password-stdin': { type: 'boolean' },
      'authorized-key': { type: 'string', multiple: true },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [action, name] = positionals;
  if (values.help || !action) {
    process.stdout.write(help);
    return values.help ? 0 : 2;
  }
  const store = await openConfigStore(dataDirectory());
  // A working copy: the store's versions are frozen.
  const config = structuredClone(store.current().config);
  const existing = config.users.find((u) => u.name === name);

  switch (action) {
    case 'list':
      for (const user of config.users) {
        process.stdout.write(`${user.name}\tpassword:${user.passwordHash ? 'yes' : 'no'}\tkeys:${user.authorizedKeys.length}\n`);
      }
      return 0;
    case 'add': {
      if (!name) throw new Error('user add needs a NAME');
      if (existing) throw new Error(`user "${name}" already exists`);
      const authorizedKeys = await readKeys(values['authorized-key'] ?? []);
      const wantsPassword = values['password-stdin'] || authorizedKeys.length === 0;
      const passwordHash = wantsPassword ? await hashPassword(await readSecret(`Password for ${name}: `)) : undefined;
      config.users.push({ name, authorizedKeys, ...(passwordHash ? { passwordHash } : {}) });
      break;
    }
    case 'passwd':
      if (!existing) throw new Error(`no user "${name ?? ''}"`);
      existing.passwordHash = await hashPassword(await readSecret(`New password for ${existing.name}: `));
      break;
    case 'remove':
      if (!existing) throw new Error(`no user "${name ?? ''}"`);
      config.users = config.users.filter((u) => u !== existing);
      break;
    default:
      throw new Error(`unknown user action "${action}" (expected add, passwd, remove or list)`);
  }
  const committed = await store.commit({ origin: changeOrigin(), author: changeAuthor(), message: `user ${action} ${name}`, config });
  reportCommit(dataDirectory(), committed, `user-${action}`);
  process.stdout.write(`user ${action}: ${name} (version ${committed.version}; restart the gateway to apply)\n`);
  return 0;
}

async function readKeys(files: string[]): Promise<string[]> {
  const keys: string[] = [];
  for (const path of files) {
    for (const line of (await readFile(path, 'utf8')).split('\n')) {
      if (line.trim() === '' || line.startsWith('#')) continue;
      const parsed = parseAuthorizedKey(line.trim());
      if (parsed instanceof Error) throw new Error(`${path}: ${parsed.message}`);
      keys.push(line.trim());
    }
  }
  return keys;
}
