// Our own small client of Starling's 2FA API (reverse-documented from SPS's starling-2fa plugin):
// OTP verification, approval requests (push) and their status, and user creation, each with a
// Bearer token from `AccessTokens`. A token Starling refuses (401 with `WWW-Authenticate: Bearer
// error="invalid_token"`, RFC 6750 §3.1: revoked, or expired early) is dropped and one new token
// is tried; refused again, or rate limited (429), or any answer outside the documented ones is a
// communication error, which denies. OTPs travel in the query string, so messages name the
// endpoint, never the URL.
import { httpsJson, type HttpsJsonResponse } from '../sdk/https/index.js';
import { MfaCommunicationError } from '../sdk/index.js';
import { isObject, starlingError } from './json.js';
import type { StarlingSettings } from './settings.js';
import type { AccessTokens } from './token.js';

export type OtpAnswer = 'accepted' | 'rejected' | 'unknown-user';
export type ApprovalStatus = 'pending' | 'approved' | 'denied' | 'expired';
const APPROVAL_STATUSES: readonly string[] = ['pending', 'approved', 'denied', 'expired'];

export interface ApprovalRequest {
  message: string;
  secondsToExpire: number;
  details: Record<string, string>;
}

export interface NewUser {
  phone: string;
  email: string;
  displayName: string;
}

/** Starling's errorCode when it cannot create (or find) a user from these details. */
export const INVALID_USER_ERROR = 60016;

export class StarlingClient {
  constructor(
    private readonly settings: StarlingSettings,
    private readonly tokens: AccessTokens,
    private readonly signal: AbortSignal,
  ) {}

  async verify(userId: string, otp: string): Promise<OtpAnswer> {
    const { status, json } = await this.call('verify', 'GET', `/v1/Users/${encodeURIComponent(userId)}/verify?tokenResponse=${encodeURIComponent(otp)}`);
    if (status === 200) return 'accepted';
    if (status === 401) return 'rejected';
    if (status === 404) return 'unknown-user';
    throw refused('verify', status, json);
  }

  /** Sends a push; resolves to the approval request's id, or undefined when Starling has no such user. */
  async requestApproval(userId: string, request: ApprovalRequest): Promise<string | undefined> {
    const { status, json } = await this.call('approvalrequests', 'POST', `/v1/Users/${encodeURIComponent(userId)}/approvalrequests`, request);
    if (status === 404) return undefined;
    return idOf('approvalrequests', status, json);
  }

  async approvalStatus(requestId: string): Promise<ApprovalStatus> {
    const { status, json } = await this.call('ApprovalRequests', 'GET', `/v1/ApprovalRequests/${encodeURIComponent(requestId)}`);
    if (status !== 200) throw refused('ApprovalRequests', status, json);
    const answer = isObject(json) ? json.status : undefined;
    if (typeof answer === 'string' && APPROVAL_STATUSES.includes(answer)) return answer as ApprovalStatus;
    throw new MfaCommunicationError(`Starling ApprovalRequests: status ${JSON.stringify(answer)}, expected one of ${APPROVAL_STATUSES.join(', ')}`);
  }

  /** The new user's id, or Starling's message when it refuses these details (errorCode 60016). */
  async createUser(user: NewUser): Promise<{ id: string } | { invalid: string }> {
    const { status, json } = await this.call('Users', 'POST', '/v1/Users', user);
    const error = starlingError(json);
    if (status >= 400 && error.code === INVALID_USER_ERROR) return { invalid: error.message };
    return { id: idOf('Users', status, json) };
  }

  private async call(endpoint: string, method: 'GET' | 'POST', path: string, body?: object): Promise<HttpsJsonResponse> {
    const { apiUrl, requestTimeoutMs, https } = this.settings;
    for (let attempt = 1; ; attempt++) {
      const token = await this.tokens.get();
      const response = await httpsJson({
        method,
        url: `${apiUrl}${path}`,
        headers: { authorization: `Bearer ${token}`, accept: 'application/json', ...(body ? { 'content-type': 'application/json' } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
        ...https,
        timeoutMs: requestTimeoutMs,
        signal: this.signal,
      });
      if (response.status === 429) throw new MfaCommunicationError(`Starling ${endpoint}: rate limited (HTTP 429)`);
      if (!(response.status === 401 && /invalid_token/.test(String(response.headers['www-authenticate'] ?? '')))) return response;
      await this.tokens.forget(token);
      if (attempt === 2) throw new MfaCommunicationError(`Starling ${endpoint}: a new access token was refused too (${response.headers['www-authenticate']})`);
    }
  }
}

function idOf(endpoint: string, status: number, json: unknown): string {
  const id = isObject(json) ? json.id : undefined;
  if ((status === 200 || status === 201) && (typeof id === 'string' || typeof id === 'number') && String(id) !== '') return String(id);
  throw refused(endpoint, status, json);
}

function refused(endpoint: string, status: number, json: unknown): MfaCommunicationError {
  const { code, message } = starlingError(json);
  return new MfaCommunicationError(`Starling ${endpoint}: HTTP ${status} ${code ?? ''} ${message}`.replace(/\s+/g, ' ').trim());
}
