// Crash torture test of the configuration store: child processes commit in a loop and are killed
// with SIGKILL at random moments; after every kill the store must open on one complete, valid
// version: the last one the child reported committed, or the one it was committing.
import { spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { isDeepStrictEqual } from 'node:util';
import t from 'tap';
import { validateConfig } from '../../src/config/load.js';
import type { GatehouseConfig } from '../../src/config/schema.js';
import { ConfigStore, versionsDir } from '../../src/config/store.js';
import { plainNode, transpileTree } from '../helpers/plain-node-child.js';
import { numberedConfig } from './fixtures/configs.js';

// GATEHOUSE_TORTURE_KILLS=50 makes a quick run while working on the store.
const KILLS = Number(process.env.GATEHOUSE_TORTURE_KILLS ?? 1000);
const WORKERS = 3;
const KEEP = 5;

interface Known {
  version: number;
  config: GatehouseConfig;
}

/** What the child reported before it died: its last completed commit and the one under way. */
interface ChildReport {
  done?: { version: number; i: number };
  begun?: number;
  commits: number;
}

function parseReport(output: string): ChildReport {
  const report: ChildReport = { commits: 0 };
  // Only complete lines: each is one write to a pipe, which a kill cannot split, but be strict.
  for (const line of output.split('\n').slice(0, -1)) {
    const [word, a, b] = line.split(' ');
    if (word === 'begin') report.begun = Number(a);
    if (word === 'done' && b !== undefined) {
      report.done = { version: Number(a), i: Number(b) };
      report.commits++;
    }
  }
  return report;
}

/** Spawns the committing child, kills it 5–50 ms after it opened the store, returns its report. */
function runAndKill(childJs: string, dataDir: string): Promise<ChildReport> {
  return new Promise((resolve, reject) => {
    const [command, args] = plainNode(childJs, [dataDir, 'loop', String(KEEP)]);
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    let timer: NodeJS.Timeout | undefined;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      output += chunk;
      if (!timer && output.includes('ready\n')) timer = setTimeout(() => child.kill('SIGKILL'), 5 + Math.random() * 45);
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (signal !== 'SIGKILL') reject(new Error(`child ended with code ${code} before it was killed:\n${output}`));
      else resolve(parseReport(output));
    });
  });
}

function lostEverything(): never {
  throw new Error('the store lost all its versions');
}

/** Opens the store after a kill and checks it holds exactly what the child's report allows. */
async function checkAfterKill(dataDir: string, before: Known, report: ChildReport): Promise<Known & { recoveredInFlight: boolean }> {
  const store = await ConfigStore.open(dataDir, { keep: KEEP, initial: lostEverything });
  const current = store.current();
  if (store.warnings.length) throw new Error(`warnings after a kill: ${store.warnings.join('; ')}`);
  const names = await readdir(versionsDir(dataDir));
  const leftovers = names.filter((name) => name.endsWith('.tmp'));
  if (leftovers.length) throw new Error(`temp files left after open: ${leftovers.join(', ')}`);
  if ((await store.history()).length !== names.length) throw new Error(`a version file is unreadable: ${names.join(', ')}`);
  const acknowledged = report.done ? { version: report.done.version, config: validateConfig(numberedConfig(report.done.i)) } : before;
  const inFlight = report.begun === undefined ? undefined : validateConfig(numberedConfig(report.begun));
  const matches =
    (current.version === acknowledged.version && isDeepStrictEqual(current.config, acknowledged.config)) ||
    (current.version === acknowledged.version + 1 && inFlight !== undefined && isDeepStrictEqual(current.config, inFlight));
  if (!matches) {
    throw new Error(`after a kill the store holds version ${current.version}; the child acknowledged ${acknowledged.version} and was committing config ${report.begun}`);
  }
  return { version: current.version, config: current.config, recoveredInFlight: current.version === acknowledged.version + 1 };
}

t.test(`store survives ${KILLS} SIGKILLs during commits`, async (t) => {
  const dir = t.testdir({ build: {} });
  const childJs = await transpileTree(new URL('./fixtures/commit-loop.ts', import.meta.url).pathname, `${dir}/build`);
  const started = Date.now();
  let kills = 0;
  let commits = 0;
  let midCommit = 0;
  let inFlightKept = 0;
  let tempFilesLeft = 0;

  async function worker(n: number): Promise<void> {
    const dataDir = `${dir}/store-${n}`;
    const initial = (await ConfigStore.open(dataDir, { keep: KEEP })).current();
    let known: Known = { version: initial.version, config: initial.config };
    while (kills < KILLS) {
      kills++;
      const report = await runAndKill(childJs, dataDir);
      commits += report.commits;
      if (report.begun !== undefined && report.begun !== report.done?.i) midCommit++;
      if ((await readdir(versionsDir(dataDir))).some((name) => name.endsWith('.tmp'))) tempFilesLeft++;
      const after = await checkAfterKill(dataDir, known, report);
      if (after.recoveredInFlight) inFlightKept++;
      known = after;
    }
  }

  await Promise.all(Array.from({ length: WORKERS }, (_, n) => worker(n)));
  const seconds = (Date.now() - started) / 1000;
  t.comment(`${kills} kills in ${seconds.toFixed(1)} s (${WORKERS} stores in parallel), ${commits} acknowledged commits`);
  t.comment(`${midCommit} kills hit a commit under way (${tempFilesLeft} left a temp file to clean up; ${inFlightKept} came after the new version had landed)`);
  t.ok(kills >= KILLS, `killed the committing child ${kills} times`);
  t.ok(commits > kills, 'children committed between kills');
});
