/**
 * What the HTTPS fakes of cloud MFA services (duo.ts, inwebo.ts, starling.ts) share: the ways a
 * service can misbehave, the queue of faults a test asks for with `fail(fault, count, path)` and
 * forgets with `heal()`, and how each fault is served. Statuses, the dropped socket, the dripping
 * `slow` answer and the size of `huge` are the same everywhere; each fake words the rest (bodies,
 * content types, the redirect) as its service would, in a `FaultWording`.
 */
import type { ServerResponse } from 'node:http';

/** In the order the tests go through them. */
export const FAULTS = ['429', '503', 'drop', 'malformed-json', 'wrong-content-type', 'huge', 'slow', 'redirect'] as const;
export type Fault = (typeof FAULTS)[number];

/** What a service sends when it misbehaves. */
export interface FaultWording {
  /** The JSON body of a 429, and headers besides its content type. */
  tooManyRequests: { body: string; headers?: Record<string, string> };
  /** A JSON body cut short, under a JSON content type. */
  malformedJson: string;
  /** A JSON-looking body under another content type. */
  wrongContentType: { contentType: string; body: string };
  /** A JSON body of the service's shape around `padding` (2 MiB, more than any client accepts). */
  huge(padding: string): string;
  /** A redirect off the service, with a JSON content type. */
  redirect: { status: 302 | 307; location: string };
}

/** What a test does with a fake's faults. */
export interface FaultControls {
  /** The next `count` requests (those to `path` only, when given) get `fault` instead of an answer. */
  fail(fault: Fault, count?: number, path?: string): void;
  /** Forgets the faults still pending: the next requests are answered again. */
  heal(): void;
}

export interface FaultQueue extends FaultControls {
  /** Serves the first pending fault meant for a request to `path`: false when none is (answer it). */
  misbehave(path: string, res: ServerResponse): boolean;
}

/** Whether a request to `requestPath` is one that `fail(…, path)` meant. */
export type PathMatch = (requestPath: string, path: string) => boolean;

export const samePath: PathMatch = (requestPath, path) => requestPath === path;
export const underPath: PathMatch = (requestPath, path) => requestPath.startsWith(path);

export function faultQueue(wording: FaultWording, matches: PathMatch = samePath): FaultQueue {
  const pending: { fault: Fault; count: number; path?: string }[] = [];
  return {
    fail: (fault, count = 1, path) => void pending.push({ fault, count, ...(path === undefined ? {} : { path }) }),
    heal: () => void pending.splice(0),
    misbehave: (path, res) => {
      const next = pending.find((f) => f.count > 0 && (f.path === undefined || matches(path, f.path)));
      if (!next) return false;
      next.count -= 1;
      serve(next.fault, wording, res);
      return true;
    },
  };
}

function serve(fault: Fault, wording: FaultWording, res: ServerResponse): void {
  const json = { 'content-type': 'application/json' };
  switch (fault) {
    case '429':
      return void res.writeHead(429, { ...json, ...wording.tooManyRequests.headers }).end(wording.tooManyRequests.body);
    case '503':
      return void res.writeHead(503, { 'content-type': 'text/html' }).end('<html><body>Service Unavailable</body></html>');
    case 'drop':
      return void res.socket?.destroy();
    case 'malformed-json':
      return void res.writeHead(200, json).end(wording.malformedJson);
    case 'wrong-content-type':
      return void res.writeHead(200, { 'content-type': wording.wrongContentType.contentType }).end(wording.wrongContentType.body);
    case 'huge':
      return void res.writeHead(200, json).end(wording.huge('x'.repeat(2 * 1024 * 1024)));
    case 'slow': {
      res.writeHead(200, json).write('{');
      const drip = setInterval(() => res.write(' '), 100);
      return void res.once('close', () => clearInterval(drip));
    }
    case 'redirect':
      return void res.writeHead(wording.redirect.status, { location: wording.redirect.location, ...json }).end('{}');
  }
}
