/**
 * Test fake: inWebo's REST API (`/FS`) over HTTPS on 127.0.0.1 (a random port, the test CA's
 * `local` certificate unless told otherwise), checking what inWebo checks: mutual TLS (a client
 * certificate issued by the fake's own "inWebo API CA" is required, as the console issues them;
 * any other is refused during the handshake), GET only, `format=json`, each of `action`,
 * `serviceId`, `userId` exactly once, the service id, the login, and each action's parameters.
 * Results answer as inWebo does: HTTP 200 and `{"err":"OK"|"NOK:<cause>", …}`.
 *
 * Users are scripted in `users`; an unknown login gets NOK:NOLOGIN. `fail(fault)` makes the next
 * request(s) misbehave instead of answering (faults.ts), as inWebo words it; `heal()` forgets them.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serveHttps } from './https-server.js';
import { faultQueue, type FaultControls, type FaultWording } from './faults.js';
import { testPki, type ServerCertificate } from './tls.js';

export interface FakeInweboUser {
  /** Valid OTPs, each accepted once. */
  otps?: string[];
  /** How a push ends (default approve); `pending` answers NOK:WAITING for ever; `nopush`, `noma`: not sent. */
  push?: 'approve' | 'refuse' | 'timeout' | 'pending' | 'nopush' | 'noma';
  /** checkPushResult says NOK:WAITING this many times before the outcome (default 1). */
  waiting?: number;
}

export interface FakeInweboRequest {
  method: string;
  path: string;
  params: Record<string, string>;
  err?: string;
}

/** `fail(…, path)` meets the requests to that path exactly (the API has one: `/FS`). */
export interface FakeInwebo extends FaultControls {
  /** The `[inwebo] api_url`. */
  apiUrl: string;
  port: number;
  serviceId: string;
  /** The test CA that issued the server's certificate. */
  ca: string;
  /** The service's API certificate and its key, as the `client_cert` PEM (RSA key, as the console's). */
  clientCert: string;
  users: Map<string, FakeInweboUser>;
  requests: FakeInweboRequest[];
  close(): Promise<void>;
}

/** What the fake answers for a wrong OTP; inWebo documents only "NOK:<cause>". */
export const WRONG_OTP = 'NOK:FAILED';
export const DEVICE_NAME = 'Alice phone';
const ACTION_PARAMS: Record<string, string[]> = { authenticateExtended: ['token'], pushAuthenticate: [], checkPushResult: ['sessionId'] };
const FAULT_WORDING: FaultWording = {
  tooManyRequests: { body: '{"err":"NOK:too many requests"}' },
  malformedJson: '{"err":"OK","name":',
  wrongContentType: { contentType: 'text/html', body: '<html>{"err":"OK"}</html>' },
  huge: (padding) => `{"err":"OK","name":"${padding}"}`,
  redirect: { status: 302, location: 'https://evil.example/FS' },
};

let cachedApiPki: { ca: string; clientCert: string } | undefined;

/** inWebo's API CA and one client certificate it issued (made once per process with the openssl CLI). */
export function inweboApiPki(): { ca: string; clientCert: string } {
  cachedApiPki ??= makeApiPki();
  return cachedApiPki;
}

function makeApiPki() {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-inwebo-pki-'));
  try {
    const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', '/CN=inwebo-api-ca',
      '-keyout', 'ca.key', '-out', 'ca.pem', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign');
    openssl('genrsa', '-traditional', '-out', 'client.key', '2048');
    openssl('req', '-new', '-key', 'client.key', '-subj', '/CN=service-4242', '-out', 'client.csr');
    openssl('x509', '-req', '-in', 'client.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-out', 'client.pem');
    const read = (name: string) => readFileSync(join(dir, name), 'utf8');
    return { ca: read('ca.pem'), clientCert: read('client.pem') + read('client.key') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function startFakeInwebo(t: { teardown(fn: () => unknown): unknown }, options: { certificate?: ServerCertificate } = {}): Promise<FakeInwebo> {
  const serviceId = '4242';
  const users = new Map<string, FakeInweboUser>();
  const requests: FakeInweboRequest[] = [];
  const faults = faultQueue(FAULT_WORDING);
  const used = new Set<string>();
  const sessions = new Map<string, { login: string; polls: number }>();

  const answer = (params: Record<string, string>): Record<string, unknown> => {
    if (params.serviceId !== serviceId) return { err: 'NOK:srv unknown' };
    const action = params.action ?? '';
    const expected = ACTION_PARAMS[action];
    if (!expected || !expected.every((name) => params[name])) return { err: 'NOK:SN' };
    const login = params.userId ?? '';
    const user = users.get(login);
    if (!user) return { err: 'NOK:NOLOGIN' };
    if (action === 'authenticateExtended') {
      const token = params.token as string;
      if (!user.otps?.includes(token) || used.has(`${login}\0${token}`)) return { err: WRONG_OTP };
      used.add(`${login}\0${token}`);
      return { err: 'OK', name: DEVICE_NAME };
    }
    const push = user.push ?? 'approve';
    if (action === 'pushAuthenticate') {
      if (push === 'nopush') return { err: 'NOK:NOPUSH' };
      if (push === 'noma') return { err: 'NOK:NOMA' };
      const sessionId = crypto.randomUUID();
      sessions.set(sessionId, { login, polls: 0 });
      return { err: 'OK', sessionId };
    }
    const session = sessions.get(params.sessionId as string);
    if (!session || session.login !== login) return { err: 'NOK:SN' };
    session.polls += 1;
    if (push === 'pending' || session.polls <= (user.waiting ?? 1)) return { err: 'NOK:WAITING' };
    sessions.delete(params.sessionId as string);
    return push === 'approve' ? { err: 'OK', name: DEVICE_NAME } : { err: push === 'refuse' ? 'NOK:REFUSED' : 'NOK:TIMEOUT' };
  };

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'https://fake');
    const entry: FakeInweboRequest = { method: req.method ?? '', path: url.pathname, params: {} };
    requests.push(entry);
    if (faults.misbehave(url.pathname, res)) return;
    if (!['/FS', '/FS/'].includes(url.pathname)) return res.writeHead(404, { 'content-type': 'text/html' }).end('<html>Not Found</html>');
    if (req.method !== 'GET') return res.writeHead(405, { 'content-type': 'text/html' }).end('<html>Method Not Allowed</html>');
    let repeated = false;
    for (const [key, value] of url.searchParams) {
      repeated ||= Object.hasOwn(entry.params, key);
      entry.params[key] = value;
    }
    // Without format=json inWebo answers in XML (the client would then fail on the content type).
    if (entry.params.format !== 'json') return res.writeHead(200, { 'content-type': 'text/xml' }).end('<err>NOK:SN</err>');
    const body = repeated ? { err: 'NOK:SN' } : answer(entry.params);
    entry.err = body.err as string;
    res.writeHead(200, { 'content-type': 'application/json;charset=UTF-8' }).end(JSON.stringify(body));
  };

  const certificate = options.certificate ?? testPki().local;
  const { port, close } = await serveHttps(t, { key: certificate.key, cert: certificate.cert, ca: inweboApiPki().ca, requestCert: true, rejectUnauthorized: true }, handle);
  return {
    apiUrl: `https://127.0.0.1:${port}/FS`,
    port,
    serviceId,
    ca: testPki().ca,
    clientCert: inweboApiPki().clientCert,
    users,
    requests,
    fail: faults.fail,
    heal: faults.heal,
    close,
  };
}
