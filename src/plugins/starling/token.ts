// Starling access tokens: OAuth 2.0 client credentials (RFC 6749 §4.4) at the token endpoint, the
// client id and secret form-encoded into Basic auth (§2.3.1, as Keycloak decodes them). A token is
// kept in the plugin's persistent state until `expires_in - 10` s, as SPS does (SPS keeps it in its
// memory cache; every hook here is a fresh process, so the state directory plays that part).
import { httpsJson } from '../sdk/https/index.js';
import { MfaCommunicationError, type Clock, type StateStore } from '../sdk/index.js';
import { isObject } from './json.js';
import type { StarlingSettings } from './settings.js';

const CACHE_KEY = 'join_access_token';
/** Seconds before its expiry that a token is no longer used, so none expires on the way. */
const EXPIRY_MARGIN_S = 10;

export class AccessTokens {
  constructor(
    private readonly store: StateStore,
    private readonly settings: StarlingSettings,
    private readonly clock: Clock,
    private readonly signal: AbortSignal,
  ) {}

  /** A cached token still valid for this client and endpoint, else a new one. */
  async get(): Promise<string> {
    const owner = `${this.settings.clientId} ${this.settings.tokenUrl}`;
    const cached = await this.store.update(CACHE_KEY, (current) => ({ action: 'keep', result: current }));
    if (isObject(cached) && cached.owner === owner && typeof cached.token === 'string' && Number(cached.expires) > this.clock()) return cached.token;
    const { token, expiresInS } = await this.fetch();
    const ttlS = expiresInS - EXPIRY_MARGIN_S;
    if (ttlS > 0) await this.store.update(CACHE_KEY, () => ({ action: 'write', value: { owner, token, expires: this.clock() + ttlS * 1000 }, result: undefined }));
    return token;
  }

  /** Drops `token` from the cache (Starling refused it), unless another process replaced it already. */
  async forget(token: string): Promise<void> {
    await this.store.update(CACHE_KEY, (current) => (isObject(current) && current.token === token ? { action: 'delete', result: undefined } : { action: 'keep', result: undefined }));
  }

  private async fetch(): Promise<{ token: string; expiresInS: number }> {
    const { clientId, clientSecret, tokenUrl, requestTimeoutMs, https } = this.settings;
    const basic = Buffer.from(`${formEncode(clientId)}:${formEncode(clientSecret)}`).toString('base64');
    const { status, json } = await httpsJson({
      method: 'POST',
      url: tokenUrl,
      headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: 'grant_type=client_credentials',
      ...https,
      timeoutMs: requestTimeoutMs,
      signal: this.signal,
    });
    const body = isObject(json) ? json : {};
    if (status !== 200) {
      throw new MfaCommunicationError(`Starling token endpoint: HTTP ${status} ${String(body.error ?? '')} ${String(body.error_description ?? '')}`.trim());
    }
    const { access_token: token, expires_in: expiresInS } = body;
    if (typeof token !== 'string' || token === '' || typeof expiresInS !== 'number' || !(expiresInS > 0)) {
      throw new MfaCommunicationError('Starling token endpoint: no access_token and expires_in in the answer');
    }
    return { token, expiresInS };
  }
}

function formEncode(text: string): string {
  return encodeURIComponent(text).replace(/%20/g, '+');
}
