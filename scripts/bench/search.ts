// (g) Search latency over a connection database of 10,000 recorded sessions: the embedded SQLite database
// (src/audit/connections/) filled with synthetic sessions whose terminal text is a shell transcript of
// about 4 KB (prompts, commands, listings, process tables, log tails), then each query timed in-process
// (`SqliteConnectionDatabase.search`, the count and the first page of 20) and once more end to end as
// `gatehouse search --json` in its own process (Node start, WebAssembly load, open, query, print).
import { spawn } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CONNECTION_DATABASE_FILE, SqliteConnectionDatabase } from '../../src/audit/connections/sqlite-database.js';
import type { SessionQuery, SessionRow } from '../../src/audit/connections/session-row.js';
import { GATEHOUSE_MAIN } from './gatehouse-process.js';
import { percentile } from './stats.js';
import type { Teardowns } from './teardown.js';

export interface SearchQueryResult {
  label: string;
  args: string[];
  matches: number;
  inProcessMs: number[];
  cliMs: number[];
}

export interface SearchResult {
  sessions: number;
  textBytes: number;
  fillSeconds: number;
  databaseBytes: number;
  queries: SearchQueryResult[];
}

export interface SearchOptions {
  sessions: number;
  runs: number;
  cliRuns: number;
  progress: (line: string) => void;
}

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 10, 22);

export async function measureSearch(t: Teardowns, o: SearchOptions): Promise<SearchResult> {
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-bench-search-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, CONNECTION_DATABASE_FILE);
  const db = SqliteConnectionDatabase.open(path, { bulkLoad: true });
  let textBytes = 0;
  const random = mulberry32(4711);
  const fillStarted = performance.now();
  try {
    for (let n = 0; n < o.sessions; n++) {
      const row = syntheticSession(n, random);
      db.saveSession(row);
      const text = transcript(n, random);
      textBytes += Buffer.byteLength(text);
      db.addText({ sessionId: row.sessionId, recording: row.recordings[0]!, kind: 'terminal', text, truncated: false });
      if ((n + 1) % 2000 === 0) o.progress(`search: ${n + 1}/${o.sessions} sessions stored`);
    }
  } finally {
    db.close();
  }
  const fillSeconds = (performance.now() - fillStarted) / 1000;
  const databaseBytes = (await stat(path)).size;
  o.progress(`search: ${o.sessions} sessions, ${(textBytes / 2 ** 20).toFixed(1)} MiB of text, database ${(databaseBytes / 2 ** 20).toFixed(1)} MiB, filled in ${fillSeconds.toFixed(1)} s`);

  const queries: [string, string[], Partial<SessionQuery>][] = [
    ['rare text (1 % of sessions)', ['rm -rf /var/lib/build'], { text: ['rm -rf /var/lib/build'] }],
    ['common text (every session)', ['ls -l'], { text: ['ls -l'] }],
    ['two characters (scanned, not indexed)', ['df'], { text: ['df'] }],
    ['text with FTS syntax characters', ['"x" OR NEAR(a*'], { text: ['"x" OR NEAR(a*'] }],
    ['user, last 7 days', ['--user', 'user7', '--since', new Date(NOW - 7 * DAY).toISOString()], { gatewayUser: 'user7', since: NOW - 7 * DAY }],
    ['metadata key=value', ['--meta', 'ticket=INC-1235'], { metadata: [{ key: 'ticket', value: 'INC-1235' }] }],
    ['text and user and result', ['sudo systemctl restart', '--user', 'user3', '--result', 'ok'], { text: ['sudo systemctl restart'], gatewayUser: 'user3', result: ['ok'] }],
    ['no criteria, newest first', [], {}],
    ['no criteria, sorted by bytes, page 50', ['--sort', 'bytes', '--page', '50'], { sort: 'bytes', offset: 980 }],
  ];
  const results: SearchQueryResult[] = [];
  const reader = SqliteConnectionDatabase.open(path, { readOnly: true });
  try {
    for (const [label, args, query] of queries) {
      const full: SessionQuery = { limit: 20, offset: 0, descending: true, ...query };
      const inProcessMs: number[] = [];
      let matches = 0;
      for (let run = 0; run < o.runs; run++) {
        const started = performance.now();
        matches = reader.search(full).total;
        inProcessMs.push(performance.now() - started);
      }
      const cliMs: number[] = [];
      for (let run = 0; run < o.cliRuns; run++) cliMs.push(await timedCli(['search', '--json', '--data', dir, ...args]));
      results.push({ label, args, matches, inProcessMs, cliMs });
      o.progress(`search: ${label}: ${matches} matches, p50 ${percentile(inProcessMs, 50).toFixed(1)} ms in process, ${percentile(cliMs, 50).toFixed(0)} ms as a command`);
    }
  } finally {
    reader.close();
  }
  return { sessions: o.sessions, textBytes, fillSeconds, databaseBytes, queries: results };
}

function timedCli(args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [GATEHOUSE_MAIN, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 || code === 1 ? resolve(performance.now() - started) : reject(new Error(`gatehouse ${args.join(' ')}: exit ${code}: ${stderr}`))));
  });
}

function syntheticSession(n: number, random: () => number): SessionRow {
  const sessionId = n.toString(16).padStart(12, '0');
  const startedAt = NOW - Math.floor(random() * 30 * DAY);
  const results = ['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'refused', 'error', 'killed'] as const;
  return {
    sessionId,
    startedAt,
    endedAt: startedAt + Math.floor(random() * 3_600_000),
    gatewayUser: `user${n % 50}`,
    gatewayGroups: ['admins'],
    serverUser: n % 3 === 0 ? 'root' : 'deploy',
    target: `10.0.${n % 4}.${n % 200}:22`,
    clientIp: `192.168.1.${n % 250}`,
    clientPort: 40000 + (n % 20000),
    policy: 'ssh',
    channels: 'session=1',
    aaConfig: 'totp',
    verdicts: ['authenticate:ACCEPT', 'authorize:ACCEPT'],
    additionalMetadata: n % 5 === 0 ? JSON.stringify({ ticket: `INC-${n % 2000}` }) : null,
    result: results[n % results.length]!,
    reason: null,
    bytesFromClient: Math.floor(random() * 1e5),
    bytesToClient: Math.floor(random() * 1e7),
    recordings: [`${sessionId}-1`],
  };
}

const WORDS = ['nginx', 'postgres', 'backup', 'deploy', 'cache', 'release', 'config', 'worker', 'metrics', 'journal', 'kernel', 'firewall', 'cron', 'docker', 'python3'];

/** A shell transcript of about 4 KB; one session in a hundred removes a build tree. */
function transcript(n: number, random: () => number): string {
  const word = (): string => WORDS[Math.floor(random() * WORDS.length)]!;
  const prompt = `deploy@host${n % 200}:~$ `;
  const lines: string[] = [`Last login: Sat Nov 21 ${String(n % 24).padStart(2, '0')}:12:09 2026 from 192.168.1.${n % 250}`];
  for (let i = 0; lines.join('\n').length < 4000; i++) {
    switch (Math.floor(random() * 6)) {
      case 0:
        lines.push(`${prompt}ls -l /srv/${word()}`);
        for (let k = 0; k < 6; k++) lines.push(`-rw-r--r-- 1 deploy deploy ${Math.floor(random() * 1e6)} Nov 20 10:${String(k).padStart(2, '0')} ${word()}-${Math.floor(random() * 1000)}.log`);
        break;
      case 1:
        lines.push(`${prompt}ps aux | grep ${word()}`);
        for (let k = 0; k < 4; k++) lines.push(`root ${1000 + Math.floor(random() * 30000)} 0.${k} 1.2 123456 7890 ? Ss 09:00 0:01 /usr/sbin/${word()} --${word()}`);
        break;
      case 2:
        lines.push(`${prompt}sudo systemctl restart ${word()}`, `[sudo] password for deploy: `);
        break;
      case 3:
        lines.push(`${prompt}tail -n 3 /var/log/${word()}.log`);
        for (let k = 0; k < 3; k++) lines.push(`Nov 22 08:${String(k).padStart(2, '0')}:11 host ${word()}[${Math.floor(random() * 9999)}]: ${word()} ${word()} completed in ${Math.floor(random() * 900)} ms`);
        break;
      case 4:
        lines.push(`${prompt}df -h`, 'Filesystem Size Used Avail Use% Mounted on', `/dev/vda1 40G ${Math.floor(random() * 40)}G 20G 50% /`);
        break;
      default:
        lines.push(`${prompt}cat /etc/${word()}.conf`, `# ${word()} settings`, `${word()}_enabled = yes`, `${word()}_path = /srv/${word()}`);
    }
    if (i === 3) lines.push(`${prompt}ls -l /srv`);
    if (i === 4 && n % 100 === 0) lines.push(`${prompt}rm -rf /var/lib/build`);
  }
  return `${lines.join('\n')}\n`;
}

/** A small seeded PRNG: the same database on every run. */
function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
