// `gatehouse config ...`: read, validate, change and roll back the versioned configuration.
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { ConfigError, validateConfig } from '../config/load.js';
import { reportCommit } from './audit.js';
import { dataDirectory } from './paths.js';
import { changeAuthor, changeOrigin } from './origin.js';
import { openConfigStore } from './stores.js';

const help = `Usage: gatehouse config <action> [options]

  show [--version N]          print the current configuration (or version N) as JSON
  validate [FILE]             check FILE (default: the current configuration); every problem is
                              printed with the path of the bad value and what was expected
  apply FILE [-m MESSAGE]     commit FILE as the new configuration
  history                     list the kept versions: number, time, origin, author, sealed, message
  diff A [B]                  show what changed from version A to version B (default: current)
  rollback N [-m MESSAGE]     commit version N's configuration again as a new version

Every change is an atomic commit recording time, origin (console or remote), author and message.
While the appliance is sealed, only the local console may change it. Restart the gateway to
apply a new configuration.
`;

export async function configCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { version: { type: 'string' }, message: { type: 'string', short: 'm' }, help: { type: 'boolean', short: 'h' } },
  });
  const [action, ...rest] = positionals;
  if (values.help || !action) {
    process.stdout.write(help);
    return values.help ? 0 : 2;
  }
  const dataDir = dataDirectory();
  if (action === 'validate' && rest[0]) return validateFile(rest[0]);
  const store = await openConfigStore(dataDir);
  const change = { origin: changeOrigin(), author: changeAuthor() };

  switch (action) {
    case 'show': {
      const version = values.version ? await store.version(versionNumber(values.version)) : store.current();
      process.stdout.write(`${JSON.stringify(version.config, null, 2)}\n`);
      return 0;
    }
    case 'validate':
      process.stdout.write(`version ${store.current().version}: valid\n`);
      return 0;
    case 'apply': {
      if (!rest[0]) throw new Error('config apply needs a FILE');
      const committed = await store.commit({ ...change, message: values.message ?? `applied ${rest[0]}`, config: await readJson(rest[0]) });
      reportCommit(dataDir, committed, 'apply');
      process.stdout.write(`committed version ${committed.version} (restart the gateway to apply)\n`);
      return 0;
    }
    case 'history':
      for (const v of await store.history()) {
        process.stdout.write(`${v.version}\t${v.time}\t${v.origin}\t${v.author}\t${v.sealed ? 'sealed' : 'unsealed'}\t${v.message}\n`);
      }
      return 0;
    case 'diff': {
      if (!rest[0]) throw new Error('config diff needs a version A');
      const to = rest[1] ? versionNumber(rest[1]) : store.current().version;
      process.stdout.write(`${await store.diff(versionNumber(rest[0]), to)}\n`);
      return 0;
    }
    case 'rollback': {
      if (!rest[0]) throw new Error('config rollback needs a version N');
      const committed = await store.rollback({ ...change, to: versionNumber(rest[0]), ...(values.message ? { message: values.message } : {}) });
      reportCommit(dataDir, committed, 'rollback');
      process.stdout.write(`committed version ${committed.version}: ${committed.message} (restart the gateway to apply)\n`);
      return 0;
    }
    default:
      throw new Error(`unknown config action "${action}" (expected show, validate, apply, history, diff or rollback)`);
  }
}

function versionNumber(text: string): number {
  if (!/^\d+$/.test(text)) throw new Error(`"${text}" is not a version number`);
  return Number(text);
}

async function readJson(file: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    if (err instanceof SyntaxError) throw new Error(`${file}: not valid JSON: ${err.message}`);
    throw err;
  }
}

async function validateFile(file: string): Promise<number> {
  try {
    validateConfig(await readJson(file), file);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`gatehouse: ${err.message}\n`);
    return 1;
  }
  process.stdout.write(`${file}: valid\n`);
  return 0;
}
