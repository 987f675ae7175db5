// A journal entry as one wire frame for one syslog target: its format (RFC 5424 text, JSON body or CEF
// body, always inside an RFC 5424 header with `[meta sequenceId]`), then its transport's framing.
import type { JournalEntry } from '../events/entry.js';
import { formatCef, type CefDevice } from './cef.js';
import { fitDatagram, octetCount } from './framing.js';
import { formatJson } from './json.js';
import type { AuditRecord } from './record.js';
import { toRfc5424 } from './rfc5424.js';

export type SyslogFormat = 'rfc5424' | 'json' | 'cef';
export type SyslogTransport = 'udp' | 'tcp' | 'tls';

export interface FrameSettings {
  format: SyslogFormat;
  transport: SyslogTransport;
  facility: number;
  hostname: string;
  appName: string;
  device: CefDevice;
  /** UDP only: datagrams are cut to this size (RFC 5426). */
  maxDatagramBytes?: number;
}

const MAX_SEQUENCE_ID = 2147483647;

/** RFC 5424's sequenceId runs 1..2147483647 and then starts again at 1. */
export function sequenceId(seq: number): number {
  return ((seq - 1) % MAX_SEQUENCE_ID) + 1;
}

export function auditRecord(entry: JournalEntry): AuditRecord {
  return {
    eventId: entry.eventId,
    name: entry.name,
    severity: entry.severity,
    time: entry.time,
    fields: { source: entry.source, ...entry.fields },
    sequence: sequenceId(entry.seq),
  };
}

export function formatFrame(entry: JournalEntry, settings: FrameSettings): Buffer {
  const record = auditRecord(entry);
  const header = { facility: settings.facility, hostname: settings.hostname, appName: settings.appName };
  const body = settings.format === 'json' ? formatJson(record, settings) : settings.format === 'cef' ? formatCef(record, settings.device) : undefined;
  const message = toRfc5424(record, header, body);
  return settings.transport === 'udp' ? fitDatagram(message, settings.maxDatagramBytes) : octetCount(message);
}
