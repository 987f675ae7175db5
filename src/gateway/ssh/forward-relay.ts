// Relays one `ssh -L` (direct-tcpip) channel: the target server opens the connection onward.
import type ssh2 from 'ssh2';
import type { RelayContext } from './session-relay.js';

export function relayForward(
  accept: ssh2.AcceptConnection<ssh2.ServerChannel>,
  reject: ssh2.RejectConnection,
  info: ssh2.TcpipRequestInfo,
  ctx: RelayContext,
): void {
  const destination = { destIP: info.destIP.slice(0, 255), destPort: info.destPort };
  const decision = ctx.channelPolicy.decideForward(info.destIP, info.destPort);
  if (!decision.allowed) {
    ctx.audit.emit('channel-denied', { ...ctx.record.who(), channel: 'direct-tcpip', detail: `${destination.destIP}:${destination.destPort}`, reason: decision.reason });
    return reject();
  }
  ctx.upstream().then(
    (client) =>
      // Bridged inside ssh2's callback so no event of a short-lived connection is missed.
      client.forwardOut(info.srcIP, info.srcPort, info.destIP, info.destPort, (err, up) => {
        if (err) {
          ctx.log.warn({ ...destination, err: err.message }, 'forwarding failed at the target');
          return reject();
        }
        const down = accept();
        ctx.record.channelOpened('direct-tcpip');
        ctx.log.info({ channel: 'direct-tcpip', ...destination }, 'channel opened');
        down.on('data', (chunk: Buffer) => (ctx.record.bytesFromClient += chunk.length));
        up.on('data', (chunk: Buffer) => (ctx.record.bytesToClient += chunk.length));
        for (const side of [down, up]) side.on('error', (error: Error) => ctx.log.warn({ err: error.message }, 'forwarded channel error'));
        down.pipe(up);
        up.pipe(down);
        down.on('close', () => up.close());
        up.on('close', () => down.close());
      }),
    (err: Error) => {
      ctx.log.warn({ ...destination, err: err.message }, 'forwarding refused: no target connection');
      reject();
    },
  );
}
