// The errors of plugin packages and slots, one line each for the administrator, and how untrusted values are quoted in them.

/** A plugin package that cannot be installed. `reason` says why, e.g. "MANIFEST: version: is missing". */
export class PluginPackageError extends Error {
  constructor(readonly reason: string) {
    super(`plugin package refused: ${reason}`);
    this.name = 'PluginPackageError';
  }
}

/** A refused change to the installed plugins: an unknown plugin or version, or one still in use. */
export class PluginSlotError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PluginSlotError';
  }
}

/** A value from an untrusted package, quoted and cut short so that a message stays one short line. */
export function quote(value: unknown): string {
  if (typeof value !== 'string') return Array.isArray(value) ? 'a list' : typeof value === 'object' && value !== null ? 'a map' : String(value);
  return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}...` : value);
}
