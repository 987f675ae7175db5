/**
 * Test fake: Duo's Auth API v2 over HTTPS on 127.0.0.1 (a random port, the test CA's `local`
 * certificate unless told otherwise), checking what Duo checks (after duo_unix tests/mockduo.py):
 * `Authorization: Basic b64(ikey:hex HMAC)` with the v2 canonical request (HMAC-SHA512, or the
 * older SHA-1), the date from X-Duo-Date else Date within 300 s, the Host header without its port,
 * POST parameters form-encoded (decoded as a server does: `+` is a space) and no parameter twice.
 * Failures answer as Duo does: `{"stat":"FAIL","code":…,"message":…}`.
 *
 * Users are scripted in `users`; an unknown user preauths to `enroll`. `fail(fault)` makes the
 * next request(s) misbehave instead of answering (faults.ts), as Duo words it; `heal()` forgets them.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { signature, type Params } from '../../src/plugins/duo/signature.js';
import { serveHttps } from './https-server.js';
import { faultQueue, type FaultControls, type FaultWording } from './faults.js';
import { testPki, type ServerCertificate } from './tls.js';

export interface DuoDevice {
  device: string;
  type: 'phone' | 'token';
  capabilities: string[];
}

export interface FakeDuoUser {
  /** preauth's result (default auth). */
  preauth?: 'auth' | 'allow' | 'deny' | 'enroll';
  /** Default: one phone with auto, push, sms and mobile_otp. */
  devices?: DuoDevice[];
  /** How the user answers a push (default approve); `pending` never answers. */
  push?: 'approve' | 'deny' | 'timeout' | 'pending';
  /** Valid passcodes, each accepted once. */
  passcodes?: string[];
  /** The passcode a factor=sms request sends (valid once from then on). */
  smsPasscode?: string;
}

export interface FakeDuoRequest {
  method: string;
  path: string;
  params: Params;
  status: number;
}

/** `fail(…, path)` meets the requests to that path exactly. */
export interface FakeDuo extends FaultControls {
  /** "127.0.0.1:port", the `[duo] host`. */
  host: string;
  port: number;
  ikey: string;
  skey: string;
  /** The test CA that issued the server's certificate. */
  ca: string;
  users: Map<string, FakeDuoUser>;
  requests: FakeDuoRequest[];
  close(): Promise<void>;
}

export const PHONE: DuoDevice = { device: 'DPFZRS9FB0D46QFTM899', type: 'phone', capabilities: ['auto', 'push', 'sms', 'mobile_otp'] };
export const MESSAGES = {
  success: 'Success. Logging you in...',
  invalidPasscode: 'Invalid passcode, please try again.',
  usedPasscode: 'This passcode has already been used. Please generate a new passcode and try again.',
  enroll: 'Enroll an authentication device to proceed',
  deny: 'Your account is disabled. Contact your administrator.',
  smsSent: 'New SMS passcodes sent.',
} as const;
const MAX_SKEW_S = 300;
const ROUTES: Record<string, string> = { '/auth/v2/preauth': 'POST', '/auth/v2/auth': 'POST', '/auth/v2/auth_status': 'GET', '/auth/v2/check': 'GET' };
const FAULT_WORDING: FaultWording = {
  tooManyRequests: { body: JSON.stringify({ stat: 'FAIL', code: 42901, message: 'Too Many Requests' }) },
  malformedJson: '{"stat":"OK","response":{"result":',
  wrongContentType: { contentType: 'text/html', body: '<html>{"stat":"OK"}</html>' },
  huge: (padding) => `{"stat":"OK","response":{"pad":"${padding}"}}`,
  redirect: { status: 302, location: 'https://evil.example/auth/v2/preauth' },
};

class DuoFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
    readonly detail?: string,
  ) {
    super(message);
  }
}

export async function startFakeDuo(
  t: { teardown(fn: () => unknown): unknown },
  options: { certificate?: ServerCertificate; pushDelayMs?: number } = {},
): Promise<FakeDuo> {
  const ikey = 'DIWJ8X6AEYOR5OMC6TQ1';
  const skey = randomBytes(30).toString('base64url').slice(0, 40);
  const pushDelayMs = options.pushDelayMs ?? 50;
  const users = new Map<string, FakeDuoUser>();
  const requests: FakeDuoRequest[] = [];
  const faults = faultQueue(FAULT_WORDING);
  const used = new Set<string>();
  const transactions = new Map<string, string>(); // txid → user
  const timers = new Set<NodeJS.Timeout>();
  const later = (ms: number) => new Promise<void>((resolve) => timers.add(setTimeout(resolve, ms)));

  const checkSignature = (req: IncomingMessage, path: string, params: Params) => {
    const [scheme, encoded = ''] = (req.headers.authorization ?? '').split(' ');
    const [key = '', sig = ''] = Buffer.from(encoded, 'base64').toString().split(':');
    if (scheme !== 'Basic' || key !== ikey) throw new DuoFailure(401, 40101, 'Missing request credentials');
    const date = (req.headers['x-duo-date'] ?? req.headers.date) as string | undefined;
    if (date === undefined || Number.isNaN(Date.parse(date))) throw new DuoFailure(401, 40102, 'Missing or invalid request date');
    if (Math.abs(Date.parse(date) - Date.now()) > MAX_SKEW_S * 1000) throw new DuoFailure(401, 40105, 'Request has expired');
    const host = (req.headers.host ?? '').replace(/:\d+$/, '');
    const signed = { date, method: req.method ?? '', host, path, params } as const;
    const expected = signature(skey, signed, sig.length === 40 ? 'sha1' : 'sha512');
    if (sig.length !== expected.length || !timingSafeEqual(Buffer.from(sig), Buffer.from(expected))) {
      throw new DuoFailure(401, 40103, 'Invalid signature in request credentials');
    }
  };

  const required = (params: Params, name: string) => {
    const value = params[name];
    if (value === undefined || value === '') throw new DuoFailure(400, 40002, 'Invalid request parameters', name);
    return value;
  };

  const device = (user: FakeDuoUser, params: Params, capability: string) => {
    const wanted = required(params, 'device');
    const found = (user.devices ?? [PHONE]).find((d) => (wanted === 'auto' || d.device === wanted) && d.capabilities.includes(capability));
    if (!found) throw new DuoFailure(400, 40002, 'Invalid request parameters', 'device');
  };

  const pushOutcome = async (name: string): Promise<Record<string, unknown>> => {
    const push = users.get(name)?.push ?? 'approve';
    if (push === 'pending') {
      await later(300); // Duo long-polls for the next status change
      return { result: 'waiting', status: 'pushed', status_msg: 'Pushed a login request to your phone.' };
    }
    await later(pushDelayMs);
    if (push === 'approve') return { result: 'allow', status: 'allow', status_msg: MESSAGES.success };
    if (push === 'deny') return { result: 'deny', status: 'deny', status_msg: 'Login request denied.' };
    return { result: 'deny', status: 'timeout', status_msg: 'Login timed out.' };
  };

  const endpoints: Record<string, (params: Params) => Promise<Record<string, unknown>>> = {
    '/auth/v2/check': async () => ({ time: Math.floor(Date.now() / 1000) }),
    '/auth/v2/preauth': async (params) => {
      const user = users.get(required(params, 'username'));
      const result = user ? (user.preauth ?? 'auth') : 'enroll';
      if (result === 'auth') return { result, status_msg: 'Account is active', devices: user?.devices ?? [PHONE] };
      if (result === 'allow') return { result, status_msg: 'Allowing unknown user' };
      if (result === 'deny') return { result, status_msg: MESSAGES.deny };
      return { result, status_msg: MESSAGES.enroll, enroll_portal_url: 'https://api-abcd1234.duosecurity.com/portal?code=48bac5d9393fb2c2' };
    },
    '/auth/v2/auth': async (params) => {
      const name = required(params, 'username');
      const user = users.get(name);
      const factor = required(params, 'factor');
      if (!user || (user.preauth ?? 'auth') !== 'auth') {
        return user?.preauth === 'allow' ? { result: 'allow', status: 'bypass', status_msg: 'Allowing unknown user' } : { result: 'deny', status: 'deny', status_msg: MESSAGES.enroll };
      }
      if (factor === 'push') {
        device(user, params, 'push');
        if (params.async !== '1') return pushOutcome(name);
        const txid = crypto.randomUUID();
        transactions.set(txid, name);
        return { txid };
      }
      if (factor === 'passcode') {
        const code = required(params, 'passcode');
        if (!user.passcodes?.includes(code)) return { result: 'deny', status: 'deny', status_msg: MESSAGES.invalidPasscode };
        if (used.has(`${name}\0${code}`)) return { result: 'deny', status: 'deny', status_msg: MESSAGES.usedPasscode };
        used.add(`${name}\0${code}`);
        return { result: 'allow', status: 'allow', status_msg: MESSAGES.success };
      }
      if (factor === 'sms') {
        device(user, params, 'sms');
        if (user.smsPasscode) (user.passcodes ??= []).push(user.smsPasscode);
        return { result: 'deny', status: 'sent', status_msg: MESSAGES.smsSent };
      }
      throw new DuoFailure(400, 40002, 'Invalid request parameters', 'factor');
    },
    '/auth/v2/auth_status': async (params) => {
      const name = transactions.get(required(params, 'txid'));
      if (name === undefined) throw new DuoFailure(400, 40002, 'Invalid request parameters', 'txid');
      return pushOutcome(name);
    },
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'https://fake');
    const entry: FakeDuoRequest = { method: req.method ?? '', path: url.pathname, params: {}, status: 200 };
    requests.push(entry);
    const chunks: Buffer[] = [];
    for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
    if (faults.misbehave(url.pathname, res)) {
      entry.status = -1;
      return;
    }
    let status = 200;
    let body: Record<string, unknown>;
    try {
      if (ROUTES[url.pathname] === undefined) throw new DuoFailure(404, 40401, 'Resource not found');
      if (ROUTES[url.pathname] !== req.method) throw new DuoFailure(405, 40501, 'Method not allowed');
      let form = url.searchParams;
      if (req.method === 'POST') {
        if (req.headers['content-type'] !== 'application/x-www-form-urlencoded') throw new DuoFailure(400, 40002, 'Invalid request parameters', 'content-type');
        form = new URLSearchParams(Buffer.concat(chunks).toString());
      }
      for (const [key, value] of form) {
        if (Object.hasOwn(entry.params, key)) throw new DuoFailure(400, 40002, 'Invalid request parameters', key);
        entry.params[key] = value;
      }
      checkSignature(req, url.pathname, entry.params);
      body = { stat: 'OK', response: await (endpoints[url.pathname] as (params: Params) => Promise<Record<string, unknown>>)(entry.params) };
    } catch (err) {
      if (!(err instanceof DuoFailure)) throw err;
      status = err.status;
      body = { stat: 'FAIL', code: err.code, message: err.message, ...(err.detail ? { message_detail: err.detail } : {}) };
    }
    entry.status = status;
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };

  const certificate = options.certificate ?? testPki().local;
  const { port, close } = await serveHttps(t, { key: certificate.key, cert: certificate.cert }, handle, timers);
  return {
    host: `127.0.0.1:${port}`,
    port,
    ikey,
    skey,
    ca: testPki().ca,
    users,
    requests,
    fail: faults.fail,
    heal: faults.heal,
    close,
  };
}
