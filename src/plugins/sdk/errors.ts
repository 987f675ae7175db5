// The SDK's error taxonomy: configuration mistakes, and the ways an MFA backend can fail.

/** A configuration that cannot be used; names the place: `line 7, [auth] disable_echo: ...`. */
export class PluginConfigurationError extends Error {
  constructor(
    readonly problem: string,
    readonly place: { line?: number; section?: string; option?: string } = {},
  ) {
    super(describePlace(place) + problem);
    this.name = 'PluginConfigurationError';
  }
}

function describePlace({ line, section, option }: { line?: number; section?: string; option?: string }): string {
  const parts: string[] = [];
  if (line !== undefined) parts.push(`line ${line}`);
  if (section !== undefined) parts.push(option === undefined ? `[${section}]` : `[${section}] ${option}`);
  return parts.length ? `${parts.join(', ')}: ` : '';
}

/** The backend answered, but not in a way the plugin understands: DENY. */
export class MfaCommunicationError extends Error {
  override name = 'MfaCommunicationError';
}

/** The backend could not be reached: DENY, or ACCEPT with a warning when `ignore_conn_err=yes`. */
export class MfaServiceUnreachable extends Error {
  override name = 'MfaServiceUnreachable';
}
