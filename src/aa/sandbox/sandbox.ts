// PluginSandbox: the warm pool of worker processes that runs one AA plugin configuration's hook
// calls outside the gateway, one call per worker at a time, failing closed.
import { fileURLToPath } from 'node:url';
import { AuditLog } from '../../log/events/audit-log.js';
import type { Logger } from '../../log/logger.js';
import { pickArguments, type HookArguments, type HookName } from './hook-arguments.js';
import { interpretMissingHook, interpretReturn, sandboxDenial, type HookResult } from './hook-result.js';
import type { SecretName, UserListSnapshot } from './messages.js';
import { PluginWorker, type CallOutcome, type PluginLdap } from './plugin-worker.js';
import { prepareSandboxPaths } from './sandbox-paths.js';
import { workerLaunch } from './worker-launch.js';

export interface PluginSandboxOptions {
  /** The AA plugin configuration this sandbox serves; it names the log lines. */
  configName: string;
  /** The plugin's name, as its log lines are tagged: `plugin: <name>`. */
  pluginName: string;
  /** The unpacked plugin package; the worker may read it and nothing else of the gateway's. */
  pluginDir: string;
  /** The MANIFEST's entry_point, relative to pluginDir: an ES module exporting class Plugin. */
  entryPoint: string;
  /** The configuration's ini text, given to every plugin instance's constructor. */
  configText: string;
  /** Persistent state, readable and writable by the plugin; created when missing. */
  stateDir: string;
  /** Scratch state, readable and writable by the plugin; emptied when the sandbox starts. */
  ephemeralDir: string;
  /** Time limit of one call, from `call()` to its answer, waiting for a worker included. Default 10 s. */
  timeoutMs?: number;
  /** V8 heap limit of each worker; its resident memory may exceed this by `memoryOverheadMb`. Default 256. */
  memoryMb?: number;
  /** Worker processes kept warm. Default 2. */
  poolSize?: number;
  /** The appliance's User Lists by name, for `[whitelist source=user_list]`. Default none. */
  userLists?: Record<string, UserListSnapshot>;
  /** This configuration's credential-store entries (`$` values), by section and option; nobody else's. */
  secret: (section: string, option: string) => Promise<string | undefined>;
  /**
   * The names `secret` has values for, read afresh for every call; undefined when they cannot be
   * known (a locked store). With them, the worker answers a lookup of any other name itself:
   * plugins built on the SDK ask the store about every option they read.
   */
  secretNames?: () => SecretName[] | undefined;
  /** The gateway's LDAP servers, for `[whitelist source=ldap_server_group]` and `[usermapping source=ldap_server]`. */
  ldap?: PluginLdap;
  log: Logger;
  /** Where the plugin's output lines go (`plugin:<name>`), with their log line; default: the log only. */
  audit?: AuditLog;
}

/** Resident memory a worker needs besides its V8 heap: Node itself, code, young generation. */
export const memoryOverheadMb = 64;
const workerStartTimeoutMs = 10_000;
const maxRestartDelayMs = 5_000;
const workerScript = fileURLToPath(new URL('./worker.js', import.meta.url));

interface WaitingCall {
  hook: HookName;
  args: Record<string, unknown>;
  sessionId: string;
  deadline: number;
  timer: NodeJS.Timeout;
  resolve(result: HookResult): void;
}

interface Pool {
  size: number;
  timeoutMs: number;
  spawnWorker(): Promise<PluginWorker>;
  secretNames(): SecretName[] | undefined;
}

export class PluginSandbox {
  readonly #pool: Pool;
  readonly #log: Logger;
  readonly #workers = new Set<PluginWorker>();
  readonly #starting = new Set<Promise<void>>();
  #restartDelayMs = 0;
  #restartTimer: NodeJS.Timeout | undefined;
  readonly #queue: WaitingCall[] = [];
  readonly #running = new Set<Promise<void>>();
  #closed = false;

  /** Prepares the plugin's directories and starts the pool; rejects if the plugin cannot be loaded. */
  static async start(options: PluginSandboxOptions): Promise<PluginSandbox> {
    const { timeoutMs = 10_000, memoryMb = 256, poolSize = 2 } = options;
    if (!(timeoutMs > 0) || !(memoryMb >= 16) || !Number.isInteger(poolSize) || poolSize < 1) {
      throw new Error('timeoutMs must be positive, memoryMb at least 16 and poolSize a positive integer');
    }
    const paths = await prepareSandboxPaths(options);
    const log = options.log.child({ plugin: options.pluginName, aaConfig: options.configName });
    // The plugin's lines carry `plugin` as a field of their own, so their log line is bound to the configuration only.
    const outputLog = options.log.child({ aaConfig: options.configName });
    const audit = (options.audit ?? new AuditLog(options.log, undefined)).child(outputLog, {});
    const launch = workerLaunch({ workerScript, ...paths, memoryMb });
    const init = { entry: paths.entry, config: options.configText, stateDir: paths.stateDir, ephemeralDir: paths.ephemeralDir, userLists: options.userLists ?? {} };
    const memoryLimitMb = memoryMb + memoryOverheadMb;
    const spawnWorker = (): Promise<PluginWorker> =>
      PluginWorker.start({ launch, init, memoryLimitMb, startTimeoutMs: workerStartTimeoutMs, secret: options.secret, ...(options.ldap ? { ldap: options.ldap } : {}), log, audit, pluginName: options.pluginName });
    const secretNames = (): SecretName[] | undefined => options.secretNames?.();
    const sandbox = new PluginSandbox({ size: poolSize, timeoutMs, spawnWorker, secretNames }, log);
    const first = await Promise.allSettled(Array.from({ length: poolSize }, () => spawnWorker()));
    for (const started of first) if (started.status === 'fulfilled') sandbox.#adopt(started.value);
    const failed = first.find((started): started is PromiseRejectedResult => started.status === 'rejected');
    if (failed) {
      await sandbox.close();
      throw new Error(`AA plugin configuration "${options.configName}": ${(failed.reason as Error).message}`);
    }
    log.info({ workers: poolSize }, 'plugin sandbox started');
    return sandbox;
  }

  private constructor(pool: Pool, log: Logger) {
    this.#pool = pool;
    this.#log = log;
  }

  /**
   * Runs `hook` on a fresh plugin instance. Never rejects: whatever goes wrong on the plugin's side
   * is a DENY with `failure` set (and logged), and the sandbox stays usable.
   */
  call<H extends HookName>(hook: H, args: HookArguments[H]): Promise<HookResult> {
    if (this.#closed) return Promise.resolve(sandboxDenial('unavailable', 'the plugin sandbox is closed'));
    const { timeoutMs } = this.#pool;
    return new Promise((resolve) => {
      const waiting: WaitingCall = {
        hook,
        args: pickArguments(hook, args),
        sessionId: args.session_id,
        deadline: Date.now() + timeoutMs,
        timer: setTimeout(() => {
          this.#queue.splice(this.#queue.indexOf(waiting), 1);
          this.#finish(waiting, { kind: 'failed', failure: 'timeout', reason: `no plugin worker was free within ${timeoutMs} ms` });
        }, timeoutMs),
        resolve,
      };
      this.#queue.push(waiting);
      this.#dispatch();
    });
  }

  /** Stops taking calls, lets the running ones finish, and stops every worker. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#restartTimer);
    this.#denyWaiting('unavailable', 'the plugin sandbox was closed');
    await Promise.all(this.#running);
    await Promise.all(this.#starting);
    await Promise.all([...this.#workers].map((worker) => worker.stop()));
  }

  #dispatch(): void {
    for (const worker of this.#workers) {
      if (!this.#queue.length) return;
      if (!worker.idle) continue;
      const waiting = this.#queue.shift() as WaitingCall;
      clearTimeout(waiting.timer);
      const running = worker
        .call(waiting.hook, waiting.args, Math.max(1, waiting.deadline - Date.now()), this.#pool.secretNames())
        .then((outcome) => this.#finish(waiting, outcome))
        .finally(() => {
          this.#running.delete(running);
          this.#dispatch();
        });
      this.#running.add(running);
    }
  }

  #finish(waiting: WaitingCall, outcome: CallOutcome): void {
    const result =
      outcome.kind === 'returned' ? interpretReturn(waiting.hook, outcome.value)
      : outcome.kind === 'no-hook' ? interpretMissingHook(waiting.hook)
      : sandboxDenial(outcome.failure, outcome.reason);
    if (result.failure) {
      this.#log.warn({ hook: waiting.hook, session_id: waiting.sessionId, failure: result.failure, reason: result.reason }, 'plugin call failed; denied');
    }
    waiting.resolve(result);
  }

  #denyWaiting(failure: 'unavailable', reason: string): void {
    for (const waiting of this.#queue.splice(0)) {
      clearTimeout(waiting.timer);
      this.#finish(waiting, { kind: 'failed', failure, reason });
    }
  }

  #adopt(worker: PluginWorker): void {
    this.#workers.add(worker);
    void worker.gone.then((death) => {
      this.#workers.delete(worker);
      if (this.#closed) return;
      this.#log.warn({ failure: death.failure, reason: death.reason }, 'plugin worker gone; replacing it');
      this.#refill();
    });
  }

  /** Starts workers until the pool is full again; a plugin that keeps failing to load is retried ever more slowly. */
  #refill(): void {
    while (!this.#closed && this.#workers.size + this.#starting.size < this.#pool.size) {
      const starting: Promise<void> = this.#pool.spawnWorker().then(
        (worker) => {
          this.#starting.delete(starting);
          this.#restartDelayMs = 0;
          if (this.#closed) return worker.stop();
          this.#adopt(worker);
          this.#dispatch();
        },
        (error: Error) => {
          this.#starting.delete(starting);
          this.#log.error({ reason: error.message }, 'plugin worker could not be started');
          // With no worker left, waiting calls could only time out: deny them now.
          if (!this.#workers.size && !this.#starting.size) this.#denyWaiting('unavailable', `no plugin worker: ${error.message}`);
          if (this.#closed) return;
          this.#restartDelayMs = Math.min(maxRestartDelayMs, Math.max(100, this.#restartDelayMs * 2));
          clearTimeout(this.#restartTimer);
          this.#restartTimer = setTimeout(() => this.#refill(), this.#restartDelayMs);
        },
      );
      this.#starting.add(starting);
    }
  }
}
