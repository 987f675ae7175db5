// A TCP tunnel through an HTTP proxy (CONNECT, RFC 9110 §9.3.6), with Basic Proxy-Authorization.
import { request } from 'node:http';
import type { Socket } from 'node:net';
import { MfaServiceUnreachable } from '../errors.js';

export interface HttpsProxy {
  host: string;
  port: number;
  username?: string;
  password?: string;
}

/** A socket to `target` ("host:port") through `proxy`; any failure of the proxy is an outage. */
export function proxyTunnel(proxy: HttpsProxy, target: string, signal: AbortSignal): Promise<Socket> {
  const headers: Record<string, string> = { host: target };
  if (proxy.username !== undefined) {
    headers['proxy-authorization'] = `Basic ${Buffer.from(`${proxy.username}:${proxy.password ?? ''}`).toString('base64')}`;
  }
  const where = `proxy ${proxy.host}:${proxy.port}`;
  return new Promise((resolve, reject) => {
    const connect = request({ host: proxy.host, port: proxy.port, method: 'CONNECT', path: target, headers, signal, agent: false });
    // Node emits 'connect' for every answer to a CONNECT, whatever its status.
    connect.once('connect', (response, socket) => {
      if (response.statusCode === 200) return resolve(socket);
      socket.destroy();
      reject(new MfaServiceUnreachable(`${where} refused CONNECT ${target}: ${response.statusCode} ${response.statusMessage ?? ''}`.trim()));
    });
    connect.once('error', (err) => reject(new MfaServiceUnreachable(`${where}: ${err.message}`)));
    connect.end();
  });
}
