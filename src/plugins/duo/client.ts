// Our own small Duo Auth API v2 client (the official one pins Duo's CA and port 443, so it cannot
// be tested against a fake, and a plugin zip cannot carry it anyway). Requests are signed with
// signature v2, HMAC-SHA512, the date in X-Duo-Date; parameters form-encoded as the signature
// encodes them. HTTP 429 is retried after 1, 2, 4 … 32 s plus up to one more step of jitter, as
// Duo's clients do; still limited after that is a communication error (no outage: fail closed).
import { setTimeout as sleep } from 'node:timers/promises';
import { httpsJson, type HttpsSettings } from '../sdk/https/index.js';
import { MfaCommunicationError } from '../sdk/index.js';
import { authorization, canonicalParams, type Params } from './signature.js';

export interface DuoClientSettings {
  ikey: string;
  skey: string;
  /** The API host, optionally with a port. */
  host: string;
  /** Per HTTP request; the SDK's [duo] timeout bounds the whole authentication. */
  requestTimeoutMs: number;
  https: HttpsSettings;
  backoff?: { firstMs: number; maxMs: number };
}

export interface DuoDevice {
  device: string;
  capabilities: string[];
}

export interface Preauth {
  result: 'auth' | 'allow' | 'deny' | 'enroll';
  statusMessage: string;
  devices: DuoDevice[];
}

export interface AuthAnswer {
  result: 'allow' | 'deny' | 'waiting';
  status: string;
  statusMessage: string;
}

const USER_AGENT = 'gatehouse-duo/0.1.0';

export class DuoClient {
  constructor(
    private readonly settings: DuoClientSettings,
    private readonly signal: AbortSignal,
  ) {}

  async preauth(username: string): Promise<Preauth> {
    const response = await this.call('POST', '/auth/v2/preauth', { username });
    const devices = Array.isArray(response.devices) ? response.devices.filter(isDevice) : [];
    return { result: oneOf(response.result, ['auth', 'allow', 'deny', 'enroll'] as const), statusMessage: text(response.status_msg), devices };
  }

  /** A synchronous /auth (passcode, sms). */
  async auth(params: Params): Promise<AuthAnswer> {
    return authAnswer(await this.call('POST', '/auth/v2/auth', { ...params, async: '0' }));
  }

  /** An asynchronous /auth (push): its transaction id, for authStatus. */
  async authAsync(params: Params): Promise<string> {
    const { txid } = await this.call('POST', '/auth/v2/auth', { ...params, async: '1' });
    if (typeof txid !== 'string' || txid === '') throw new MfaCommunicationError('Duo /auth/v2/auth: no txid in the answer');
    return txid;
  }

  /** Long-polls for the next status of a transaction. */
  async authStatus(txid: string): Promise<AuthAnswer> {
    return authAnswer(await this.call('GET', '/auth/v2/auth_status', { txid }));
  }

  private async call(method: 'GET' | 'POST', path: string, params: Params): Promise<Record<string, unknown>> {
    const { firstMs, maxMs } = this.settings.backoff ?? { firstMs: 1000, maxMs: 32_000 };
    for (let delay = firstMs; ; delay *= 2) {
      const { status, json } = await this.send(method, path, params);
      if (status !== 429) return envelope(path, status, json);
      if (delay > maxMs) throw new MfaCommunicationError(`Duo ${path}: still rate limited (HTTP 429) after backing off`);
      await sleep(delay + Math.random() * firstMs, undefined, { signal: this.signal });
    }
  }

  private send(method: 'GET' | 'POST', path: string, params: Params) {
    const { ikey, skey, host, requestTimeoutMs, https } = this.settings;
    const date = new Date().toUTCString();
    const encoded = canonicalParams(params);
    const headers: Record<string, string> = {
      'x-duo-date': date,
      authorization: authorization(ikey, skey, { date, method, host: host.replace(/:\d+$/, ''), path, params }),
      'user-agent': USER_AGENT,
    };
    const post = method === 'POST';
    if (post) headers['content-type'] = 'application/x-www-form-urlencoded';
    return httpsJson({
      method,
      url: `https://${host}${path}${!post && encoded ? `?${encoded}` : ''}`,
      headers,
      ...(post ? { body: encoded } : {}),
      ...https,
      timeoutMs: requestTimeoutMs,
      signal: this.signal,
    });
  }
}

/** `{"stat":"OK","response":{…}}` with HTTP 200; anything else is Duo refusing the request. */
function envelope(path: string, status: number, json: unknown): Record<string, unknown> {
  const body = isObject(json) ? json : {};
  if (status === 200 && body.stat === 'OK' && isObject(body.response)) return body.response;
  const detail = body.message_detail === undefined ? '' : ` (${text(body.message_detail)})`;
  throw new MfaCommunicationError(`Duo ${path}: HTTP ${status} ${String(body.code ?? '')} ${text(body.message)}${detail}`.replace(/\s+/g, ' ').trim());
}

function authAnswer(response: Record<string, unknown>): AuthAnswer {
  return { result: oneOf(response.result, ['allow', 'deny', 'waiting'] as const), status: text(response.status), statusMessage: text(response.status_msg) };
}

function oneOf<T extends string>(value: unknown, allowed: readonly T[]): T {
  if (allowed.includes(value as T)) return value as T;
  throw new MfaCommunicationError(`Duo answered result ${JSON.stringify(value)}, expected one of ${allowed.join(', ')}`);
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isDevice(value: unknown): value is DuoDevice {
  return isObject(value) && typeof value.device === 'string' && Array.isArray(value.capabilities) && value.capabilities.every((c) => typeof c === 'string');
}
