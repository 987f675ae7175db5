// Opens the appliance's stores for a CLI command, in the data directory the command works on.
import { readFile } from 'node:fs/promises';
import { ConfigStore } from '../config/store.js';
import { ConfigError, embeddedDefaultConfig } from '../config/load.js';
import { configFile } from './paths.js';

/**
 * The configuration store. An empty store starts from an existing `config.json` (a hand-written
 * or older configuration) when there is one, else from the embedded default.
 */
export async function openConfigStore(dataDir: string): Promise<ConfigStore> {
  let legacy: unknown;
  try {
    legacy = JSON.parse(await readFile(configFile(dataDir), 'utf8'));
  } catch (err) {
    if (err instanceof SyntaxError) throw new ConfigError(configFile(dataDir), [`(file): not valid JSON: ${err.message}`]);
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  return ConfigStore.open(dataDir, { initial: () => legacy ?? embeddedDefaultConfig });
}
