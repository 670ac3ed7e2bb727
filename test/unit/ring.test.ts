// The acceptor -> writer SharedArrayBuffer ring (src/ring): exact layout edge cases on one thread,
// then a producer on this thread and a consumer on a real worker thread.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import {
  alignEntry,
  createRingBuffer,
  DATA_START,
  ENTRY_HEADER_BYTES,
  HEAD,
  Kind,
  ringCapacity,
  SLEEPING,
  TAIL,
} from "../../src/ring/layout.ts";
import { RingReader } from "../../src/ring/ring_reader.ts";
import { RingWriter } from "../../src/ring/ring_writer.ts";
import type { ConsumerData, ConsumerResult } from "./fixtures/ring_consumer.ts";
import { entryFlags, fillPayload, foldEntry, payloadLength } from "./fixtures/ring_payload.ts";

const ENTRY_URL = new URL("../../workers/ts_entry.mjs", import.meta.url);
const CONSUMER_URL = new URL("./fixtures/ring_consumer.ts", import.meta.url);

function bytes(n: number, fill: number): Buffer {
  return Buffer.alloc(n, fill);
}

/** A ring whose head and tail both start at `start` (free-running counters, any multiple of 8). */
function ringAt(capacity: number, start: number): SharedArrayBuffer {
  const sab = createRingBuffer(capacity);
  const ctrl = new Int32Array(sab, 0, DATA_START / 4);
  ctrl[HEAD] = start | 0;
  ctrl[TAIL] = start | 0;
  return sab;
}

function headOf(sab: SharedArrayBuffer): number {
  return Atomics.load(new Int32Array(sab), HEAD);
}

describe("ring layout", () => {
  test("control words sit on their own cache lines, data after them", () => {
    assert.equal(HEAD * 4, 0);
    assert.equal(TAIL * 4, 64);
    assert.equal(SLEEPING * 4, 128);
    assert.equal(DATA_START, 192);
    assert.equal(ENTRY_HEADER_BYTES, 24);
  });

  test("alignEntry rounds header + payload up to 8", () => {
    assert.equal(alignEntry(0), 24);
    assert.equal(alignEntry(1), 32);
    assert.equal(alignEntry(8), 32);
    assert.equal(alignEntry(9), 40);
    assert.equal(alignEntry(40), 64);
    assert.equal(alignEntry(41), 72);
  });

  // (24 + n + 7) & ~7 overflowed int32 for n >= 2^31 - 31: the size came out negative and slipped
  // past tryWrite's "exceeds the ring" check.
  test("alignEntry stays exact beyond int32", () => {
    assert.equal(alignEntry(2 ** 31), 2 ** 31 + 24);
    assert.equal(alignEntry(2 ** 32 - 24), 2 ** 32);
    assert.equal(alignEntry(2 ** 32 - 23), 2 ** 32 + 8);
  });

  test("capacity must be a power of two >= 4096 that int32 head/tail arithmetic can address", () => {
    for (const c of [4096, 8192, 1 << 16, 1 << 20]) {
      const sab = createRingBuffer(c);
      assert.equal(sab.byteLength, DATA_START + c);
      assert.equal(ringCapacity(sab), c);
    }
    for (const c of [
      0,
      -4096,
      2048,
      4095,
      4097,
      6144,
      12288,
      4096.5,
      Number.NaN,
      Infinity,
      2 ** 32,
      2 ** 33,
    ]) {
      assert.throws(() => createRingBuffer(c), RangeError, `capacity ${c}`);
    }
  });
});

describe("ring on one thread", () => {
  test("entries come back in order with their header fields; release frees the bytes", () => {
    const sab = createRingBuffer(4096);
    const w = new RingWriter(sab);
    const r = new RingReader(sab);
    assert.equal(r.peek(), null);
    assert.equal(w.tryWrite(Kind.APPEND, 0xffff, 7, 3, Buffer.from("hello")), true);
    assert.equal(w.tryWrite(Kind.CONTROL, 0, 8, 0, Buffer.from('{"op":"flush"}')), true);
    assert.equal(w.tryWrite(Kind.APPEND, 1, 0xffffffff, 0xfffffffe, new Uint8Array(0)), true);
    assert.equal(w.used, alignEntry(5) + alignEntry(14) + alignEntry(0));

    const a = r.peek()!;
    assert.deepEqual(
      { kind: a.kind, flags: a.flags, tag: a.tag, slot: a.slot, size: a.size },
      { kind: Kind.APPEND, flags: 0xffff, tag: 7, slot: 3, size: 32 },
    );
    assert.equal(a.payload.toString(), "hello");
    // peek without release returns the same entry
    assert.equal(r.peek()!.tag, 7);
    r.release(a.size);
    assert.equal(w.used, alignEntry(14) + alignEntry(0));
    const c = r.peek()!;
    assert.equal(c.kind, Kind.CONTROL);
    assert.equal(c.payload.toString(), '{"op":"flush"}');
    r.release(c.size);
    const e = r.peek()!;
    assert.equal(e.tag, 0xffffffff);
    assert.equal(e.slot, 0xfffffffe);
    assert.equal(e.payload.length, 0);
    r.release(e.size);
    assert.equal(r.peek(), null);
    assert.equal(w.used, 0);
  });

  test("the payload is a view of shared memory: in-place edits are seen by both ends", () => {
    const sab = createRingBuffer(4096);
    const w = new RingWriter(sab);
    const r = new RingReader(sab);
    w.tryWrite(Kind.APPEND, 1, 1, 1, bytes(16, 1));
    const e = r.peek()!;
    e.payload.writeUInt32BE(0xdeadbeef, 0);
    assert.equal(Buffer.from(sab, DATA_START + ENTRY_HEADER_BYTES, 4).readUInt32BE(0), 0xdeadbeef);
    assert.equal(r.peek()!.payload.readUInt32BE(0), 0xdeadbeef);
  });

  test("an entry exactly reaching the end needs no PAD; the next one starts at data[0]", () => {
    const sab = createRingBuffer(4096);
    const w = new RingWriter(sab);
    const r = new RingReader(sab);
    // 4032 bytes of entries leave 64 before the end; a 40-byte payload makes a 64-byte entry.
    for (let i = 0; i < 63; i++) assert.ok(w.tryWrite(Kind.APPEND, 0, i, 0, bytes(40, i)));
    for (let i = 0; i < 63; i++) r.release(r.peek()!.size);
    assert.equal(headOf(sab), 4032);
    assert.ok(w.tryWrite(Kind.APPEND, 0, 100, 0, bytes(40, 0xaa)));
    assert.equal(headOf(sab), 4096, "no PAD: head moved by the entry only");
    assert.ok(w.tryWrite(Kind.APPEND, 0, 101, 0, bytes(8, 0xbb)));
    const a = r.peek()!;
    assert.equal(a.tag, 100);
    assert.equal(a.payload.byteOffset, DATA_START + 4032 + ENTRY_HEADER_BYTES);
    assert.deepEqual(a.payload, bytes(40, 0xaa));
    r.release(a.size);
    const b = r.peek()!;
    assert.equal(b.tag, 101);
    assert.equal(b.payload.byteOffset, DATA_START + ENTRY_HEADER_BYTES, "wrapped to data[0]");
    r.release(b.size);
    assert.equal(w.used, 0);
  });

  test("an entry one byte too big for the tail room goes to data[0] behind a PAD", () => {
    const sab = createRingBuffer(4096);
    const w = new RingWriter(sab);
    const r = new RingReader(sab);
    for (let i = 0; i < 63; i++) w.tryWrite(Kind.APPEND, 0, i, 0, bytes(40, 0));
    for (let i = 0; i < 63; i++) r.release(r.peek()!.size);
    // 64 bytes left before the end; 41 bytes of payload need 72.
    assert.ok(w.tryWrite(Kind.APPEND, 0, 200, 0, bytes(41, 0xcc)));
    assert.equal(headOf(sab), 4032 + 64 + 72, "head moved by the PAD and the entry");
    assert.equal(w.used, 64 + 72);
    const view = new DataView(sab, DATA_START);
    assert.equal(view.getUint32(4032, true), 64, "PAD size");
    assert.equal(view.getUint16(4036, true), Kind.PAD, "PAD kind");
    const e = r.peek()!;
    assert.equal(e.tag, 200, "peek skips the PAD");
    assert.equal(e.size, 72);
    assert.equal(e.payload.byteOffset, DATA_START + ENTRY_HEADER_BYTES);
    assert.deepEqual(e.payload, bytes(41, 0xcc));
    assert.equal(w.used, 72, "the PAD was released by peek");
    r.release(e.size);
    assert.equal(w.used, 0);
  });

  test("smallest tail room (8 bytes) still takes a PAD", () => {
    const sab = createRingBuffer(4096);
    const w = new RingWriter(sab);
    const r = new RingReader(sab);
    // 4088 = 24 + 4064: one entry leaving exactly 8 bytes.
    assert.ok(w.tryWrite(Kind.APPEND, 0, 1, 0, bytes(4088 - 24 - 2048, 1)));
    assert.ok(w.tryWrite(Kind.APPEND, 0, 2, 0, bytes(2048 - 24, 2)));
    assert.equal(headOf(sab), 4088);
    r.release(r.peek()!.size);
    r.release(r.peek()!.size);
    assert.ok(w.tryWrite(Kind.APPEND, 0, 3, 0, bytes(0, 0)));
    assert.equal(headOf(sab), 4096 + 24);
    const e = r.peek()!;
    assert.equal(e.tag, 3);
    r.release(e.size);
    assert.equal(w.used, 0);
  });

  test("a full ring refuses (false, nothing written) until the consumer releases", () => {
    const sab = createRingBuffer(4096);
    const w = new RingWriter(sab);
    const r = new RingReader(sab);
    let n = 0;
    while (w.tryWrite(Kind.APPEND, 0, n, 0, bytes(40, n))) n++;
    assert.equal(n, 64, "64 entries of 64 bytes fill 4096 to the brim");
    assert.equal(w.used, 4096);
    const head = headOf(sab);
    assert.equal(w.tryWrite(Kind.APPEND, 0, 999, 0, new Uint8Array(0)), false);
    assert.equal(headOf(sab), head, "a refused write does not move head");
    r.release(r.peek()!.size);
    assert.equal(w.tryWrite(Kind.APPEND, 0, 999, 0, bytes(41, 0)), false, "72 bytes do not fit in 64");
    assert.ok(w.tryWrite(Kind.APPEND, 0, 64, 0, bytes(40, 64)), "64 bytes do");
    for (let i = 1; i <= 64; i++) {
      const e = r.peek()!;
      assert.equal(e.tag, i);
      assert.deepEqual(e.payload, bytes(40, i & 0xff));
      r.release(e.size);
    }
    assert.equal(r.peek(), null);
  });

  test("a write needing a PAD is refused when PAD + entry do not fit, though the entry alone would", () => {
    const sab = createRingBuffer(4096);
    const w = new RingWriter(sab);
    const r = new RingReader(sab);
    for (let i = 0; i < 63; i++) w.tryWrite(Kind.APPEND, 0, i, 0, bytes(40, 0));
    // keep the last 32 entries: 2048 bytes used at [1984, 4032), 64 free at the end, 1984 at the start
    for (let i = 0; i < 31; i++) r.release(r.peek()!.size);
    assert.equal(w.used, 2048);
    // a 2048-byte entry would fit in the 2048 free bytes, but not after the 64-byte PAD
    const big = bytes(2048 - 24, 9); // an 8-aligned source: the largest entry, exactly half the ring
    assert.equal(w.tryWrite(Kind.APPEND, 0, 1, 0, big), false);
    assert.equal(headOf(sab), 4032, "no PAD written for a refused entry");
    r.release(r.peek()!.size);
    assert.ok(w.tryWrite(Kind.APPEND, 0, 1, 0, big));
    assert.equal(w.used, 4096);
    for (let i = 0; i < 31; i++) r.release(r.peek()!.size);
    const e = r.peek()!;
    assert.equal(e.size, 2048);
    assert.ok(e.payload.equals(big));
    r.release(e.size);
    assert.equal(w.used, 0);
  });

  test("a payload lands at its source's address mod 8 (the fast copy path), and reads back exact", () => {
    const sab = createRingBuffer(4096);
    const w = new RingWriter(sab);
    const r = new RingReader(sab);
    const frame = bytes(1000, 3);
    for (let shift = 0; shift < 8; shift++) {
      const src = frame.subarray(13 + shift, 13 + shift + 300 + shift);
      assert.ok(w.tryWrite(Kind.APPEND, 0, shift, 0, src));
      const e = r.peek()!;
      assert.equal(e.payload.byteOffset % 8, src.byteOffset % 8, `shift ${shift}`);
      assert.ok(e.payload.equals(src));
      r.release(e.size);
    }
    // Any alignment of a maxPayload source fits.
    for (let shift = 0; shift < 8; shift++) {
      assert.ok(
        w.tryWrite(
          Kind.APPEND,
          0,
          0,
          0,
          Buffer.alloc(w.maxPayload + 8).subarray(shift, shift + w.maxPayload),
        ),
      );
      r.release(r.peek()!.size);
    }
  });

  test("maxPayload is the largest entry that always fits, even behind a PAD", () => {
    const sab = createRingBuffer(4096);
    const w = new RingWriter(sab);
    const r = new RingReader(sab);
    // Half the ring, less the header and the largest alignment shift (7, rounded to 8).
    assert.equal(w.maxPayload, 2048 - 32);
    assert.throws(() => w.tryWrite(Kind.APPEND, 0, 0, 0, new Uint8Array(2048 - 24 + 1)), RangeError);
    // Every start position (multiple of 8): an empty ring takes a maxPayload entry.
    for (let start = 0; start < 4096; start += 8) {
      const s2 = ringAt(4096, start);
      const w2 = new RingWriter(s2);
      const r2 = new RingReader(s2);
      const payload = bytes(w2.maxPayload, start & 0xff);
      assert.ok(w2.tryWrite(Kind.APPEND, 0, start, 0, payload), `start ${start}`);
      const e = r2.peek()!;
      assert.equal(e.tag, start);
      assert.ok(e.payload.equals(payload));
      r2.release(e.size);
      assert.equal(r2.peek(), null);
      assert.equal(w2.used, 0);
    }
    // Two of the largest 8-aligned entries fill the ring exactly.
    assert.ok(w.tryWrite(Kind.APPEND, 0, 0, 0, new Uint8Array(2048 - 24)));
    assert.ok(w.tryWrite(Kind.APPEND, 0, 0, 0, new Uint8Array(2048 - 24)));
    assert.equal(w.used, 4096);
    r.release(r.peek()!.size);
    r.release(r.peek()!.size);
  });

  test("a payload beyond int32 sizes is refused as too big, before anything is written", () => {
    const sab = createRingBuffer(4096);
    const w = new RingWriter(sab);
    // Only .length is read before the size check: stand in for a 2 GiB buffer.
    const huge = { length: 2 ** 31 } as unknown as Uint8Array;
    assert.throws(() => w.tryWrite(Kind.APPEND, 0, 0, 0, huge), {
      name: "RangeError",
      message: /exceeds the ring/,
    });
    assert.equal(headOf(sab), 0);
    assert.equal(new DataView(sab, DATA_START).getUint32(0, true), 0, "no header written");
  });

  test("head and tail keep working across int32 overflow and the 2^32 wrap", () => {
    for (const start of [2 ** 31 - 4096 * 3, -4096 * 3, -8]) {
      const sab = ringAt(4096, start);
      const w = new RingWriter(sab);
      const r = new RingReader(sab);
      let written = 0;
      let read = 0;
      const buf = Buffer.alloc(2048);
      for (let round = 0; round < 200; round++) {
        // write until full, then read about half
        for (;;) {
          const len = payloadLength(0, written, w.maxPayload);
          fillPayload(buf, len, 0, written);
          if (!w.tryWrite(Kind.APPEND, 0, 0, written, buf.subarray(0, len))) break;
          written++;
        }
        const stop = read + Math.max(1, (written - read) >> 1);
        while (read < stop) {
          const e = r.peek()!;
          assert.equal(e.slot, read);
          const len = payloadLength(0, read, w.maxPayload);
          fillPayload(buf, len, 0, read);
          assert.ok(e.payload.equals(buf.subarray(0, len)), `start ${start} entry ${read}`);
          r.release(e.size);
          read++;
        }
      }
      while (r.peek() !== null) {
        r.release(r.peek()!.size);
        read++;
      }
      assert.equal(read, written);
      assert.equal(w.used, 0);
      assert.notEqual(Math.sign(headOf(sab)), Math.sign(start), `start ${start}: head crossed the wrap`);
    }
  });

  test("wait returns at once when data is there and clears the sleeping flag", () => {
    const sab = createRingBuffer(4096);
    const w = new RingWriter(sab);
    const r = new RingReader(sab);
    const ctrl = new Int32Array(sab);
    w.tryWrite(Kind.APPEND, 0, 1, 0, bytes(8, 1));
    r.wait(60_000); // would block the test for a minute if it waited
    assert.equal(Atomics.load(ctrl, SLEEPING), 0, "not marked sleeping after wait");
    r.release(r.peek()!.size);
    r.wait(1); // empty: parks for 1 ms
    assert.equal(Atomics.load(ctrl, SLEEPING), 0);
  });
});

interface RunOptions {
  name: string;
  capacity: number;
  start: number;
  producers: number;
  entries: number;
  stallEvery: number;
}

/** One consumer worker serves every case in turn (a worker takes about a second to start). */
class Consumer {
  private readonly worker: Worker;
  private readonly messages: (ConsumerResult | "ready")[] = [];
  private wake: (() => void) | null = null;
  failure: Error | null = null;

  constructor(rings: { ring: SharedArrayBuffer; go: SharedArrayBuffer }[], cases: RunOptions[]) {
    const data: ConsumerData = {
      entry: CONSUMER_URL.href,
      cases: cases.map((c, i) => ({
        ring: rings[i].ring,
        go: rings[i].go,
        producers: c.producers,
        maxPayload: new RingWriter(rings[i].ring).maxPayload,
        stallEvery: c.stallEvery,
      })),
    };
    this.worker = new Worker(fileURLToPath(ENTRY_URL), { workerData: data });
    this.worker.on("message", (m: ConsumerResult | "ready") => {
      this.messages.push(m);
      this.wake?.();
    });
    const fail = (e: Error): void => {
      this.failure ??= e;
      this.wake?.();
    };
    this.worker.on("error", fail);
    this.worker.on("exit", (code) => fail(new Error(`consumer exited with ${code}`)));
  }

  /** The worker's next message: "ready" once loaded, then one result per case. */
  async next(): Promise<ConsumerResult | "ready"> {
    while (this.messages.length === 0) {
      if (this.failure) throw this.failure;
      await new Promise<void>((res) => (this.wake = res));
    }
    return this.messages.shift()!;
  }

  stop(): Promise<number> {
    return this.worker.terminate();
  }
}

interface RunOutcome {
  checksum: number;
  refused: number;
  brim: number;
}

/** Produce `o.entries` entries from several logical producers into a ring a worker consumes. */
async function produce(
  o: RunOptions,
  sab: SharedArrayBuffer,
  goBuf: SharedArrayBuffer,
  consumer: Consumer,
): Promise<RunOutcome> {
  const ring = new RingWriter(sab);
  const go = new Int32Array(goBuf);
  /** Yield to the event loop; give up when the consumer died or made no room for 10 s. */
  let stuckSince = 0;
  const retry = async (): Promise<void> => {
    await new Promise((res) => setImmediate(res));
    if (consumer.failure) throw consumer.failure;
    if (stuckSince === 0) stuckSince = Date.now();
    else if (Date.now() - stuckSince > 10_000) throw new Error("the consumer made no room for 10 s");
  };
  let seed = 12345;
  const rand = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) % n;
  };
  const nextSeq = new Array<number>(o.producers).fill(0);
  const buf = Buffer.alloc(ring.maxPayload);
  let checksum = 0;
  let refused = 0;
  let brim = -1;
  let pending: { producer: number; seq: number; len: number } | null = null;
  for (let n = 0; n < o.entries; ) {
    if (pending === null) {
      const producer = rand(o.producers);
      const seq = nextSeq[producer]++;
      const len = payloadLength(producer, seq, ring.maxPayload);
      fillPayload(buf, len, producer, seq);
      pending = { producer, seq, len };
    }
    const { producer, seq, len } = pending;
    const payload = buf.subarray(0, len);
    if (ring.tryWrite(Kind.APPEND, entryFlags(seq), producer, seq, payload)) {
      checksum = foldEntry(checksum, Kind.APPEND, entryFlags(seq), producer, seq, payload);
      pending = null;
      stuckSince = 0;
      n++;
      // Now and then let the ring drain, so the consumer parks in wait() and needs a notify.
      if (brim >= 0 && rand(1000) === 0) await new Promise((res) => setTimeout(res, 2));
      continue;
    }
    refused++;
    if (brim < 0) {
      // First refusal: the consumer has not started, so this is the ring filled to the brim.
      brim = ring.used;
      Atomics.store(go, 0, 1);
      Atomics.notify(go, 0);
    }
    // Retry, as the acceptor does after the writer's next completion: let the consumer run.
    if (refused % 16 === 0) await retry();
  }
  const end = Buffer.from("end");
  while (!ring.tryWrite(Kind.CONTROL, 0, 0, 0, end)) await retry();
  return { checksum, refused, brim };
}

describe("ring across threads", { timeout: 30_000 }, () => {
  const cases: RunOptions[] = [
    {
      name: "smallest ring, 4 producers, consumer stalls",
      capacity: 4096,
      start: 0,
      producers: 4,
      entries: 5_000,
      stallEvery: 499,
    },
    {
      name: "64 KiB ring crossing int32 overflow",
      capacity: 1 << 16,
      start: 2 ** 31 - 100_000,
      producers: 3,
      entries: 4_000,
      stallEvery: 0,
    },
    {
      name: "8 KiB ring crossing the 2^32 wrap, one producer",
      capacity: 8192,
      start: -100_000,
      producers: 1,
      entries: 6_000,
      stallEvery: 499,
    },
  ];
  const rings = cases.map((c) => ({ ring: ringAt(c.capacity, c.start), go: new SharedArrayBuffer(4) }));
  let consumer: Consumer;
  before(async () => {
    consumer = new Consumer(rings, cases);
    assert.equal(await consumer.next(), "ready");
  });
  after(async () => {
    await consumer.stop();
  });
  cases.forEach((c, i) => {
    test(c.name, async () => {
      const { checksum, refused, brim } = await produce(c, rings[i].ring, rings[i].go, consumer);
      const result = (await consumer.next()) as ConsumerResult;
      assert.deepEqual(result.errors, []);
      assert.equal(result.entries, c.entries, "every entry arrived exactly once");
      assert.equal(result.checksum, checksum, "same entries, same order, same bytes");
      assert.ok(refused > 0 && brim > 0, "the producer filled the ring and met it full");
      assert.ok(result.parks > 0, "the consumer parked in wait() and was woken");
      const ring = new RingWriter(rings[i].ring);
      assert.equal(ring.used, 0);
      if (c.start !== 0)
        assert.notEqual(Math.sign(headOf(rings[i].ring)), Math.sign(c.start), "head crossed the wrap");
    });
  });
});
