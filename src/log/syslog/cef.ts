// ArcSight Common Event Format (CEF:0) for an audit record: one line, escaped per the CEF spec.
import { type AuditRecord, type Severity } from './record.js';
import { escapeSet, escapeText } from './text.js';

export interface CefDevice {
  vendor: string;
  product: string;
  version: string;
}

// CEF severity is 0 (lowest) .. 10 (highest).
const CEF_SEVERITY: Record<Severity, number> = { emergency: 10, alert: 9, critical: 8, error: 7, warning: 5, notice: 3, info: 1, debug: 0 };
const HEADER_ESCAPES = escapeSet('\\|'); // header: '|' and '\'
const VALUE_ESCAPES = escapeSet('\\='); // extension values: '=' and '\'; newlines become \n, \r
const KEY = /^[A-Za-z0-9_]+$/;
const RESERVED = new Set(['rt', 'seq']);

export function formatCef(record: AuditRecord, device: CefDevice): string {
  const header = [device.vendor, device.product, device.version, record.eventId, record.name].map((h) => escapeText(h, HEADER_ESCAPES));
  const extension = [`rt=${record.time.getTime()}`, `seq=${record.sequence}`];
  for (const [key, value] of Object.entries(record.fields)) {
    if (!KEY.test(key) || RESERVED.has(key)) throw new Error(`invalid CEF extension key ${JSON.stringify(key)}`);
    extension.push(`${key}=${value === null ? '' : escapeText(String(value), VALUE_ESCAPES)}`);
  }
  return `CEF:0|${header.join('|')}|${CEF_SEVERITY[record.severity]}|${extension.join(' ')}`;
}
