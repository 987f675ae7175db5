// Why a directory could not answer, in words fit for the log and the audit trail (never a password).
import { ResultCodeError } from 'ldapts';

export interface FailedAttempt {
  url: string;
  reason: string;
}

/** The directory cannot answer (no server answered, TLS failed, the service account was refused): refuse the login. */
export class LdapUnavailableError extends Error {
  override readonly name = 'LdapUnavailableError';
}

/** The error after every URL of `server` failed, e.g. `ldap://a:389, ldap://b:389: connection refused`. */
export function serversUnavailable(server: string, attempts: readonly FailedAttempt[]): LdapUnavailableError {
  const urlsByReason = new Map<string, string[]>();
  for (const { url, reason } of attempts) urlsByReason.set(reason, [...(urlsByReason.get(reason) ?? []), url]);
  const summary = [...urlsByReason].map(([reason, urls]) => `${urls.join(', ')}: ${reason}`).join('; ');
  return new LdapUnavailableError(`LDAP server "${server}" unavailable: ${summary}`);
}

/** An LDAP result as "invalid credentials (49): <the server's diagnostic message, if any>". */
export function resultText(err: ResultCodeError): string {
  const words = err.name.replace(/Error$/, '').replace(/(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])/g, ' ').toLowerCase();
  const diagnostic = err.message.replace(/\s*Code: 0x[0-9a-f]+$/, '');
  return `${words} (${err.code})${diagnostic ? `: ${diagnostic}` : ''}`;
}

/** A short reason for a failed attempt: network and TLS failures by kind, LDAP results by their message. */
export function failureReason(err: unknown, timeoutSeconds: number): string {
  if (err instanceof ResultCodeError) return resultText(err);
  const { code = '', message } = err instanceof Error ? (err as NodeJS.ErrnoException) : { message: String(err) };
  // ldapts wraps socket errors as "Socket error. Message type: ...\n<the cause>".
  const text = `${code} ${message}`;
  if (/ECONNREFUSED/.test(text)) return 'connection refused';
  if (/ENOTFOUND|EAI_AGAIN/.test(text)) return 'host name not found';
  if (/EHOSTUNREACH|ENETUNREACH/.test(text)) return 'host unreachable';
  if (/before secure TLS connection/.test(text)) return 'connection closed during the TLS handshake';
  if (/ECONNRESET|EPIPE|Connection closed/.test(text)) return 'connection closed by the server';
  if (/timed? ?out/i.test(text)) return `no answer within ${timeoutSeconds} s`;
  if (/CERT|UNABLE_TO_/.test(code)) return `certificate not accepted: ${message}`;
  if (/^ERR_SSL|^ERR_TLS/.test(code)) return `TLS handshake failed: ${message}`;
  return message.split('\n').at(-1) ?? message;
}
