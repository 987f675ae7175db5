// The security event catalogue: every event the appliance reports to its audit journal and syslog targets.
// Ids are stable (SIEM rules match on them): rename one only with a new id. Field lists are exact, and no
// field ever carries a secret: passwords, OTPs, seeds, keys and plugin `$` values have no field here.
import type { Severity } from '../syslog/record.js';

interface EventDefinition {
  severity: Severity;
  /** The one-line description: the syslog MSG, the CEF name, the log line's text. */
  name: string;
  fields: readonly string[];
}

// Fields that say where an event happened, shared by the events of one client connection.
const connection = ['sessionId', 'clientIp'] as const;

export const AUDIT_EVENTS = {
  'gateway-started': { severity: 'notice', name: 'gateway started', fields: ['version', 'configVersion', 'listeners', 'syslogTargets'] },
  'gateway-stopping': { severity: 'notice', name: 'gateway stopping', fields: ['signal'] },

  'login-succeeded': { severity: 'info', name: 'gateway login succeeded', fields: [...connection, 'gatewayUser', 'gatewayGroups', 'method', 'backend', 'aaConfig'] },
  'login-failed': { severity: 'warning', name: 'gateway login failed', fields: [...connection, 'gatewayUser', 'method', 'backend', 'reason', 'detail', 'failures'] },
  'mfa-accepted': { severity: 'info', name: 'second factor accepted', fields: [...connection, 'gatewayUser', 'aaConfig', 'plugin', 'authentication', 'mfaIdentity'] },
  'mfa-bypassed': { severity: 'notice', name: 'second factor not asked', fields: [...connection, 'gatewayUser', 'aaConfig', 'plugin', 'bypass'] },
  'mfa-denied': { severity: 'warning', name: 'second factor denied', fields: [...connection, 'gatewayUser', 'aaConfig', 'reason'] },
  'aa-plugin-unavailable': { severity: 'error', name: 'AA plugin configuration cannot run: its policies deny every login', fields: ['aaConfig', 'plugin', 'reason'] },
  'directory-unavailable': { severity: 'error', name: 'gateway authentication backend unavailable', fields: [...connection, 'gatewayUser', 'backend', 'reason'] },
  'rate-limit-lockout': { severity: 'warning', name: 'client IP locked out after repeated failures', fields: [...connection, 'failures'] },
  'rate-limit-refused': { severity: 'warning', name: 'connection from a locked-out client IP refused', fields: ['clientIp', 'retryAfterMs'] },
  'connection-refused': { severity: 'warning', name: 'connection refused', fields: ['clientIp', 'reason'] },

  'usermapping-denied': { severity: 'warning', name: 'usermapping policy refused the server user', fields: [...connection, 'gatewayUser', 'serverUser', 'target', 'policy', 'reason'] },
  'target-denied': { severity: 'warning', name: 'target refused', fields: [...connection, 'gatewayUser', 'serverUser', 'target', 'policy', 'reason'] },
  'aa-authorize-denied': { severity: 'warning', name: 'AA plugin denied the session', fields: [...connection, 'gatewayUser', 'serverUser', 'target', 'aaConfig', 'reason'] },
  'channel-denied': { severity: 'warning', name: 'channel refused by the channel policy', fields: [...connection, 'gatewayUser', 'target', 'channel', 'detail', 'reason'] },
  'upstream-failed': { severity: 'warning', name: 'could not log in to the target', fields: [...connection, 'gatewayUser', 'serverUser', 'target', 'kind', 'reason', 'detail', 'fingerprint', 'expectedFingerprints'] },
  'target-host-key-learned': { severity: 'notice', name: 'trusted a new target host key on first use', fields: [...connection, 'target', 'fingerprint'] },
  'session-started': { severity: 'info', name: 'session started', fields: [...connection, 'clientPort', 'gatewayUser', 'serverUser', 'target', 'policy'] },
  'session-ended': {
    severity: 'info',
    name: 'session ended',
    fields: [...connection, 'clientPort', 'gatewayUser', 'serverUser', 'target', 'policy', 'result', 'reason', 'upstream', 'durationMs', 'bytesFromClient', 'bytesToClient', 'channels', 'aaMetadata', 'recording'],
  },
  'session-killed': { severity: 'notice', name: 'session ended by an administrator', fields: [...connection, 'gatewayUser', 'serverUser', 'target', 'reason', 'origin'] },
  'recording-failed': { severity: 'error', name: 'session recording failed: the channel is no longer recorded', fields: [...connection, 'gatewayUser', 'target', 'recording', 'reason'] },
  'recording-deleted': { severity: 'notice', name: 'session recording deleted by retention', fields: ['recording', 'policy', 'reason', 'bytes', 'ageDays'] },
  'connection-database-failed': { severity: 'error', name: 'connection database failure: sessions go on, but are not all searchable', fields: ['operation', 'reason'] },
  'sessions-interrupted': { severity: 'warning', name: 'sessions found running at start: the gateway stopped before they ended', fields: ['count', 'sessions'] },

  'config-committed': { severity: 'notice', name: 'configuration committed', fields: ['version', 'author', 'origin', 'change', 'message'] },
  'appliance-sealed': { severity: 'notice', name: 'appliance sealed: remote configuration changes refused', fields: ['version', 'author', 'origin'] },
  'factory-reset': { severity: 'warning', name: 'factory reset: configuration, credential store, keys, recordings and events erased', fields: ['origin'] },
  'appliance-unsealed': { severity: 'warning', name: 'appliance unsealed at the console', fields: ['version', 'author', 'origin'] },
  'plugin-installed': { severity: 'notice', name: 'AA plugin installed', fields: ['plugin', 'version', 'sha256', 'origin'] },
  'plugin-activated': { severity: 'notice', name: 'AA plugin version activated', fields: ['plugin', 'version', 'origin'] },
  'plugin-deleted': { severity: 'notice', name: 'AA plugin deleted', fields: ['plugin', 'version', 'origin'] },
  'plugin-log': { severity: 'info', name: 'plugin output', fields: ['plugin', 'stream'] },

  'credential-store-created': { severity: 'notice', name: 'credential store created', fields: ['mode', 'origin'] },
  'credential-store-unlocked': { severity: 'notice', name: 'credential store unlocked', fields: ['mode', 'origin'] },
  'credential-store-start-locked': { severity: 'warning', name: 'credential store is locked: unlock it with `gatehouse credstore unlock`', fields: ['mode', 'parts'] },
  'credential-store-locked': { severity: 'notice', name: 'credential store locked', fields: ['origin'] },
  'credential-store-failure': { severity: 'error', name: 'credential store failure', fields: [...connection, 'operation', 'reason', 'origin'] },
  'credential-store-changed': { severity: 'notice', name: 'credential store changed', fields: ['change', 'mode', 'hostPattern', 'username', 'scope', 'section', 'option', 'entry', 'origin'] },

  'syslog-target-down': { severity: 'warning', name: 'syslog target unreachable: events wait in the journal', fields: ['target', 'reason', 'backlog'] },
  'syslog-target-up': { severity: 'notice', name: 'syslog target reachable again', fields: ['target', 'downMs', 'resending'] },
  'audit-events-dropped': { severity: 'error', name: 'audit events dropped', fields: ['target', 'reason', 'count', 'firstSequence', 'lastSequence'] },
} as const satisfies Record<string, EventDefinition>;

export type AuditEventId = keyof typeof AUDIT_EVENTS;
export type FieldValue = string | number | boolean | null;

/** The fields of one event: each named field may be given (absent means null), no other. */
export type AuditFields<K extends AuditEventId> = Partial<Record<(typeof AUDIT_EVENTS)[K]['fields'][number], FieldValue>>;

export function isAuditEventId(id: string): id is AuditEventId {
  return Object.hasOwn(AUDIT_EVENTS, id);
}
