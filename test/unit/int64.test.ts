// int64 fields as JavaScript numbers (src/protocol/int64.ts): exact inside 2^53, and int64's ends
// (which a number reads back one past, as +-2^63) written as those ends instead of throwing.

import assert from "node:assert/strict";
import { test } from "node:test";
import { readInt64, writeInt64 } from "../../src/protocol/int64.ts";
import { Writer } from "../../src/protocol/writer.ts";

test("int64 round-trips exact values and clamps at its ends", () => {
  const b = Buffer.alloc(8);
  for (const v of [0, 1, -1, 2 ** 32, -(2 ** 32) - 7, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER]) {
    writeInt64(b, 0, v);
    assert.equal(b.readBigInt64BE(0), BigInt(v));
    assert.equal(readInt64(b, 0), v);
  }
  b.writeBigInt64BE(0x7fffffffffffffffn, 0);
  const max = readInt64(b, 0);
  assert.equal(max, 2 ** 63);
  writeInt64(b, 0, max);
  assert.equal(b.readBigInt64BE(0), 0x7fffffffffffffffn);
  writeInt64(b, 0, 2 ** 70);
  assert.equal(b.readBigInt64BE(0), 0x7fffffffffffffffn);
  writeInt64(b, 0, -(2 ** 63));
  assert.equal(b.readBigInt64BE(0), -0x8000000000000000n);
  writeInt64(b, 0, -(2 ** 64));
  assert.equal(b.readBigInt64BE(0), -0x8000000000000000n);
  // Past the writer's first buffer: each int64 lands in the buffer room() grew to.
  const w = new Writer();
  for (let i = 0; i < 100_000; i++) w.int64(i === 99_999 ? 2 ** 63 : i);
  const v = w.view();
  const out = Buffer.from(v.buffer, v.byteOffset, v.length);
  assert.equal(out.readBigInt64BE(8 * 70_000), 70_000n);
  assert.equal(out.readBigInt64BE(8 * 99_999), 0x7fffffffffffffffn);
});
