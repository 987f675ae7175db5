// Relays one SSH session channel (shell with pty, exec, sftp/scp) between the client and the target;
// shell and exec channels are recorded as terminals and sftp channels as file-operation logs
// (channel-recorder.ts) when the gateway records.
import type ssh2 from 'ssh2';
import type { AuditLog } from '../../log/events/audit-log.js';
import type { Logger } from '../../log/logger.js';
import type { ChannelPolicy, SessionRequest } from '../channel-policy.js';
import type { ConnectionRecord } from '../connection-record.js';
import type { ChannelRecorder, FileLogRecorder, SessionRecordings } from './channel-recorder.js';

/** What the bridge feeds a channel's recording: a terminal's, or an sftp channel's file log. */
type ChannelTap = Pick<ChannelRecorder, 'input' | 'output' | 'stderr' | 'close'> & Partial<Pick<ChannelRecorder, 'resize'>>;

export interface RelayContext {
  /** The logged-in upstream connection; rejects with a message that is safe to show the client. */
  upstream: () => Promise<ssh2.Client>;
  channelPolicy: ChannelPolicy;
  record: ConnectionRecord;
  log: Logger;
  /** The connection's security events (channel refusals). */
  audit: AuditLog;
  /** Ends the whole client connection (used when the target cannot be reached at all). */
  endConnection: () => void;
  /** Hands the connection each accepted session channel, so an administrator's kill can tell the user. */
  sessionChannelOpened?: (down: ssh2.ServerChannel) => void;
  /** Records shell and exec channels; absent when the gateway records nothing. */
  recordings?: SessionRecordings;
}

interface TerminalSize {
  rows: number;
  cols: number;
  height: number;
  width: number;
}

// Terminal sizes beyond these are nonsense; clamping keeps a hostile client from feeding the target huge values.
const maxCells = 10_000;
const maxPixels = 100_000;

function clampSize(info: TerminalSize): TerminalSize {
  const clamp = (value: number, max: number): number => Math.min(Math.max(Math.trunc(value) || 0, 0), max);
  return { rows: clamp(info.rows, maxCells), cols: clamp(info.cols, maxCells), height: clamp(info.height, maxPixels), width: clamp(info.width, maxPixels) };
}

/** Tells the client why its channel cannot run, in one line, and closes the channel. */
function refuseChannel(down: ssh2.ServerChannel, reason: string, exitCode: number): void {
  down.stderr.write(`gatehouse: ${reason}\r\n`);
  down.exit(exitCode);
  down.end();
}

export function relaySession(accept: ssh2.AcceptConnection<ssh2.Session>, ctx: RelayContext): void {
  const session = accept();
  let pty: (TerminalSize & { term: string; modes: ssh2.TerminalModes }) | undefined;
  let pendingSize: TerminalSize | undefined;
  let up: ssh2.ClientChannel | undefined;
  let recorder: ChannelTap | undefined;
  const env: Record<string, string> = {};

  session.on('pty', (acceptPty, _reject, info) => {
    pty = { ...clampSize(info), term: info.term.slice(0, 64), modes: info.modes };
    acceptPty?.();
  });
  session.on('window-change', (acceptChange, _reject, info) => {
    const size = clampSize(info);
    if (up) up.setWindow(size.rows, size.cols, size.height, size.width);
    else pendingSize = size;
    recorder?.resize?.(size.cols, size.rows);
    acceptChange?.();
  });
  session.on('env', (acceptEnv, rejectEnv, info) => {
    if (ctx.channelPolicy.envAllowed(info.key)) {
      env[info.key] = info.val;
      return acceptEnv?.();
    }
    ctx.log.info({ variable: info.key.slice(0, 64) }, 'environment variable not in the allowlist: dropped');
    rejectEnv?.();
  });
  session.on('signal', (acceptSignal, _reject, info) => {
    up?.signal(info.name);
    acceptSignal?.();
  });
  session.on('auth-agent', (_accept, rejectAgent) => {
    ctx.log.info('agent forwarding requested: not supported');
    rejectAgent?.();
  });
  session.on('x11', (_accept, rejectX11) => {
    ctx.log.info('X11 forwarding requested: not supported');
    rejectX11?.();
  });

  // The channel is accepted synchronously: a client that sends EOF right after its request
  // (`ssh gw cmd </dev/null`) would otherwise find its channel already ending.
  const start = (acceptRequest: () => ssh2.ServerChannel | undefined, request: SessionRequest): void => {
    const down = acceptRequest();
    if (!down) return;
    ctx.sessionChannelOpened?.(down);
    down.on('error', (err: Error) => ctx.log.warn({ err: err.message }, 'client channel error'));
    const decision = ctx.channelPolicy.decideSession(request);
    if (!decision.allowed) {
      ctx.audit.emit('channel-denied', { ...ctx.record.who(), channel: request.kind, detail: requestDetail(request), reason: decision.reason });
      return refuseChannel(down, decision.reason, 1);
    }
    ctx.record.channelOpened(decision.type);
    ctx.log.info({ channel: decision.type, ...(request.kind === 'exec' ? { command: request.command.slice(0, 256) } : {}) }, 'channel opened');
    ctx.upstream().then(
      (client) =>
        openUpstream(client, request, pty, env, (err, channel) => {
          if (err || !channel) {
            ctx.log.warn({ err: err?.message, channel: decision.type }, 'target refused the channel');
            return refuseChannel(down, `the target refused the ${decision.type} channel`, 1);
          }
          up = channel;
          if (pendingSize) channel.setWindow(pendingSize.rows, pendingSize.cols, pendingSize.height, pendingSize.width);
          // A recording that fails under an `onFailure: close-session` policy ends the channel, at once or as soon as it is bridged.
          let bridged = false;
          let stopped = false;
          const stop = (): void => {
            stopped = true;
            if (bridged) stopRecordedChannel(down, channel);
          };
          if (ctx.recordings && request.kind !== 'subsystem') {
            const size = pendingSize ?? pty;
            const interactive = request.kind === 'shell' || pty !== undefined;
            recorder = ctx.recordings.open({ cols: size?.cols ?? 0, rows: size?.rows ?? 0, ...(pty ? { term: pty.term } : {}), interactive }, stop);
          } else if (ctx.recordings && request.kind === 'subsystem' && request.name === 'sftp') {
            recorder = ctx.recordings.openFileLog(stop) satisfies FileLogRecorder | undefined;
          }
          if (stopped) return stopRecordedChannel(down, channel);
          bridge(down, channel, ctx, recorder);
          bridged = true;
        }),
      (err: Error) => {
        refuseChannel(down, err.message, 255);
        // Disconnect only once the reason has reached the client (channel closed), or after a grace period.
        down.once('close', ctx.endConnection);
        setTimeout(ctx.endConnection, 5000).unref();
      },
    );
  };
  session.on('shell', (acceptShell) => start(acceptShell, { kind: 'shell' }));
  session.on('exec', (acceptExec, _reject, info) => start(acceptExec, { kind: 'exec', command: info.command }));
  session.on('subsystem', (acceptSubsystem, _reject, info) => start(acceptSubsystem, { kind: 'subsystem', name: info.name }));
}

/** What was asked for, bounded: the command of an exec, the name of a subsystem. */
function requestDetail(request: SessionRequest): string | null {
  if (request.kind === 'exec') return request.command.slice(0, 256);
  if (request.kind === 'subsystem') return request.name.slice(0, 64);
  return null;
}

/**
 * Opens the matching channel at the target. The callback runs synchronously on ssh2's reply: a
 * fast command's exit-status can arrive in the same packet batch, before any promise would resolve.
 */
function openUpstream(
  client: ssh2.Client,
  request: SessionRequest,
  pty: (TerminalSize & { term: string; modes: ssh2.TerminalModes }) | undefined,
  env: Record<string, string>,
  opened: (err: Error | undefined, channel?: ssh2.ClientChannel) => void,
): void {
  if (request.kind === 'shell') client.shell(pty ?? false, { env }, opened);
  else if (request.kind === 'exec') client.exec(request.command, { env, ...(pty ? { pty } : {}) }, opened);
  else client.subsys(request.name, opened);
}

/** The policy wants no unrecorded session: the user is told, and the channel ends. */
function stopRecordedChannel(down: ssh2.ServerChannel, up: ssh2.ClientChannel): void {
  up.unpipe(down);
  up.stderr.unpipe(down.stderr);
  down.stderr.write('gatehouse: session recording failed; the session is closed\r\n');
  down.exit(255);
  down.end();
  up.close();
}

/** Pipes both directions with back-pressure and passes exit status/signal back before closing. */
function bridge(down: ssh2.ServerChannel, up: ssh2.ClientChannel, ctx: RelayContext, recorder?: ChannelTap): void {
  const { record, log } = ctx;
  down.on('data', (chunk: Buffer) => {
    record.bytesFromClient += chunk.length;
    recorder?.input(chunk);
  });
  up.on('data', (chunk: Buffer) => {
    record.bytesToClient += chunk.length;
    recorder?.output(chunk);
  });
  up.stderr.on('data', (chunk: Buffer) => {
    record.bytesToClient += chunk.length;
    recorder?.stderr(chunk);
  });
  up.on('error', (err: Error) => log.warn({ err: err.message }, 'target channel error'));

  down.pipe(up);
  // The client side is ended on the target's close, not its EOF, so the exit status goes first.
  up.pipe(down, { end: false });
  up.stderr.pipe(down.stderr, { end: false });
  up.on('exit', (code: number | null, signal?: string, coreDumped?: boolean, description?: string) => {
    if (code !== null) down.exit(code);
    else if (signal) down.exit(signal, coreDumped ?? false, description ?? '');
  });
  up.on('close', () => {
    recorder?.close();
    down.end();
  });
  down.on('close', () => {
    recorder?.close();
    up.close();
  });
}
