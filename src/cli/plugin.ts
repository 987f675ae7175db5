// `gatehouse plugin ...`: install AA plugin packages into slots, switch versions, and manage the
// AA plugin configurations (named instances with their ini text) that connection policies name.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { newPluginConfiguration } from '../aa/plugin-configuration.js';
import { PluginSlots } from '../aa/slots.js';
import type { ConfigStore } from '../config/store.js';
import { cliAudit, reportCommit } from './audit.js';
import { changeAuthor, changeOrigin } from './origin.js';
import { dataDirectory } from './paths.js';
import { openConfigStore } from './stores.js';

const help = `Usage: gatehouse plugin <action> [options]

  install ZIP                     install an AA plugin package; the new version becomes active
  list                            installed plugins, their versions and the active one
  activate NAME VERSION           make an installed version active (e.g. roll back)
  remove NAME [VERSION]           remove a version, or the whole plugin; refused while an AA plugin
                                  configuration uses it
  config create NAME --plugin P   a new AA plugin configuration, its text taken from the plugin's default.cfg
  config edit NAME --file F       replace a configuration's ini text with the contents of F
  config show NAME                print a configuration's ini text
  config remove NAME              remove a configuration (refused while a connection policy names it)

A package is a zip with a MANIFEST (YAML: name, description, version, type: aa, api, entry_point,
author_name, author_email), its entry module and an optional default.cfg. Install refuses, leaving
nothing behind: a bad MANIFEST, an incompatible api, paths leaving the package, links, more than
20 MiB unpacked, a version already installed. While the appliance is sealed only the local console
may install, activate or remove plugins or change their configurations.
`;

export async function pluginCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { plugin: { type: 'string' }, file: { type: 'string' }, message: { type: 'string', short: 'm' }, help: { type: 'boolean', short: 'h' } },
  });
  const [action, first, second] = positionals;
  if (values.help || !action) {
    process.stdout.write(help);
    return values.help ? 0 : 2;
  }
  const dataDir = dataDirectory();
  const store = await openConfigStore(dataDir);
  const slots = await PluginSlots.open(dataDir, { guard: store.guard, configurations: () => store.current().config.aaPluginConfigurations });
  const origin = changeOrigin();

  switch (action) {
    case 'install': {
      if (!first) throw new Error('plugin install needs a ZIP');
      const sha256 = createHash('sha256').update(await readFile(first)).digest('hex');
      const installed = await slots.install(origin, first);
      cliAudit(dataDir).emit('plugin-installed', { plugin: installed.name, version: installed.version, sha256, origin });
      process.stdout.write(`installed ${installed.name} ${installed.version} (active)\n`);
      return 0;
    }
    case 'list':
      for (const plugin of await slots.list()) process.stdout.write(`${plugin.name}\tactive ${plugin.active}\tversions ${plugin.versions.join(', ')}\n`);
      return 0;
    case 'activate': {
      if (!first || !second) throw new Error('plugin activate needs NAME and VERSION');
      const active = await slots.activate(origin, first, second);
      cliAudit(dataDir).emit('plugin-activated', { plugin: active.name, version: active.version, origin });
      process.stdout.write(`${active.name} ${active.version} is active\n`);
      return 0;
    }
    case 'remove':
      if (!first) throw new Error('plugin remove needs a NAME');
      await slots.remove(origin, first, second);
      cliAudit(dataDir).emit('plugin-deleted', { plugin: first, version: second ?? null, origin });
      process.stdout.write(`removed ${first}${second ? ` ${second}` : ''}\n`);
      return 0;
    case 'config':
      return configurationAction(store, slots, first, second, values);
    default:
      throw new Error(`unknown plugin action "${action}"`);
  }
}

async function configurationAction(
  store: ConfigStore,
  slots: PluginSlots,
  action: string | undefined,
  name: string | undefined,
  values: { plugin?: string; file?: string; message?: string },
): Promise<number> {
  if (!action || !name) throw new Error('plugin config needs an action (create, edit, show, remove) and a NAME');
  const config = structuredClone(store.current().config);
  const existing = config.aaPluginConfigurations.find((c) => c.name === name);
  if (action === 'show') {
    if (!existing) throw new Error(`no AA plugin configuration named "${name}"`);
    process.stdout.write(existing.text.endsWith('\n') || existing.text === '' ? existing.text : `${existing.text}\n`);
    return 0;
  }
  if (action === 'create') {
    if (existing) throw new Error(`an AA plugin configuration named "${name}" already exists`);
    if (!values.plugin) throw new Error('plugin config create needs --plugin P');
    config.aaPluginConfigurations.push(await newPluginConfiguration(name, values.plugin, slots));
  } else if (action === 'edit') {
    if (!existing) throw new Error(`no AA plugin configuration named "${name}"`);
    if (!values.file) throw new Error('plugin config edit needs --file F');
    existing.text = await readFile(values.file, 'utf8');
  } else if (action === 'remove') {
    if (!existing) throw new Error(`no AA plugin configuration named "${name}"`);
    config.aaPluginConfigurations = config.aaPluginConfigurations.filter((c) => c !== existing);
  } else {
    throw new Error(`unknown plugin config action "${action}"`);
  }
  const committed = await store.commit({ origin: changeOrigin(), author: changeAuthor(), message: values.message ?? `plugin config ${action} ${name}`, config });
  reportCommit(dataDirectory(), committed, `plugin-config-${action}`);
  process.stdout.write(`plugin config ${action} ${name}: version ${committed.version} (restart the gateway to apply)\n`);
  return 0;
}
