// `gatehouse sessions [kill ID]`: the running gateway's live client connections, asked over its
// control socket; an administrator can end one, and the user is told why.
import { parseArgs } from 'node:util';
import type { LiveSessionInfo } from '../gateway/live-sessions.js';
import type { ControlRequest } from '../system/control-socket.js';
import { askGateway } from './gateway-call.js';
import { changeOrigin } from './origin.js';
import { dataDirectory } from './paths.js';
import { byteCount, duration, textTable } from './table.js';

const help = `Usage: gatehouse sessions [--json]
       gatehouse sessions kill ID [--reason TEXT]

  (no action)            list the running gateway's live connections: id, gateway user,
                         server user@target, client, policy, start, duration, bytes
                         (--json: one JSON array)
  kill ID                end a live connection; the user sees "ended by an administrator" and
                         the reason, and a session-killed event records it and where it came from

Allowed while the appliance is sealed: ending a session changes no configuration.
`;

export async function sessionsCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      json: { type: 'boolean' },
      reason: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(help);
    return 0;
  }
  const [action, id] = positionals;
  const dataDir = dataDirectory();
  if (action === undefined || action === 'list') {
    const sessions = (await ask(dataDir, { op: 'sessions-list' })).sessions as LiveSessionInfo[];
    process.stdout.write(values.json ? `${JSON.stringify(sessions, null, 2)}\n` : table(sessions, Date.now()));
    return 0;
  }
  if (action === 'kill') {
    if (!id) throw new Error('kill needs a session ID (see `gatehouse sessions`)');
    const reason = values.reason ?? 'no reason given';
    try {
      await ask(dataDir, { op: 'sessions-kill', id, reason, origin: changeOrigin() });
    } catch (err) {
      if (!/^no live session/.test((err as Error).message)) throw err;
      process.stderr.write(`gatehouse: ${(err as Error).message} (see \`gatehouse sessions\`)\n`);
      return 1;
    }
    process.stdout.write(`session ${id} ended\n`);
    return 0;
  }
  process.stderr.write(`gatehouse: unknown sessions action "${action}"\n\n${help}`);
  return 2;
}

function ask(dataDir: string, request: ControlRequest): Promise<Record<string, unknown>> {
  return askGateway(dataDir, request, 'live sessions exist only in the running gateway (start it with `gatehouse serve`)');
}

function table(sessions: LiveSessionInfo[], now: number): string {
  if (sessions.length === 0) return 'no live sessions\n';
  const rows = sessions.map((s) => [
    s.sessionId,
    s.gatewayUser ?? '-',
    s.target ? `${s.serverUser ?? '-'}@${s.target}` : (s.serverUser ?? '-'),
    `${s.clientIp}:${s.clientPort}`,
    s.policy,
    s.startedAt.replace(/\.\d+Z$/, 'Z'),
    duration(now - Date.parse(s.startedAt)),
    `${byteCount(s.bytesFromClient)} in / ${byteCount(s.bytesToClient)} out`,
  ]);
  return textTable(['ID', 'USER', 'SERVER', 'CLIENT', 'POLICY', 'STARTED', 'DURATION', 'BYTES'], rows);
}
