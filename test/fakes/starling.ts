/**
 * Test fake: One Identity Starling 2FA over HTTPS on 127.0.0.1 (a random port, the test CA's
 * `local` certificate unless told otherwise): Keycloak's token endpoint and the 2FA API on one
 * server, checking what they check.
 *
 * Token endpoint (`/auth/realms/StarlingClients/protocol/openid-connect/token`): POST, form
 * encoded, `grant_type=client_credentials`, `Authorization: Basic` with the client id and secret
 * form-decoded (RFC 6749 §2.3.1); issues random tokens lasting `tokenLifetimeS`. API (`/v1/…`):
 * a known, unexpired Bearer token or 401 with `WWW-Authenticate: Bearer error="invalid_token"`;
 * JSON bodies with their content type; errors as `{"errorMessage":{"errorCode","message"}}`.
 * `verify` (each OTP valid once), approval requests (pending, then the user's scripted answer
 * after `pushDelayMs`; Starling expires them after `secondsToExpire`, `expiryLagMs` later when
 * told, as a slow Starling would: a test of the plugin's own deadline), and user creation (an
 * E.164 phone and an email, else errorCode 60016; the same phone and email give the same id).
 *
 * Users are scripted in `users` by Starling id; `fail(fault)` makes the next request(s) misbehave
 * (faults.ts), as Starling words it; `heal()` forgets them.
 */
import { randomBytes, randomInt } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { serveHttps } from './https-server.js';
import { faultQueue, underPath, type Fault, type FaultControls, type FaultWording } from './faults.js';
import { testPki, type ServerCertificate } from './tls.js';

export interface FakeStarlingUser {
  /**
   * How a push ends (default approve): `expire` as Starling ends requests it cannot deliver,
   * after `pushDelayMs`; `ignore` never answers, so Starling expires it after `secondsToExpire`.
   */
  push?: 'approve' | 'deny' | 'expire' | 'ignore';
  /** Valid OTPs, each accepted once. */
  otps?: string[];
  /** Set for users made through POST /v1/Users. */
  created?: { phone: string; email: string; displayName: string };
}

export interface FakeStarlingRequest {
  method: string;
  /** Without the query string. */
  path: string;
  query: Record<string, string>;
  body: unknown;
  status: number;
}

export interface ApprovalRecord {
  userId: string;
  message: string;
  secondsToExpire: number;
  details: Record<string, string>;
  status: 'pending' | 'approved' | 'denied' | 'expired';
}

export interface FakeStarling extends FaultControls {
  port: number;
  tokenUrl: string;
  apiUrl: string;
  clientId: string;
  clientSecret: string;
  ca: string;
  users: Map<string, FakeStarlingUser>;
  approvals: Map<string, ApprovalRecord>;
  requests: FakeStarlingRequest[];
  /** How many tokens the token endpoint issued. */
  tokensIssued(): number;
  /** Every token issued so far expires now. */
  expireTokens(): void;
  /** The next `count` requests (to paths starting with `prefix` only, when given) get `fault`. */
  fail(fault: Fault, count?: number, prefix?: string): void;
  close(): Promise<void>;
}

export const TOKEN_PATH = '/auth/realms/StarlingClients/protocol/openid-connect/token';
export const INVALID_USER = 60016;
const E164 = /^\+[1-9]\d{6,14}$/;
const FAULT_WORDING: FaultWording = {
  tooManyRequests: { body: '{"errorMessage":{"errorCode":429,"message":"Too many requests"}}', headers: { 'retry-after': '30' } },
  malformedJson: '{"status":',
  wrongContentType: { contentType: 'text/plain', body: '{"status":"approved"}' },
  huge: (padding) => `{"pad":"${padding}"}`,
  redirect: { status: 307, location: 'https://evil.example/v1/Users' },
};

class Refusal extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly headers: Record<string, string> = {},
  ) {
    super(`HTTP ${status}`);
  }
}

const starlingError = (status: number, code: number, message: string) => new Refusal(status, { errorMessage: { errorCode: code, message } });
const badToken = (description: string) => new Refusal(401, { errorMessage: { errorCode: 401, message: description } }, { 'www-authenticate': `Bearer realm="starling", error="invalid_token", error_description="${description}"` });

export async function startFakeStarling(
  t: { teardown(fn: () => unknown): unknown },
  options: { certificate?: ServerCertificate; tokenLifetimeS?: number; pushDelayMs?: number; expiryLagMs?: number } = {},
): Promise<FakeStarling> {
  const clientId = 'gatehouse-node 1';
  const clientSecret = `${randomBytes(18).toString('base64url')}:+&`; // characters Basic auth must form-encode
  const tokenLifetimeS = options.tokenLifetimeS ?? 300;
  const pushDelayMs = options.pushDelayMs ?? 50;
  const expiryLagMs = options.expiryLagMs ?? 0;
  const users = new Map<string, FakeStarlingUser>();
  const approvals = new Map<string, ApprovalRecord>();
  const requests: FakeStarlingRequest[] = [];
  const tokens = new Map<string, number>(); // token → expiry (ms)
  const faults = faultQueue(FAULT_WORDING, underPath);
  const timers = new Set<NodeJS.Timeout>();
  const after = (ms: number, run: () => void) => timers.add(setTimeout(run, ms));

  const issueToken = (req: IncomingMessage, form: URLSearchParams) => {
    if (req.method !== 'POST') throw new Refusal(405, { error: 'invalid_request', error_description: 'HTTP method not allowed' });
    const [scheme, encoded = ''] = (req.headers.authorization ?? '').split(' ');
    const [id = '', secret = ''] = Buffer.from(encoded, 'base64').toString().split(':').map((part) => decodeURIComponent(part.replace(/\+/g, ' ')));
    if (scheme !== 'Basic' || id !== clientId || secret !== clientSecret) throw new Refusal(401, { error: 'invalid_client', error_description: 'Invalid client or Invalid client credentials' });
    if (form.get('grant_type') !== 'client_credentials') throw new Refusal(400, { error: 'unsupported_grant_type', error_description: 'Unsupported grant_type' });
    const token = randomBytes(32).toString('base64url');
    tokens.set(token, Date.now() + tokenLifetimeS * 1000);
    return { access_token: token, expires_in: tokenLifetimeS, token_type: 'Bearer', scope: 'profile email' };
  };

  const checkBearer = (req: IncomingMessage) => {
    const [scheme, token = ''] = (req.headers.authorization ?? '').split(' ');
    const expiry = tokens.get(token);
    if (scheme !== 'Bearer' || expiry === undefined) throw badToken('Invalid token');
    if (expiry <= Date.now()) throw badToken('Token is expired');
  };

  const user = (id: string) => {
    const found = users.get(id);
    if (!found) throw starlingError(404, 60003, 'User not found');
    return found;
  };

  const api = (method: string, path: string, query: URLSearchParams, body: unknown): unknown => {
    let match: RegExpMatchArray | null;
    if (method === 'GET' && (match = path.match(/^\/v1\/Users\/([^/]+)\/verify$/))) {
      const found = user(decodeURIComponent(match[1] as string));
      const index = found.otps?.indexOf(query.get('tokenResponse') ?? '') ?? -1;
      if (index < 0) throw starlingError(401, 60002, 'Invalid token response');
      found.otps?.splice(index, 1);
      return { status: 'ok' };
    }
    if (method === 'POST' && (match = path.match(/^\/v1\/Users\/([^/]+)\/approvalrequests$/))) {
      const userId = decodeURIComponent(match[1] as string);
      const found = user(userId);
      if (!isRecord(body) || typeof body.message !== 'string' || !Number.isInteger(body.secondsToExpire) || (body.secondsToExpire as number) < 1 || !isRecord(body.details) || !Object.values(body.details).every((v) => typeof v === 'string')) {
        throw starlingError(400, 60001, 'Invalid approval request');
      }
      const id = crypto.randomUUID();
      const record: ApprovalRecord = { userId, message: body.message, secondsToExpire: body.secondsToExpire as number, details: body.details as Record<string, string>, status: 'pending' };
      approvals.set(id, record);
      const answer = found.push ?? 'approve';
      if (answer !== 'ignore') after(pushDelayMs, () => record.status === 'pending' && (record.status = ({ approve: 'approved', deny: 'denied', expire: 'expired' } as const)[answer]));
      after(record.secondsToExpire * 1000 + expiryLagMs, () => record.status === 'pending' && (record.status = 'expired'));
      return { id };
    }
    if (method === 'GET' && (match = path.match(/^\/v1\/ApprovalRequests\/([^/]+)$/))) {
      const record = approvals.get(decodeURIComponent(match[1] as string));
      if (!record) throw starlingError(404, 60004, 'Approval request not found');
      return { id: match[1], status: record.status };
    }
    if (method === 'POST' && path === '/v1/Users') {
      if (!isRecord(body) || typeof body.phone !== 'string' || !E164.test(body.phone) || typeof body.email !== 'string' || !/^[^@\s]+@[^@\s]+$/.test(body.email)) {
        throw starlingError(400, INVALID_USER, 'User could not be created: phone must be +<country><number> and email valid');
      }
      const { phone, email } = body;
      const existing = [...users].find(([, u]) => u.created?.phone === phone && u.created.email === email);
      if (existing) return { id: existing[0] };
      const id = String(randomInt(1_000_000, 10_000_000));
      users.set(id, { created: { phone, email, displayName: typeof body.displayName === 'string' ? body.displayName : '' } });
      return { id };
    }
    throw starlingError(404, 60000, 'Resource not found');
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'https://fake');
    const entry: FakeStarlingRequest = { method: req.method ?? '', path: url.pathname, query: Object.fromEntries(url.searchParams), body: undefined, status: 200 };
    requests.push(entry);
    const chunks: Buffer[] = [];
    for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
    if (faults.misbehave(url.pathname, res)) {
      entry.status = -1;
      return;
    }
    const text = Buffer.concat(chunks).toString();
    const type = req.headers['content-type'] ?? '';
    let answer: unknown;
    let headers: Record<string, string> = {};
    try {
      if (url.pathname === TOKEN_PATH) {
        if (type !== 'application/x-www-form-urlencoded') throw new Refusal(400, { error: 'invalid_request', error_description: 'form encoding required' });
        answer = issueToken(req, new URLSearchParams(text));
      } else {
        checkBearer(req);
        if (req.method === 'POST') {
          if (!/^application\/json\s*(;|$)/.test(type)) throw starlingError(415, 60005, 'Unsupported media type');
          try {
            entry.body = JSON.parse(text) as unknown;
          } catch {
            throw starlingError(400, 60006, 'Malformed JSON');
          }
        }
        answer = api(req.method ?? '', url.pathname, url.searchParams, entry.body);
      }
    } catch (err) {
      if (!(err instanceof Refusal)) throw err;
      entry.status = err.status;
      answer = err.body;
      headers = err.headers;
    }
    res.writeHead(entry.status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(answer));
  };

  const certificate = options.certificate ?? testPki().local;
  const { port, close } = await serveHttps(t, { key: certificate.key, cert: certificate.cert }, handle, timers);
  return {
    port,
    tokenUrl: `https://127.0.0.1:${port}${TOKEN_PATH}`,
    apiUrl: `https://127.0.0.1:${port}`,
    clientId,
    clientSecret,
    ca: testPki().ca,
    users,
    approvals,
    requests,
    tokensIssued: () => requests.filter((r) => r.path === TOKEN_PATH && r.status === 200).length,
    expireTokens: () => {
      for (const token of tokens.keys()) tokens.set(token, 0);
    },
    fail: faults.fail,
    heal: faults.heal,
    close,
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
