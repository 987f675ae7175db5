// One audit event as it is stored (journal line, inbox file) before a syslog target formats it, and its codec.
// Decoding validates everything: inbox files and journal lines are input, whoever wrote them.
import { SEVERITIES, type Severity } from '../syslog/record.js';
import { isAuditEventId, type FieldValue } from './catalogue.js';

export interface AuditEntry {
  time: Date;
  eventId: string;
  severity: Severity;
  name: string;
  /** Who reported it: "gateway", "cli", or "plugin:<name>" for a plugin's own log lines. */
  source: string;
  fields: Record<string, FieldValue>;
}

/** A journal entry with its place in the journal: 1, 2, 3, … for the appliance's whole life. */
export interface JournalEntry extends AuditEntry {
  seq: number;
}

export function encodeEntry(entry: AuditEntry | JournalEntry): string {
  const seq = 'seq' in entry ? { seq: entry.seq } : {};
  return JSON.stringify({ ...seq, time: entry.time.toISOString(), eventId: entry.eventId, severity: entry.severity, name: entry.name, source: entry.source, fields: entry.fields });
}

export class EntryFormatError extends Error {}

export function decodeEntry(text: string): AuditEntry {
  return entryFrom(parseObject(text));
}

export function decodeJournalEntry(text: string): JournalEntry {
  const raw = parseObject(text);
  const seq = raw.seq;
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 1) throw new EntryFormatError('bad seq');
  return { ...entryFrom(raw), seq };
}

function parseObject(text: string): Record<string, unknown> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new EntryFormatError('not JSON');
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new EntryFormatError('not an object');
  return raw as Record<string, unknown>;
}

function entryFrom(raw: Record<string, unknown>): AuditEntry {
  const { time, eventId, severity, name, source, fields } = raw;
  const date = typeof time === 'string' ? new Date(time) : new Date(NaN);
  if (Number.isNaN(date.getTime())) throw new EntryFormatError('bad time');
  if (typeof eventId !== 'string' || !isAuditEventId(eventId)) throw new EntryFormatError('unknown event id');
  if (typeof severity !== 'string' || !(SEVERITIES as readonly string[]).includes(severity)) throw new EntryFormatError('bad severity');
  if (typeof name !== 'string' || typeof source !== 'string' || !/^[\x21-\x7e]{1,64}$/.test(source)) throw new EntryFormatError('bad name or source');
  if (typeof fields !== 'object' || fields === null || Array.isArray(fields)) throw new EntryFormatError('bad fields');
  for (const value of Object.values(fields)) {
    if (value !== null && !['string', 'number', 'boolean'].includes(typeof value)) throw new EntryFormatError('a field is not a string, number, boolean or null');
  }
  return { time: date, eventId, severity: severity as Severity, name, source, fields: fields as Record<string, FieldValue> };
}

