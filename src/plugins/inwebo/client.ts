// Our own small client of inWebo's REST API (api.myinwebo.com/FS): a GET with `action`,
// `serviceId`, `userId` (the inWebo login) and `format=json`; the caller is authenticated by the
// TLS client certificate of the service, nothing else. Every answer is HTTP 200 with
// `{"err":"OK"|"NOK:<cause>", …}`; any other status (403 for a source address inWebo does not
// allow, 429, 404) is a communication error, which denies even with ignore_conn_err=yes.
import { httpsJson, type HttpsSettings } from '../sdk/https/index.js';
import { MfaCommunicationError } from '../sdk/index.js';
import type { ClientCertificate } from './client-certificate.js';

export interface InweboClientSettings {
  apiUrl: string;
  serviceId: string;
  clientCert: ClientCertificate;
  /** Per HTTP request; the SDK's [inwebo] timeout bounds the whole authentication. */
  requestTimeoutMs: number;
  https: HttpsSettings;
}

export interface InweboAnswer {
  /** `OK`, or `NOK:<cause>` (describeResult says what it means). */
  err: string;
  /** The device that authenticated, on `OK`. */
  name: string;
}

export const WAITING = 'NOK:WAITING';

const CAUSES: Record<string, string> = {
  'NOK:NOPUSH': 'no device of the user can receive push notifications',
  'NOK:NOMA': 'the user has no activated inWebo mobile app',
  'NOK:NOLOGIN': 'no such login in the inWebo service',
  'NOK:REFUSED': 'the user refused the push notification',
  'NOK:TIMEOUT': 'the push notification expired unanswered',
  [WAITING]: 'the push notification is not answered yet',
};
/** Not the user's doing but the integration's: a communication error, not "authentication failed". */
const INTEGRATION_FAULTS: Record<string, string> = {
  'NOK:SN': 'inWebo found the request malformed',
  'NOK:srv unknown': 'inWebo does not know this service_id, or the client certificate belongs to another service',
};

/** A clear message for an `err` value; the raw value stays in parentheses. */
export function describeResult(err: string): string {
  return `${CAUSES[err] ?? INTEGRATION_FAULTS[err] ?? 'refused'} (${err})`;
}

export class InweboClient {
  constructor(
    private readonly settings: InweboClientSettings,
    private readonly signal: AbortSignal,
  ) {}

  authenticateExtended(login: string, token: string): Promise<InweboAnswer> {
    return this.call('authenticateExtended', login, { token });
  }

  /** The session to poll, or the refusal (NOK:NOPUSH, NOK:NOMA, …). */
  async pushAuthenticate(login: string): Promise<{ sessionId: string } | InweboAnswer> {
    const { answer, json } = await this.request('pushAuthenticate', login, {});
    if (answer.err !== 'OK') return answer;
    if (typeof json.sessionId !== 'string' || json.sessionId === '') throw new MfaCommunicationError('inWebo pushAuthenticate: OK without a sessionId');
    return { sessionId: json.sessionId };
  }

  checkPushResult(login: string, sessionId: string): Promise<InweboAnswer> {
    return this.call('checkPushResult', login, { sessionId });
  }

  private async call(action: string, login: string, params: Record<string, string>): Promise<InweboAnswer> {
    return (await this.request(action, login, params)).answer;
  }

  private async request(action: string, login: string, params: Record<string, string>) {
    const { apiUrl, serviceId, clientCert, requestTimeoutMs, https } = this.settings;
    const url = new URL(apiUrl);
    for (const [name, value] of Object.entries({ action, serviceId, userId: login, format: 'json', ...params })) url.searchParams.set(name, value);
    const { status, json } = await httpsJson({
      method: 'GET',
      url: url.href,
      headers: { accept: 'application/json', 'user-agent': 'gatehouse-inwebo/0.1.0' },
      ...https,
      clientCert,
      timeoutMs: requestTimeoutMs,
      signal: this.signal,
    });
    if (status !== 200) throw new MfaCommunicationError(`inWebo ${action}: HTTP ${status}${status === 429 ? ' (rate limited)' : ''}`);
    if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new MfaCommunicationError(`inWebo ${action}: the answer is not a JSON object`);
    const body = json as Record<string, unknown>;
    if (typeof body.err !== 'string') throw new MfaCommunicationError(`inWebo ${action}: no "err" in the answer`);
    if (body.err in INTEGRATION_FAULTS) throw new MfaCommunicationError(`inWebo ${action}: ${describeResult(body.err)}`);
    return { answer: { err: body.err, name: typeof body.name === 'string' ? body.name : '' }, json: body };
  }
}
