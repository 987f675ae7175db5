// The MANIFEST of an AA plugin package: YAML read with every value kept as written, checked field
// by field, and the package's compatibility with this appliance.
import { parseDocument } from 'yaml';
import { z } from 'zod';
import type { Appliance } from './appliance.js';
import { PluginPackageError, quote } from './errors.js';
import { compareVersions, isVersion, isVersionBound } from './version.js';

export interface PluginManifest {
  name: string;
  description: string;
  version: string;
  type: 'aa';
  /** MAJOR.MINOR of the plugin API the plugin was written for. */
  api: string;
  /** The module the plugin host loads, relative to the package root. */
  entryPoint: string;
  authorName: string;
  authorEmail: string;
  /** Lowest appliance version; a trailing "~" admits its pre-releases. */
  minApplianceVersion?: string;
  /** Highest appliance version; "X~" means "below X". */
  maxApplianceVersion?: string;
}

/**
 * A plugin's name is its directory name and what `aaPluginConfigurations[].plugin` refers to, so
 * it follows the configuration's rule for names (no dots: nothing can start with ".").
 */
const PLUGIN_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
/** Path segments that cannot be "." or "..", ending in a JavaScript module. */
const ENTRY_POINT = /^(?:[A-Za-z0-9_-][A-Za-z0-9._-]*\/)*[A-Za-z0-9_-][A-Za-z0-9._-]*\.[mc]?js$/;
const API = /^(\d{1,9})\.(\d{1,9})$/;
const MAX_MANIFEST_BYTES = 64 * 1024;

export function isPluginName(text: string): boolean {
  return PLUGIN_NAME.test(text);
}

/** A field that holds one value (not a list or a map); with the failsafe schema every value is a string. */
const text = () => z.string({ error: (issue) => (issue.input === undefined ? 'is missing' : `expected a single value, not ${quote(issue.input)}`) });
const bound = () => text().refine(isVersionBound, 'expected a version such as 8.1.0, or 9.0~ for "below 9.0"').optional();

const manifestSchema = z
  .object({
    name: text().regex(PLUGIN_NAME, 'expected 1 to 64 letters, digits, "_" or "-", starting with a letter or digit'),
    description: text().max(1000, 'expected at most 1000 characters'),
    version: text().refine(isVersion, 'expected a version such as 1.0, 2.3.1 or 1.0.0-beta.2'),
    type: text().refine((type) => type === 'aa', { error: (issue) => `expected "aa" (this appliance installs AA plugins only), not ${quote(issue.input)}` }),
    api: text().regex(API, 'expected MAJOR.MINOR, such as 1.2'),
    entry_point: text().max(255).regex(ENTRY_POINT, 'expected the path of a .js, .mjs or .cjs module inside the package, such as main.js'),
    author_name: text().min(1, 'is empty').max(200, 'expected at most 200 characters'),
    author_email: text().max(254).regex(/^[^\s@]+@[^\s@]+$/, 'expected an e-mail address'),
    min_appliance_version: bound(),
    max_appliance_version: bound(),
    // The same bounds as SPS spells them.
    scb_min_version: bound(),
    scb_max_version: bound(),
  })
  .superRefine((m, ctx) => {
    for (const [ours, sps] of [['min_appliance_version', 'scb_min_version'], ['max_appliance_version', 'scb_max_version']] as const) {
      if (m[ours] !== undefined && m[sps] !== undefined) ctx.addIssue({ code: 'custom', path: [sps], message: `give ${ours} or ${sps}, not both` });
    }
  })
  .transform((m): PluginManifest => {
    const manifest: PluginManifest = {
      name: m.name,
      description: m.description,
      version: m.version,
      type: 'aa',
      api: m.api,
      entryPoint: m.entry_point,
      authorName: m.author_name,
      authorEmail: m.author_email,
    };
    const min = m.min_appliance_version ?? m.scb_min_version;
    const max = m.max_appliance_version ?? m.scb_max_version;
    if (min !== undefined) manifest.minApplianceVersion = min;
    if (max !== undefined) manifest.maxApplianceVersion = max;
    return manifest;
  });

/** Parses and validates a MANIFEST; a PluginPackageError names the first problem of each bad field. */
export function parseManifest(bytes: Uint8Array): PluginManifest {
  if (bytes.length > MAX_MANIFEST_BYTES) throw new PluginPackageError(`MANIFEST is larger than ${MAX_MANIFEST_BYTES / 1024} KiB`);
  let source: string;
  try {
    source = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new PluginPackageError('MANIFEST is not UTF-8 text');
  }
  let value: unknown;
  try {
    // The failsafe schema keeps every scalar a string as written: under YAML's core schema
    // `version: 1.10` would become the number 1.1. Aliases are refused, so no alias bomb and no cycle.
    const doc = parseDocument(source, { schema: 'failsafe', uniqueKeys: true, prettyErrors: true, logLevel: 'error' });
    if (doc.errors.length > 0) throw doc.errors[0];
    value = doc.toJS({ maxAliasCount: 0 });
  } catch (err) {
    throw new PluginPackageError(`MANIFEST is not valid YAML: ${firstLine(err)}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new PluginPackageError('MANIFEST must be a YAML mapping of fields such as "name: my_plugin"');
  }
  const result = manifestSchema.safeParse(value);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${issue.path.join('.') || '(top level)'}: ${issue.message}`);
    throw new PluginPackageError(`MANIFEST: ${problems.join('; ')}`);
  }
  return result.data;
}

/** Refuses a package written for another plugin API or for appliance versions that exclude this one. */
export function checkCompatibility(manifest: PluginManifest, appliance: Appliance): void {
  const [, major, minor] = (API.exec(manifest.api) ?? []).map(Number);
  const [, ourMajor, ourMinor] = (API.exec(appliance.pluginApi) ?? []).map(Number);
  if (major !== ourMajor || minor > ourMinor) {
    throw new PluginPackageError(
      `MANIFEST: api ${manifest.api} is not supported: this appliance offers plugin API ${appliance.pluginApi} (major ${ourMajor}, minor at most ${ourMinor})`,
    );
  }
  const { minApplianceVersion: min, maxApplianceVersion: max } = manifest;
  if (min !== undefined && compareVersions(appliance.version, min) < 0) {
    throw new PluginPackageError(`${manifest.name} ${manifest.version} needs appliance version ${min} or later; this appliance is ${appliance.version}`);
  }
  if (max !== undefined && compareVersions(appliance.version, max) > 0) {
    const wanted = max.endsWith('~') ? `below ${max.slice(0, -1)}` : `${max} or earlier`;
    throw new PluginPackageError(`${manifest.name} ${manifest.version} needs appliance version ${wanted}; this appliance is ${appliance.version}`);
  }
}

function firstLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.split('\n', 1)[0].slice(0, 200);
}
