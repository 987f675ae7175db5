// One plugin built through the SDK as the gateway builds it (its configuration text and a fake
// context: credential-store entries, captured log lines, fresh state directories), called as a
// hook, with what the tests read back: the log, the outcome, the metadata.
import { readFileSync } from 'node:fs';
import type { Test } from 'tap';
import { PluginConfiguration, type Clock, type ConnectionArgs, type HookResult, type MfaPlugin, type PluginContext } from '../../../src/plugins/sdk/index.js';
import { fakeContext, type FakeContext } from '../fixtures/fake-context.js';

/** A file of `src/plugins/<plugin>/`, as text. */
export function pluginFile(plugin: string, name: string): string {
  return readFileSync(new URL(`../../../src/plugins/${plugin}/${name}`, import.meta.url), 'utf8');
}

/** `text` with each `option=` line (the first of that name) set to the value in `options`. */
export function withOptions(text: string, options: Record<string, string>): string {
  for (const [option, value] of Object.entries(options)) text = text.replace(new RegExp(`^${option}=.*$`, 'm'), `${option}=${value}`);
  return text;
}

export interface PluginSetup {
  Plugin: new (configuration: string, context: PluginContext, clock?: Clock) => MfaPlugin;
  configuration: string;
  /** Credential-store entries, "section/option" → value. */
  secrets: Record<string, string>;
  context?: Partial<PluginContext>;
  clock?: Clock;
  /** Hook arguments of every call, after the defaults (session s, ssh from 10.0.0.1, gateway user alice). */
  args?: ConnectionArgs;
}

export interface PluginUnderTest {
  context: FakeContext;
  /** A new plugin instance each call, as each hook call gets in the sandbox; state persists in the context's directories. */
  authenticate(args: ConnectionArgs): Promise<HookResult>;
  logged(level: string, pattern: RegExp): boolean;
}

export function pluginUnderTest(t: Test, setup: PluginSetup): PluginUnderTest {
  const context = fakeContext(t, setup.context);
  for (const [key, value] of Object.entries(setup.secrets)) context.secrets.set(key, value);
  const authenticate = (args: ConnectionArgs) =>
    new setup.Plugin(setup.configuration, context, setup.clock).authenticate({ session_id: 's', protocol: 'ssh', client_ip: '10.0.0.1', gateway_user: 'alice', ...setup.args, ...args });
  const logged = (level: string, pattern: RegExp) => context.logs.some(([l, message]) => l === level && pattern.test(message));
  return { context, authenticate, logged };
}

/** DENY's reason, else the verdict. */
export const outcome = (result: HookResult) => (result.verdict === 'DENY' ? result.reason : result.verdict);
export const metadata = (result: HookResult) => JSON.parse(result.additional_metadata ?? 'null') as unknown;

/**
 * The checks every plugin's default.cfg passes (at most 10 KiB, these sections in this order), then
 * `defaults`, the plugin's own checks of the parsed default.cfg, then its MANIFEST's (an AA plugin
 * of API 1.2 entered through main.js).
 */
export async function checkDefaultCfgAndManifest(t: Test, plugin: string, sections: string[], defaults: (config: PluginConfiguration) => Promise<void>): Promise<void> {
  const defaultCfg = pluginFile(plugin, 'default.cfg');
  t.ok(Buffer.byteLength(defaultCfg) <= 10 * 1024);
  const config = PluginConfiguration.parse(defaultCfg, async () => undefined);
  t.same(config.sectionNames(), sections);
  await defaults(config);
  t.match(pluginFile(plugin, 'MANIFEST'), new RegExp(`^name: ${plugin}\\n(.*\\n)*type: aa\\napi: "1\\.2"\\nentry_point: main\\.js\\n`, 'm'));
}
