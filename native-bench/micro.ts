// Microbenchmarks (tinybench) of the pieces on the produce path (and a fetch's read), on the
// 16 KiB RecordBatch of 150 x 100-byte records that the end-to-end run sends:
//
//   ring, one thread     RingWriter.tryWrite + RingReader.peek/release (the copy into shared
//                        memory and the bookkeeping, no thread crossing)
//   ring -> worker       throughput across a real worker thread (parks in Atomics.wait when
//                        empty, as a partition writer does; the producer naps when full), the
//                        consumer doing nothing, or a writer's work (CRC check + appending
//                        writeSync into the page cache)
//   crc32c               @node-rs/crc32 over bytes 21..end of the batch
//   checkProducedBatch   the writer's validation (CRC and record walk included)
//   record validation    checkBatchHeader (header + CRC: the validation before issue 8) against
//                        checkProducedBatch (header + CRC + the walk over every record, LZ4
//                        decoded first) on 16 KiB and 1 MiB batches of 100 B values, none and
//                        lz4, in records/s; and the walk over lz4-napi's output, the baseline of
//                        the decoder in record_validation.ts
//   decode produce frame decodeRequestHeader + produceCodec.decodeRequest (records stay a view)
//   derived vs hand      Produce v9 decode and Fetch v12 encode, by the hand-written codec and by
//                        the general codec of Kafka's spec (schema_codec.ts)
//   FrameDecoder.push    TCP framing: frames in their own chunks (views, no copy), and a stream
//                        cut into 64 KiB socket reads (frames straddle chunks: concat copies)
//   copy baselines       16 KiB into an ArrayBuffer / a SharedArrayBuffer (TypedArray.set), to
//                        read the ring figure against
//   writeSync            16 KiB appended (new page-cache pages) and overwritten (warm pages)
//   pread 8 MiB          a fetch's read, into a new Buffer (as now) and into a reused one
//
// Sub-microsecond operations are looped `inner` times per tinybench sample, so the timer's
// resolution does not matter; figures are per operation, from the median sample.

import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { crc32c } from "@node-rs/crc32";
import { decompressFrameSync } from "lz4-napi";
import { Bench } from "tinybench";
import { workerExecArgv } from "../src/broker/worker_exec.ts";
import { BatchBuilder } from "../src/client/batch.ts";
import { crc32c as crc32cJs } from "../src/client/crc32c.ts";
import { nodePlatform } from "../src/client/node.ts";
import { murmur2, partitionForKey } from "../src/client/partitioner.ts";
import { BatchReader, splitRecordSet } from "../src/client/records.ts";
import { fetchCodec } from "../src/protocol/fetch.ts";
import { MESSAGES } from "../src/protocol/generated/messages.ts";
import { decodeRequestHeader } from "../src/protocol/header.ts";
import { registerLz4 } from "../src/protocol/lz4_node.ts";
import { produceCodec } from "../src/protocol/produce.ts";
import { Reader } from "../src/protocol/reader.ts";
import {
  ATTRIBUTES,
  Compression,
  checkBatchHeader,
  checkProducedBatch,
  RECORD_COUNT,
  RECORDS,
} from "../src/protocol/record_batch.ts";
import { walkRecords } from "../src/protocol/record_validation.ts";
import { decodeBatch, encodeBatch } from "../src/protocol/records.ts";
import { decodeMessage, encodeMessage } from "../src/protocol/schema_codec.ts";
import { Writer } from "../src/protocol/writer.ts";
import { createRingBuffer, Kind } from "../src/ring/layout.ts";
import { RingReader } from "../src/ring/ring_reader.ts";
import { RingWriter } from "../src/ring/ring_writer.ts";
import { FrameDecoder } from "../src/transport/frame_decoder.ts";
import { produceFrame } from "./client.ts";
import { buildBatches } from "./e2e.ts";

export interface MicroResult {
  name: string;
  /** Median time per operation, ns. */
  nsPerOp: number;
  opsPerSec: number;
  /** Bytes per operation (for GB/s), 0 when not meaningful. */
  bytesPerOp: number;
  /** Relative margin of error of the samples, %. */
  rme: number;
  samples: number;
  note: string;
  /** Records per operation (for records/s), 0 when not meaningful. */
  recordsPerOp: number;
}

const ENTRY_URL = new URL("../workers/ts_entry.mjs", import.meta.url);
const RING_WORKER_URL = new URL("./ring_worker.ts", import.meta.url);

/** The ring -> worker bench: a producer loop here, a consumer thread there. */
class CrossThreadRing {
  readonly writer: RingWriter;
  private readonly consumed: Int32Array;
  private written = 0;
  private readonly worker: Worker;

  private constructor(
    sab: SharedArrayBuffer,
    counter: SharedArrayBuffer,
    worker: Worker,
    private readonly file: string,
  ) {
    this.writer = new RingWriter(sab);
    this.consumed = new Int32Array(counter);
    this.worker = worker;
  }

  static async start(mode: "release" | "append", ringBytes: number, batch: Buffer): Promise<CrossThreadRing> {
    const sab = createRingBuffer(ringBytes);
    const counter = new SharedArrayBuffer(8);
    const file = `/tmp/milena-bench-ring-${process.pid}-${mode}.log`;
    const worker = new Worker(fileURLToPath(ENTRY_URL), {
      workerData: { entry: RING_WORKER_URL.href, ring: sab, counter, mode, file },
      execArgv: workerExecArgv(),
    });
    await new Promise<void>((resolve, reject) => {
      worker.once("message", () => resolve());
      worker.once("error", reject);
      worker.once("exit", (code) => reject(new Error(`ring worker exited with ${code}`)));
    });
    const r = new CrossThreadRing(sab, counter, worker, file);
    r.push(batch, 1);
    return r;
  }

  /**
   * Write `count` entries, then wait until all are consumed. While the ring is full (and at the
   * end) the producer naps 0.2 ms in Atomics.wait on the consumed counter instead of spinning:
   * on a 2-core machine a spinning producer takes the core the kernel's writeback needs.
   */
  push(payload: Uint8Array, count: number): void {
    for (let i = 0; i < count; i++) {
      while (!this.writer.tryWrite(Kind.APPEND, 1, i, 0, payload)) {
        Atomics.wait(this.consumed, 0, Atomics.load(this.consumed, 0), 0.2);
      }
      this.written++;
    }
    const deadline = Date.now() + 10_000;
    while (Atomics.load(this.consumed, 0) < this.written) {
      Atomics.wait(this.consumed, 0, Atomics.load(this.consumed, 0), 0.2);
      if (Date.now() > deadline) throw new Error("ring worker stopped consuming");
    }
  }

  async stop(): Promise<void> {
    while (!this.writer.tryWrite(Kind.CONTROL, 0, 0, 0, Buffer.alloc(8))) {}
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => void this.worker.terminate().then(() => resolve()), 5_000);
      this.worker.once("exit", () => {
        clearTimeout(timer);
        resolve();
      });
    });
    fs.rmSync(this.file, { force: true });
  }
}

export async function runMicro(quick: boolean, log: (line: string) => void): Promise<MicroResult[]> {
  const { full } = buildBatches(150, 150, 100);
  const batch = full.batch;
  const frame = produceFrame("bench-topic", batch, 1);
  const frameBody = frame.subarray(4);
  const timeMs = quick ? 80 : 500;
  const bench = new Bench({ time: timeMs, warmupTime: quick ? 30 : 150, iterations: 16 });
  const cleanups: (() => void)[] = [];
  const meta = new Map<string, { inner: number; bytes: number; note: string; records: number }>();
  const add = (name: string, inner: number, bytes: number, note: string, fn: () => void, records = 0) => {
    meta.set(name, { inner, bytes, note, records });
    bench.add(name, fn);
  };

  // ---- ring, one thread ----
  // The acceptor hands tryWrite the record set as a view into the request frame, at whatever
  // byte alignment the frame puts it; V8 copies into shared memory word by word only when
  // source and destination agree mod 8, else byte by byte. Both cases are measured.
  const inFrame = produceCodec.decodeRequest(
    (() => {
      const r = new Reader(frameBody);
      decodeRequestHeader(r);
      return r;
    })(),
    7,
  ).topics[0].partitions[0].records!;
  const misaligned = inFrame.byteOffset % 8 !== 0 ? inFrame : frame.subarray(5, 5 + batch.length);
  for (const [label, payload] of [
    ["aligned source", batch],
    [`source in a frame, offset ${misaligned.byteOffset % 8} mod 8`, misaligned],
  ] as const) {
    const sab = createRingBuffer(4 * 1024 * 1024);
    const w = new RingWriter(sab);
    const r = new RingReader(sab);
    add(
      `ring tryWrite+peek+release, 1 thread, ${label}`,
      64,
      batch.length,
      "copy into SAB + bookkeeping",
      () => {
        for (let i = 0; i < 64; i++) {
          if (!w.tryWrite(Kind.APPEND, 1, i, 0, payload)) throw new Error("ring full");
          const e = r.peek()!;
          r.release(e.size);
        }
      },
    );
  }

  // ---- copy baselines ----
  {
    const size = 4 * 1024 * 1024;
    const plain = new Uint8Array(new ArrayBuffer(size));
    const shared = new Uint8Array(new SharedArrayBuffer(size));
    const stride = (batch.length + 7) & ~7; // destinations 8-aligned, as ring entries are
    const slots = Math.floor(size / stride) - 1;
    const copyInto = (dst: Uint8Array, src: Uint8Array, shift = 0) => {
      let i = 0;
      return () => {
        for (let k = 0; k < 64; k++) {
          dst.set(src, i * stride + shift);
          i = (i + 1) % slots;
        }
      };
    };
    const srcMod8 = misaligned.byteOffset % 8;
    add("copy 16 KiB -> ArrayBuffer", 64, batch.length, "baseline", copyInto(plain, misaligned));
    add("copy 16 KiB -> SharedArrayBuffer, both 8-aligned", 64, batch.length, "", copyInto(shared, batch));
    add(
      `copy 16 KiB -> SharedArrayBuffer, source ${srcMod8} mod 8, dest 0 mod 8`,
      64,
      batch.length,
      "what tryWrite does now",
      copyInto(shared, misaligned),
    );
    add(
      `copy 16 KiB -> SharedArrayBuffer, source ${srcMod8} mod 8, dest ${srcMod8} mod 8`,
      64,
      batch.length,
      "dest shifted to match the source",
      copyInto(shared, misaligned, srcMod8),
    );
  }

  // ---- page cache writes ----
  // Appending allocates page-cache pages (and ext4 blocks) for every write: what a log append
  // does. Overwriting a region already in the page cache only copies: the cheaper floor.
  {
    const wrap = 256 * 1024 * 1024;
    const warmBytes = 64 * 1024 * 1024;
    const appendFile = `/tmp/milena-bench-append-${process.pid}.log`;
    const warmFile = `/tmp/milena-bench-warm-${process.pid}.log`;
    const appendFd = fs.openSync(appendFile, "w");
    const warmFd = fs.openSync(warmFile, "w");
    for (let at = 0; at < warmBytes; at += 1 << 20)
      fs.writeSync(warmFd, Buffer.alloc(1 << 20, 1), 0, 1 << 20, at);
    cleanups.push(() => {
      fs.closeSync(appendFd);
      fs.closeSync(warmFd);
      fs.rmSync(appendFile, { force: true });
      fs.rmSync(warmFile, { force: true });
    });
    let appendAt = 0;
    add("fs.writeSync 16 KiB, appending (new pages)", 16, batch.length, "the writer's append syscall", () => {
      for (let i = 0; i < 16; i++) {
        if (appendAt + batch.length > wrap) {
          fs.ftruncateSync(appendFd, 0);
          appendAt = 0;
        }
        fs.writeSync(appendFd, batch, 0, batch.length, appendAt);
        appendAt += batch.length;
      }
    });
    let warmAt = 0;
    add("fs.writeSync 16 KiB, overwriting (warm pages)", 16, batch.length, "copy-only floor", () => {
      for (let i = 0; i < 16; i++) {
        if (warmAt + batch.length > warmBytes) warmAt = 0;
        fs.writeSync(warmFd, batch, 0, batch.length, warmAt);
        warmAt += batch.length;
      }
    });
  }

  // ---- fetch read ----
  // PartitionReader serves a fetch by reading the stored bytes into a new Buffer of the fetch
  // size: for 8 MiB that is fresh memory, page-faulted in by the kernel during the read. The
  // same read into a Buffer used before costs only the copy from the page cache.
  {
    const fetchBytes = 8 * 1024 * 1024;
    const fileBytes = 64 * 1024 * 1024;
    const file = `/tmp/milena-bench-read-${process.pid}.log`;
    const fd = fs.openSync(file, "w+");
    for (let at = 0; at < fileBytes; at += 1 << 20)
      fs.writeSync(fd, Buffer.alloc(1 << 20, 7), 0, 1 << 20, at);
    cleanups.push(() => {
      fs.closeSync(fd);
      fs.rmSync(file, { force: true });
    });
    let fresh = 0;
    add("pread 8 MiB (page cache) into a new Buffer", 1, fetchBytes, "what a fetch does now", () => {
      const buf = Buffer.allocUnsafe(fetchBytes);
      fs.readSync(fd, buf, 0, fetchBytes, (fresh = (fresh + fetchBytes) % fileBytes));
    });
    const reused = Buffer.allocUnsafe(fetchBytes);
    let again = 0;
    add("pread 8 MiB (page cache) into a reused Buffer", 1, fetchBytes, "with a buffer pool", () => {
      fs.readSync(fd, reused, 0, fetchBytes, (again = (again + fetchBytes) % fileBytes));
    });
  }

  // ---- CRC, validation, decoding ----
  const crcInput = batch.subarray(ATTRIBUTES);
  add("crc32c 16 KiB (@node-rs/crc32)", 32, crcInput.length, "", () => {
    for (let i = 0; i < 32; i++) crc32c(crcInput);
  });
  add(
    "checkProducedBatch 16 KiB",
    32,
    batch.length,
    "writer validation, CRC + record walk",
    () => {
      for (let i = 0; i < 32; i++)
        if (checkProducedBatch(batch, 1_000_000).error !== 0) throw new Error("bad");
    },
    150,
  );

  // ---- record validation: header only (before issue 8) vs header + record walk ----
  // Values of 100 B that compress as real payloads do (JSON-ish text around random bytes, about
  // 2:1 with LZ4); the uncompressed walk does not look at them.
  {
    registerLz4();
    const value = (i: number) => {
      const text = `{"id":${i},"user":"user-${i % 1000}","ts":${1_700_000_000_000 + i},"v":"`;
      return Buffer.from(`${text}${randomBytes(16).toString("base64")}"}`.padEnd(100, " "));
    };
    for (const [size, count] of [
      ["16 KiB", 150],
      ["1 MiB", 9_300],
    ] as const) {
      const recs = Array.from({ length: count }, (_, i) => ({ key: null, value: value(i) }));
      for (const [codec, label] of [
        [Compression.NONE, "none"],
        [Compression.LZ4, "lz4"],
      ] as const) {
        const b = encodeBatch(recs, codec, 1_700_000_000_000);
        const inner = count > 1_000 ? 1 : codec === Compression.NONE ? 32 : 8;
        const what = `${size}, ${count} x 100 B, ${label}`;
        const wire = `${b.length} B on the wire`;
        add(
          `checkBatchHeader ${what}`,
          inner,
          b.length,
          `header + CRC only; ${wire}`,
          () => {
            for (let i = 0; i < inner; i++)
              if (checkBatchHeader(b, 1 << 30).error !== 0) throw new Error("bad");
          },
          count,
        );
        add(
          `checkProducedBatch ${what}`,
          inner,
          b.length,
          "header + CRC + record walk",
          () => {
            for (let i = 0; i < inner; i++)
              if (checkProducedBatch(b, 1 << 30).error !== 0) throw new Error("bad");
          },
          count,
        );
        if (codec === Compression.LZ4) {
          add(
            `lz4-napi decompress + walk ${what}`,
            inner,
            b.length,
            "baseline: lz4-napi decompressFrameSync",
            () => {
              for (let i = 0; i < inner; i++) {
                const d = decompressFrameSync(b.subarray(RECORDS));
                if (walkRecords(d, 0, d.length, b.readInt32BE(RECORD_COUNT)).error !== 0)
                  throw new Error("bad");
              }
            },
            count,
          );
        }
      }
    }
  }
  add("decode produce v7 frame (header + body)", 256, frameBody.length, "records stay a view", () => {
    for (let i = 0; i < 256; i++) {
      const r = new Reader(frameBody);
      const h = decodeRequestHeader(r);
      produceCodec.decodeRequest(r, h.apiVersion);
    }
  });

  // ---- derived codecs (from Kafka's specs) against the hand-written hot paths ----
  // The same Produce v9 request body (flexible) decoded by produceCodec and by schema_codec's
  // general decoder of the spec, and a Fetch v12 response of 10 partitions x 16 KiB encoded by
  // both (the hand path splices the record sets; the derived one copies them).
  {
    const produceReq = {
      transactionalId: null,
      acks: -1,
      timeoutMs: 5000,
      topics: [{ name: "bench", partitions: [{ partitionIndex: 0, records: batch }] }],
    };
    const pw = new Writer(batch.length + 128);
    produceCodec.encodeRequest(pw, 9, produceReq);
    const produceBody = pw.view().slice();
    add("decode Produce v9 body: hand-written", 256, produceBody.length, "the broker's path", () => {
      for (let i = 0; i < 256; i++) produceCodec.decodeRequest(new Reader(produceBody), 9);
    });
    add("decode Produce v9 body: derived from the spec", 256, produceBody.length, "schema_codec", () => {
      for (let i = 0; i < 256; i++) decodeMessage(MESSAGES.ProduceRequest, 9, new Reader(produceBody));
    });
    const partitions = Array.from({ length: 10 }, (_, i) => ({
      partitionIndex: i,
      errorCode: 0,
      highWatermark: 1000,
      lastStableOffset: 1000,
      logStartOffset: 0,
      abortedTransactions: null,
      preferredReadReplica: -1,
      records: [batch],
    }));
    const fetchRes = {
      throttleTimeMs: 0,
      errorCode: 0,
      sessionId: 0,
      responses: [{ topic: "bench", partitions }],
    };
    const derivedRes = {
      ...fetchRes,
      responses: [{ topic: "bench", partitions: partitions.map((p) => ({ ...p, records: batch })) }],
    };
    add(
      "encode Fetch v12 response, 10 x 16 KiB: hand-written",
      64,
      10 * batch.length,
      "records spliced",
      () => {
        for (let i = 0; i < 64; i++) fetchCodec.encodeResponse(new Writer(256), 12, fetchRes);
      },
    );
    add("encode Fetch v12 response, 10 x 16 KiB: derived", 64, 10 * batch.length, "records copied", () => {
      for (let i = 0; i < 64; i++) encodeMessage(MESSAGES.FetchResponse, 12, new Writer(256), derivedRes);
    });
  }

  // ---- client: encode, decode, partitioner, browser CRC ----
  // The client's hot functions, each beside the implementation it replaced or the other one in
  // the tree: BatchBuilder (the producer's in-place encoder) vs src/protocol's encodeBatch (a
  // Writer per record); BatchReader (the consumer's lazy decoder) vs decodeBatch; the
  // slicing-by-8 CRC-32C the browser build uses vs @node-rs/crc32.
  {
    const platform = nodePlatform();
    const vals = Array.from({ length: 150 }, (_, i) => batch.subarray(61 + i * 100, 61 + i * 100 + 100));
    const builder = new BatchBuilder(platform, 32 * 1024);
    add(
      "client BatchBuilder: 150 x 100 B records + finish",
      1,
      batch.length,
      "producer encode, CRC included",
      () => {
        builder.used = 61;
        builder.count = 0;
        const ts = 1_700_000_000_000;
        for (const v of vals) {
          const body = builder.bodySize(ts, -1, v.length, 1);
          builder.append(body, ts, null, -1, v, v.length, undefined);
        }
        builder.finish(0, null);
      },
    );
    const newRecords = vals.map((value) => ({ key: null, value: Buffer.from(value) }));
    add("protocol encodeBatch: 150 x 100 B records", 1, batch.length, "baseline: Writer per record", () => {
      encodeBatch(newRecords, 0, 1_700_000_000_000);
    });
    add(
      "client BatchReader: decode 150 records",
      1,
      batch.length,
      "consumer decode (keys, values, headers)",
      () => {
        const raw = splitRecordSet(batch)[0];
        const r = new BatchReader<Buffer>(raw, raw.data.subarray(61), "t", 0);
        let n = 0;
        while (r.next() !== null) n++;
        if (n !== 150) throw new Error(`decoded ${n}`);
      },
    );
    add("protocol decodeBatch: 150 records", 1, batch.length, "baseline: shared decoder", () => {
      if (decodeBatch(batch).length !== 150) throw new Error("bad");
    });
    const keys = Array.from({ length: 64 }, (_, i) => Buffer.from(`user-${i * 7919}`));
    add("murmur2 partitioner, 10-byte keys", 64, 0, "partitionForKey, 1000 partitions", () => {
      let x = 0;
      for (const k of keys) x ^= partitionForKey(k, 1000);
      if (x < 0) throw new Error("negative");
    });
    add("murmur2 of 100 B", 64, 100, "hash alone", () => {
      let x = 0;
      for (let i = 0; i < 64; i++) x ^= murmur2(vals[i]);
      if (x === 0.5) throw new Error("unreachable");
    });
    add(
      "crc32c 16 KiB, slicing-by-8 JS (browser build)",
      4,
      crcInput.length,
      "vs @node-rs/crc32 above",
      () => {
        for (let i = 0; i < 4; i++) crc32cJs(crcInput);
      },
    );
  }

  // ---- FrameDecoder ----
  {
    const frames = 64;
    const stream = Buffer.concat(Array.from({ length: frames }, () => frame));
    const whole = Array.from({ length: frames }, (_, i) =>
      stream.subarray(i * frame.length, (i + 1) * frame.length),
    );
    const reads: Buffer[] = [];
    for (let at = 0; at < stream.length; at += 65536) reads.push(stream.subarray(at, at + 65536));
    const dec = new FrameDecoder(100 * 1024 * 1024);
    let got = 0;
    const out = (_f: Buffer) => {
      got++;
    };
    add("FrameDecoder.push, one frame per chunk", frames, frame.length, "per frame; views, no copy", () => {
      for (const c of whole) dec.push(c, out);
    });
    add(
      "FrameDecoder.push, 64 KiB socket reads",
      frames,
      frame.length,
      "per frame; straddling frames concat",
      () => {
        for (const c of reads) dec.push(c, out);
        if (got === 0) throw new Error("no frames");
      },
    );
  }

  // ---- ring -> worker ----
  const ringBytes = 32 * 1024 * 1024; // the broker's RING_BYTES
  const perSample = 512; // 8 MiB per sample
  const crossRelease = await CrossThreadRing.start("release", ringBytes, batch);
  const crossAppend = await CrossThreadRing.start("append", ringBytes, batch);
  add("ring -> worker thread, consumer releases", perSample, batch.length, "real thread handoff", () =>
    crossRelease.push(batch, perSample),
  );
  add(
    "ring -> worker thread, consumer checks + appends",
    perSample,
    batch.length,
    "writer work, page cache",
    () => crossAppend.push(batch, perSample),
  );

  log(`micro: tinybench ${timeMs} ms per task (${quick ? "QUICK" : "full"})`);
  try {
    await bench.run();
  } finally {
    await crossRelease.stop();
    await crossAppend.stop();
    for (const c of cleanups) c();
  }

  const results: MicroResult[] = [];
  for (const task of bench.tasks) {
    const m = meta.get(task.name)!;
    const res = task.result;
    if (res.state !== "completed") {
      const why = res.state === "errored" ? res.error.message : res.state;
      throw new Error(`micro ${task.name}: ${why}`);
    }
    const nsPerOp = (res.latency.p50 * 1e6) / m.inner;
    const opsPerSec = 1e9 / nsPerOp;
    results.push({
      name: task.name,
      nsPerOp,
      opsPerSec,
      bytesPerOp: m.bytes,
      rme: res.latency.rme,
      samples: res.latency.samplesCount,
      note: m.records > 0 ? `${fmtRecords(m.records * opsPerSec)} records/s; ${m.note}` : m.note,
      recordsPerOp: m.records,
    });
  }
  for (const r of results) log(formatMicro(r));
  return results;
}

function fmtRecords(perSec: number): string {
  return Math.round(perSec).toLocaleString("en-US");
}

export function formatMicro(r: MicroResult): string {
  const gbs = r.bytesPerOp > 0 ? `${((r.bytesPerOp * r.opsPerSec) / 1e9).toFixed(2)} GB/s` : "";
  const recs = r.recordsPerOp > 0 ? `  ${fmtRecords(r.recordsPerOp * r.opsPerSec).padStart(12)} rec/s` : "";
  return `  ${r.name.padEnd(52)} ${r.nsPerOp.toFixed(0).padStart(8)} ns/op ${Math.round(r.opsPerSec).toLocaleString("en-US").padStart(12)} op/s ${gbs.padStart(11)}  ±${r.rme.toFixed(1)}%${recs}`;
}
