// One connection to one LDAP URL: TCP or TLS from the first byte (ldaps://), StartTLS when
// configured, certificates checked against the configured CA bundle and the URL's host name.
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import tls from 'node:tls';
import { Client } from 'ldapts';

export interface Transport {
  /** Upgrade ldap:// connections with StartTLS before anything else is sent. */
  startTls: boolean;
  /** PEM bundle trusted instead of the system's CAs. */
  caFile: string | undefined;
  /** Bound on the TCP connect, the TLS handshake and each operation. */
  timeoutMs: number;
}

/** A connection to `url`, encrypted as `transport` says; it connects with its first operation unless StartTLS does it here. */
export async function connect(url: string, transport: Transport): Promise<Client> {
  const host = new URL(url).hostname.replace(/^\[(.*)\]$/, '$1');
  const secure = url.startsWith('ldaps:');
  // Node checks the certificate against `host` (IP SAN or DNS name); SNI carries names only.
  const tlsOptions: tls.ConnectionOptions = {
    host,
    ...(!net.isIP(host) && { servername: host }),
    ...(transport.caFile !== undefined && { ca: await readFile(transport.caFile) }),
  };
  const client = new Client({
    url,
    timeout: transport.timeoutMs,
    connectTimeout: transport.timeoutMs,
    // ldapts speaks TLS from the first byte whenever tlsOptions is set, so only for ldaps://.
    ...(secure ? { tlsOptions } : {}),
    ...singleConnection(secure),
  });
  if (transport.startTls && !secure) {
    try {
      await withinDeadline(client.startTLS(tlsOptions), transport.timeoutMs, 'StartTLS timed out');
    } catch (err) {
      void disconnect(client);
      throw err;
    }
  }
  return client;
}

/** A simple bind. An empty password would make it an unauthenticated bind (RFC 4513 §5.1.2), which many servers accept without checking anything. */
export async function simpleBind(client: Client, dn: string, password: string): Promise<void> {
  if (dn === '' || password === '') throw new Error('refusing an unauthenticated bind (empty DN or password)');
  await client.bind(dn, password);
}

/** Closes the connection; never fails. */
export async function disconnect(client: Client): Promise<void> {
  await client.unbind().catch(() => undefined);
}

/**
 * ldapts silently reopens a dropped connection on the next request, unbound and, under StartTLS,
 * in clear text. A client here gets one connection; the pool replaces clients whose connection died.
 */
function singleConnection(secure: boolean): { createConnection?: typeof net.connect; createSecureConnection?: typeof tls.connect } {
  let opened = false;
  const once = <F extends (...args: never[]) => unknown>(open: F): F =>
    ((...args: Parameters<F>) => {
      if (opened) throw new Error('Connection closed: not reopened');
      opened = true;
      return open(...args);
    }) as F;
  return secure ? { createSecureConnection: once(tls.connect) } : { createConnection: once(net.connect) };
}

/** ldapts bounds each operation but not the StartTLS handshake that follows the extended operation. */
async function withinDeadline<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)));
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
