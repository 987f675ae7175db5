// Duo's request signature, version 2 (duo_api_nodejs lib/duo_sig.js, duo_client_python client.py):
// HMAC over date, METHOD, host, path and the canonical parameters, joined by newlines. SHA-512 is
// what Duo's clients send today; SHA-1 is the form the older documentation describes.
import { createHmac } from 'node:crypto';

export type Params = Record<string, string>;

export interface SignedRequest {
  /** The Date or X-Duo-Date header, byte for byte as sent. */
  date: string;
  method: string;
  /** The API host, without a port. */
  host: string;
  path: string;
  params: Params;
}

/** RFC 3986: unreserved characters kept, every other UTF-8 byte %XX (space is %20, never +). */
export function duoEncode(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** `k=v` pairs sorted by encoded key (byte order: `foo` before `foo_bar`), joined by `&`. */
export function canonicalParams(params: Params): string {
  return Object.entries(params)
    .map(([key, value]) => [duoEncode(key), duoEncode(value)] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, value]) => `${key}=${value}`)
    .join('&');
}

export function canonicalRequest({ date, method, host, path, params }: SignedRequest): string {
  return [date, method.toUpperCase(), host.toLowerCase(), path, canonicalParams(params)].join('\n');
}

export function signature(skey: string, request: SignedRequest, hash: 'sha512' | 'sha1' = 'sha512'): string {
  return createHmac(hash, skey).update(canonicalRequest(request)).digest('hex');
}

/** The Authorization header: `Basic base64(ikey:hex signature)`. */
export function authorization(ikey: string, skey: string, request: SignedRequest): string {
  return `Basic ${Buffer.from(`${ikey}:${signature(skey, request)}`).toString('base64')}`;
}
