import t from 'tap';
import { LiveSessions, type LiveSession, type LiveSessionInfo } from '../../src/gateway/live-sessions.js';

function fakeSession(id: string, startedAt: string): LiveSession & { kills: [string, string][] } {
  const kills: [string, string][] = [];
  const info: LiveSessionInfo = {
    sessionId: id,
    gatewayUser: 'alice',
    serverUser: 'root',
    target: 'db:22',
    clientIp: '10.0.0.1',
    clientPort: 50000,
    policy: 'p',
    startedAt,
    channels: 'session=1',
    bytesFromClient: 1,
    bytesToClient: 2,
    recordings: [],
  };
  return { kills, describe: () => info, kill: (reason, origin) => kills.push([reason, origin]) };
}

t.test('lists registered sessions oldest first, forgets unregistered ones', async (t) => {
  const live = new LiveSessions();
  const unregisterB = live.register('b', fakeSession('b', '2026-01-02T00:00:00.000Z'));
  live.register('a', fakeSession('a', '2026-01-01T00:00:00.000Z'));
  t.same(live.list().map((s) => s.sessionId), ['a', 'b']);
  unregisterB();
  t.same((await live.handlers()['sessions-list']!({ op: 'sessions-list' })).sessions, [live.list()[0]]);
  t.same(live.list().map((s) => s.sessionId), ['a']);
});

t.test('kill: one line of reason, the origin, an error for an unknown id', async (t) => {
  const live = new LiveSessions();
  const session = fakeSession('a', '2026-01-01T00:00:00.000Z');
  live.register('a', session);
  const kill = live.handlers()['sessions-kill']!;
  // Control characters go (an escape sequence loses its ESC); what is left is printable.
  t.same(await kill({ op: 'sessions-kill', id: 'a', reason: 'disk\r\nfull\u001b[2J', origin: 'console' }), { killed: 'a' });
  await kill({ op: 'sessions-kill', id: 'a', origin: 'somewhere' });
  t.same(session.kills, [
    ['disk full [2J', 'console'],
    ['no reason given', 'remote'],
  ]);
  await t.rejects(kill({ op: 'sessions-kill', id: 'zz', reason: 'x' }), /no live session "zz"/);
});
