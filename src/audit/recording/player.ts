// Plays a recording back: parses asciicast v2 text into events, lays the `o` events on a playback timeline
// (recorded times with every gap capped at the idle limit) and writes them at the right moments. No I/O of
// its own: the clock, the sleep and the writer are handed in, so a test drives playback without waiting.
//
// Positions (`from`, seeking) are seconds of that timeline at speed 1: what the viewer sees, idle gaps cut.

export interface CastHeader {
  version: 2;
  width: number;
  height: number;
  [field: string]: unknown;
}

export interface CastEvent {
  /** Seconds since the start of the recording. */
  time: number;
  code: string;
  data: string;
}

export interface Cast {
  header: CastHeader;
  events: CastEvent[];
}

/** Header line and event lines of asciicast v2 text; throws naming the first unreadable line. */
export function parseCast(text: string): Cast {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const header = parseJson(lines[0], 1) as Partial<CastHeader> | undefined;
  if (typeof header !== 'object' || header === null || Array.isArray(header) || header.version !== 2) {
    throw new Error('line 1 is not an asciicast v2 header');
  }
  const events: CastEvent[] = [];
  for (let i = 1; i < lines.length; i++) {
    const event = parseJson(lines[i], i + 1);
    if (!Array.isArray(event) || typeof event[0] !== 'number' || typeof event[1] !== 'string' || typeof event[2] !== 'string') {
      throw new Error(`line ${i + 1} is not an asciicast event`);
    }
    events.push({ time: event[0], code: event[1], data: event[2] });
  }
  return { header: header as CastHeader, events };
}

function parseJson(line: string | undefined, number: number): unknown {
  try {
    return JSON.parse(line ?? '');
  } catch {
    throw new Error(`line ${number} is not JSON`);
  }
}

/** One piece of output and when it is due, in seconds of the playback timeline. */
export interface Frame {
  at: number;
  data: string;
}

/**
 * The `o` events on the playback timeline: each gap between consecutive events (of any kind, as the
 * recording had them) shortened to at most `idleLimit` seconds. `Infinity` keeps the recorded times.
 */
export function timeline(events: readonly CastEvent[], idleLimit: number): Frame[] {
  const frames: Frame[] = [];
  let at = 0;
  let previous = 0;
  for (const event of events) {
    at += Math.min(Math.max(0, event.time - previous), idleLimit);
    previous = Math.max(previous, event.time);
    if (event.code === 'o') frames.push({ at, data: event.data });
  }
  return frames;
}

export interface PlayerOptions {
  /** Playback speed: 2 plays twice as fast. */
  speed: number;
  /** Start here: everything before is written at once. */
  from?: number;
  write(data: string): void;
  /** Milliseconds, monotonic. */
  now(): number;
  /** Resolves after `ms` milliseconds, or earlier; the player re-checks the time after every wake-up and
   * aborts `signal` when it no longer waits (a key was pressed). */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

/** Playback of a timeline with the controls of a player; `play()` resolves when done or quit. */
export class Player {
  readonly #frames: readonly Frame[];
  readonly #options: PlayerOptions;
  #next = 0;
  #speed: number;
  // Where the timeline stood at clock time #baseClock; it advances at #speed while not paused.
  #basePosition: number;
  #baseClock: number;
  #paused = false;
  #quit = false;
  #wake: () => void = () => {};

  constructor(frames: readonly Frame[], options: PlayerOptions) {
    if (!(options.speed > 0)) throw new Error('speed must be above 0');
    this.#frames = frames;
    this.#options = options;
    this.#speed = options.speed;
    this.#basePosition = Math.max(0, options.from ?? 0);
    this.#baseClock = options.now();
  }

  get speed(): number {
    return this.#speed;
  }

  get paused(): boolean {
    return this.#paused;
  }

  /** Seconds of the timeline played so far. */
  position(): number {
    if (this.#paused) return this.#basePosition;
    return this.#basePosition + ((this.#options.now() - this.#baseClock) / 1000) * this.#speed;
  }

  async play(): Promise<void> {
    while (!this.#quit && this.#next < this.#frames.length) {
      const frame = this.#frames[this.#next]!;
      const ahead = frame.at - this.position();
      if (ahead <= 0) {
        this.#options.write(frame.data);
        this.#next++;
      } else if (this.#paused) {
        await this.#interruption();
      } else {
        const cancel = new AbortController();
        const sleeping = this.#options.sleep((ahead / this.#speed) * 1000, cancel.signal).catch(() => {});
        await Promise.race([sleeping, this.#interruption()]);
        cancel.abort();
      }
    }
  }

  togglePause(): void {
    this.#rebase();
    this.#paused = !this.#paused;
    this.#wake();
  }

  /** While paused: writes the next frame and moves the position to it. Pauses first when playing. */
  step(): void {
    this.#rebase();
    this.#paused = true;
    const frame = this.#frames[this.#next];
    if (frame !== undefined) {
      this.#options.write(frame.data);
      this.#next++;
      this.#basePosition = Math.max(this.#basePosition, frame.at);
    }
    this.#wake();
  }

  setSpeed(speed: number): void {
    if (!(speed > 0)) return;
    this.#rebase();
    this.#speed = speed;
    this.#wake();
  }

  /** Moves the position `seconds` ahead; what it skips is written at once. */
  seek(seconds: number): void {
    this.#rebase();
    this.#basePosition += Math.max(0, seconds);
    this.#wake();
  }

  quit(): void {
    this.#quit = true;
    this.#wake();
  }

  #rebase(): void {
    this.#basePosition = this.position();
    this.#baseClock = this.#options.now();
  }

  #interruption(): Promise<void> {
    return new Promise((resolve) => (this.#wake = resolve));
  }
}
