import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Writer } from "../../src/protocol/writer.ts";
import { written } from "../fixtures/protocol/helpers.ts";

describe("Writer growth", () => {
  // Every write used to evaluate this.buf before room() replaced it, so a write that grew the
  // buffer went to the old one (RangeError, or a lost byte for bool/uvarint).
  test("each primitive survives a reallocation", () => {
    const cases: [string, (w: Writer) => void, string][] = [
      ["int8", (w) => w.int8(-2), "fe"],
      ["bool", (w) => w.bool(true), "01"],
      ["int16", (w) => w.int16(-2), "fffe"],
      ["int32", (w) => w.int32(7), "00000007"],
      ["uint32", (w) => w.uint32(0xfffffffe), "fffffffe"],
      ["int64", (w) => w.int64(-2), "fffffffffffffffe"],
      ["string", (w) => w.string("abc"), "0003616263"],
      ["bytes", (w) => w.bytes(Buffer.from("ab")), "000000026162"],
      ["uvarint", (w) => w.uvarint(300), "ac02"],
      ["compactString", (w) => w.compactString("ab"), "036162"],
    ];
    for (const [name, write, hex] of cases) {
      const w = new Writer(1);
      w.int8(9);
      write(w);
      assert.equal(w.view().toString("hex"), `09${hex}`, name);
    }
  });
});

describe("Writer.externalChunks", () => {
  test("one int32 total, then the chunks by reference, in order", () => {
    const a = Buffer.from("abc");
    const b = Buffer.from("de");
    const w = new Writer(1);
    w.int8(1)
      .externalChunks([a, Buffer.alloc(0), b])
      .int8(2);
    const chunks = w.chunks();
    assert.equal(chunks.length, 4);
    assert.equal(chunks[1], a, "spliced, not copied");
    assert.equal(chunks[2], b, "spliced, not copied");
    assert.equal(w.length, 1 + 4 + 5 + 1);
    assert.equal(written(w).toString("hex"), `0100000005${Buffer.from("abcde").toString("hex")}02`);
  });

  test("no chunks: size 0, never null", () => {
    const w = new Writer();
    w.externalChunks([]);
    assert.equal(written(w).toString("hex"), "00000000");
    assert.equal(w.chunks().length, 1);
  });

  test("mixes with externalBytes", () => {
    const w = new Writer();
    w.externalBytes(Buffer.from("x")).externalChunks([Buffer.from("y"), Buffer.from("z")]);
    assert.equal(written(w).toString("hex"), "00000001" + "78" + "00000002" + "797a");
  });
});
