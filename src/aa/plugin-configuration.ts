// A new AA plugin configuration (a named instance of a plugin), pre-filled for the configuration store to commit.
import type { GatehouseConfig } from '../config/schema.js';
import { PluginSlotError } from './errors.js';
import type { PluginSlots } from './slots.js';

export type AaPluginConfiguration = GatehouseConfig['aaPluginConfigurations'][number];

/**
 * `{ name, plugin, text }` with the text taken from the active version's default.cfg (or empty).
 * Writes nothing: the caller commits it as part of a new configuration.
 */
export async function newPluginConfiguration(name: string, plugin: string, slots: Pick<PluginSlots, 'activeVersion'>): Promise<AaPluginConfiguration> {
  const active = await slots.activeVersion(plugin);
  if (!active) throw new PluginSlotError(`no plugin named ${JSON.stringify(plugin)} is installed`);
  return { name, plugin, text: active.defaultConfig ?? '' };
}
