// `gatehouse replay SESSION`: plays a recording's output to this terminal at the recorded pace (see
// ../audit/recording/player.ts), with pause, step, speed and seek keys when standard input is a terminal.
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { parseCast, Player, timeline } from '../audit/recording/player.js';
import { dataDirectory } from './paths.js';
import { openRecording } from './recordings.js';

const help = `Usage: gatehouse replay [--data DIR] [--speed N] [--idle-limit SECONDS] [--from SECONDS]
                        [--no-wait] [--force] SESSION

Plays the output of the recording SESSION (a recording id SESSION-N, or a session id with exactly
one recording) to standard output at the recorded pace. Verified first, like "gatehouse export":
a tampered recording is refused unless --force, an unfinished one is played with a warning.
  --speed N               play N times as fast (default 1)
  --idle-limit SECONDS    shorten every pause longer than SECONDS to SECONDS (default 2; 0 keeps them all)
  --from SECONDS          start there (seconds of playback, idle pauses shortened): earlier output
                          is written at once
  --no-wait               write all the output at once, no pauses (for scripts)
Keys while playing (when standard input is a terminal): space pause/resume, . next frame (paused),
+ / - double / halve the speed, right arrow 5 s ahead, q or Ctrl-C quit.
Exit status: 0 played, 1 tampered, 2 usage (or SESSION has several recordings), 3 not found.
`;

const SEEK_SECONDS = 5;

export async function replayCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      data: { type: 'string' },
      speed: { type: 'string' },
      'idle-limit': { type: 'string' },
      from: { type: 'string' },
      'no-wait': { type: 'boolean' },
      force: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help || positionals.length !== 1) {
    process.stdout.write(help);
    return values.help ? 0 : 2;
  }
  const speed = number(values.speed ?? '1');
  const idleLimit = number(values['idle-limit'] ?? '2');
  const from = number(values.from ?? '0');
  if (speed === undefined || idleLimit === undefined || from === undefined || speed === 0) {
    process.stderr.write('gatehouse: --speed must be a number above 0, --idle-limit and --from numbers of seconds\n');
    return 2;
  }
  const warn = (line: string): void => void process.stderr.write(`gatehouse: warning: ${line}\n`);
  const recording = await openRecording(dataDirectory(values.data), positionals[0]!, values.force ?? false, warn);
  if ('error' in recording) {
    process.stderr.write(`gatehouse: ${recording.error}\n`);
    return recording.status;
  }
  const frames = timeline(parseCast(recording.text.toString('utf8')).events, idleLimit === 0 ? Infinity : idleLimit);
  if (values['no-wait']) {
    process.stdout.write(frames.map((frame) => frame.data).join(''));
    return 0;
  }
  const player = new Player(frames, {
    speed,
    from,
    write: (data) => void process.stdout.write(data),
    now: () => performance.now(),
    sleep: (ms, signal) => sleep(ms, undefined, { signal }),
  });
  const stopKeys = process.stdin.isTTY ? listenToKeys(player) : () => {};
  const quit = (): void => player.quit();
  process.once('SIGTERM', quit);
  process.once('SIGINT', quit);
  try {
    await player.play();
  } finally {
    process.off('SIGTERM', quit);
    process.off('SIGINT', quit);
    stopKeys();
  }
  return 0;
}

/** A non-negative number, or undefined. */
function number(text: string): number | undefined {
  const value = Number(text);
  return text.trim() !== '' && Number.isFinite(value) && value >= 0 ? value : undefined;
}

/** Raw-mode keys drive `player`; the returned function restores the terminal (also done at exit). */
function listenToKeys(player: Player): () => void {
  const stdin = process.stdin;
  const restore = (): void => {
    if (stdin.isRaw) stdin.setRawMode(false);
  };
  const onKey = (chunk: Buffer): void => {
    const key = chunk.toString('latin1');
    if (key === ' ') player.togglePause();
    else if (key === '.') player.step();
    else if (key === '+') player.setSpeed(player.speed * 2);
    else if (key === '-') player.setSpeed(player.speed / 2);
    else if (key === '\x1b[C') player.seek(SEEK_SECONDS);
    else if (key === 'q' || key === '\x03' || key === '\x04') player.quit();
  };
  stdin.setRawMode(true);
  process.once('exit', restore);
  stdin.on('data', onKey);
  stdin.resume();
  return () => {
    stdin.off('data', onKey);
    stdin.pause();
    restore();
    process.off('exit', restore);
  };
}
