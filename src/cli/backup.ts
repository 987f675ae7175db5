// `gatehouse backup FILE` / `gatehouse restore FILE`: the configuration, the installed plugins and
// the still-encrypted credential store in one self-checking archive.
import { parseArgs } from 'node:util';
import { createBackup, restoreBackup } from '../config/backup.js';
import { applianceId } from '../system/appliance-id.js';
import { changeAuthor, changeOrigin } from './origin.js';
import { reportCommit } from './audit.js';
import { dataDirectory } from './paths.js';
import { openConfigStore } from './stores.js';

const help = {
  backup: `Usage: gatehouse backup FILE

Writes one archive holding the current configuration, the installed plugins and the credential
store file (still encrypted: a passphrase store needs its passphrase after a restore, an
appliance-key store needs this appliance's key file). The archive ends with a SHA-256 checksum.
`,
  restore: `Usage: gatehouse restore FILE

Checks the whole archive (checksum, format, manifest, configuration schema, plugin directories,
credential store file) before it replaces anything; a truncated, altered or foreign archive
changes nothing and says why. The configuration is committed as a new version. Refused from a
remote origin while the appliance is sealed. Restart the gateway afterwards.
`,
};

export function backupCommand(action: 'backup' | 'restore') {
  return async (args: string[]): Promise<number> => {
    const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { help: { type: 'boolean', short: 'h' } } });
    if (values.help || positionals.length !== 1) {
      process.stdout.write(help[action]);
      return values.help ? 0 : 2;
    }
    const [file] = positionals as [string];
    const dataDir = dataDirectory();
    const store = await openConfigStore(dataDir);
    if (action === 'backup') {
      const manifest = await createBackup(dataDir, store, file, { applianceId: await applianceId(dataDir) });
      process.stdout.write(`wrote ${file}: configuration version ${manifest.configVersion.version}, ${manifest.files.length} files\n`);
    } else {
      const manifest = await restoreBackup(dataDir, store, file, { origin: changeOrigin(), author: changeAuthor() });
      reportCommit(dataDir, store.current(), 'restore');
      process.stdout.write(`restored ${file} (made ${manifest.created}, ${manifest.files.length} files) as version ${store.current().version}; restart the gateway\n`);
    }
    return 0;
  };
}
