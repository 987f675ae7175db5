// What this appliance offers plugins: its own version (package.json's) and the plugin API version.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * The AA plugin API this appliance implements, MAJOR.MINOR. 1.2 because the hooks, their
 * arguments and their verdicts are those of SPS's plugin API 1.2, so a MANIFEST written for it
 * keeps its `api:` line. A package needs the same major and a minor no newer.
 */
export const APPLIANCE_PLUGIN_API = '1.2';

export interface Appliance {
  /** The appliance's version, checked against a package's min/max appliance version. */
  version: string;
  /** The plugin API it offers, checked against a package's `api`. */
  pluginApi: string;
}

export const thisAppliance: Appliance = { version: ownVersion(), pluginApi: APPLIANCE_PLUGIN_API };

/** The version in the project's package.json: the nearest one above this module (src/aa/ or dist/src/aa/). */
function ownVersion(): string {
  for (let dir = import.meta.dirname; ; dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'gatehouse' && typeof pkg.version === 'string') return pkg.version;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    if (dirname(dir) === dir) throw new Error(`no package.json of gatehouse above ${import.meta.dirname}`);
  }
}
