// One JSON request over HTTPS, as every cloud MFA plugin needs it, with node:https's pieces only.
//
// Fail closed: one deadline covers connect, proxy, TLS, headers and a body that trickles; the
// certificate is always verified, host name included; redirects are not followed; the answer must
// be JSON and at most `maxBytes`. Failures are the SDK's: no answer (refused, reset, proxy,
// timeout before the status line, HTTP 5xx) is MfaServiceUnreachable, which ignore_conn_err may
// let pass; an answer we cannot trust or use (a certificate that fails verification, 3xx, another
// content type, bad JSON, too big, too slow once it started) is MfaCommunicationError, which always
// denies: a broken CA or a man in the middle must never look like an outage.
import { request, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { isIP, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { MfaCommunicationError, MfaServiceUnreachable } from '../errors.js';
import { proxyTunnel, type HttpsProxy } from './proxy.js';

export const DEFAULT_MAX_BYTES = 1024 * 1024;

export interface HttpsJsonRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: string | Buffer;
  /** PEM bundle trusted instead of the system store. */
  ca?: string;
  clientCert?: { cert: string; key: string };
  proxy?: HttpsProxy;
  timeoutMs: number;
  maxBytes?: number;
  signal?: AbortSignal;
}

export interface HttpsJsonResponse {
  status: number;
  headers: IncomingHttpHeaders;
  json: unknown;
}

export function httpsJson(options: HttpsJsonRequest): Promise<HttpsJsonResponse> {
  const url = new URL(options.url);
  if (url.protocol !== 'https:') return Promise.reject(new TypeError(`not an https URL: ${options.url}`));
  const controller = new AbortController();
  let answered = false;
  return new Promise<HttpsJsonResponse>((resolve, reject) => {
    const finish = (settle: () => void) => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      settle();
      controller.abort(); // closes whatever is still open
    };
    const timer = setTimeout(() => {
      const problem = `${url.host}: ${answered ? 'response not complete' : 'no response'} within ${options.timeoutMs} ms`;
      finish(() => reject(answered ? new MfaCommunicationError(problem) : new MfaServiceUnreachable(problem)));
    }, options.timeoutMs);
    const onAbort = () => finish(() => reject(options.signal?.reason));
    if (options.signal?.aborted) return onAbort();
    options.signal?.addEventListener('abort', onAbort);
    exchange(options, url, controller.signal, () => (answered = true)).then(
      (response) => finish(() => resolve(response)),
      (err: Error) => finish(() => reject(err)),
    );
  });
}

async function exchange(options: HttpsJsonRequest, url: URL, signal: AbortSignal, onAnswer: () => void): Promise<HttpsJsonResponse> {
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = Number(url.port || 443);
  const tunnel = options.proxy ? await proxyTunnel(options.proxy, `${url.hostname}:${port}`, signal) : undefined;
  const secure = await handshake(options, host, port, tunnel, signal);
  const response = await send(options, url, secure, signal);
  onAnswer();
  const { statusCode: status = 0, headers } = response;
  if (status >= 300 && status < 400) throw new MfaCommunicationError(`${url.host}: HTTP ${status} redirect to ${headers.location ?? '(nowhere)'} not followed`);
  if (status >= 500) throw new MfaServiceUnreachable(`${url.host}: HTTP ${status}`);
  const type = headers['content-type'] ?? '';
  if (!/^application\/json\s*(;|$)/i.test(type)) throw new MfaCommunicationError(`${url.host}: HTTP ${status} with content type "${type}", not JSON`);
  const text = await readBody(response, options.maxBytes ?? DEFAULT_MAX_BYTES, url.host);
  try {
    return { status, headers, json: JSON.parse(text) as unknown };
  } catch {
    throw new MfaCommunicationError(`${url.host}: HTTP ${status} with malformed JSON`);
  }
}

function handshake(options: HttpsJsonRequest, host: string, port: number, socket: Socket | undefined, signal: AbortSignal): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const secure = tlsConnect({
      ...(socket ? { socket } : { port }),
      host, // the name the certificate must carry
      servername: isIP(host) ? undefined : host, // SNI has no place for an address
      ca: options.ca,
      cert: options.clientCert?.cert,
      key: options.clientCert?.key,
      rejectUnauthorized: true,
      ALPNProtocols: ['http/1.1'],
    });
    signal.addEventListener('abort', () => secure.destroy(), { once: true });
    secure.once('secureConnect', () => resolve(secure));
    secure.once('error', (err: Error & { code?: string }) => reject(connectionFailure(`${host}:${port}`, err)));
  });
}

/**
 * A certificate that fails verification, either way (ours of theirs, or an alert from the server
 * about ours), is not an outage (see the header): it must never let ignore_conn_err in.
 */
function connectionFailure(where: string, err: Error & { code?: string }): MfaCommunicationError | MfaServiceUnreachable {
  const untrusted = /CERT|SIGNATURE|ISSUER|ALTNAME|^ERR_SSL_.*ALERT/.test(err.code ?? '');
  const problem = `${where}: ${untrusted ? 'certificate not trusted: ' : ''}${err.message}`;
  return untrusted ? new MfaCommunicationError(problem) : new MfaServiceUnreachable(problem);
}

function send(options: HttpsJsonRequest, url: URL, secure: TLSSocket, signal: AbortSignal): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { host: url.host, ...options.headers };
    if (options.body !== undefined) headers['content-length'] = String(Buffer.byteLength(options.body));
    const outgoing = request({ method: options.method, path: `${url.pathname}${url.search}`, headers, signal, createConnection: () => secure });
    outgoing.once('response', resolve);
    // TLS 1.3 reports a refused client certificate only now, as an alert on the first read.
    outgoing.once('error', (err: Error & { code?: string }) => reject(connectionFailure(url.host, err)));
    outgoing.end(options.body);
  });
}

async function readBody(response: IncomingMessage, maxBytes: number, where: string): Promise<string> {
  const tooBig = () => new MfaCommunicationError(`${where}: response larger than ${maxBytes} bytes`);
  if (Number(response.headers['content-length'] ?? 0) > maxBytes) throw tooBig();
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of response as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > maxBytes) throw tooBig();
      chunks.push(chunk);
    }
  } catch (err) {
    if (err instanceof MfaCommunicationError) throw err;
    throw new MfaCommunicationError(`${where}: response cut off: ${(err as Error).message}`);
  }
  return Buffer.concat(chunks).toString('utf8');
}
