// The player's scheduling with a fake clock: sleeping advances it at once, so no test waits. Checks the
// idle cap, speed, --from, pause/step, speed keys and seeking, and asciicast parsing.
import t from 'tap';
import { parseCast, Player, timeline, type CastEvent, type Frame } from '../../../src/audit/recording/player.js';

const o = (time: number, data: string): CastEvent => ({ time, code: 'o', data });

/** A player over `frames` whose clock only moves when it sleeps; `writes` holds [ms, data]. */
function fakePlayer(frames: Frame[], options: { speed?: number; from?: number; onWrite?: (player: Player, data: string) => void } = {}) {
  let clock = 1000;
  const writes: [number, string][] = [];
  const sleeps: number[] = [];
  const player: Player = new Player(frames, {
    speed: options.speed ?? 1,
    from: options.from,
    now: () => clock,
    sleep: async (ms) => {
      sleeps.push(ms);
      clock += ms;
    },
    write: (data) => {
      writes.push([clock - 1000, data]);
      options.onWrite?.(player, data);
    },
  });
  return { player, writes, sleeps, advance: (ms: number) => (clock += ms) };
}

t.test('timeline caps every gap at the idle limit, keeps only output, counts resizes as time', async (t) => {
  const events: CastEvent[] = [o(0.5, 'a'), o(1, 'b'), { time: 10, code: 'r', data: '100x30' }, o(10.5, 'c'), { time: 30, code: 'i', data: 'x' }, o(31, 'd')];
  t.same(timeline(events, 2), [{ at: 0.5, data: 'a' }, { at: 1, data: 'b' }, { at: 3.5, data: 'c' }, { at: 6.5, data: 'd' }]);
  t.same(timeline(events, Infinity).map((f) => f.at), [0.5, 1, 10.5, 31]);
  t.same(timeline([o(0, 'x'), o(0, 'y')], 2).map((f) => f.at), [0, 0], 'same time, no gap');
});

t.test('plays at recorded times, divided by the speed', async (t) => {
  const frames = timeline([o(0, 'a'), o(1, 'b'), o(1.5, 'c')], 2);
  const normal = fakePlayer(frames);
  await normal.player.play();
  t.same(normal.writes, [[0, 'a'], [1000, 'b'], [1500, 'c']]);
  const fast = fakePlayer(frames, { speed: 4 });
  await fast.player.play();
  t.same(fast.writes, [[0, 'a'], [250, 'b'], [375, 'c']]);
});

t.test('--from writes what comes before at once, then plays on from there', async (t) => {
  const frames = timeline([o(0, 'a'), o(3, 'b'), o(5, 'c'), o(6, 'd')], Infinity);
  const { player, writes } = fakePlayer(frames, { from: 4.5 });
  await player.play();
  t.same(writes, [[0, 'a'], [0, 'b'], [500, 'c'], [1500, 'd']]);
});

t.test('seeking skips ahead, writing the skipped frames at once', async (t) => {
  const frames = timeline([o(0, 'a'), o(1, 'b'), o(6, 'c'), o(7, 'd'), o(20, 'e')], Infinity);
  const { player, writes } = fakePlayer(frames, { onWrite: (p, data) => data === 'a' && p.seek(5) });
  await player.play();
  // After 'a' the position is 5: b is due at once, c one second later; e at 20 - 5 = 15 s of clock.
  t.same(writes, [[0, 'a'], [0, 'b'], [1000, 'c'], [2000, 'd'], [15000, 'e']]);
});

t.test('speed keys rebase the pace from the current position', async (t) => {
  const frames = timeline([o(0, 'a'), o(2, 'b'), o(4, 'c')], Infinity);
  const { player, writes } = fakePlayer(frames, { onWrite: (p, data) => data === 'b' && p.setSpeed(p.speed * 2) });
  await player.play();
  t.same(writes, [[0, 'a'], [2000, 'b'], [3000, 'c']]);
  t.equal(player.speed, 2);
});

t.test('pause holds the position; step writes one frame; resume goes on from there', async (t) => {
  const frames = timeline([o(0, 'a'), o(1, 'b'), o(2, 'c'), o(3, 'd')], Infinity);
  const { player, writes, advance } = fakePlayer(frames, { onWrite: (p, data) => data === 'a' && p.togglePause() });
  const done = player.play();
  await new Promise((resolve) => setImmediate(resolve));
  t.ok(player.paused);
  t.same(writes, [[0, 'a']]);
  advance(60_000); // a minute paused: nothing is written
  await new Promise((resolve) => setImmediate(resolve));
  t.same(writes, [[0, 'a']]);
  player.step();
  t.same(writes.at(-1), [60_000, 'b'], 'step writes the next frame');
  t.equal(player.position(), 1);
  player.togglePause();
  await done;
  t.same(writes.slice(2), [[61_000, 'c'], [62_000, 'd']]);
});

t.test('quit ends playback at once', async (t) => {
  const frames = timeline([o(0, 'a'), o(100, 'b')], Infinity);
  const { player, writes } = fakePlayer(frames, { onWrite: (p) => p.quit() });
  await player.play();
  t.same(writes, [[0, 'a']]);
});

t.test('a key press wakes a long sleep early (the sleep is aborted)', async (t) => {
  const frames = timeline([o(0, 'a'), o(100, 'b')], Infinity);
  let clock = 0;
  let aborted = false;
  const player = new Player(frames, {
    speed: 1,
    now: () => clock,
    sleep: (_ms, signal) => new Promise<void>((_resolve, reject) => signal.addEventListener('abort', () => ((aborted = true), reject(new Error('aborted'))))),
    write: () => {},
  });
  const done = player.play();
  await new Promise((resolve) => setImmediate(resolve));
  player.quit();
  await done;
  t.ok(aborted);
});

t.test('parseCast reads header and events and names a bad line', async (t) => {
  const cast = parseCast('{"version":2,"width":80,"height":24}\n[0.5,"o","h\\u00e9"]\n[1,"r","90x30"]\n');
  t.same(cast.header, { version: 2, width: 80, height: 24 });
  t.same(cast.events, [o(0.5, 'hé'), { time: 1, code: 'r', data: '90x30' }]);
  t.throws(() => parseCast('{"version":1}\n'), /line 1 is not an asciicast v2 header/);
  t.throws(() => parseCast('{"version":2}\n[0,"o"]\n'), /line 2 is not an asciicast event/);
  t.throws(() => parseCast('{"version":2}\n[0,"o","x"\n'), /line 2 is not JSON/);
});
