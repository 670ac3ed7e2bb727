// Consumer thread of the cross-thread ring microbenchmark (micro.ts). Started through
// workers/ts_entry.mjs like the broker's partition writers. Takes entries from the ring as a
// partition writer does (peek, work, release; park in Atomics.wait when empty) and counts
// consumed entries in a shared counter the producer spins on. A CONTROL entry ends it.
//
// mode "release": no work per entry: the pure handoff cost.
// mode "append":  what a partition writer does per batch, minus the bookkeeping:
//                 checkProducedBatch (CRC-32C) then fs.writeSync of the view, appended to a
//                 file (new page-cache pages, as a log append), truncated back to 0 at 256 MiB.

import * as fs from "node:fs";
import { parentPort, workerData } from "node:worker_threads";
import { checkProducedBatch } from "../src/protocol/record_batch.ts";
import { Kind } from "../src/ring/layout.ts";
import { RingReader } from "../src/ring/ring_reader.ts";

interface RingWorkerData {
  ring: SharedArrayBuffer;
  /** Int32 [0] = entries consumed, written by this thread only. */
  counter: SharedArrayBuffer;
  mode: "release" | "append";
  file: string;
}

const d = workerData as RingWorkerData;
const ring = new RingReader(d.ring);
const consumed = new Int32Array(d.counter);
const WRAP = 256 * 1024 * 1024;
const fd = d.mode === "append" ? fs.openSync(d.file, "w") : -1;
let position = 0;
let entries = 0;
parentPort!.postMessage("ready");

for (;;) {
  const e = ring.peek();
  if (e === null) {
    ring.wait(50);
    continue;
  }
  if (e.kind === Kind.CONTROL) {
    ring.release(e.size);
    break;
  }
  if (fd >= 0) {
    const check = checkProducedBatch(e.payload, 1 << 30);
    if (check.error !== 0) throw new Error(`batch rejected: ${check.message}`);
    if (position + e.payload.length > WRAP) {
      fs.ftruncateSync(fd, 0);
      position = 0;
    }
    fs.writeSync(fd, e.payload, 0, e.payload.length, position);
    position += e.payload.length;
  }
  ring.release(e.size);
  // Published after release, so the producer never sees more consumed than released.
  Atomics.store(consumed, 0, ++entries);
}
if (fd >= 0) fs.closeSync(fd);
