// The gateway's side of one plugin worker process: starts it, runs one hook call at a time on it
// with a deadline, answers its lookups (secrets, LDAP), relays its output, watches its memory, and says
// why it died. Everything the worker sends is untrusted and checked.
import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable, Duplex } from 'node:stream';
import type { AuditLog } from '../../log/events/audit-log.js';
import type { Logger } from '../../log/logger.js';
import { encodeFrame, FrameError, FrameReader } from './frames.js';
import type { HookName } from './hook-arguments.js';
import { limits, type FailureKind } from './hook-result.js';
import { LineSplitter } from './line-splitter.js';
import { lookupArity, maxWorkerFrameBytes, workerMessageSchema, type HostMessage, type LookupKind, type SecretName, type WorkerMessage } from './messages.js';
import { PluginLog } from './plugin-log.js';
import { residentMemoryMb } from './resident-memory.js';
import type { WorkerLaunch } from './worker-launch.js';

export interface PluginWorkerOptions {
  launch: WorkerLaunch;
  init: Omit<Extract<HostMessage, { type: 'init' }>, 'type'>;
  /** Resident memory above which the worker is killed. */
  memoryLimitMb: number;
  startTimeoutMs: number;
  secret: (section: string, option: string) => Promise<string | undefined>;
  /** The gateway's LDAP servers, by name, when it has any. */
  ldap?: PluginLdap;
  /** A child logger carrying `plugin: <name>`. */
  log: Logger;
  /** Takes the plugin's output lines, tagged `plugin:<pluginName>`. */
  audit: AuditLog;
  pluginName: string;
}

/** What plugins may look up in the gateway's LDAP servers (`[ldap_server] name=` of their configuration). */
export interface PluginLdap {
  userGroups(server: string, user: string): Promise<string[] | undefined>;
  userAttribute(server: string, user: string, attribute: string): Promise<string | undefined>;
}

export type CallOutcome =
  | { kind: 'returned'; value: unknown }
  | { kind: 'no-hook' }
  | { kind: 'failed'; failure: FailureKind; reason: string };

export interface WorkerDeath {
  failure: FailureKind;
  reason: string;
}

const memoryPollMs = 50;
const outputLinesPerSecond = 100;
/** Length of each lookup argument (names, users, attributes); the SDK's are a few words. */
const maxLookupArgumentLength = 256;
const maxOpenLookups = 16;
/** What an LDAP answer may carry into a worker. */
const maxGroups = 10_000;
const maxValueLength = 64 * 1024;
const lookupFailures: Record<LookupKind, string> = {
  secret: 'the credential store could not answer',
  'ldap-groups': 'the LDAP server could not answer',
  'ldap-attribute': 'the LDAP server could not answer',
};
const outOfMemoryMarker = /JavaScript heap out of memory|Reached heap limit/;
const errorLine = /^(Uncaught )?[A-Za-z]*(Error|Exception)\b/;

export class PluginWorker {
  readonly #child: ChildProcess;
  readonly #channel: Duplex;
  readonly #options: PluginWorkerOptions;
  readonly #output: PluginLog;
  readonly #reader = new FrameReader(maxWorkerFrameBytes);
  readonly #memoryPoll: NodeJS.Timeout;
  #ready: { resolve(): void; reject(error: Error): void } | undefined;
  #call: { id: number; resolve(outcome: CallOutcome): void } | undefined;
  #nextCallId = 1;
  #openLookups = 0;
  /** Set when the gateway kills the worker, so that its death is reported for the right reason. */
  #killedFor: WorkerDeath | undefined;
  #heapExhausted = false;
  #lastErrorLine = '';
  #death: WorkerDeath | undefined;
  readonly #gone: Promise<WorkerDeath>;
  #markGone!: (death: WorkerDeath) => void;

  /** Resolves when the worker has loaded the plugin; rejects with the reason it could not. */
  static async start(options: PluginWorkerOptions): Promise<PluginWorker> {
    const worker = new PluginWorker(options);
    const timer = setTimeout(() => worker.#kill('timeout', `the worker did not load the plugin within ${options.startTimeoutMs} ms`), options.startTimeoutMs);
    try {
      await new Promise<void>((resolve, reject) => {
        worker.#ready = { resolve, reject };
        worker.#send({ type: 'init', ...options.init });
      });
    } finally {
      clearTimeout(timer);
    }
    return worker;
  }

  private constructor(options: PluginWorkerOptions) {
    this.#options = options;
    this.#output = new PluginLog(options.audit, options.pluginName, options.log, limits.text, outputLinesPerSecond);
    this.#gone = new Promise((resolve) => (this.#markGone = resolve));
    const { command, args, env, cwd } = options.launch;
    this.#child = spawn(command, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
    this.#channel = this.#child.stdio[3] as Duplex;
    this.#channel.on('data', (chunk: Buffer) => this.#receive(chunk));
    this.#channel.on('error', () => undefined); // a dead worker's channel; 'close' reports it
    this.#relay(this.#child.stdout as Readable, 'stdout');
    this.#relay(this.#child.stderr as Readable, 'stderr');
    this.#child.on('close', (code, signal) => this.#died(code, signal));
    this.#child.on('error', (error) => {
      if (this.#child.pid === undefined) this.#died(null, null, `could not start the worker: ${error.message}`);
    });
    this.#memoryPoll = setInterval(() => void this.#checkMemory(), memoryPollMs).unref();
  }

  /** Whether the worker can take a call: alive and not busy. */
  get idle(): boolean {
    return !this.#death && !this.#killedFor && !this.#call && !this.#ready;
  }

  /** Resolves with the cause once the worker process is gone. */
  get gone(): Promise<WorkerDeath> {
    return this.#gone;
  }

  /** Runs `hook` on a fresh plugin instance; past `timeoutMs` the worker is killed. */
  call(hook: HookName, args: Record<string, unknown>, timeoutMs: number, secretNames?: SecretName[]): Promise<CallOutcome> {
    if (!this.idle) throw new Error('the worker is not idle');
    const id = this.#nextCallId++;
    return new Promise<CallOutcome>((resolve) => {
      const timer = setTimeout(() => this.#kill('timeout', `${hook} did not answer within ${timeoutMs} ms`), timeoutMs);
      this.#call = {
        id,
        resolve: (outcome) => {
          clearTimeout(timer);
          this.#call = undefined;
          resolve(outcome);
        },
      };
      this.#send({ type: 'call', id, hook, args, ...(secretNames ? { secretNames } : {}) });
    });
  }

  /** Kills the worker and waits until it is gone. */
  async stop(): Promise<void> {
    this.#kill('unavailable', 'the sandbox was closed');
    await this.#gone;
  }

  #send(message: HostMessage): void {
    if (!this.#killedFor && !this.#death) this.#channel.write(encodeFrame(message));
  }

  #kill(failure: FailureKind, reason: string): void {
    if (this.#death) return;
    this.#killedFor ??= { failure, reason };
    this.#child.kill('SIGKILL');
  }

  #receive(chunk: Buffer): void {
    // Once condemned, a worker's late answer must not overturn the reason it was killed for.
    if (this.#killedFor) return;
    let frames: unknown[];
    try {
      frames = this.#reader.push(chunk);
    } catch (error) {
      if (!(error instanceof FrameError)) throw error;
      return this.#kill('protocol-violation', `the worker sent a bad frame: ${error.message}`);
    }
    for (const frame of frames) {
      const message = workerMessageSchema.safeParse(frame);
      if (!message.success) return this.#kill('protocol-violation', 'the worker sent a message outside the protocol');
      this.#handle(message.data);
      if (this.#killedFor) return;
    }
  }

  #handle(message: WorkerMessage): void {
    switch (message.type) {
      case 'ready':
        if (!this.#ready) return this.#kill('protocol-violation', 'the worker said ready twice');
        this.#ready.resolve();
        this.#ready = undefined;
        return;
      case 'fatal':
        return this.#kill('crashed', `the plugin could not be loaded: ${message.message}`);
      case 'log':
        return this.#output.line('log', message.message, message.level);
      case 'lookup':
        return void this.#answerLookup(message.id, message.lookup, message.args);
      case 'returned':
        return this.#settle(message.id, { kind: 'returned', value: message.value });
      case 'no-hook':
        return this.#settle(message.id, { kind: 'no-hook' });
      case 'threw':
        return this.#settle(message.id, { kind: 'failed', failure: 'threw', reason: `the plugin threw: ${message.error}` });
      case 'unencodable':
        return this.#settle(message.id, { kind: 'failed', failure: 'invalid-result', reason: `the result is not JSON: ${message.error}` });
    }
  }

  #settle(id: number, outcome: CallOutcome): void {
    if (this.#call?.id !== id) return this.#kill('protocol-violation', `the worker answered call ${id}, which is not running`);
    this.#call.resolve(outcome);
  }

  /** The answer goes to this worker only, and only what the sandbox's own callbacks give. */
  async #answerLookup(id: number, kind: LookupKind, args: string[]): Promise<void> {
    if (args.length !== lookupArity[kind] || args.some((arg) => arg.length > maxLookupArgumentLength) || this.#openLookups >= maxOpenLookups) {
      return this.#send({ type: 'lookup', id, error: `${kind} request refused` });
    }
    this.#openLookups++;
    try {
      const value = await this.#lookup(kind, args);
      this.#send({ type: 'lookup', id, ...(value !== undefined ? { value } : {}) });
    } catch (error) {
      const [first, second] = args;
      const where = kind === 'secret' ? { section: first, option: second } : { ldapServer: first, user: second };
      this.#options.log.warn({ source: 'sandbox', lookup: kind, ...where, err: error }, `${kind === 'secret' ? 'credential store' : 'LDAP'} lookup for the plugin failed`);
      this.#send({ type: 'lookup', id, error: lookupFailures[kind] });
    } finally {
      this.#openLookups--;
    }
  }

  async #lookup(kind: LookupKind, [first, second, third]: string[]): Promise<string | string[] | undefined> {
    if (kind === 'secret') {
      const value = await this.#options.secret(first as string, second as string);
      return typeof value === 'string' ? value : undefined;
    }
    const { ldap } = this.#options;
    if (!ldap) throw new Error('this gateway has no LDAP servers');
    if (kind === 'ldap-attribute') {
      const value = await ldap.userAttribute(first as string, second as string, third as string);
      return typeof value === 'string' && value.length <= maxValueLength ? value : undefined;
    }
    const groups = await ldap.userGroups(first as string, second as string);
    return groups?.filter((group) => typeof group === 'string' && group.length <= maxLookupArgumentLength).slice(0, maxGroups);
  }

  #relay(stream: Readable, source: 'stdout' | 'stderr'): void {
    const lines = new LineSplitter(limits.text);
    const forward = (line: string): void => {
      if (source === 'stderr') {
        if (outOfMemoryMarker.test(line)) this.#heapExhausted = true;
        if (errorLine.test(line)) this.#lastErrorLine = line;
      }
      this.#output.line(source, line);
    };
    stream.on('data', (chunk: Buffer) => lines.push(chunk).forEach(forward));
    stream.on('end', () => lines.end().forEach(forward));
  }

  async #checkMemory(): Promise<void> {
    const pid = this.#child.pid;
    if (pid === undefined || this.#death) return;
    const rss = await residentMemoryMb(pid);
    if (rss !== undefined && rss > this.#options.memoryLimitMb) {
      this.#kill('out-of-memory', `the worker used ${Math.round(rss)} MiB, over its limit of ${this.#options.memoryLimitMb} MiB`);
    }
  }

  #died(code: number | null, signal: NodeJS.Signals | null, startError?: string): void {
    if (this.#death) return;
    clearInterval(this.#memoryPoll);
    this.#output.flush();
    const death = this.#killedFor ?? this.#causeOfDeath(code, signal, startError);
    this.#death = death;
    this.#call?.resolve({ kind: 'failed', ...death });
    this.#ready?.reject(new Error(death.reason));
    this.#ready = undefined;
    this.#markGone(death);
  }

  #causeOfDeath(code: number | null, signal: NodeJS.Signals | null, startError?: string): WorkerDeath {
    if (startError) return { failure: 'unavailable', reason: startError };
    if (this.#heapExhausted) return { failure: 'out-of-memory', reason: 'the plugin exhausted its JavaScript heap' };
    const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
    return { failure: 'crashed', reason: `the worker ${how}${this.#lastErrorLine ? ` after ${this.#lastErrorLine}` : ''}` };
  }
}
