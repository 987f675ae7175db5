// The plugin worker process: loads one AA plugin and runs each hook call on a fresh instance,
// speaking the hook protocol on fd 3. Runs under Node's permission model with an empty
// environment; it must import nothing outside this folder (no packages: it may not read node_modules).
import net from 'node:net';
import { pathToFileURL } from 'node:url';
import { encodeFrame, FrameReader } from './frames.js';
import type { HookName } from './hook-arguments.js';
import type { HostMessage, LookupKind, SecretName, UserListSnapshot } from './messages.js';
import { hardenWorker } from './worker-hardening.js';

interface PluginContext {
  log(level: string, message: string): void;
  secret(section: string, option: string): Promise<string | undefined>;
  ldap: {
    userGroups(server: string, user: string): Promise<string[] | undefined>;
    userAttribute(server: string, user: string, attribute: string): Promise<string | undefined>;
  };
  stateDir: string;
  ephemeralDir: string;
  userList(name: string): Promise<UserListSnapshot | undefined>;
}

type PluginClass = new (configuration: string, context: PluginContext) => Record<string, unknown>;

/** Longest log message or error description sent; the gateway bounds them again. */
const maxText = 4096;
/** The gateway is trusted, but a frame still must not grow the worker without bound. */
const maxHostFrameBytes = 16 * 1024 * 1024;

hardenWorker();
const channel = new net.Socket({ fd: 3, readable: true, writable: true });
const reader = new FrameReader(maxHostFrameBytes);
const lookups = new Map<number, { resolve(value: string | string[] | undefined): void; reject(error: Error): void }>();
let nextLookup = 1;
/** The names the store has for the running call; undefined: unknown, so every lookup asks. */
let knownSecrets: Set<string> | undefined;
let plugin: { Plugin: PluginClass; context: PluginContext; config: string } | undefined;

const send = (message: unknown): void => void channel.write(encodeFrame(message));

channel.on('data', (chunk: Buffer) => {
  for (const message of reader.push(chunk) as HostMessage[]) receive(message);
});
// Without the gateway there is nothing left to do, whatever timers the plugin left behind.
channel.on('close', () => process.exit(0));
channel.on('error', () => process.exit(0));

function receive(message: HostMessage): void {
  if (message.type === 'init') void load(message);
  else if (message.type === 'call') {
    knownSecrets = message.secretNames && new Set(message.secretNames.map(secretKey));
    void call(message.id, message.hook, message.args);
  }
  else settleLookup(message);
}

async function load(init: Extract<HostMessage, { type: 'init' }>): Promise<void> {
  try {
    const module = (await import(pathToFileURL(init.entry).href)) as { Plugin?: unknown };
    if (typeof module.Plugin !== 'function') throw new Error('the entry point does not export a class Plugin');
    const userLists = new Map(Object.entries(init.userLists));
    const userList = async (name: string): Promise<UserListSnapshot | undefined> => userLists.get(String(name));
    const ldap = Object.freeze({
      userGroups: (server: string, user: string) => lookup('ldap-groups', [server, user]) as Promise<string[] | undefined>,
      userAttribute: (server: string, user: string, attribute: string) => lookup('ldap-attribute', [server, user, attribute]) as Promise<string | undefined>,
    });
    const context: PluginContext = Object.freeze({ log, secret, ldap, userList, stateDir: init.stateDir, ephemeralDir: init.ephemeralDir });
    plugin = { Plugin: module.Plugin as PluginClass, context, config: init.config };
    send({ type: 'ready' });
  } catch (error) {
    send({ type: 'fatal', message: describe(error) });
    channel.end();
  }
}

async function call(id: number, hook: HookName, args: Record<string, unknown>): Promise<void> {
  if (!plugin) return;
  let value: unknown;
  try {
    const instance = new plugin.Plugin(plugin.config, plugin.context);
    const method = instance[hook];
    if (typeof method !== 'function') return send({ type: 'no-hook', id });
    value = await Reflect.apply(method, instance, [args]);
    // session_ended's return value means nothing to the gateway, so none of it crosses over.
    if (hook === 'session_ended') value = undefined;
  } catch (error) {
    return send({ type: 'threw', id, error: describe(error) });
  }
  let frame: Buffer;
  try {
    frame = encodeFrame({ type: 'returned', id, value });
  } catch (error) {
    return send({ type: 'unencodable', id, error: describe(error) });
  }
  channel.write(frame);
}

function log(level: string, message: string): void {
  send({ type: 'log', level: String(level), message: String(message).slice(0, maxText) });
}

function secret(section: string, option: string): Promise<string | undefined> {
  if (knownSecrets && !knownSecrets.has(secretKey([String(section), String(option)]))) return Promise.resolve(undefined);
  return lookup('secret', [section, option]) as Promise<string | undefined>;
}

function lookup(kind: LookupKind, args: string[]): Promise<string | string[] | undefined> {
  const id = nextLookup++;
  send({ type: 'lookup', id, lookup: kind, args: args.map(String) });
  return new Promise((resolve, reject) => lookups.set(id, { resolve, reject }));
}

function secretKey(name: SecretName): string {
  return JSON.stringify(name);
}

function settleLookup(answer: Extract<HostMessage, { type: 'lookup' }>): void {
  const request = lookups.get(answer.id);
  lookups.delete(answer.id);
  if (answer.error !== undefined) request?.reject(new Error(answer.error));
  else request?.resolve(answer.value);
}

function describe(error: unknown): string {
  try {
    return (error instanceof Error ? `${error.name}: ${error.message}` : String(error)).slice(0, maxText);
  } catch {
    return 'an undescribable value';
  }
}
