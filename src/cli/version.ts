// The version of this Gatehouse build: package.json's, which the image's os-release and bundles carry too.
// Found by walking up from this module, which runs from dist/src/cli/ when built and src/cli/ under tests.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function packageVersion(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'gatehouse' && pkg.version) return pkg.version;
    }
    if (dirname(dir) === dir) throw new Error('the Gatehouse package.json was not found above the program');
  }
}

export const GATEHOUSE_VERSION = packageVersion();
