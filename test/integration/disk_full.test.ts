// A full disk, for real: the broker's log dir on a small tmpfs mount. Producers get
// KAFKA_STORAGE_ERROR promptly, nothing acknowledged is lost, the partition is not taken
// offline, and writes resume once space returns, without a restart. Skipped (with the reason)
// where this machine cannot mount a tmpfs (not root, or no mount permission).

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { ErrorCode } from "../../src/protocol/error_codes.ts";
import { produceCodec } from "../../src/protocol/produce.ts";
import { encodeBatch } from "../../src/protocol/records.ts";
import { BrokerProcess } from "../helpers/broker_process.ts";
import { RawClient } from "./raw_client.ts";

const MOUNT_BYTES = 4 * 1024 * 1024;

function tryMount(dir: string): string | null {
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", `size=${MOUNT_BYTES}`, "tmpfs", dir], { stdio: "pipe" });
    return null;
  } catch (e) {
    return `cannot mount a tmpfs here: ${((e as { stderr?: Buffer }).stderr ?? "").toString().trim() || (e as Error).message}`;
  }
}

const mountPoint = fs.mkdtempSync(join(tmpdir(), "milena-full-"));
const cannot = tryMount(mountPoint);

describe("disk full", { skip: cannot ?? false }, () => {
  let broker: BrokerProcess;
  let client: RawClient;
  const logDir = join(mountPoint, "logs");
  const filler = join(mountPoint, "filler");

  before(async () => {
    fs.mkdirSync(logDir);
    broker = await BrokerProcess.start({ logDir, overrides: { "num.partition.writers": 1 } });
    client = await RawClient.tcp(broker.bootstrap);
    assert.equal((await client.createTopic("full", 1)).errorCode, 0);
  });

  after(async () => {
    client?.close();
    await broker?.kill();
    try {
      execFileSync("umount", [mountPoint]);
    } catch {
      // best effort
    }
    fs.rmSync(mountPoint, { recursive: true, force: true });
  });

  const produce = async (value: string) => {
    const batch = encodeBatch([{ key: "k", value }]);
    const res = await client.request(produceCodec, 7, {
      transactionalId: null,
      acks: -1,
      timeoutMs: 5000,
      topics: [{ name: "full", partitions: [{ partitionIndex: 0, records: batch }] }],
    });
    return res.responses[0].partitions[0];
  };

  it("refuses writes while full, keeps what was acknowledged, and resumes when space returns", async () => {
    const acked: string[] = [];
    for (let i = 0; i < 20; i++) {
      const v = `before-${i}-${"x".repeat(1000)}`;
      const r = await produce(v);
      assert.equal(r.errorCode, 0);
      acked.push(v);
    }
    // Fill the rest of the mount.
    const fd = fs.openSync(filler, "w");
    const chunk = Buffer.alloc(64 * 1024, 1);
    try {
      for (;;) fs.writeSync(fd, chunk);
    } catch {
      // ENOSPC: full
    }
    try {
      for (;;) fs.writeSync(fd, chunk.subarray(0, 512));
    } catch {
      // now really full
    }
    fs.closeSync(fd);

    const started = Date.now();
    let refused = 0;
    for (let i = 0; i < 5; i++) {
      const r = await produce(`while-full-${i}-${"y".repeat(4000)}`);
      if (r.errorCode === 0) acked.push(`while-full-${i}-${"y".repeat(4000)}`);
      else {
        assert.equal(r.errorCode, ErrorCode.KAFKA_STORAGE_ERROR);
        refused++;
      }
    }
    assert.ok(refused > 0, "a full disk refuses produces");
    assert.ok(Date.now() - started < 5000, "errors come back promptly");

    // Space returns: the same partition takes writes again, no restart.
    fs.rmSync(filler);
    const r = await produce("after-space-returns");
    assert.equal(r.errorCode, 0);
    acked.push("after-space-returns");

    const got = (await client.readAll("full", 0)).map((rec) => rec.value?.toString());
    assert.deepEqual(got, acked, "every acknowledged message, in order, nothing else");

    // And after a restart on the same dir.
    client.close();
    await broker.restart();
    client = await RawClient.tcp(broker.bootstrap);
    const again = (await client.readAll("full", 0)).map((rec) => rec.value?.toString());
    assert.deepEqual(again, acked);
  });
});

if (cannot) {
  describe("disk full", () => {
    it(`skipped: ${cannot}`, { skip: cannot }, () => {});
  });
  fs.rmSync(mountPoint, { recursive: true, force: true });
}
