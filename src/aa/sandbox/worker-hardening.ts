// Closes, inside a plugin worker, two doors that Node 20's permission model leaves open to code
// running as the gateway's user: signals to other processes and connections to Unix sockets.
// Best effort, in-process: see PROTOCOL.md "What the sandbox does not stop".
import net from 'node:net';

export function hardenWorker(): void {
  // SIGKILL would stop the gateway; SIGUSR1 would open its inspector. The worker never needs to
  // signal anything, and `process.kill` is a wrapper around `process._kill`, so both go.
  process.kill = () => {
    throw accessDenied('signals are not available to plugins');
  };
  Reflect.deleteProperty(process, '_kill');

  // The gateway's control socket and any other local daemon's would be reachable; TCP and UDP stay
  // open because plugins talk to their backends over the network.
  const connect = net.Socket.prototype.connect;
  net.Socket.prototype.connect = function (this: net.Socket, ...args: unknown[]) {
    if (isPipeTarget(args)) throw accessDenied('Unix socket connections are not available to plugins');
    return Reflect.apply(connect, this, args) as net.Socket;
  } as typeof connect;
}

/** Mirrors net's own reading of connect()'s arguments: an options object with `path`, or a non-numeric string. */
function isPipeTarget(args: unknown[]): boolean {
  // net.connect() passes its already-normalised arguments as one array.
  const first = Array.isArray(args[0]) ? (args[0] as unknown[])[0] : args[0];
  if (typeof first === 'string') return Number.isNaN(Number(first));
  return typeof first === 'object' && first !== null && typeof (first as { path?: unknown }).path === 'string';
}

function accessDenied(message: string): Error {
  return Object.assign(new Error(message), { code: 'ERR_ACCESS_DENIED' });
}
