// Turns the measurements into the Markdown report (stdout, and docs/benchmarks.md with --write).
import type { AaHookResult, AaHookRun } from './aa-hook.js';
import type { SearchResult } from './search.js';
import { directoryMedians, type DirectoryLoginResult } from './directory-login.js';
import type { LoginSample } from './login.js';
import type { Leg, Machine } from './machine.js';
import type { AfterGc, MemoryResult } from './memory.js';
import { CIPHER } from './ssh-run.js';
import type { ForwardingLoginResult, SyslogRateResult, SyslogTransport } from './syslog.js';
import { fmt, median, percentile, ratio, summarize, table, verdict } from './stats.js';
import { terminalOutputBytes, type Direction, type ThroughputSample } from './throughput.js';

export const TARGETS = { throughputRatio: 0.9, recordedRatio: 0.95, loginRatio: 1.5, perSessionKiB: 1024, hookP50Ms: 2 } as const;

export interface PathInfo {
  id: string;
  label: string;
  how: string;
}

export interface GatewayNotes {
  /** sshCryptoBinding from the gateway's start-up log line. */
  binding?: boolean;
  /** Gateway VmHWM (KiB) after the throughput runs. */
  hwmAfterThroughputKiB?: number;
  /** session-ended records of the gateway confirming full transfers, per direction. */
  confirmedTransfers?: Record<'download' | 'upload', number>;
  /** How the throughput/login gateway stopped. */
  stop?: { graceful: boolean; ms: number };
  memoryStop?: { graceful: boolean; ms: number };
  /** Command line of the memory benchmark's gateway. */
  memoryCommand?: string;
  /** Gatehouse `ssh … true` runs (warm-up included) whose exit status the gateway lost (expected 0). */
  exitStatusLost?: { lost: number; runs: number };
  warnings: string[];
}

export interface Background {
  /** Machine busy % (all CPUs) in the 3 s before the run. */
  busyBeforePercent: number;
  loadBefore: string;
  /** How long the bench waited for the machine to become quiet. */
  waitedSeconds: number;
  /** CPU used by processes outside the bench's process tree during the run, as % of the machine. */
  othersPercent?: number;
  othersCpuSeconds?: number;
  loadAfter?: string;
}

export interface ReportInput {
  command: string;
  date: string;
  quick: boolean;
  machine: Machine;
  paths: PathInfo[];
  legs: Leg[];
  pinnedKex: string;
  bytes: number;
  terminalBytes: number;
  rounds: number;
  throughput?: ThroughputSample[];
  loginRuns: number;
  loginWarmup: number;
  login?: LoginSample[];
  memory?: MemoryResult;
  memorySettleMs: number;
  aa?: AaHookResult;
  directory?: DirectoryLoginResult;
  syslogRates?: SyslogRateResult;
  syslogLogin?: ForwardingLoginResult;
  search?: SearchResult;
  gateway: GatewayNotes;
  background: Background;
  durationSeconds: number;
  errors: string[];
}

const mib = (kib: number | undefined): string => (kib === undefined ? 'n/a' : fmt(kib / 1024, 1));
const label = (paths: PathInfo[], id: string): string => paths.find((p) => p.id === id)?.label ?? id;

// ------------------------------------------------------------------------------------------------
// throughput

interface ThroughputRow {
  path: string;
  direction: Direction;
  median: number;
  min: number;
  max: number;
  medianSeconds: number;
  ratio: number;
  /** Relay CPU time / wall time, median (100 = one core); the gateway process for Gatehouse. */
  relayCorePercent?: number;
  /** CPU seconds per GiB moved (medians): client side, relay, target, whole machine. */
  perGiB: { client: number; relay: number; target: number; machine: number };
  /** Machine busy CPU / (wall × CPUs), median. */
  machineBusyPercent: number;
  runs: number;
}

function throughputRows(samples: ThroughputSample[], paths: PathInfo[], moved: (direction: Direction) => number, cpus: number): ThroughputRow[] {
  const rows: ThroughputRow[] = [];
  for (const direction of ['download', 'upload', 'terminal'] as Direction[]) {
    const gibs = moved(direction) / 2 ** 30;
    const direct = samples.filter((s) => s.direction === direction && s.path === 'direct');
    const directMedian = direct.length ? median(direct.map((s) => s.mbps)) : Number.NaN;
    for (const p of paths) {
      const mine = samples.filter((s) => s.direction === direction && s.path === p.id);
      if (!mine.length) continue;
      const sum = summarize(mine.map((s) => s.mbps));
      const perGiB = (key: 'client' | 'relay' | 'target' | 'machine'): number => median(mine.map((s) => s.cpu[key] / gibs));
      rows.push({
        path: p.id,
        direction,
        median: sum.median,
        min: sum.min,
        max: sum.max,
        medianSeconds: median(mine.map((s) => s.ms / 1000)),
        ratio: ratio(sum.median, directMedian),
        ...(p.id !== 'direct' ? { relayCorePercent: median(mine.map((s) => (100 * (s.cpu.gateway ?? s.cpu.relay)) / (s.ms / 1000))) } : {}),
        perGiB: { client: perGiB('client'), relay: perGiB('relay'), target: perGiB('target'), machine: perGiB('machine') },
        machineBusyPercent: median(mine.map((s) => (100 * s.cpu.machine) / ((s.ms / 1000 + 0.3) * cpus))),
        runs: mine.length,
      });
    }
  }
  return rows;
}

// ------------------------------------------------------------------------------------------------
// login

interface LoginRow {
  path: string;
  median: number;
  p90: number;
  min: number;
  max: number;
  /** Against direct with OpenSSH's default key exchange. */
  ratioDefault: number;
  ratioDefaultP90: number;
  /** Against direct with the key exchange Gatehouse uses (like for like). */
  ratioPinned: number;
  ratioPinnedP90: number;
  lost: number;
  runs: number;
}

function loginRows(samples: LoginSample[], paths: PathInfo[]): LoginRow[] {
  const of = (id: string): number[] => samples.filter((s) => s.path === id).map((s) => s.ms);
  const direct = summarize(of('direct'));
  const pinned = summarize(of('direct-c25519'));
  return paths
    .map((p) => {
      const sum = summarize(of(p.id));
      return {
        path: p.id,
        median: sum.median,
        p90: sum.p90,
        min: sum.min,
        max: sum.max,
        ratioDefault: ratio(sum.median, direct.median),
        ratioDefaultP90: ratio(sum.p90, direct.p90),
        ratioPinned: ratio(sum.median, pinned.median),
        ratioPinnedP90: ratio(sum.p90, pinned.p90),
        lost: samples.filter((s) => s.path === p.id && s.exitStatusLost).length,
        runs: sum.n,
      };
    })
    .filter((r) => r.runs > 0);
}

// ------------------------------------------------------------------------------------------------
// memory

interface MemoryRow {
  label: string;
  open: number;
  rssKiB: number;
  /** (RSS − RSS₀)/open */
  perSessionKiB: number;
  /** Slope from the previous level (levels only). */
  incrementalKiB?: number;
  afterGc?: AfterGc;
  perSessionAfterGcKiB?: number;
  heapPerSessionKiB?: number;
  targetProcesses?: number;
  openSeconds?: number;
}

function memoryRows(m: MemoryResult): { levels: MemoryRow[]; extra: MemoryRow[] } {
  const base = m.baseline;
  const row = (label: string, open: number, rssKiB: number, afterGc: AfterGc | undefined): MemoryRow => {
    const r: MemoryRow = { label, open, rssKiB, perSessionKiB: open > 0 ? (rssKiB - base.rssKiB) / open : Number.NaN };
    if (afterGc) {
      r.afterGc = afterGc;
      if (base.afterGc && open > 0) {
        r.perSessionAfterGcKiB = (afterGc.rssKiB - base.afterGc.rssKiB) / open;
        r.heapPerSessionKiB = (afterGc.heapUsedKiB + afterGc.externalKiB - base.afterGc.heapUsedKiB - base.afterGc.externalKiB) / open;
      }
    }
    return r;
  };
  let prevOpen = 0;
  let prevRss = base.rssKiB;
  const levels = m.levels.map((l) => {
    const r = row(String(l.target), l.open, l.rssKiB, l.afterGc);
    r.incrementalKiB = l.open > prevOpen ? (l.rssKiB - prevRss) / (l.open - prevOpen) : Number.NaN;
    r.targetProcesses = l.targetProcesses;
    r.openSeconds = l.openSeconds;
    prevOpen = l.open;
    prevRss = l.rssKiB;
    return r;
  });
  const extra: MemoryRow[] = [];
  if (m.afterClose) extra.push(row('all closed', 0, m.afterClose.rssKiB, m.afterClose.afterGc));
  if (m.secondCycle) {
    extra.push(row(`${m.secondCycle.open} again`, m.secondCycle.open, m.secondCycle.rssKiB, m.secondCycle.afterGc));
    extra.push(row('all closed again', 0, m.secondCycle.afterClose.rssKiB, m.secondCycle.afterClose.afterGc));
  }
  return { levels, extra };
}

// ------------------------------------------------------------------------------------------------

export function renderReport(r: ReportInput): string {
  const out: string[] = [];
  const moved = (direction: Direction): number => (direction === 'terminal' ? terminalOutputBytes(r.terminalBytes) : r.bytes);
  const tRows = r.throughput ? throughputRows(r.throughput, r.paths, moved, r.machine.cpus) : [];
  const lRows = r.login ? loginRows(r.login, r.paths) : [];
  const memory = r.memory ? memoryRows(r.memory) : { levels: [], extra: [] };
  const mRows = memory.levels;
  const gib = r.bytes / 2 ** 30;
  const size = gib >= 1 ? `${fmt(gib, gib % 1 ? 2 : 0)} GiB` : `${fmt(r.bytes / 2 ** 20, 0)} MiB`;

  out.push('# Gatehouse benchmarks', '');
  out.push(
    'Gatehouse measured against OpenSSH side by side, in one run, on loopback only (127.0.0.1). Performance is',
    'reported as ratios to OpenSSH on the same machine in the same run, never as absolute timings asserted in tests.',
    'This file is generated by `npm run bench -- --write` (source: `scripts/bench/`); rerun it rather than editing the numbers.',
    '',
  );
  if (r.quick) out.push('> **Smoke run (`--quick`)**: small sizes, few repetitions. These numbers are not the reference figures.', '');
  if (r.errors.length) out.push('> **The run did not complete.** Errors:', ...r.errors.map((e) => `> - ${e.replace(/\n\s*/g, ' ⏎ ')}`), '');

  // ---------------------------------------------------------------- how
  out.push('## How it was run', '');
  out.push('```sh', r.command, '```', '');
  out.push(
    `- Date: ${r.date}. The whole run took ${fmt(r.durationSeconds / 60, 1)} min (${fmt(r.durationSeconds, 0)} s, build excluded` +
      (r.background.waitedSeconds > 1 ? `, ${fmt(r.background.waitedSeconds, 0)} s of it waiting for a quiet machine).` : ').'),
    `- Machine: ${r.machine.cpus} CPUs (\`nproc\`), ${r.machine.cpuModel}; ${fmt(r.machine.memoryGiB, 1)} GiB memory; ${r.machine.os}, Linux ${r.machine.kernel}.`,
    `- Other load: the machine was ${fmt(r.background.busyBeforePercent, 0)}% busy in the 3 s before the run (load average ${r.background.loadBefore}` +
      (r.background.waitedSeconds > 1 ? `; the bench waited ${fmt(r.background.waitedSeconds, 0)} s for it to settle)` : ')') +
      (r.background.othersPercent !== undefined
        ? `; processes outside the benchmark used ${fmt(r.background.othersCpuSeconds, 1)} CPU s during the run (${fmt(r.background.othersPercent, 1)}% of the machine; user+system time in /proc/stat minus the cpuacct group holding the bench and everything it started).`
        : '.'),
    `- Software: Node.js ${r.machine.node}; ${r.machine.openssh} (client, sshd and bastion sshd); npm ssh2 ${r.machine.ssh2}.`,
    `- ssh2's native crypto binding (\`require('ssh2/lib/protocol/crypto.js').bindingAvailable\`): **${r.machine.ssh2Binding ? 'loaded' : 'NOT loaded'}** in the bench process` +
      (r.gateway.binding === undefined ? '.' : `; the gateway's start-up log line says \`sshCryptoBinding: ${r.gateway.binding}\`.`),
    '- Target: a test sshd from `test/e2e/helpers/sshd.ts` (own config and host key on a loopback high port, account `gh-e2e`, key authentication only). ' +
      'Bastion: a second such sshd. Gatehouse: `node dist/src/cli/main.js serve` as its own process with `GATEHOUSE_DATA` in a temp dir holding a generated `config.json`: ' +
      'one policy on `127.0.0.1:0`, `credentials: gateway-key` (the gateway\'s upstream key authorized at the target), `hostKeyPolicy: trust-on-first-use`, `logging.level: info` ' +
      '(JSON lines to a file), everything else default (`keepaliveSeconds: 30`).',
    `- Client: OpenSSH \`ssh -F <generated ssh_config>\`: no known_hosts, \`BatchMode yes\`, one ed25519 identity, \`Ciphers ${CIPHER}\`, no compression, no ControlMaster, \`-T\`. ` +
      'ProxyJump hands `-F` on to its jump `ssh`, so both hops use the same options.',
    '',
  );
  out.push(table(['Path', 'How'], r.paths.map((p) => [p.label, p.how])), '');

  if (r.legs.length) {
    out.push(
      'Algorithms each leg negotiated (one verbose login per path: `ssh -v` for the client legs; for the gateway\'s own upstream leg, a login through the gateway to an extra sshd running `LogLevel DEBUG1`):',
      '',
    );
    out.push(table(['Path', 'Leg', 'Key exchange', 'Cipher'], r.legs.map((l) => [label(r.paths, l.path), l.leg, `\`${l.kex}\``, `\`${l.cipher}\``])), '');
  }

  // ---------------------------------------------------------------- summary
  out.push('## Targets', '');
  const summary: string[][] = [];
  for (const direction of ['download', 'upload'] as Direction[]) {
    const row = tRows.find((x) => x.path === 'gatehouse' && x.direction === direction);
    if (row) summary.push([`Throughput, ${direction}: ≥ ${TARGETS.throughputRatio}× direct`, `${fmt(row.ratio, 2)}× (${fmt(row.median, 0)} vs ${fmt(tRows.find((x) => x.path === 'direct' && x.direction === direction)?.median, 0)} MB/s)`, verdict(row.ratio >= TARGETS.throughputRatio)]);
  }
  for (const pair of recordingPairs(tRows)) {
    summary.push([`Throughput recorded vs not, ${pair.what}: ≥ ${TARGETS.recordedRatio}×`, `${fmt(pair.ratio, 2)}× (${fmt(pair.recorded.median, 0)} vs ${fmt(pair.plain.median, 0)} MB/s)`, verdict(pair.ratio >= TARGETS.recordedRatio)]);
  }
  const gl = lRows.find((x) => x.path === 'gatehouse');
  const dl = lRows.find((x) => x.path === 'direct');
  const dp = lRows.find((x) => x.path === 'direct-c25519');
  if (gl && dp) {
    summary.push([
      `Login-to-command: ≤ ${TARGETS.loginRatio}× direct, median, same key exchange (${r.pinnedKex})`,
      `${fmt(gl.ratioPinned, 2)}× (${fmt(gl.median, 0)} vs ${fmt(dp.median, 0)} ms); p90 ${fmt(gl.ratioPinnedP90, 2)}×`,
      verdict(gl.ratioPinned <= TARGETS.loginRatio),
    ]);
  }
  if (gl && dl) {
    summary.push([
      `Login-to-command: ≤ ${TARGETS.loginRatio}× direct, median, OpenSSH's default key exchange`,
      `${fmt(gl.ratioDefault, 2)}× (${fmt(gl.median, 0)} vs ${fmt(dl.median, 0)} ms); p90 ${fmt(gl.ratioDefaultP90, 2)}×`,
      verdict(gl.ratioDefault <= TARGETS.loginRatio),
    ]);
  }
  const top = mRows.at(-1);
  if (top) {
    summary.push([
      `Gateway RSS: ≤ 1 MiB per idle session (at ${top.open} sessions)`,
      `${fmt(top.perSessionKiB, 0)} KiB per session` + (top.perSessionAfterGcKiB !== undefined ? ` (${fmt(top.perSessionAfterGcKiB, 0)} KiB after a forced GC)` : ''),
      verdict(top.perSessionKiB <= TARGETS.perSessionKiB),
    ]);
  }
  for (const run of r.aa?.runs ?? []) {
    const stats = hookStats(run);
    summary.push([`AA hook call, ${aaLabels[run.plugin]}, ${callersLabel(run)}: ≤ ${TARGETS.hookP50Ms} ms p50`, `${fmt(stats.p50, 2)} ms (p99 ${fmt(stats.p99, 2)} ms)`, verdict(stats.p50 <= TARGETS.hookP50Ms)]);
  }
  out.push(summary.length ? table(['Target', 'Measured', 'Result'], summary) : '(no part was run)', '');

  // ---------------------------------------------------------------- throughput
  if (r.throughput) {
    out.push(`## (a) Throughput: ${size} through one session`, '');
    out.push(
      `Download: \`ssh … 'head -c ${r.bytes} /dev/zero' > /dev/null\`; upload: \`head -c ${r.bytes} /dev/zero | ssh … 'cat > /dev/null'\`. ` +
        `Cipher \`${CIPHER}\` on every leg; key exchange pinned to \`${r.pinnedKex}\` on the OpenSSH client legs too, so that only the data path differs between paths. ` +
        `Wall-clock time from starting \`ssh\` (or the \`head | ssh\` pipeline) to its exit, so it includes the login (≈ 0.15–0.3 s). MB = 10^6 bytes. ` +
        `Terminal: \`ssh -tt … 'head -c ${r.terminalBytes} /dev/urandom | base64 -w 76'\` > /dev/null: text lines through a pty, the stream a recorded shell carries (${fmt(terminalOutputBytes(r.terminalBytes) / 1e6, 0)} MB reach the client). ` +
        `${r.rounds} runs per path and direction, interleaved (the order rotates each round); median, min and max. ` +
        '"Relay core" is the relay\'s CPU time during the run over the run\'s wall-clock time (100% = one core; for Gatehouse the gateway process, for ProxyJump the bastion sshd and its session processes). ' +
        '"CPU s/GiB" splits the CPU time per GiB moved into the client side (ssh, the jump ssh, head/sh), the relay (the gateway; the bastion sshd with its session processes), the target sshd with its session processes, ' +
        'each counted by a cgroup-v1 `cpuacct` group so that processes nobody reaps are counted too, and the whole machine ' +
        '(busy time in /proc/stat, which also holds kernel work not charged to a process); "machine busy" is the machine\'s busy time over wall time × CPUs.',
      '',
    );
    out.push(
      table(
        ['Path', 'Direction', 'Median MB/s', 'Min MB/s', 'Max MB/s', 'Median time (s)', 'Ratio to direct', 'Relay core', 'CPU s/GiB client / relay / target', 'CPU s/GiB machine', 'Machine busy', 'Runs'],
        tRows.map((x) => [
          label(r.paths, x.path),
          x.direction,
          fmt(x.median, 0),
          fmt(x.min, 0),
          fmt(x.max, 0),
          fmt(x.medianSeconds, 2),
          `${fmt(x.ratio, 2)}×`,
          x.relayCorePercent === undefined ? '' : `${fmt(x.relayCorePercent, 0)}%`,
          `${fmt(x.perGiB.client, 2)} / ${x.path === 'direct' ? '–' : fmt(x.perGiB.relay, 2)} / ${fmt(x.perGiB.target, 2)}`,
          fmt(x.perGiB.machine, 2),
          `${fmt(x.machineBusyPercent, 0)}%`,
          String(x.runs),
        ]),
        ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
      ),
      '',
    );
    const confirmed = r.gateway.confirmedTransfers;
    if (confirmed) {
      out.push(
        `The gateway's \`session-ended\` records confirm ${confirmed.download} download(s) with \`bytesToClient\` ≥ ${r.bytes} and ` +
          `${confirmed.upload} upload(s) with \`bytesFromClient\` ≥ ${r.bytes}. ` +
          (r.gateway.hwmAfterThroughputKiB !== undefined ? `Gateway peak RSS (VmHWM) after all transfers: ${mib(r.gateway.hwmAfterThroughputKiB)} MiB.` : ''),
        '',
      );
    }
  }

  // ---------------------------------------------------------------- login
  if (r.login) {
    out.push('## (b) Login-to-command wall time: `ssh … true`', '');
    out.push(
      'Key authentication everywhere, no password prompt: through Gatehouse the client authenticates with its key at the gateway and the gateway logs in to the target with its `gateway-key` credential. ' +
        `Time from starting \`ssh\` to its exit. ${r.loginRuns} runs per path, interleaved (the order rotates each round), after ${r.loginWarmup} discarded warm-up rounds; p90 is nearest-rank. ` +
        `OpenSSH ${r.machine.openssh.split(' ')[0]?.replace('OpenSSH_', '')} client and server agree on \`sntrup761x25519-sha512@openssh.com\` by default, a post-quantum hybrid key exchange that ssh2 (and so Gatehouse, on both of its legs) does not implement; ` +
        `the "curve25519" rows pin \`KexAlgorithms ${r.pinnedKex}\`, the exchange Gatehouse uses, for a like-for-like comparison.`,
      '',
    );
    out.push(
      table(
        ['Path', 'Median (ms)', 'p90 (ms)', 'Min (ms)', 'Max (ms)', 'Ratio to direct, curve25519 (median / p90)', 'Ratio to direct, default kex (median / p90)', 'Runs'],
        lRows.map((x) => [
          label(r.paths, x.path),
          fmt(x.median, 1),
          fmt(x.p90, 1),
          fmt(x.min, 1),
          fmt(x.max, 1),
          `${fmt(x.ratioPinned, 2)}× / ${fmt(x.ratioPinnedP90, 2)}×`,
          `${fmt(x.ratioDefault, 2)}× / ${fmt(x.ratioDefaultP90, 2)}×`,
          String(x.runs),
        ]),
        ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
      ),
      '',
    );
    const lost = r.gateway.exitStatusLost;
    if (lost) {
      out.push(
        `Exit status through Gatehouse: every \`ssh … true\` run through the gateway (warm-up included) is checked for a lost exit status, ` +
          'i.e. `ssh` exiting 255 ("Exit status -1", no error message) while the gateway logged the session as `result: ok`. ' +
          `Runs that lost it: ${lost.lost} of ${lost.runs} (expected 0)` +
          (lost.lost ? '; those runs are kept in the timings (the login and the command did happen). See the interpretation.' : '.'),
        '',
      );
    }
  }

  // ---------------------------------------------------------------- memory
  if (r.memory) {
    const m = r.memory;
    out.push('## (c) Gateway memory with concurrent idle sessions', '');
    out.push(
      `A fresh gateway process (\`${r.gateway.memoryCommand ?? 'node dist/src/cli/main.js serve'}\`; the preloaded hook only acts on SIGUSR2: a full \`gc()\`, then \`process.memoryUsage()\` on stderr). ` +
        'Each session is one TCP connection from an npm `ssh2` Client in the bench process, authenticated with a key at the gateway, with one `shell` channel (no pty) relayed to the target sshd; ' +
        'the shell has answered one `echo`, so the session is established end to end, then it sits idle. ' +
        `Sessions are opened ${m.concurrency} at a time and stay open from one level to the next. After each level the bench waits ` +
        `${fmt(r.memorySettleMs / 1000, 0)} s and reads the gateway's \`VmRSS\` from \`/proc/PID/status\` three times 1 s apart (median: "as is", the figure the target is judged on), ` +
        'then forces a GC and reads VmRSS again 1 s later, with the V8 heap in use and the external (Buffer) memory of live objects. ' +
        'Per-session figures are (X_n − X₀)/n; "since previous level" is the slope between levels, which leaves out one-time costs (code compiled, pools). ' +
        'At the end every session is closed, the top level is opened and closed a second time, to tell memory kept per session served from memory the allocator keeps for reuse. ' +
        'Only the gateway process is counted: the target sshd and its per-session processes are not. ' +
        'The target sshd runs with `MaxStartups 1100:30:1200` (the harness default `200:30:300` would do as well, since at most 20 connections are unauthenticated at once; `MaxSessions 100` counts channels per connection, here 1).',
      '',
    );
    const gcCols = [...memory.levels, ...memory.extra].some((x) => x.afterGc !== undefined) && m.baseline.afterGc !== undefined;
    const cells = (x: MemoryRow, levelRow: boolean): string[] => [
      x.label,
      String(x.open),
      mib(x.rssKiB),
      x.open ? fmt(x.perSessionKiB, 0) : '',
      levelRow ? fmt(x.incrementalKiB, 0) : '',
      ...(gcCols
        ? [mib(x.afterGc?.rssKiB), x.open ? fmt(x.perSessionAfterGcKiB, 0) : '', mib(x.afterGc?.heapUsedKiB), mib(x.afterGc?.externalKiB), x.open ? fmt(x.heapPerSessionKiB, 0) : '']
        : []),
      x.targetProcesses === undefined ? '' : String(x.targetProcesses),
      x.openSeconds === undefined ? '' : fmt(x.openSeconds, 1),
    ];
    const baseRow: MemoryRow = { label: '0', open: 0, rssKiB: m.baseline.rssKiB, perSessionKiB: Number.NaN, ...(m.baseline.afterGc ? { afterGc: m.baseline.afterGc } : {}) };
    out.push(
      table(
        [
          'Sessions',
          'Open',
          'VmRSS as is (MiB)',
          'Per session (KiB)',
          'Since previous level (KiB/session)',
          ...(gcCols ? ['VmRSS after GC (MiB)', 'Per session after GC (KiB)', 'V8 heap used (MiB)', 'External (MiB)', 'Heap + external per session (KiB)'] : []),
          'Target-side processes',
          'Time to open (s)',
        ],
        [cells(baseRow, false), ...memory.levels.map((x) => cells(x, true)), ...memory.extra.map((x) => cells(x, false))],
        ['l', 'r', 'r', 'r', 'r', ...(gcCols ? (['r', 'r', 'r', 'r', 'r'] as const) : []), 'r', 'r'],
      ),
      '',
    );
    const extra: string[] = [];
    const lastHwm = m.levels.at(-1)?.hwmKiB;
    if (lastHwm !== undefined) extra.push(`Peak RSS (VmHWM) at the top level: ${mib(lastHwm)} MiB.`);
    if (m.failures.length) extra.push(`${m.failures.length} session(s) failed to open; first: ${m.failures[0]}.`);
    if (extra.length) out.push(extra.join(' '), '');
  }

  if (r.aa) out.push(...aaSection(r.aa));
  if (r.directory) out.push(...directorySection(r.directory));
  if (r.syslogRates || r.syslogLogin) out.push(...syslogSection(r.machine.cpus, r.syslogRates, r.syslogLogin));
  if (r.search) out.push(...searchSection(r.search));

  // ---------------------------------------------------------------- interpretation
  out.push('## Interpretation', '');
  out.push(...interpret(r, tRows, lRows, mRows).map((line) => `- ${line}`), '');

  // ---------------------------------------------------------------- raw
  out.push('## Raw samples', '');
  if (r.throughput) {
    for (const direction of ['download', 'upload', 'terminal'] as Direction[]) {
      for (const p of r.paths) {
        const s = r.throughput.filter((x) => x.path === p.id && x.direction === direction);
        if (s.length) out.push(`- ${direction}, ${p.id} (s, in run order): ${s.map((x) => fmt(x.ms / 1000, 2)).join(', ')}`);
      }
    }
  }
  if (r.login) {
    for (const p of r.paths) {
      const s = r.login.filter((x) => x.path === p.id);
      if (s.length) out.push(`- login, ${p.id} (ms, in run order): ${s.map((x) => fmt(x.ms, 0) + (x.exitStatusLost ? '†' : '')).join(', ')}`);
    }
    if (r.login.some((x) => x.exitStatusLost)) out.push('- † the gateway lost the exit status of this run.');
  }
  for (const id of ['forwarding-off', 'forwarding-on']) {
    const s = r.syslogLogin?.samples.filter((x) => x.path === id) ?? [];
    if (s.length) out.push(`- syslog login, ${id} (ms, in run order): ${s.map((x) => fmt(x.ms, 0)).join(', ')}`);
  }
  out.push('');
  return out.join('\n');
}

// ------------------------------------------------------------------------------------------------
// AA plugin hook calls

const aaLabels: Record<AaHookRun['plugin'], string> = { trivial: 'trivial plugin', totp: 'TOTP plugin' };
const callersLabel = (run: AaHookRun): string => (run.callers === 1 ? 'sequential' : `${run.callers} concurrent callers`);

function hookStats(run: AaHookRun): { p50: number; p99: number; mean: number; perSecond: number } {
  return {
    p50: percentile(run.ms, 50),
    p99: percentile(run.ms, 99),
    mean: run.ms.reduce((sum, ms) => sum + ms, 0) / run.ms.length,
    perSecond: run.ms.length / (run.wallMs / 1000),
  };
}

function directorySection(d: DirectoryLoginResult): string[] {
  const medians = directoryMedians(d);
  const labels = { direct: 'direct: sshd, password by PAM', local: 'Gatehouse, local users (scrypt)', ldap: 'Gatehouse, LDAP bind (slapd, pool warm)' } as const;
  return [
    '## (e) Password logins per second, first factor in a directory',
    '',
    `\`sshpass -e ssh … true\` with password authentication, ${d.concurrency} clients at once for ${d.seconds} s per path and round, the paths in turn, rotated each round. ` +
      'Gatehouse logs in to the target sshd with its gateway key, so its rows add a second SSH handshake to every login; the direct row is OpenSSH\'s own password check. ' +
      'The LDAP row searches the user with the pooled service connection, binds as the user on a fresh connection and reads the groups (memberOf), against a real slapd on loopback.',
    '',
    table(
      ['Path', 'Logins/s (median of rounds)', 'Each round', 'Ratio to direct', 'Failed logins'],
      (['direct', 'local', 'ldap'] as const).map((id) => [labels[id], fmt(medians[id], 1), d.rates[id].map((rate) => fmt(rate, 1)).join(', '), `${fmt(ratio(medians[id], medians.direct), 2)}×`, String(d.failures[id])]),
      ['l', 'r', 'l', 'r', 'r'],
    ),
    '',
  ];
}

function syslogSection(cpus: number, rates: SyslogRateResult | undefined, login: ForwardingLoginResult | undefined): string[] {
  const out = ['## (f) Syslog forwarding', ''];
  if (rates) {
    const events = rates.runs[0]?.events ?? 0;
    out.push(
      `Events per second sustained: the audit pipeline of the gateway in the bench process (\`AuditLog\` with pino at \`silent\` → \`AuditJournal\` → \`SyslogForwarder\`, RFC 5424 bodies) ` +
        `with one target, a real rsyslog (\`test/helpers/rsyslog.ts\`) on loopback, over plain TCP (RFC 6587, octet-counted) or TLS (RFC 5425, to rsyslog's gtls driver, server certificate checked against the test CA). ` +
        `Each run emits ${events.toLocaleString('en-US')} \`session-ended\` events (every field set, as the gateway writes one after a short session), ${rates.batch} at a time back to back, yielding to the event loop between batches so that the forwarder sends while events keep coming; ` +
        'a fresh rsyslog and a fresh journal per run. "End to end" is events over the time from the first emit until rsyslog has written the last event to its file (one line each, `%rawmsg%`, flushed per batch); ' +
        '"emit" is events over the time spent inside `audit.emit` alone (building the entry, numbering it, appending its JSON line to the journal segment with a write per event; the fsync runs once a second on a timer). ' +
        `The transports alternate, the order swapped each round; median of ${rates.runs.length / 2} run(s) per transport. ` +
        `rsyslog runs on the same ${cpus} CPUs as the bench process (pipeline and forwarder share its one Node.js thread), so the end-to-end rate is that of the whole loopback system, not of the forwarder alone: ` +
        '"bench process core" is the CPU time of the bench process over the end-to-end time (100% = one core), "machine busy" the busy time of all CPUs over the same time (rsyslog, the kernel\'s loopback and anything else). ' +
        'Bytes per event: the message as rsyslog wrote it, LF included (the frame on the wire adds the octet count); the journal line is the JSON the journal keeps until every target has the event.',
      '',
      table(
        ['Transport', 'Events per run', 'End to end (events/s, median)', 'Each run (events/s)', 'Emit alone (events/s, median)', 'Bench process core', 'Machine busy', 'Bytes per event at rsyslog', 'Journal bytes per event', 'Extra messages'],
        (['tcp', 'tls'] as SyslogTransport[]).flatMap((transport) => {
          const mine = rates.runs.filter((x) => x.transport === transport);
          if (!mine.length) return [];
          const endToEnd = mine.map((x) => x.events / (x.deliverMs / 1000));
          return [
            [
              transport.toUpperCase(),
              String(events),
              fmt(median(endToEnd), 0),
              endToEnd.map((rate) => fmt(rate, 0)).join(', '),
              fmt(median(mine.map((x) => x.events / (x.emitMs / 1000))), 0),
              `${fmt(median(mine.map((x) => x.benchCorePercent)), 0)}%`,
              `${fmt(median(mine.map((x) => x.machineBusyPercent)), 0)}%`,
              fmt(median(mine.map((x) => x.receivedBytesPerEvent)), 0),
              fmt(median(mine.map((x) => x.journalBytesPerEvent)), 0),
              String(mine.reduce((sum, x) => sum + x.extraMessages, 0)),
            ],
          ];
        }),
        ['l', 'r', 'r', 'l', 'r', 'r', 'r', 'r', 'r', 'r'],
      ),
      '',
    );
  }
  if (login?.notForwarding) {
    out.push(`Login latency with forwarding on and off: not measured, ${login.notForwarding}.`, '');
  } else if (login) {
    const of = (id: string): number[] => login.samples.filter((x) => x.path === id).map((x) => x.ms);
    const [off, on] = [of('forwarding-off'), of('forwarding-on')];
    const row = (label: string, ms: number[]): string[] => [label, fmt(percentile(ms, 50), 1), fmt(percentile(ms, 95), 1), fmt(Math.min(...ms), 1), fmt(Math.max(...ms), 1), String(ms.length)];
    out.push(
      'Login latency with forwarding on and off: `ssh … true` through two `gatehouse serve` processes side by side, as in (b) (key authentication, the gateway\'s `gateway-key` to the target sshd), ' +
        `one without syslog targets and one with \`syslogTargets: [{ name: 'siem', host: '127.0.0.1', port: <rsyslog TCP port>, transport: 'tcp' }]\`; ` +
        `${login.runs} runs per gateway, interleaved (the order rotates each round), after ${login.warmup} discarded warm-up rounds; p50 and p95 are nearest-rank. ` +
        `With forwarding on, rsyslog received ${fmt(login.messagesPerLogin, 1)} messages per login (warm-up included): the events of each login, journalled by the gateway and sent from its own event loop while the next logins run.`,
      '',
      table(
        ['Gateway', 'p50 (ms)', 'p95 (ms)', 'Min (ms)', 'Max (ms)', 'Runs'],
        [
          row('no syslog target', off),
          row('TCP syslog target', on),
          ['ratio on / off', `${fmt(ratio(percentile(on, 50), percentile(off, 50)), 2)}×`, `${fmt(ratio(percentile(on, 95), percentile(off, 95)), 2)}×`, '', '', ''],
        ],
        ['l', 'r', 'r', 'r', 'r', 'r'],
      ),
      '',
      `Median of the per-round differences (on − off, both gateways in every round): ${fmt(pairedMedianDifference(login.samples, 'forwarding-on', 'forwarding-off'), 1)} ms.`,
      '',
    );
  }
  return out;
}

function syslogInterpretation(rates: SyslogRateResult | undefined, login: ForwardingLoginResult | undefined): string[] {
  const lines: string[] = [];
  const of = (transport: SyslogTransport) => rates?.runs.filter((x) => x.transport === transport) ?? [];
  const [tcp, tls] = [of('tcp'), of('tls')];
  if (tcp.length && tls.length) {
    const rate = (runs: typeof tcp): number => median(runs.map((x) => x.events / (x.deliverMs / 1000)));
    const core = median([...tcp, ...tls].map((x) => x.benchCorePercent));
    const emitUs = 1e6 / median([...tcp, ...tls].map((x) => x.events / (x.emitMs / 1000)));
    lines.push(
      `Syslog forwarding sustains ${fmt(rate(tcp), 0)} events/s end to end over TCP and ${fmt(rate(tls), 0)} over TLS. ` +
        (core >= 85
          ? `The bench process used ${fmt(core, 0)}% of a core meanwhile: the limit is its one Node.js thread, which numbers, journals, formats and writes every event, while rsyslog works on the other CPU. `
          : `The bench process used ${fmt(core, 0)}% of a core meanwhile: it is not saturated, so the receiving side (rsyslog, loopback) sets the pace. `) +
        `Emitting an event (the journal append) costs ${fmt(emitUs, 1)} µs of the gateway's thread; a login's few events cost well under a millisecond, and sending them happens after the emit, from the journal, not on the login's path.`,
    );
  }
  if (login && !login.notForwarding) {
    const ms = (id: string, p: number): number => percentile(login.samples.filter((x) => x.path === id).map((x) => x.ms), p);
    lines.push(
      `Login with forwarding on: p50 ${fmt(ms('forwarding-on', 50), 0)} ms against ${fmt(ms('forwarding-off', 50), 0)} ms off (${fmt(ratio(ms('forwarding-on', 50), ms('forwarding-off', 50)), 2)}×), ` +
        `p95 ${fmt(ms('forwarding-on', 95), 0)} against ${fmt(ms('forwarding-off', 95), 0)} ms (${fmt(ratio(ms('forwarding-on', 95), ms('forwarding-off', 95)), 2)}×).`,
    );
  }
  return lines;
}

function aaSection(aa: AaHookResult): string[] {
  const rows = aa.runs.map((run) => {
    const stats = hookStats(run);
    return [
      aaLabels[run.plugin],
      callersLabel(run),
      String(run.ms.length),
      fmt(stats.p50, 2),
      fmt(stats.p99, 2),
      fmt(stats.mean, 2),
      fmt(stats.perSecond, 0),
      fmt(run.secretLookups, 0),
      String(run.notAccepted),
      verdict(stats.p50 <= TARGETS.hookP50Ms),
    ];
  });
  return [
    '## (d) AA plugin hook calls through the sandbox',
    '',
    'One `authenticate` call timed in the bench process from `PluginSandbox.call` to its result: the call queued, sent as a frame over the worker\'s socketpair, ' +
      'a fresh `Plugin` instance in the confined worker process, the answer framed back and checked. ' +
      `One sandbox per plugin with a pool of ${aa.poolSize} workers, ${aa.warmup} warm-up calls first; then the calls one after another (sequential), ` +
      'and the same number shared by two callers that each wait for their answer before the next call. p50 and p99 are nearest-rank; calls/s is calls over wall time; ' +
      'a secret lookup is one `context.secret` round trip from the worker to the gateway and back, which the call waits for. ' +
      'The trivial plugin returns `{verdict: \'ACCEPT\'}` and nothing else: the cost of the sandbox itself. ' +
      'The TOTP plugin is `dist/plugins/totp-<version>.zip` as `npm run build` writes it, installed through the plugin slots, with its `default.cfg`; ' +
      'every call is a new gateway user with a valid code, so each is a full check that ACCEPTs (a replayed code would be refused): ' +
      'the SDK\'s MFA flow (it asks the store about every option it reads, as the store overrides the file; the worker answers those itself from the names of the store\'s entries that each call carries, so only the seed lookup is a round trip), the HMACs, and the replay state written and fsynced, file and directory, in the state directory (under `os.tmpdir()`; where that is a tmpfs, the fsync costs nothing). ' +
      'No sshd and no root.',
    '',
    table(
      ['Plugin', 'Callers', 'Calls', 'p50 (ms)', 'p99 (ms)', 'Mean (ms)', 'Calls/s', 'Secret lookups per call', 'Not ACCEPT', `p50 ≤ ${TARGETS.hookP50Ms} ms`],
      rows,
      ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'l'],
    ),
    '',
  ];
}

function searchSection(s: SearchResult): string[] {
  const rows = s.queries.map((q) => [
    q.label,
    q.args.length ? `\`${q.args.map((a) => (/[\s"*(]/.test(a) ? `'${a}'` : a)).join(' ')}\`` : '(none)',
    String(q.matches),
    fmt(percentile(q.inProcessMs, 50), 1),
    fmt(percentile(q.inProcessMs, 95), 1),
    fmt(percentile(q.cliMs, 50), 0),
  ]);
  return [
    `## (g) Search over ${s.sessions.toLocaleString('en')} recorded sessions`,
    '',
    `A connection database (\`src/audit/connections/\`, embedded SQLite compiled to WebAssembly, FTS5 trigram index) filled with ${s.sessions.toLocaleString('en')} synthetic sessions ` +
      `over 30 days (50 users, 200 targets, one in five with \`additional_metadata\` \`{"ticket": …}\`), each with a shell transcript as its terminal text ` +
      `(${(s.textBytes / 2 ** 20).toFixed(1)} MiB of text in all, about ${Math.round(s.textBytes / s.sessions / 1024)} KiB a session; one session in a hundred runs \`rm -rf /var/lib/build\`). ` +
      `Filling it took ${s.fillSeconds.toFixed(1)} s (${fmt(s.sessions / s.fillSeconds, 0)} sessions/s, each row and text its own transaction, in bulk-load mode: no fsync); the file is ${(s.databaseBytes / 2 ** 20).toFixed(1)} MiB. ` +
      `Each query is the total count and the first page of 20, ${s.queries[0]?.inProcessMs.length ?? 0} times in process (\`SqliteConnectionDatabase.search\` on a read-only handle, as the CLI opens it), ` +
      `then ${s.queries[0]?.cliMs.length ?? 0} times as \`gatehouse search --json …\` in its own process (Node start, WebAssembly load, open, query, JSON out). p50/p95 nearest-rank.`,
    '',
    table(['Query', 'Arguments', 'Matches', 'p50 (ms)', 'p95 (ms)', 'Command p50 (ms)'], rows, ['l', 'l', 'r', 'r', 'r', 'r']),
    '',
  ];
}

/**
 * The recorded and unrecorded runs to compare: a terminal through the default policy (which records it)
 * against a gateway that records nothing, and the exec byte streams through a policy that records every
 * exec against the default (which does not).
 */
function recordingPairs(tRows: ThroughputRow[]): { what: string; recorded: ThroughputRow; plain: ThroughputRow; ratio: number }[] {
  const find = (path: string, direction: Direction): ThroughputRow | undefined => tRows.find((x) => x.path === path && x.direction === direction);
  const pairs = [
    { what: 'terminal (default policy)', recorded: find('gatehouse', 'terminal'), plain: find('gatehouse-unrecorded', 'terminal') },
    { what: 'exec download (terminalOnly off)', recorded: find('gatehouse-recorded', 'download'), plain: find('gatehouse', 'download') },
    { what: 'exec upload (terminalOnly off; input is not recorded)', recorded: find('gatehouse-recorded', 'upload'), plain: find('gatehouse', 'upload') },
  ];
  return pairs.flatMap(({ what, recorded, plain }) => (recorded && plain ? [{ what, recorded, plain, ratio: recorded.median / plain.median }] : []));
}

/** Median over rounds of (path a's time − path b's time) in the same round. */
function pairedMedianDifference(samples: LoginSample[], a: string, b: string): number {
  const byRound = (path: string) => new Map(samples.filter((s) => s.path === path).map((s) => [s.round, s.ms]));
  const [first, second] = [byRound(a), byRound(b)];
  return median([...first].flatMap(([round, ms]) => (second.has(round) ? [ms - (second.get(round) as number)] : [])));
}

function interpret(r: ReportInput, tRows: ThroughputRow[], lRows: LoginRow[], mRows: MemoryRow[]): string[] {
  const lines: string[] = [];
  const others = Math.max(r.background.busyBeforePercent, r.background.othersPercent ?? 0);
  if (others > 10) {
    lines.push(`**Other work was running on the machine** (${fmt(others, 0)}% of its CPU besides the benchmark): the ratios are less trustworthy than usual; rerun on a quiet machine.`);
  }
  if (!r.machine.ssh2Binding || r.gateway.binding === false) {
    lines.push('**ssh2\'s native crypto binding is not loaded**: the gateway\'s ciphers run without it and its throughput is expected to be several times lower (`npm rebuild ssh2`).');
  }
  for (const direction of ['download', 'upload'] as Direction[]) {
    const gw = tRows.find((x) => x.path === 'gatehouse' && x.direction === direction);
    const pj = tRows.find((x) => x.path === 'proxyjump' && x.direction === direction);
    const direct = tRows.find((x) => x.path === 'direct' && x.direction === direction);
    if (!gw || !direct) continue;
    let line =
      `Throughput, ${direction}: Gatehouse moves ${fmt(gw.median, 0)} MB/s, ${fmt(gw.ratio, 2)}× direct OpenSSH (${fmt(direct.median, 0)} MB/s)` +
      (pj ? ` and ${fmt(gw.median / pj.median, 2)}× an OpenSSH ProxyJump (${fmt(pj.median, 0)} MB/s, itself ${fmt(pj.ratio, 2)}× direct)` : '') +
      ` — target ${gw.ratio >= TARGETS.throughputRatio ? 'met' : 'missed'}.`;
    line +=
      ` Per GiB the machine spent ${fmt(gw.perGiB.machine, 2)} CPU s through Gatehouse (client ${fmt(gw.perGiB.client, 2)}, gateway ${fmt(gw.perGiB.relay, 2)}, target ${fmt(gw.perGiB.target, 2)}) ` +
      `against ${fmt(direct.perGiB.machine, 2)} direct (client ${fmt(direct.perGiB.client, 2)}, target ${fmt(direct.perGiB.target, 2)})` +
      (pj ? ` and ${fmt(pj.perGiB.machine, 2)} through ProxyJump (bastion ${fmt(pj.perGiB.relay, 2)})` : '') +
      '.';
    if (gw.relayCorePercent !== undefined) {
      line += ` The gateway process used ${fmt(gw.relayCorePercent, 0)}% of one core while the machine's ${r.machine.cpus} CPUs were ${fmt(gw.machineBusyPercent, 0)}% busy`;
      if (gw.relayCorePercent >= 85) line += ': the relay is bound by its single Node.js thread.';
      else if (gw.machineBusyPercent >= 80) line += ': the gateway is not saturating its thread, the machine is short of CPU — the gateway\'s own CPU cost per GiB is what the relayed path loses against direct here.';
      else line += ': neither the gateway nor the machine is saturated, which points at latency in the relay (flow-control windows, buffering between the two connections) rather than raw CPU.';
    }
    lines.push(line);
  }
  for (const pair of recordingPairs(tRows)) {
    lines.push(
      `Recording, ${pair.what}: recorded (asciicast, hash chain, signature) Gatehouse moves ${fmt(pair.recorded.median, 0)} MB/s, ${fmt(pair.ratio, 2)}× the unrecorded ${fmt(pair.plain.median, 0)} MB/s; ` +
        `the gateway spent ${fmt(pair.recorded.perGiB.relay, 2)} CPU s per GiB recording against ${fmt(pair.plain.perGiB.relay, 2)} without.`,
    );
  }
  if (tRows.length && r.machine.cpus <= 2) {
    lines.push(
      `This machine has ${r.machine.cpus} CPUs. A relayed transfer runs ssh, the relay (Gatehouse, or the bastion sshd plus the jump ssh), the target sshd and \`head\`/\`cat\` at once, ` +
        'each encrypting or decrypting the full stream, so every relayed path competes with its own endpoints for CPU; on more cores the relays should lose less against direct.',
    );
  }
  const gl = lRows.find((x) => x.path === 'gatehouse');
  const dl = lRows.find((x) => x.path === 'direct');
  const dp = lRows.find((x) => x.path === 'direct-c25519');
  const pl = lRows.find((x) => x.path === 'proxyjump');
  const pp = lRows.find((x) => x.path === 'proxyjump-c25519');
  if (gl && dl && dp) {
    lines.push(
      `Login: \`ssh … true\` takes ${fmt(gl.median, 0)} ms (median) through Gatehouse, against ${fmt(dp.median, 0)} ms direct with the same key exchange (${fmt(gl.ratioPinned, 2)}×, p90 ${fmt(gl.ratioPinnedP90, 2)}×) ` +
        `and ${fmt(dl.median, 0)} ms direct with OpenSSH's default sntrup761x25519 (${fmt(gl.ratioDefault, 2)}×)` +
        (pl && pp ? `; a ProxyJump takes ${fmt(pl.median, 0)} ms (${fmt(pp.median, 0)} ms with curve25519)` : '') +
        `. Target ${gl.ratioPinned <= TARGETS.loginRatio ? 'met' : 'missed'} like for like` +
        (gl.ratioPinned <= TARGETS.loginRatio === gl.ratioDefault <= TARGETS.loginRatio ? ' and against the default.' : `, ${gl.ratioDefault <= TARGETS.loginRatio ? 'met' : 'missed'} against the default.`) +
        ` On this machine the post-quantum exchange costs OpenSSH about ${fmt(dl.median - dp.median, 0)} ms per login` +
        (gl.median < dl.median ? ', which is one reason the default direct login is slower than Gatehouse. ' : '. ') +
        (gl.ratioPinned < 1
          ? 'A relayed login does two SSH handshakes in sequence (client→relay, then relay→target), yet Gatehouse beats the like-for-like direct login: the gateway sets TCP_NODELAY on both of its sockets as they connect, ' +
            'while OpenSSH\'s ssh and sshd turn Nagle\'s algorithm off only once the session is set up (`ssh_packet_set_interactive`), so the small back-to-back packets of a direct key exchange and authentication can wait for delayed ACKs (≈ 40 ms each on Linux). ' +
            'ProxyJump runs two OpenSSH handshakes, plus a second ssh process.'
          : 'A relayed login does two SSH handshakes in sequence (client→relay, then relay→target), so some overhead against a like-for-like direct login is inherent; ProxyJump pays it too, plus a second ssh process.'),
    );
  }
  const totpLogin = lRows.find((x) => x.path === 'gatehouse-totp');
  if (gl && totpLogin && r.login) {
    const added = pairedMedianDifference(r.login, 'gatehouse-totp', 'gatehouse');
    lines.push(
      `Second factor: a login through Gatehouse with the TOTP plugin (code in the login name) takes ${fmt(totpLogin.median, 0)} ms (median) against ${fmt(gl.median, 0)} ms without a plugin; ` +
        `the median of the per-round differences (both paths run in every round) is ${fmt(added, 1)} ms. It pays for the authenticate and authorize hook calls through the sandbox ` +
        'and the code check with its replay record fsynced; session_ended runs after the client has gone. ' +
        'The two paths are separate gateway processes (the one without a plugin also served the throughput runs), so differences of a few ms are within the noise of this machine.',
    );
  }
  const lost = r.gateway.exitStatusLost;
  if (lost && lost.lost > 0) {
    lines.push(
      `**Gateway bug: lost exit status.** In ${lost.lost} of ${lost.runs} \`ssh … true\` runs through Gatehouse the client got no exit status (\`ssh\` exits 255, "Exit status -1") while the gateway logged \`result: ok\`. ` +
        'ssh2\'s client emits a channel\'s `exit` event synchronously while it parses the target\'s `exit-status` request, so the relay must attach its `exit` listener before then; ' +
        '`src/gateway/ssh/session-relay.ts` is meant to do so by bridging the upstream channel inside ssh2\'s channel-open callback. A lost status means that no longer holds: a regression to look for there.',
    );
  } else if (lost) {
    lines.push(
      `Exit status: none of the ${lost.runs} \`ssh … true\` runs through Gatehouse lost its exit status (expected 0; \`session-relay.ts\` bridges the upstream channel, \`exit\` listener included, inside ssh2's channel-open callback, before the target's \`exit-status\` can be emitted).`,
    );
  }
  if (mRows.length && r.memory) {
    const m = r.memory;
    const top = mRows.at(-1)!;
    const levels = mRows.map((x) => `${fmt(x.perSessionKiB, 0)} KiB at ${x.open}`).join(', ');
    lines.push(
      `Memory: the gateway's RSS grows by ${levels} sessions ((RSS_n − RSS₀)/n)` +
        (top.perSessionAfterGcKiB !== undefined ? `, ${fmt(top.perSessionAfterGcKiB, 0)} KiB per session at ${top.open} after a forced GC, of which ${fmt(top.heapPerSessionKiB, 0)} KiB are live JS heap and Buffers` : '') +
        `. Target of ≤ 1024 KiB per session ${top.perSessionKiB <= TARGETS.perSessionKiB ? 'met' : 'missed'}. ` +
        'Each relayed session holds two SSH connections in the gateway (the client\'s and the upstream one), each with its socket, cipher contexts, channel stream buffers and log context. ' +
        'At small session counts the RSS is dominated by V8 heap growth and GC timing, so the per-session figure means most at the top level.',
    );
    const b = m.baseline.afterGc;
    const closed = m.afterClose?.afterGc;
    const again = m.secondCycle;
    if (b && closed) {
      const live = (g: AfterGc): number => g.heapUsedKiB + g.externalKiB;
      let line =
        `After every session was closed (and a forced GC) the V8 heap plus external memory was ${mib(live(closed) - live(b))} MiB above the idle start and the RSS ${mib(closed.rssKiB - b.rssKiB)} MiB above it (code compiled and pools filled while serving, and memory the allocator keeps for reuse).`;
      const closedAgain = again?.afterClose.afterGc;
      if (again && closedAgain) {
        const n = Math.max(1, again.open);
        const liveGrowth = live(closedAgain) - live(closed);
        const rssGrowth = closedAgain.rssKiB - closed.rssKiB;
        const liveLeak = liveGrowth > Math.max(1024, 2 * n);
        line +=
          ` Opening and closing ${again.open} sessions a second time changed the closed-state live JS memory by ${mib(liveGrowth)} MiB (${fmt(liveGrowth / n, 1)} KiB per session)` +
          (liveLeak
            ? ': **it keeps growing with every session served — objects of closed sessions stay referenced (a leak)**'
            : ': no sign of per-session objects being retained') +
          `, and the closed-state RSS by ${mib(rssGrowth)} MiB (${fmt(rssGrowth / n, 1)} KiB per session)` +
          (!liveLeak && rssGrowth / n > 16
            ? ', which is native (non-JS) memory growing with sessions served: worth a longer soak test to tell allocator fragmentation from a native leak.'
            : '.');
      }
      lines.push(line);
    }
    if (top.open < Number(top.label)) lines.push(`Only ${top.open} of ${top.label} sessions could be opened at the last level.`);
  }
  if (r.gateway.stop && !r.gateway.stop.graceful) lines.push('The gateway did not exit within 5 s of SIGTERM after the throughput/login runs and was killed.');
  if (r.gateway.memoryStop && !r.gateway.memoryStop.graceful) lines.push('The gateway did not exit within 5 s of SIGTERM after the memory run (with every session closed) and was killed.');
  const sequential = (plugin: AaHookRun['plugin']) => r.aa?.runs.find((run) => run.plugin === plugin && run.callers === 1);
  const [trivial, totp] = [sequential('trivial'), sequential('totp')];
  if (trivial && totp) {
    const [sandbox, plugin] = [hookStats(trivial).p50, hookStats(totp).p50];
    lines.push(
      `AA hook calls: the sandbox itself costs ${fmt(sandbox, 2)} ms per call (p50 of the trivial plugin, target ${sandbox <= TARGETS.hookP50Ms ? 'met' : 'missed'}); ` +
        `the TOTP plugin takes ${fmt(plugin, 2)} ms (target ${plugin <= TARGETS.hookP50Ms ? 'met' : 'missed'}). The difference is the plugin's own work in its worker, ` +
        `which waits for ${fmt(totp.secretLookups, 0)} credential-store round trip(s) to the gateway (the seed) ` +
        'and for its replay state to be fsynced, file and directory, before it accepts (two fsyncs that keep replay protection across a power cut). Both depend on the state of the machine (how soon a sleeping CPU wakes for the next message, other disk writes), so this row varies most between runs.',
    );
  }
  lines.push(...syslogInterpretation(r.syslogRates, r.syslogLogin));
  lines.push(...r.gateway.warnings);
  return lines;
}
