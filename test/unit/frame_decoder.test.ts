// FrameDecoder (src/transport/tcp.ts): Kafka's size-prefixed frames out of arbitrary socket
// reads: whole frames as views, frames straddling reads at every split point, the size limit.

import assert from "node:assert/strict";
import { test } from "node:test";
import { FrameDecoder } from "../../src/transport/frame_decoder.ts";

function frames(sizes: number[]): { stream: Buffer; bodies: Buffer[] } {
  const bodies = sizes.map((n, i) => Buffer.alloc(n, (i * 37 + 11) & 0xff));
  const stream = Buffer.concat(bodies.flatMap((b) => [Buffer.from(Uint32Array.of(0).buffer).fill(0), b]));
  let at = 0;
  for (const b of bodies) {
    stream.writeInt32BE(b.length, at);
    at += 4 + b.length;
  }
  return { stream, bodies };
}

test("every split of a stream into two reads yields the same frames", () => {
  const { stream, bodies } = frames([0, 1, 5, 300, 7]);
  for (let cut = 0; cut <= stream.length; cut++) {
    const d = new FrameDecoder(1 << 20);
    const got: Buffer[] = [];
    assert.equal(
      d.push(stream.subarray(0, cut), (f) => got.push(Buffer.from(f))),
      null,
    );
    assert.equal(
      d.push(stream.subarray(cut), (f) => got.push(Buffer.from(f))),
      null,
    );
    assert.deepEqual(got, bodies, `cut at ${cut}`);
  }
});

test("byte-by-byte reads yield the same frames", () => {
  const { stream, bodies } = frames([3, 0, 64, 2]);
  const d = new FrameDecoder(1 << 20);
  const got: Buffer[] = [];
  for (let i = 0; i < stream.length; i++) d.push(stream.subarray(i, i + 1), (f) => got.push(Buffer.from(f)));
  assert.deepEqual(got, bodies);
});

test("a frame inside one read is a view of it, not a copy", () => {
  const { stream } = frames([10, 20]);
  const d = new FrameDecoder(1 << 20);
  const got: Buffer[] = [];
  d.push(stream, (f) => got.push(f));
  assert.equal(got[0].buffer, stream.buffer);
  assert.equal(got[1].buffer, stream.buffer);
});

test("a frame above the limit is refused, also when its prefix straddles reads", () => {
  const big = Buffer.alloc(4);
  big.writeInt32BE(2000);
  assert.match(
    new FrameDecoder(1000).push(big, () => {}) ?? "",
    /2000 bytes exceeds socket\.request\.max\.bytes \(1000\)/,
  );
  const d = new FrameDecoder(1000);
  assert.equal(
    d.push(big.subarray(0, 2), () => {}),
    null,
  );
  assert.match(d.push(big.subarray(2), () => {}) ?? "", /exceeds/);
  const neg = Buffer.alloc(4);
  neg.writeInt32BE(-5);
  assert.match(new FrameDecoder(1000).push(neg, () => {}) ?? "", /exceeds/);
});
