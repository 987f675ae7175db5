import fc from 'fast-check';
import t from 'tap';
import { encodeFrame, FrameError, FrameReader } from '../../../src/aa/sandbox/frames.js';

t.test('frames survive any cutting of the byte stream', async (t) => {
  fc.assert(
    fc.property(fc.array(fc.jsonValue(), { minLength: 1, maxLength: 8 }), fc.array(fc.nat(), { maxLength: 20 }), (messages, cuts) => {
      const stream = Buffer.concat(messages.map(encodeFrame));
      const points = [...new Set(cuts.map((cut) => cut % (stream.length + 1)))].sort((a, b) => a - b);
      const reader = new FrameReader(1 << 20);
      const received: unknown[] = [];
      let from = 0;
      for (const to of [...points, stream.length]) {
        received.push(...reader.push(stream.subarray(from, to)));
        from = to;
      }
      // JSON round trip is the contract: -0 becomes 0, as it would on the wire.
      t.strictSame(received, JSON.parse(JSON.stringify(messages)));
    }),
  );
});

t.test('a frame over the limit is refused from its header alone', async (t) => {
  const reader = new FrameReader(16);
  const header = Buffer.alloc(4);
  header.writeUInt32BE(17);
  t.throws(() => reader.push(header), new FrameError('frame of 17 bytes exceeds the limit of 16'));
  t.throws(() => new FrameReader(1 << 20).push(Buffer.from('this is not a frame')), { name: 'FrameError', message: /exceeds the limit/ });
});

t.test('a frame that is not JSON is refused', async (t) => {
  const body = Buffer.from('{not json');
  const header = Buffer.alloc(4);
  header.writeUInt32BE(body.length);
  t.throws(() => new FrameReader(100).push(Buffer.concat([header, body])), new FrameError('frame is not valid JSON'));
});
