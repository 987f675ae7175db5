// Diagnostic only: preloaded into a second gateway process (`node --import <this file> main.js
// serve`) to measure what Nagle's algorithm costs Gatehouse. It sets TCP_NODELAY on every TCP
// socket the process connects (the upstream ssh2 Client) or accepts (the ssh2 Server). The
// gateway's own code is unchanged; the report compares this process with the plain one.
import net from 'node:net';

const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function (this: net.Socket, ...args: unknown[]) {
  this.setNoDelay(true);
  return (connect as (...a: unknown[]) => net.Socket).apply(this, args);
} as typeof connect;

const emit = net.Server.prototype.emit;
net.Server.prototype.emit = function (this: net.Server, event: string | symbol, ...args: unknown[]) {
  if (event === 'connection' && args[0] instanceof net.Socket) args[0].setNoDelay(true);
  return (emit as (this: net.Server, event: string | symbol, ...a: unknown[]) => boolean).call(this, event, ...args);
} as typeof emit;
