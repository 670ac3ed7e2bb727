import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ProtocolError, Reader } from "../../src/protocol/reader.ts";
import { concatChunks, Writer } from "../../src/protocol/writer.ts";
import { written } from "../fixtures/protocol/helpers.ts";

const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.length).toString("hex");

describe("Writer growth", () => {
  // Every write used to evaluate this.buf before room() replaced it, so a write that grew the
  // buffer went to the old one (RangeError, or a lost byte for bool/uvarint).
  test("each primitive survives a reallocation", () => {
    const cases: [string, (w: Writer) => void, string][] = [
      ["int8", (w) => w.int8(-2), "fe"],
      ["bool", (w) => w.bool(true), "01"],
      ["int16", (w) => w.int16(-2), "fffe"],
      ["uint16", (w) => w.uint16(0xfffe), "fffe"],
      ["int32", (w) => w.int32(7), "00000007"],
      ["uint32", (w) => w.uint32(0xfffffffe), "fffffffe"],
      ["int64", (w) => w.int64(-2), "fffffffffffffffe"],
      ["float64", (w) => w.float64(1.5), "3ff8000000000000"],
      ["string", (w) => w.string("abc"), "0003616263"],
      ["bytes", (w) => w.bytes(Uint8Array.of(0x61, 0x62)), "000000026162"],
      ["raw", (w) => w.raw(Uint8Array.of(1, 2, 3)), "010203"],
      ["uvarint", (w) => w.uvarint(300), "ac02"],
      ["compactString", (w) => w.compactString("ab"), "036162"],
    ];
    for (const [name, write, expected] of cases) {
      const w = new Writer(1);
      w.int8(9);
      write(w);
      const view = w.view();
      assert.ok(view instanceof Uint8Array, name);
      assert.equal(hex(view), `09${expected}`, name);
    }
  });
});

describe("Writer and Reader, platform-neutral (Uint8Array + DataView)", () => {
  test("a Writer's buffer and view are plain Uint8Arrays, not Buffers", () => {
    const w = new Writer(4);
    w.int32(1).string("grow");
    assert.equal(Object.getPrototypeOf(w.buf), Uint8Array.prototype);
    assert.equal(Object.getPrototypeOf(w.view()), Uint8Array.prototype);
  });

  test("uint16, float64, uuid and sub read back what was written", () => {
    const id = Uint8Array.from({ length: 16 }, (_, i) => i + 1);
    const w = new Writer(1);
    w.uint16(65535).float64(-0.25).raw(id).int8(7).int8(8).int8(9);
    const r = new Reader(w.view());
    assert.equal(r.uint16(), 65535);
    assert.equal(r.float64(), -0.25);
    assert.deepStrictEqual(r.uuid(), id);
    const sub = r.sub(2);
    assert.equal(sub.int8(), 7);
    assert.equal(sub.int8(), 8);
    assert.throws(() => sub.int8(), ProtocolError, "a sub reader ends where its n bytes do");
    assert.equal(r.int8(), 9, "the parent skipped the sub reader's bytes");
    assert.throws(() => r.uint16(), ProtocolError);
    assert.throws(() => new Reader(Uint8Array.of(1, 2)).sub(3), ProtocolError);
  });

  test("a Reader over a subarray reads from its offset (DataView over byteOffset)", () => {
    const backing = Uint8Array.of(0xff, 0xff, 0x00, 0x02, 0x00, 0x00, 0x00, 0x03);
    const r = new Reader(backing.subarray(2));
    assert.equal(r.int16(), 2);
    assert.equal(r.int32(), 3);
  });

  test("bytes and nullableBytes are views into the frame", () => {
    const frame = Uint8Array.of(0, 0, 0, 2, 0x61, 0x62, 0xff, 0xff, 0xff, 0xff);
    const r = new Reader(frame);
    const b = r.bytes();
    assert.deepStrictEqual(b, Uint8Array.of(0x61, 0x62));
    assert.equal(b.buffer, frame.buffer, "no copy");
    assert.equal(r.nullableBytes(), null);
  });
});

describe("Writer.splice", () => {
  test("spliced bytes are sent by reference, at the offset they were spliced", () => {
    const a = Uint8Array.of(0xaa, 0xbb);
    const w = new Writer(1);
    w.int8(1).splice(a).int8(2).splice(new Uint8Array(0)).int8(3);
    const chunks = w.chunks();
    assert.equal(chunks.length, 3);
    assert.equal(chunks[1], a, "spliced, not copied");
    assert.equal(w.length, 5);
    assert.equal(hex(written(w)), "01aabb0203");
    // view() joins the spliced arrays in: a copy
    const view = w.view();
    assert.equal(hex(view), "01aabb0203");
    assert.notEqual(view.buffer, a.buffer);
  });

  test("concatChunks joins in order, and returns a single chunk as it is", () => {
    const a = Uint8Array.of(1);
    assert.equal(concatChunks([a]), a);
    assert.equal(
      hex(concatChunks([a, Uint8Array.of(2, 3), new Uint8Array(0), Uint8Array.of(4)])),
      "01020304",
    );
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

  test("compact (flexible versions): a uvarint total + 1", () => {
    const w = new Writer();
    w.externalChunks([Buffer.from("ab"), Buffer.from("c")], true);
    assert.equal(written(w).toString("hex"), "04" + "616263");
    const empty = new Writer();
    empty.externalChunks([], true);
    assert.equal(written(empty).toString("hex"), "01", "empty, not null (0)");
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
