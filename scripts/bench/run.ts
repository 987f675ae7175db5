// `npm run bench [-- --quick] [-- --only throughput|login|memory|aa|directory|syslog|search] [-- --write]`
//
// Gatehouse against OpenSSH, side by side in one run, on 127.0.0.1 only:
//   (a) throughput of one bulk session: direct, through Gatehouse, through an OpenSSH ProxyJump;
//   (b) login-to-command wall time of `ssh … true` on the same three paths;
//   (c) the gateway process's RSS with 100 / 500 / 1,000 concurrent idle sessions;
//   (d) the latency of one AA plugin hook call through the sandbox (in-process, no sshd);
//   (e) password logins per second with the first factor local, in LDAP (slapd), or OpenSSH's own;
//   (f) audit events per second forwarded to a real rsyslog over TCP and TLS (in-process pipeline),
//       and the gateway's login time with a syslog target configured and without;
//   (g) search latency over a connection database of 10,000 recorded sessions.
// Prints a Markdown report on stdout (progress on stderr); `--write` also stores it in
// docs/benchmarks.md. Every process it starts is stopped at the end, on failure and on Ctrl-C.
import { writeFileSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { makeBenchKey } from './client-key.js';
import { startSshd, type TestSshd } from '../../test/e2e/helpers/sshd.js';
import { gatewayLogLines, logOffset, sessionEndSince, startGatehouse, statusKiB } from './gatehouse-process.js';
import { measureLogin, type LoginSample } from './login.js';
import { describeMachine, negotiatedLegs, type Leg } from './machine.js';
import { measureMemory, type MemoryResult } from './memory.js';
import { renderReport, type Background, type GatewayNotes, type PathInfo } from './report.js';
import { killAllClients, viaGatehouse, writeClientConfig, type SshPath } from './ssh-run.js';
import { Teardowns } from './teardown.js';
import { CpuGroup } from './cpu-group.js';
import { busySince, loadAverage, machineCpu, taskTimeSince } from './cpu.js';
import { sleep } from './stats.js';
import { measureThroughput, type ThroughputSample } from './throughput.js';
import { measureAaHooks, type AaHookResult } from './aa-hook.js';
import { measureDirectoryLogins, type DirectoryLoginResult } from './directory-login.js';
import { measureLoginForwarding, measureSyslogRates, type ForwardingLoginResult, type SyslogRateResult } from './syslog.js';
import { startTotpGatehouse } from './totp-login.js';
import { measureSearch, type SearchResult } from './search.js';

const parts = ['throughput', 'login', 'memory', 'aa', 'directory', 'syslog', 'search'] as const;
const SSH_PARTS: readonly Part[] = ['throughput', 'login', 'memory', 'directory', 'syslog'];
const PINNED_KEX = 'curve25519-sha256';
/** Machine busy % (all CPUs, 3 s) below which the machine counts as quiet enough to start. */
const QUIET_PERCENT = 10;
type Part = (typeof parts)[number];

const help = `Usage: npm run bench -- [--quick] [--only PART[,PART]] [--write]

Benchmarks Gatehouse against OpenSSH on loopback (throughput, login, memory, directory and syslog
need root: they start test sshds and use the gh-e2e account of the e2e tests), AA plugin hook calls
through the plugin sandbox (no root) and syslog forwarding to a real rsyslog, and prints a Markdown
report.

  --quick        smoke run: 256 MiB transfers, 5 logins, 50/100 sessions, 1 round of throughput,
                 200 hook calls, 20,000 syslog events per transport
  --only PARTS   throughput, login, memory, aa, directory, syslog and/or search (comma-separated;
                 default all)
  --write        also write the report to docs/benchmarks.md
  --no-wait      start at once even if other processes keep the CPUs busy (by default the
                 bench waits up to 3 min, 30 s with --quick, for a quiet machine)

The full run takes about 7 minutes on 2 CPUs (syslog alone about 1); --quick about 1 minute.
`;

const DOC = fileURLToPath(new URL('../../../docs/benchmarks.md', import.meta.url));

/** Gateway log lines at warn level or above (learning a target's host key on first use is a notice, below). */
function unexpectedWarning(line: Record<string, unknown>): boolean {
  return Number(line.level) >= 40;
}

/** A recording gateway's recordings, deleted between runs: a recorded 1 GiB of zeros is several GiB of cast. */
async function removeRecordings(dataDir: string): Promise<void> {
  const directory = join(dataDir, 'recordings');
  for (const name of await readdir(directory).catch(() => [])) await rm(join(directory, name), { force: true });
}

function progressLogger(started: number): (line: string) => void {
  return (line) => process.stderr.write(`[bench ${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}\n`);
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: { quick: { type: 'boolean' }, only: { type: 'string' }, write: { type: 'boolean' }, 'no-wait': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    process.stdout.write(help);
    return 0;
  }
  const only = (values.only ?? parts.join(',')).split(',').map((s) => s.trim()).filter(Boolean);
  for (const p of only) {
    if (!(parts as readonly string[]).includes(p)) {
      process.stderr.write(`bench: unknown part "${p}" (expected ${parts.join(', ')})\n`);
      return 2;
    }
  }
  const want = (p: Part): boolean => only.includes(p);
  const quick = Boolean(values.quick);
  const settings = {
    bytes: quick ? 256 * 2 ** 20 : 2 ** 30,
    terminalBytes: quick ? 32 * 2 ** 20 : 128 * 2 ** 20,
    rounds: quick ? 1 : 5,
    loginRuns: quick ? 5 : 30,
    loginWarmup: 2,
    levels: quick ? [50, 100] : [100, 500, 1000],
    concurrency: 20,
    hookCalls: quick ? 200 : 2000,
    syslogEvents: quick ? 20_000 : 100_000,
    syslogRounds: quick ? 1 : 3,
    syslogLoginRuns: quick ? 5 : 60,
    settleMs: quick ? 2000 : 5000,
    searchSessions: quick ? 2000 : 10_000,
    searchRuns: quick ? 5 : 20,
    searchCliRuns: quick ? 2 : 5,
    maxWaitQuietMs: values['no-wait'] ? 0 : quick ? 30_000 : 180_000,
  };
  const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;

  const started = Date.now();
  const progress = progressLogger(started);
  const t = new Teardowns();
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (interrupted) return;
    interrupted = true;
    progress(`${signal}: stopping every process the bench started`);
    void killAllClients()
      .then(() => t.run())
      .finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const machine = await describeMachine();
  // Other workloads distort every ratio: wait (bounded) for a quiet machine, and record how busy it was.
  const waitStarted = Date.now();
  let busyBefore = 100;
  for (;;) {
    const probe = machineCpu();
    await sleep(3000);
    busyBefore = (100 * busySince(probe)) / (3 * machine.cpus);
    if (busyBefore <= QUIET_PERCENT || Date.now() - waitStarted >= settings.maxWaitQuietMs) break;
    progress(`the machine is ${busyBefore.toFixed(0)}% busy without the benchmark; waiting for it to settle (up to ${settings.maxWaitQuietMs / 1000} s)`);
  }
  const background: Background = { busyBeforePercent: busyBefore, loadBefore: loadAverage(), waitedSeconds: (Date.now() - waitStarted) / 1000 - 3 };
  if (busyBefore > QUIET_PERCENT) progress(`warning: the machine was ${busyBefore.toFixed(0)}% busy before the run started; results will be distorted`);
  // Everything the bench runs (itself and all it starts) is accounted in one cpuacct group, so what
  // the rest of the machine used meanwhile can be told apart.
  const everything = CpuGroup.create(t, 'all');
  if (everything && !everything.add(process.pid)) progress('could not join a cpuacct group: CPU accounting will be n/a');
  const machineAtStart = machineCpu();
  const ownAtStart = everything?.seconds() ?? Number.NaN;
  const errors: string[] = [];
  const gateway: GatewayNotes = { warnings: [] };
  let pathInfo: PathInfo[] = [];
  let legs: Leg[] = [];
  let throughput: ThroughputSample[] | undefined;
  let login: LoginSample[] | undefined;
  let memory: MemoryResult | undefined;
  let aa: AaHookResult | undefined;
  let directory: DirectoryLoginResult | undefined;
  let syslogRates: SyslogRateResult | undefined;
  let syslogLogin: ForwardingLoginResult | undefined;
  let search: SearchResult | undefined;

  try {
    progress(`machine: ${machine.cpus} CPUs, ${machine.memoryGiB.toFixed(1)} GiB, node ${machine.node}, ${machine.openssh}, ssh2 binding ${machine.ssh2Binding}`);
    if (want('aa')) aa = await measureAaHooks(t, { calls: settings.hookCalls, warmup: 100, poolSize: 2, progress });
    if (want('syslog')) syslogRates = await measureSyslogRates(t, { events: settings.syslogEvents, rounds: settings.syslogRounds, progress });
    if (want('search')) search = await measureSearch(t, { sessions: settings.searchSessions, runs: settings.searchRuns, cliRuns: settings.searchCliRuns, progress });
    if (SSH_PARTS.some(want) && process.getuid?.() !== 0) throw new Error('the benchmark needs root (it starts sshd and logs in as the gh-e2e test account)');
    if (want('directory')) directory = await measureDirectoryLogins(t, { concurrency: 4, seconds: quick ? 3 : 10, rounds: quick ? 1 : 3, progress });
    if (SSH_PARTS.some((part) => part !== 'directory' && want(part))) {
      const key = await makeBenchKey(t);
      const clientConfig = await writeClientConfig(t, key);
      const pinnedConfig = await writeClientConfig(t, key, { kex: PINNED_KEX });
      const target = await startSshd(t, { passwordAuthentication: false, extraConfig: ['MaxStartups 1100:30:1200'] });
      await target.authorizeKey(key.publicLine);
      progress(`target sshd on 127.0.0.1:${target.port}`);

      if (want('throughput') || want('login')) {
        const bastion = await startSshd(t, { passwordAuthentication: false });
        await bastion.authorizeKey(key.publicLine);
        const gw = await startGatehouse(t, { user: target.user, authorizedKey: key.publicLine });
        await target.authorizeKey(gw.upstreamPublicLine);
        // The cost of recording: the same gateway recording every exec (terminalOnly off), and recording nothing.
        const recorded = want('throughput') ? await startGatehouse(t, { user: target.user, authorizedKey: key.publicLine, policy: { recording: { terminalOnly: false } } }) : undefined;
        const unrecorded = want('throughput') ? await startGatehouse(t, { user: target.user, authorizedKey: key.publicLine, policy: { recording: { enabled: false } } }) : undefined;
        for (const extra of [recorded, unrecorded]) if (extra) await target.authorizeKey(extra.upstreamPublicLine);
        // One login per enrolled user: the warm-up and measured runs, and the first login below.
        const totp = await startTotpGatehouse(t, target, key.publicLine, settings.loginRuns + settings.loginWarmup + 1);
        // CPU accounting groups for the throughput runs (n/a where cgroups cannot be used).
        const groups = { client: CpuGroup.create(t, 'client', everything), relay: CpuGroup.create(t, 'relay', everything), target: CpuGroup.create(t, 'target', everything) };
        const cpuGroups =
          groups.client && groups.relay && groups.target && groups.target.add(target.pid()!) && groups.relay.add(bastion.pid()!) && groups.relay.add(gw.pid) && [recorded, unrecorded].every((extra) => !extra || groups.relay!.add(extra.pid))
            ? { client: groups.client, relay: groups.relay, target: groups.target }
            : undefined;
        if (!cpuGroups) progress('cpuacct cgroups unavailable: the CPU breakdown per process group will be n/a');
        progress(`bastion sshd on 127.0.0.1:${bastion.port}; gatehouse (pid ${gw.pid}) on 127.0.0.1:${gw.port}`);

        const direct = (conf: string): string[] => ['-F', conf, '-T', '-p', String(target.port), '-l', target.user, '--', '127.0.0.1'];
        const viaGateway = (conf: string, sshd: TestSshd, port = gw.port): string[] => viaGatehouse(conf, port, `${sshd.user}@127.0.0.1:${sshd.port}`);
        const jump = (conf: string): string[] => ['-F', conf, '-T', '-J', `${bastion.user}@127.0.0.1:${bastion.port}`, '-p', String(target.port), '-l', target.user, '--', '127.0.0.1'];
        // Login: OpenSSH as it comes (its default key exchange is sntrup761x25519, which ssh2 and so
        // Gatehouse do not offer) and pinned to curve25519-sha256, which every Gatehouse leg uses.
        const loginPaths: SshPath[] = [
          { id: 'direct', label: 'direct', args: direct(clientConfig) },
          { id: 'direct-c25519', label: 'direct, curve25519', args: direct(pinnedConfig) },
          { id: 'gatehouse', label: 'Gatehouse', args: viaGateway(clientConfig, target) },
          totp.path(clientConfig),
          { id: 'proxyjump', label: 'ProxyJump', args: jump(clientConfig) },
          { id: 'proxyjump-c25519', label: 'ProxyJump, curve25519', args: jump(pinnedConfig) },
        ];
        // Throughput: key exchange pinned on every client leg, so only the data path differs.
        const throughputPaths: SshPath[] = [
          { id: 'direct', label: 'direct', args: direct(pinnedConfig) },
          { id: 'gatehouse', label: 'Gatehouse', args: viaGateway(pinnedConfig, target) },
          ...(recorded ? [{ id: 'gatehouse-recorded', label: 'Gatehouse, recorded', args: viaGateway(pinnedConfig, target, recorded.port) }] : []),
          ...(unrecorded ? [{ id: 'gatehouse-unrecorded', label: 'Gatehouse, unrecorded', args: viaGateway(pinnedConfig, target, unrecorded.port) }] : []),
          { id: 'proxyjump', label: 'ProxyJump', args: jump(pinnedConfig) },
        ];
        pathInfo = [
          { id: 'direct', label: 'direct', how: 'OpenSSH `ssh` → target sshd (default key exchange)' },
          { id: 'direct-c25519', label: 'direct, curve25519', how: `the same with \`KexAlgorithms ${PINNED_KEX}\`` },
          { id: 'gatehouse', label: 'Gatehouse', how: '`ssh -p GW -l gh-e2e@127.0.0.1:TARGETPORT 127.0.0.1` → Gatehouse → target sshd' },
          { id: 'gatehouse-recorded', label: 'Gatehouse, recorded', how: 'the same through a second Gatehouse whose policy records every exec (`recording.terminalOnly: false`): the stream goes into a signed asciicast recording as it passes (throughput only; the bench deletes each recording after its run)' },
          { id: 'gatehouse-unrecorded', label: 'Gatehouse, unrecorded', how: 'the same through a third Gatehouse that records nothing (`recording.enabled: false`); the default policy (Gatehouse) records terminals only (throughput only)' },
          { id: 'gatehouse-totp', label: 'Gatehouse + TOTP', how: 'the same through a second Gatehouse whose policy runs the built-in TOTP plugin (default.cfg), the code in the login name: `-l otp=CODE@gu=mfa-N@gh-e2e@127.0.0.1:TARGETPORT`, a new enrolled user per login (a code is accepted once per user)' },
          { id: 'proxyjump', label: 'ProxyJump', how: '`ssh -J gh-e2e@127.0.0.1:BASTIONPORT -p TARGETPORT 127.0.0.1` → bastion sshd (direct-tcpip) → target sshd (default key exchange)' },
          { id: 'proxyjump-c25519', label: 'ProxyJump, curve25519', how: `the same with \`KexAlgorithms ${PINNED_KEX}\` on both hops` },
        ];

        // Which algorithms each leg really uses (also the first login of each path: host key learnt, code warm).
        const debugSshd = await startSshd(t, { passwordAuthentication: false, extraConfig: ['LogLevel DEBUG1'] });
        await debugSshd.authorizeKey(gw.upstreamPublicLine);
        legs = await negotiatedLegs(loginPaths, { id: 'gatehouse-debug', label: 'Gatehouse', args: viaGateway(clientConfig, debugSshd) }, debugSshd);
        await debugSshd.stop();
        progress(`negotiated: ${legs.map((l) => `${l.path}/${l.leg}: ${l.kex} ${l.cipher}`).join('; ')}`);

        const startLine = (await gatewayLogLines(gw.logFile)).find((l) => typeof l.sshCryptoBinding === 'boolean');
        if (startLine) gateway.binding = startLine.sshCryptoBinding as boolean;

        if (want('throughput')) {
          throughput = await measureThroughput(throughputPaths, {
            bytes: settings.bytes,
            rounds: settings.rounds,
            terminalBytes: settings.terminalBytes,
            directions: ['download', 'upload', 'terminal'],
            gatewayPids: { gatehouse: gw.pid, ...(recorded ? { 'gatehouse-recorded': recorded.pid } : {}), ...(unrecorded ? { 'gatehouse-unrecorded': unrecorded.pid } : {}) },
            afterRun: async (path) => {
              const owner = path === 'gatehouse-recorded' ? recorded : path === 'gatehouse' ? gw : undefined;
              if (owner) await removeRecordings(owner.dataDir);
            },
            ...(cpuGroups ? { groups: cpuGroups } : {}),
            progress,
          });
          gateway.hwmAfterThroughputKiB = statusKiB(gw.pid, 'VmHWM');
          const ends = (await gatewayLogLines(gw.logFile)).filter((l) => l.event === 'session-ended');
          gateway.confirmedTransfers = {
            download: ends.filter((l) => Number(l.bytesToClient) >= settings.bytes).length,
            upload: ends.filter((l) => Number(l.bytesFromClient) >= settings.bytes).length,
          };
          const expected = settings.rounds;
          if (gateway.confirmedTransfers.download < expected || gateway.confirmedTransfers.upload < expected) {
            gateway.warnings.push(`The gateway log confirms fewer full transfers than were run (${JSON.stringify(gateway.confirmedTransfers)}, expected ${expected} each).`);
          }
        }
        if (want('login')) {
          const lost = { lost: 0, runs: 0 };
          login = await measureLogin(loginPaths, {
            runs: settings.loginRuns,
            warmup: settings.loginWarmup,
            progress,
            observe: async (p, go) => {
              if (p.id !== 'gatehouse') return { run: await go(), exitStatusLost: false };
              const offset = await logOffset(gw.logFile);
              const run = await go();
              lost.runs++;
              if (run.code !== 255 || run.timedOut || run.stderr.trim() !== '') return { run, exitStatusLost: false };
              const end = await sessionEndSince(gw.logFile, offset);
              return { run, exitStatusLost: end?.result === 'ok' && end.upstream === true };
            },
            onLost: () => {
              lost.lost++;
              progress('login via Gatehouse: ssh exited 255 with no message while the gateway logged the session as ok (exit status lost)');
            },
          });
          gateway.exitStatusLost = lost;
        }
        const problems = (await gatewayLogLines(gw.logFile)).filter(unexpectedWarning);
        if (problems.length) {
          const kinds = [...new Set(problems.map((l) => String(l.msg)))].slice(0, 5);
          gateway.warnings.push(`The gateway logged ${problems.length} warning/error line(s) during throughput/login: ${kinds.map((k) => `"${k}"`).join(', ')}.`);
        }
        gateway.stop = await gw.stop();
        await recorded?.stop();
        await unrecorded?.stop();
        await totp.gw.stop();
      }

      if (want('memory')) {
        const gw = await startGatehouse(t, { user: target.user, authorizedKey: key.publicLine, gcHook: true });
        await target.authorizeKey(gw.upstreamPublicLine);
        gateway.memoryCommand = gw.commandLine;
        progress(`memory: fresh gatehouse (pid ${gw.pid}) on 127.0.0.1:${gw.port}`);
        memory = await measureMemory(
          {
            gatewayPid: gw.pid,
            gatewayPort: gw.port,
            loginName: `${target.user}@127.0.0.1:${target.port}`,
            privateKeyPath: key.privatePath,
            targetSshdPid: () => target.pid(),
            levels: settings.levels,
            concurrency: settings.concurrency,
            settleMs: settings.settleMs,
            collectGarbage: () => gw.collectGarbage(),
            secondCycle: true,
            progress,
          },
          (fn) => t.teardown(fn),
        );
        if (gateway.binding === undefined) {
          const startLine = (await gatewayLogLines(gw.logFile)).find((l) => typeof l.sshCryptoBinding === 'boolean');
          if (startLine) gateway.binding = startLine.sshCryptoBinding as boolean;
        }
        const problems = (await gatewayLogLines(gw.logFile)).filter(unexpectedWarning);
        if (problems.length) {
          const kinds = [...new Set(problems.map((l) => String(l.msg)))].slice(0, 5);
          gateway.warnings.push(`The gateway logged ${problems.length} warning/error line(s) during the memory run: ${kinds.map((k) => `"${k}"`).join(', ')}.`);
        }
        gateway.memoryStop = await gw.stop();
      }

      if (want('syslog')) {
        syslogLogin = await measureLoginForwarding(t, { target, authorizedKey: key.publicLine, clientConfig, runs: settings.syslogLoginRuns, warmup: settings.loginWarmup, progress });
      }
    }
  } catch (err) {
    errors.push((err as Error).stack ?? String(err));
    progress(`FAILED: ${(err as Error).message}`);
  } finally {
    const runSeconds = (Date.now() - started) / 1000 - 3 - background.waitedSeconds;
    // Task time (user+nice+system) of the whole machine minus the bench's cpuacct group: other processes.
    const othersCpu = taskTimeSince(machineAtStart) - ((everything?.seconds() ?? Number.NaN) - ownAtStart);
    background.othersPercent = (100 * Math.max(0, othersCpu)) / (runSeconds * machine.cpus);
    background.othersCpuSeconds = Math.max(0, othersCpu);
    background.loadAfter = loadAverage();
    progress('cleaning up');
    await killAllClients();
    await t.run();
  }
  if (interrupted) return 130;

  const report = renderReport({
    command,
    date: new Date().toISOString(),
    quick,
    machine,
    paths: pathInfo,
    legs,
    pinnedKex: PINNED_KEX,
    bytes: settings.bytes,
    terminalBytes: settings.terminalBytes,
    rounds: settings.rounds,
    ...(throughput ? { throughput } : {}),
    loginRuns: settings.loginRuns,
    loginWarmup: settings.loginWarmup,
    ...(login ? { login } : {}),
    ...(memory ? { memory } : {}),
    ...(aa ? { aa } : {}),
    ...(directory ? { directory } : {}),
    ...(syslogRates ? { syslogRates } : {}),
    ...(syslogLogin ? { syslogLogin } : {}),
    ...(search ? { search } : {}),
    memorySettleMs: settings.settleMs,
    gateway,
    background,
    durationSeconds: (Date.now() - started) / 1000,
    errors,
  });
  process.stdout.write(report);
  if (values.write) {
    writeFileSync(DOC, report);
    progress(`wrote ${DOC}`);
  }
  progress(`done in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  return errors.length ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: Error) => {
    process.stderr.write(`bench: ${err.stack ?? err.message}\n`);
    process.exitCode = 1;
  },
);
