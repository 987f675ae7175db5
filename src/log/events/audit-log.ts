// The one way security events are reported: `audit.emit('login-failed', {...})` writes the local log line
// (pino) and hands the event to the sink (the gateway's journal, or the CLI's inbox) for the syslog targets.
import type { Logger } from '../logger.js';
import type { Severity } from '../syslog/record.js';
import { AUDIT_EVENTS, type AuditEventId, type AuditFields, type FieldValue } from './catalogue.js';
import type { AuditEntry } from './entry.js';

export interface AuditSink {
  /** Must not throw and must not block on the network: logins wait for it. */
  append(entry: AuditEntry): void;
}

/** Fields every event of a connection carries when its catalogue entry lists them. */
export interface AuditContext {
  sessionId?: string;
  clientIp?: string;
}

type PinoLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug';
const PINO_LEVEL: Record<Severity, PinoLevel> = { emergency: 'fatal', alert: 'fatal', critical: 'fatal', error: 'error', warning: 'warn', notice: 'info', info: 'info', debug: 'debug' };

// A plugin's own level names (SPS log_level) to syslog severities; unknown ones are info.
const PLUGIN_SEVERITY: Record<string, Severity> = { debug: 'debug', info: 'info', warn: 'warning', warning: 'warning', error: 'error', critical: 'critical', fatal: 'critical' };

export class AuditLog {
  constructor(
    private readonly log: Logger,
    private readonly sink: AuditSink | undefined,
    private readonly source = 'gateway',
    private readonly context: AuditContext = {},
  ) {}

  /** An audit log whose events also carry `context`, logging through `log` (a child carrying the same context). */
  child(log: Logger, context: AuditContext): AuditLog {
    return new AuditLog(log, this.sink, this.source, { ...this.context, ...context });
  }

  emit<K extends AuditEventId>(eventId: K, fields: AuditFields<K>): void {
    const definition = AUDIT_EVENTS[eventId];
    const all: Record<string, FieldValue> = {};
    for (const name of definition.fields) {
      const value = (fields as Record<string, FieldValue | undefined>)[name] ?? (this.context as Record<string, FieldValue | undefined>)[name];
      all[name] = value ?? null;
    }
    this.record(eventId, definition.severity, definition.name, this.source, all);
  }

  /** A plugin's log line, tagged `plugin:<name>` (the string SPS tells admins to filter on). */
  pluginLine(plugin: string, stream: 'log' | 'stdout' | 'stderr', level: string, text: string): void {
    // Own keys only: a plugin's level "constructor" or "__proto__" must not reach Object.prototype.
    const key = level.toLowerCase();
    const severity = Object.hasOwn(PLUGIN_SEVERITY, key) ? PLUGIN_SEVERITY[key]! : 'info';
    const tag = `plugin:${plugin}`;
    this.record('plugin-log', severity, `${tag}: ${text}`, tag, { plugin, stream });
  }

  private record(eventId: AuditEventId, severity: Severity, name: string, source: string, fields: Record<string, FieldValue>): void {
    this.log[PINO_LEVEL[severity]]({ event: eventId, ...fields }, name);
    this.sink?.append({ time: new Date(), eventId, severity, name, source, fields });
  }
}
