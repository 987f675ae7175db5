// `gatehouse seal` / `gatehouse unseal`: lock the appliance against remote changes, or lift it.
import { parseArgs } from 'node:util';
import { cliAudit } from './audit.js';
import { dataDirectory } from './paths.js';
import { changeAuthor, changeOrigin } from './origin.js';
import { openConfigStore } from './stores.js';

const help = (name: string): string => `Usage: gatehouse ${name}

${name === 'seal' ? 'Seals the appliance: from then on the configuration, the plugins and the credential store\naccept changes only from the local console; remote surfaces are read-only and say why.' : 'Lifts sealed mode.'}
Possible only from the local console (the serial console, or a root shell that declares
GATEHOUSE_ORIGIN=console). Recorded as a configuration commit.
`;

export function sealCommand(sealed: boolean) {
  const name = sealed ? 'seal' : 'unseal';
  return async (args: string[]): Promise<number> => {
    const { values } = parseArgs({ args, options: { help: { type: 'boolean', short: 'h' } } });
    if (values.help) {
      process.stdout.write(help(name));
      return 0;
    }
    const dataDir = dataDirectory();
    const store = await openConfigStore(dataDir);
    const committed = sealed ? await store.seal(changeOrigin(), changeAuthor()) : await store.unseal(changeOrigin(), changeAuthor());
    cliAudit(dataDir).emit(sealed ? 'appliance-sealed' : 'appliance-unsealed', { version: committed.version, author: committed.author, origin: committed.origin });
    process.stdout.write(`${sealed ? 'sealed' : 'unsealed'} (version ${committed.version})\n`);
    return 0;
  };
}
