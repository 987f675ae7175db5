// RFC 5424 message formatting (pure; framing and transports live elsewhere).
import type { AuditRecord } from './record.js';
import { severityCode } from './record.js';
import { escapeSet, escapeText } from './text.js';

export type SdParam = [name: string, value: string];
export interface SdElement {
  id: string;
  params: SdParam[];
}

export interface Rfc5424Message {
  facility: number;
  severity: number;
  timestamp: Date;
  hostname?: string;
  appName?: string;
  procId?: string;
  msgId?: string;
  structuredData: SdElement[];
  message?: string;
  /** Start MSG with the UTF-8 BOM (RFC 5424 §6.4: SHOULD when MSG is UTF-8). */
  bom?: boolean;
  /**
   * MSG is a structured body (JSON, CEF) that escapes its own backslashes: only control characters are
   * escaped, as `\uXXXX`, which JSON reads back and which CEF's own escaping has already removed.
   */
  structuredBody?: boolean;
}

/** Our private SD-ID. 32473 is the IANA documentation PEN (RFC 5612); replace it once we register a PEN. */
export const GATEHOUSE_SD_ID = 'gatehouse@32473';

// SD-NAME (SD-ID and PARAM-NAME): 1..32 PRINTUSASCII except '=', SP, ']' and '"'.
const SD_NAME = /^(?:(?![= \]"])[\x21-\x7e]){1,32}$/;
const VALUE_ESCAPES = escapeSet('\\"]'); // RFC 5424 §6.3.3, plus control characters
const MSG_ESCAPES = escapeSet('\\'); // backslash too, so an escaped control reads back unambiguously
const BODY_ESCAPES = escapeSet('');

/** Formats one message; the result is always a single line of valid UTF-8. */
export function formatRfc5424(m: Rfc5424Message): Buffer {
  if (!Number.isInteger(m.facility) || m.facility < 0 || m.facility > 23) throw new RangeError(`syslog facility ${m.facility} is not 0..23`);
  if (!Number.isInteger(m.severity) || m.severity < 0 || m.severity > 7) throw new RangeError(`syslog severity ${m.severity} is not 0..7`);
  const head = [
    `<${m.facility * 8 + m.severity}>1`,
    timestamp(m.timestamp),
    headerField(m.hostname, 255),
    headerField(m.appName, 48),
    headerField(m.procId, 128),
    headerField(m.msgId, 32),
    m.structuredData.length ? m.structuredData.map(sdElement).join('') : '-',
  ].join(' ');
  const msg = m.message ? ' ' + (m.bom ? '\uFEFF' : '') + escapeText(m.message, m.structuredBody ? BODY_ESCAPES : MSG_ESCAPES) : '';
  return Buffer.from(head + msg, 'utf8');
}

export interface Rfc5424Header {
  facility: number;
  hostname: string;
  appName: string;
  procId?: string;
}

/**
 * An audit record as RFC 5424: MSGID = event id, MSG = name, fields in one `gatehouse@32473` element
 * (null fields omitted), and `[meta sequenceId]` (RFC 5424 §7.3.1) so gaps are detectable.
 * With `body` (a JSON or CEF rendering of the record) MSG is that body and only `meta` stays in SD.
 */
export function toRfc5424(record: AuditRecord, header: Rfc5424Header, body?: string): Buffer {
  if (!Number.isInteger(record.sequence) || record.sequence < 1 || record.sequence > 2147483647) {
    throw new RangeError(`sequenceId ${record.sequence} is not 1..2147483647`);
  }
  const params: SdParam[] = body === undefined ? Object.entries(record.fields).flatMap(([k, v]) => (v === null ? [] : [[k, String(v)] as SdParam])) : [];
  return formatRfc5424({
    ...header,
    severity: severityCode(record.severity),
    timestamp: record.time,
    msgId: record.eventId,
    structuredData: [...(params.length ? [{ id: GATEHOUSE_SD_ID, params }] : []), { id: 'meta', params: [['sequenceId', String(record.sequence)]] }],
    message: body ?? record.name,
    structuredBody: body !== undefined,
    bom: true,
  });
}

function timestamp(date: Date): string {
  const iso = date.toISOString(); // UTC, milliseconds, "Z"; throws on an invalid date
  if (!/^\d{4}-/.test(iso)) throw new RangeError(`syslog timestamp ${iso} is outside years 0000..9999`);
  return iso;
}

// Header fields come from the system or config: anything outside PRINTUSASCII becomes '_' and overlong values
// are cut, rather than losing the event.
function headerField(value: string | undefined, max: number): string {
  return value ? value.replace(/[^\x21-\x7e]/g, '_').slice(0, max) : '-';
}

// SD-IDs and PARAM-NAMEs come from our own catalogue, so a bad one is a programming error.
function sdName(kind: string, name: string): string {
  if (!SD_NAME.test(name)) throw new Error(`invalid RFC 5424 ${kind} ${JSON.stringify(name)}: need 1-32 printable ASCII characters other than '=', space, ']' and '"'`);
  return name;
}

function sdElement(e: SdElement): string {
  const params = e.params.map(([n, v]) => ` ${sdName('PARAM-NAME', n)}="${escapeText(v, VALUE_ESCAPES)}"`);
  return `[${sdName('SD-ID', e.id)}${params.join('')}]`;
}
