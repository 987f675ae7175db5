// A RADIUS authentication client over UDP (RFC 2865 §2.5): one socket per request, so a reply can
// only answer that request. Every attempt resends the same bytes (same Identifier and Request
// Authenticator, as servers deduplicate on them) and waits `timeoutMs`. A datagram that is not
// from the server's address and port is no reply; one that is but fails a check (malformed, other
// Identifier, wrong Response Authenticator, missing or wrong Message-Authenticator) is silently
// discarded and the wait goes on. The first valid reply settles the request; later ones, duplicates
// included, find the socket closed.
import { randomBytes, randomInt } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { isIPv6 } from 'node:net';
import { encodeAccessRequest, readAnswer, type AccessRequest, type RadiusAnswer } from './access.js';
import { replyProblem } from './authenticators.js';
import { decodePacket, type RadiusPacket } from './packet.js';

export interface RadiusClientSettings {
  host: string;
  port: number;
  secret: string;
  authType: 'pap' | 'chap';
  /** Attempts per request, the first included. */
  retries: number;
  /** How long each attempt waits for a valid reply. */
  timeoutMs: number;
  nasIdentifier: string;
}

/** No valid reply after every attempt. The message names the server, never the secret. */
export class RadiusTimeoutError extends Error {
  override name = 'RadiusTimeoutError';

  constructor(
    server: string,
    attempts: number,
    /** Replies from the server's address and port that failed the checks: a wrong shared secret, or forgeries. */
    readonly discardedReplies: number,
    lastProblem: string | undefined,
  ) {
    const discarded = discardedReplies ? `; discarded ${discardedReplies} repl${discardedReplies === 1 ? 'y' : 'ies'}, the last for ${lastProblem}` : '';
    super(`no valid reply from RADIUS server ${server} after ${attempts} attempt${attempts === 1 ? '' : 's'}${discarded}`);
  }
}

interface Server {
  address: string;
  family: number;
  port: number;
}

export class RadiusClient {
  constructor(private readonly settings: RadiusClientSettings) {}

  /** Rejects with RadiusTimeoutError, with `signal.reason` when aborted, or with a DNS or socket error. */
  async authenticate(request: AccessRequest & { signal?: AbortSignal }): Promise<RadiusAnswer> {
    const { host, port } = this.settings;
    const { address, family } = await lookup(host);
    const identifier = randomInt(256);
    const authenticator = randomBytes(16);
    const bytes = encodeAccessRequest(request, this.settings, identifier, authenticator);
    return this.exchange(bytes, { address, family, port }, request.signal, (reply) => {
      if (reply.identifier !== identifier) return `Identifier ${reply.identifier} instead of ${identifier}`;
      return replyProblem(reply, authenticator, Buffer.from(this.settings.secret, 'utf8')) ?? readAnswer(reply) ?? `unexpected code ${reply.code}`;
    });
  }

  /** `check` returns the answer of a valid reply, or why it is discarded. */
  private exchange(bytes: Buffer, server: Server, signal: AbortSignal | undefined, check: (reply: RadiusPacket) => RadiusAnswer | string): Promise<RadiusAnswer> {
    const { host, retries, timeoutMs } = this.settings;
    const name = isIPv6(host) ? `[${host}]:${server.port}` : `${host}:${server.port}`;
    return new Promise((resolve, reject) => {
      const socket = createSocket(server.family === 6 ? 'udp6' : 'udp4');
      let attempts = 0;
      let discarded = 0;
      let lastProblem: string | undefined;
      let timer: NodeJS.Timeout | undefined;
      const finish = (settle: () => void) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        socket.close();
        settle();
      };
      const onAbort = () => finish(() => reject(signal?.reason));
      const attempt = () => {
        attempts++;
        // A send that fails (no route, ...) is an attempt lost like any other: the timeout tells.
        socket.send(bytes, server.port, server.address, () => {});
        timer = setTimeout(() => (attempts < retries ? attempt() : finish(() => reject(new RadiusTimeoutError(name, attempts, discarded, lastProblem)))), timeoutMs);
      };
      socket.on('message', (message, from) => {
        if (from.address !== server.address || from.port !== server.port) return;
        const reply = decodeOrProblem(message);
        const outcome = typeof reply === 'string' ? reply : check(reply);
        if (typeof outcome !== 'string') return finish(() => resolve(outcome));
        discarded++;
        lastProblem = outcome;
      });
      socket.on('error', (err) => finish(() => reject(err)));
      if (signal?.aborted) return finish(() => reject(signal.reason));
      signal?.addEventListener('abort', onAbort);
      attempt();
    });
  }
}

/** decodePacket throws only RadiusDecodeError: a malformed datagram is discarded like a forged one. */
function decodeOrProblem(message: Buffer): RadiusPacket | string {
  try {
    return decodePacket(message);
  } catch (err) {
    return `malformed packet: ${(err as Error).message}`;
  }
}
