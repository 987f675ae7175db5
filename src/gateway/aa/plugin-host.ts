// The AA plugin host: one sandbox per AA plugin configuration that a connection policy names,
// running the plugin's active version. A configuration whose plugin cannot be started does not stop
// the gateway: its policies deny every login (fail closed) and the log says why.
import { join } from 'node:path';
import type { SealGuard } from '../../config/sealed.js';
import type { GatehouseConfig } from '../../config/schema.js';
import type { LocalCredentialStore } from '../../credstore/local-store.js';
import type { AuditLog } from '../../log/events/audit-log.js';
import type { Logger } from '../../log/logger.js';
import { PluginSlots } from '../../aa/slots.js';
import { PluginSandbox, type HookArguments, type HookName, type HookResult, type PluginLdap, type UserListSnapshot } from '../../aa/sandbox/index.js';

/** What a connection needs of its policy's AA plugin configuration. */
export interface AaPlugin {
  /** The AA plugin configuration's name. */
  readonly configuration: string;
  /** The plugin it runs (its MANIFEST name), or the one it would run when it cannot start. */
  readonly name: string;
  call<H extends HookName>(hook: H, args: HookArguments[H]): Promise<HookResult>;
}

export interface AaPluginHostOptions {
  config: GatehouseConfig;
  dataDir: string;
  guard: SealGuard;
  /** The gateway's LDAP servers, for plugins that name one (`[ldap_server] name=`). */
  ldap: PluginLdap;
  /** The unlocked credential store, if any: plugins read their own `$` entries from it. */
  credentialStore: () => LocalCredentialStore | undefined;
  log: Logger;
  /** Where plugin output lines and the host's own events go. */
  audit: AuditLog;
  /** Per-call time limit; tests lower it. Default 10 s. */
  timeoutMs?: number;
}

export class AaPluginHost {
  private constructor(private readonly plugins: Map<string, AaPlugin>, private readonly sandboxes: PluginSandbox[]) {}

  static async start(options: AaPluginHostOptions): Promise<AaPluginHost> {
    const { config, dataDir, log } = options;
    const wanted = new Set(config.connectionPolicies.flatMap((policy) => (policy.aaPluginConfiguration ? [policy.aaPluginConfiguration] : [])));
    const plugins = new Map<string, AaPlugin>();
    const sandboxes: PluginSandbox[] = [];
    if (wanted.size === 0) return new AaPluginHost(plugins, sandboxes);

    const slots = await PluginSlots.open(dataDir, { guard: options.guard, configurations: () => config.aaPluginConfigurations });
    const userLists = userListSnapshots(config);
    for (const configuration of config.aaPluginConfigurations.filter((c) => wanted.has(c.name))) {
      try {
        const active = await slots.activeVersion(configuration.plugin);
        if (!active) throw new Error(`plugin ${JSON.stringify(configuration.plugin)} is not installed`);
        const sandbox = await PluginSandbox.start({
          configName: configuration.name,
          pluginName: active.manifest.name,
          pluginDir: active.dir,
          entryPoint: active.manifest.entryPoint,
          configText: configuration.text,
          stateDir: join(dataDir, 'plugin-state', configuration.name),
          ephemeralDir: join(dataDir, 'plugin-ephemeral', configuration.name),
          userLists,
          ldap: options.ldap,
          secret: async (section, option) => pluginSecret(options.credentialStore(), configuration.name, section, option),
          secretNames: () => options.credentialStore()?.pluginSecretNames(configuration.name),
          log,
          audit: options.audit,
          ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
        });
        sandboxes.push(sandbox);
        plugins.set(configuration.name, { configuration: configuration.name, name: active.manifest.name, call: (hook, args) => sandbox.call(hook, args) });
        log.info({ aaConfig: configuration.name, plugin: active.manifest.name, version: active.version }, 'AA plugin configuration ready');
      } catch (err) {
        const reason = (err as Error).message;
        options.audit.emit('aa-plugin-unavailable', { aaConfig: configuration.name, plugin: configuration.plugin, reason });
        plugins.set(configuration.name, unavailable(configuration.name, configuration.plugin, reason));
      }
    }
    return new AaPluginHost(plugins, sandboxes);
  }

  /** The plugin of the configuration a policy names; the schema guarantees the name exists. */
  plugin(configuration: string): AaPlugin {
    const plugin = this.plugins.get(configuration);
    if (!plugin) throw new Error(`AA plugin configuration "${configuration}" was not started`);
    return plugin;
  }

  async close(): Promise<void> {
    await Promise.all(this.sandboxes.map((sandbox) => sandbox.close()));
  }
}

/** An appliance User List in SPS's terms: the listed users are the exceptions to "no user". */
function userListSnapshots(config: GatehouseConfig): Record<string, UserListSnapshot> {
  return Object.fromEntries(config.userLists.map((list) => [list.name, { allow: 'no_user', except: list.users }]));
}

function pluginSecret(store: LocalCredentialStore | undefined, scope: string, section: string, option: string): string | undefined {
  if (!store?.isUnlocked()) throw new Error('the credential store is locked or not set up');
  return store.getPluginSecret(scope, section, option);
}

function unavailable(configuration: string, plugin: string, reason: string): AaPlugin {
  return {
    configuration,
    name: plugin,
    call: async () => ({ verdict: 'DENY', failure: 'unavailable', reason: `AA plugin configuration "${configuration}" is not running: ${reason}` }),
  };
}
