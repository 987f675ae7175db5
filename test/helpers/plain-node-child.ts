// Child processes of tests at plain-node start-up cost: the TS loader the tests run under costs
// about a second per process, and tap's process tracking doubles a child's start-up again.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const projectRoot = fileURLToPath(new URL('../..', import.meta.url));

/**
 * Writes `entry` (a .ts path) and its relative imports under `outDir`, keeping their paths relative
 * to the project root; `outDir` must lie inside the project so packages resolve from its
 * node_modules. Returns the path of the transpiled entry.
 */
export async function transpileTree(entry: string, outDir: string): Promise<string> {
  const pending = [resolve(entry)];
  const done = new Set<string>();
  while (pending.length) {
    const source = pending.pop() as string;
    if (done.has(source)) continue;
    done.add(source);
    const text = await readFile(source, 'utf8');
    for (const imported of ts.preProcessFile(text, true, true).importedFiles) {
      if (imported.fileName.startsWith('.')) pending.push(resolve(dirname(source), imported.fileName.replace(/\.js$/, '.ts')));
    }
    const output = ts.transpileModule(text, {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
      fileName: source,
    }).outputText;
    const target = join(outDir, relative(projectRoot, source)).replace(/\.ts$/, '.js');
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, output);
  }
  return join(outDir, relative(projectRoot, resolve(entry))).replace(/\.ts$/, '.js');
}

/**
 * The command and arguments that run `script` with node but without tap's process tracking, which
 * tap's spawn hook would otherwise put back into NODE_OPTIONS whatever env the test passes.
 */
export function plainNode(script: string, args: string[]): [string, string[]] {
  return ['/usr/bin/env', ['-u', 'NODE_OPTIONS', process.execPath, script, ...args]];
}
