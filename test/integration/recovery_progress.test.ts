// Startup recovery logs its progress per log dir (src/broker/recovery_progress.ts): a broker
// killed with SIGKILL over a log dir holding millions of small batches (each CRC-checked at the
// next start, so the scan takes seconds) logs "recovering log dir D: P% (a of b segments / x of
// y MB), ETA ..." while it scans, then "recovered log dir D: ... in T s" for each log dir, and
// serves every record it recovered.
//
// The segments are written by the test, not produced through the broker: recovery costs per
// batch, and sending six million one-record batches through the broker would take minutes.
// They are real RecordBatch v2 bytes (one batch encoded once, copied with each baseOffset set:
// the CRC does not cover it) in a partition directory the broker created before its crash.

import assert from "node:assert/strict";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { Milena } from "../../src/client/node.ts";
import { encodeBatch } from "../../src/protocol/records.ts";
import { BrokerProcess } from "../helpers/broker_process.ts";

// 446 MB of segments: in memory when /dev/shm has room (a container's is often 64 MB), else on disk.
const shmFree = (() => {
  try {
    const st = fs.statfsSync("/dev/shm");
    return st.bavail * st.bsize;
  } catch {
    return 0;
  }
})();
const base = shmFree > 2 * 1024 ** 3 ? "/dev/shm" : tmpdir();
const BATCHES = 6_000_000;
const PER_SEGMENT = 250_000;

describe("startup recovery progress", () => {
  const dirs = [fs.mkdtempSync(join(base, "milena-rp-a-")), fs.mkdtempSync(join(base, "milena-rp-b-"))];
  let broker: BrokerProcess | undefined;
  after(async () => {
    await broker?.kill();
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  it("logs percent done per log dir during a long scan and a final line per dir", async () => {
    broker = await BrokerProcess.start({
      logDir: dirs.join(","),
      overrides: { "num.recovery.threads.per.data.dir": 1, "auto.create.topics.enable": false },
    });
    let admin = new Milena({ bootstrap: broker.bootstrap, clientId: "recovery-progress" }).admin();
    await admin.connect();
    // Two partitions: one in each log dir (placement by partition count).
    await admin.createTopics({ topics: [{ topic: "rp", numPartitions: 2 }] });
    await admin.disconnect();
    await broker.kill();
    const big = dirs.find((d) => fs.existsSync(join(d, "rp-0")))!;
    const small = dirs.find((d) => d !== big)!;
    assert.ok(fs.existsSync(join(small, "rp-1")), "the other partition is in the other log dir");
    const partition = join(big, "rp-0");
    for (const f of fs.readdirSync(partition))
      if (/\.(log|index|timeindex)$/.test(f)) fs.rmSync(join(partition, f));
    const batch = encodeBatch([{ key: null, value: Buffer.alloc(10, 0x61), timestamp: Date.now() }]);
    let bytes = 0;
    for (let s = 0; s < BATCHES; s += PER_SEGMENT) {
      const buf = Buffer.allocUnsafe(PER_SEGMENT * batch.length);
      for (let i = 0; i < PER_SEGMENT; i++) {
        batch.copy(buf, i * batch.length);
        buf.writeBigInt64BE(BigInt(s + i), i * batch.length);
      }
      fs.writeFileSync(join(partition, `${String(s).padStart(20, "0")}.log`), buf);
      bytes += buf.length;
    }
    const segments = BATCHES / PER_SEGMENT;
    const mb = (bytes / 1048576).toFixed(1);

    broker.output = "";
    await broker.launch();
    const lines = broker.output.split("\n");
    const progress = lines
      .map((l) =>
        new RegExp(
          `recovering log dir ${big}: (\\d+\\.\\d)% \\((\\d+) of (\\d+) segments / ([\\d.]+) of ([\\d.]+) MB\\), ETA (\\d+ s|\\d+ min \\d+ s|\\?)$`,
        ).exec(l),
      )
      .filter((m) => m !== null);
    assert.ok(progress.length >= 1, `a progress line while the scan ran:\n${broker.output}`);
    for (const m of progress) {
      const pct = Number(m[1]);
      assert.ok(pct >= 0 && pct < 100, `percent ${pct} while scanning`);
      assert.ok(Number(m[2]) <= segments && Number(m[3]) === segments, m[0]);
      assert.equal(m[5], mb, "the total is the .log files' size");
      assert.ok(
        Math.abs((Number(m[4]) / Number(m[5])) * 100 - pct) < 0.2,
        `MB done matches the percent: ${m[0]}`,
      );
    }
    const done = new RegExp(
      `recovered log dir ${big}: ${segments} segments / ${mb} MB of 1 partition\\(s\\) in ([\\d.]+) s`,
    ).exec(broker.output);
    assert.ok(done, `the big dir's final line:\n${broker.output}`);
    assert.ok(Number(done[1]) >= 2, "it took as long as the progress lines say");
    // The small dir (scanned by the pool's other thread) is done long before the big one.
    const smallDone = broker.output.search(
      new RegExp(`recovered log dir ${small}: \\d+ segments / 0\\.0 MB of 1 partition\\(s\\) in`),
    );
    assert.ok(
      smallDone >= 0 && smallDone < done.index,
      `each log dir has its final line when it is done:\n${broker.output}`,
    );
    // Every recovered record is served (the broker listens on new ports after its restart).
    admin = new Milena({ bootstrap: broker.bootstrap, clientId: "recovery-progress" }).admin();
    await admin.connect();
    try {
      const offsets = await admin.fetchTopicOffsets("rp");
      assert.equal(offsets.find((o) => o.partition === 0)?.high, BATCHES);
    } finally {
      await admin.disconnect();
    }
  });
});
