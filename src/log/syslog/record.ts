// The audit record: one security event as the gateway emits it, before any wire format is chosen.

export const SEVERITIES = ['emergency', 'alert', 'critical', 'error', 'warning', 'notice', 'info', 'debug'] as const;
export type Severity = (typeof SEVERITIES)[number];

export interface AuditRecord {
  /** Catalogue id of the event, e.g. "login-failed"; becomes the MSGID / CEF signature id. */
  eventId: string;
  /** Human-readable one-line description. */
  name: string;
  severity: Severity;
  time: Date;
  /** Field names come from our catalogue; values may carry user input (usernames, commands, ...). */
  fields: Record<string, string | number | boolean | null>;
  /** Per-target counter, 1..2147483647, so a receiver can see gaps and duplicates. */
  sequence: number;
}

/** RFC 5424 numerical severity (0 emergency … 7 debug). */
export function severityCode(severity: Severity): number {
  return SEVERITIES.indexOf(severity);
}
