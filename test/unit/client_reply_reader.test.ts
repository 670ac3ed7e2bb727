// ReplyReader (src/client/tcp.ts): the client's TCP reply framing over net's `onread`. The
// "socket" here fills whatever buffer() hands out with the next bytes of a stream, in reads of
// varying sizes; every frame must come out whole, equal to what was sent, in order, and stay so
// after later reads (a frame must never be a view of the reused scratch buffer).

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import { ReplyReader } from "../../src/client/tcp.ts";
import { FrameDecoder } from "../../src/transport/frame_decoder.ts";

function stream(sizes: number[]): { bytes: Buffer; bodies: Buffer[] } {
  const bodies = sizes.map((n) => randomBytes(n));
  const parts: Buffer[] = [];
  for (const b of bodies) {
    const p = Buffer.alloc(4);
    p.writeInt32BE(b.length, 0);
    parts.push(p, b);
  }
  return { bytes: Buffer.concat(parts), bodies };
}

/** Feed `bytes` through a reader, each read at most `maxRead(i)` bytes; the frames it gave. */
function feed(r: ReplyReader, got: Buffer[], bytes: Buffer, maxRead: (i: number) => number): string | null {
  let at = 0;
  for (let i = 0; at < bytes.length; i++) {
    const into = r.buffer();
    assert.ok(into.length > 0, "buffer() handed out no room");
    const n = Math.min(into.length, maxRead(i), bytes.length - at);
    bytes.copy(into, 0, at, at + n);
    at += n;
    const problem = r.read(n);
    if (problem !== null) return problem;
  }
  assert.ok(got.length >= 0);
  return null;
}

test("ReplyReader: frames of every size out of reads of every size, none aliased to later reads", () => {
  // scratch 64 B and a first frame buffer of 256 B, so small, scratch-straddling, direct and
  // grown frames all occur
  const sizes = [0, 1, 3, 4, 5, 60, 64, 65, 200, 256, 257, 1000, 5000, 0, 2, 63];
  for (const maxRead of [1, 2, 3, 5, 7, 64, 100, 1 << 20]) {
    const { bytes, bodies } = stream(sizes);
    const got: Buffer[] = [];
    const r = new ReplyReader((f) => got.push(f), 0x7fffffff, 64, 256);
    assert.equal(
      feed(r, got, bytes, () => maxRead),
      null,
    );
    assert.equal(got.length, bodies.length, `reads of ${maxRead}`);
    for (let i = 0; i < bodies.length; i++)
      assert.ok(got[i].equals(bodies[i]), `frame ${i} (${bodies[i].length} B), reads of ${maxRead}`);
  }
});

test("ReplyReader gives the frames FrameDecoder gives, over random reads", () => {
  for (let round = 0; round < 20; round++) {
    const sizes = Array.from({ length: 40 }, () =>
      Math.random() < 0.2 ? Math.floor(Math.random() * 300_000) : Math.floor(Math.random() * 200),
    );
    const { bytes } = stream(sizes);
    const got: Buffer[] = [];
    const r = new ReplyReader((f) => got.push(f), 0x7fffffff, 4096, 65536);
    const reads = Array.from({ length: 1000 }, () => 1 + Math.floor(Math.random() * 9000));
    assert.equal(
      feed(r, got, bytes, (i) => reads[i % reads.length]),
      null,
    );
    const want: Buffer[] = [];
    const d = new FrameDecoder(0x7fffffff);
    assert.equal(
      d.push(bytes, (f) => want.push(Buffer.from(f))),
      null,
    );
    assert.equal(got.length, want.length);
    for (let i = 0; i < want.length; i++) assert.ok(got[i].equals(want[i]), `frame ${i}`);
  }
});

test("ReplyReader: a negative or oversized size prefix is a broken stream", () => {
  for (const size of [-1, 1001]) {
    const p = Buffer.alloc(8);
    p.writeInt32BE(size, 0);
    const r = new ReplyReader(() => assert.fail("no frame"), 1000, 64, 256);
    const problem = feed(r, [], p, () => 3);
    assert.match(problem ?? "", /exceeds 1000/);
  }
});
