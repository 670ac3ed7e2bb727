// The broker's lifecycle with the real process: configuration errors stop startup naming the
// key; --override and --print-config; placement of new partitions across several log dirs by
// partition count; the recovery pool sized threads x dirs; a log dir of another broker.id
// refused; after a crash, a torn or corrupted tail is cut to the last whole batch and
// everything before it is served; deleted or garbage indexes and checkpoints are rebuilt.

import assert from "node:assert/strict";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { describeConfigsCodec } from "../../src/protocol/describe_configs.ts";
import { produceCodec } from "../../src/protocol/produce.ts";
import { encodeBatch } from "../../src/protocol/records.ts";
import { BrokerProcess, run } from "../helpers/broker_process.ts";
import { RawClient } from "./raw_client.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const CLI = ["--import", "tsx", join(ROOT, "src/cli/main.ts")];
const temps: string[] = [];
const tmp = () => {
  const d = fs.mkdtempSync(join(tmpdir(), "milena-life-"));
  temps.push(d);
  return d;
};
after(() => {
  for (const d of temps) fs.rmSync(d, { recursive: true, force: true });
});

const broker = (...args: string[]) =>
  run(process.execPath, [...CLI, "broker", ...args], { timeoutMs: 30_000 });

describe("configuration at startup", () => {
  it("an unknown key stops startup with a message naming it", async () => {
    const dir = tmp();
    const file = join(dir, "server.properties");
    fs.writeFileSync(file, `log.dirs=${dir}/logs\nlog.retention.weeks=2\n`);
    const r = await broker(file);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /log\.retention\.weeks/);
  });

  it("a malformed value and an impossible combination name their key", async () => {
    let r = await broker("--override", "num.partitions=many");
    assert.equal(r.code, 1);
    assert.match(r.stderr, /num\.partitions/);
    r = await broker("--override", "message.max.bytes=2000", "--override", "replica.fetch.max.bytes=1000");
    assert.equal(r.code, 1);
    assert.match(r.stderr, /replica\.fetch\.max\.bytes/);
    r = await broker("/no/such/file.properties");
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no\/such\/file\.properties/);
  });

  it("--print-config shows effective values: file, then --override on top", async () => {
    const dir = tmp();
    const file = join(dir, "server.properties");
    fs.writeFileSync(file, "# comment\nnum.partitions=3\nlog.retention.hours=24\n");
    const r = await broker(file, "--override", "num.partitions=5", "--print-config");
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^num\.partitions=5$/m);
    assert.match(r.stdout, /^log\.retention\.hours=24$/m);
    assert.match(r.stdout, /^log\.segment\.bytes=1073741824 {2}# default$/m);
  });

  it("secrets are never shown: --print-config hides them, DescribeConfigs answers null (is_sensitive)", async () => {
    const jaas =
      'org.apache.kafka.common.security.plain.PlainLoginModule required username="b" password="hunter2";';
    const secrets = { "ssl.key.password": "hunter2", "sasl.jaas.config": jaas };
    const args = Object.entries(secrets).flatMap(([k, v]) => ["--override", `${k}=${v}`]);
    const r = await broker(...args, "--print-config");
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^ssl\.key\.password=\[hidden\]$/m);
    assert.match(r.stdout, /^sasl\.jaas\.config=\[hidden\]$/m);
    assert.doesNotMatch(r.stdout, /hunter2/);
    const b = await BrokerProcess.start({ overrides: secrets });
    const client = await RawClient.tcp(b.bootstrap);
    try {
      const res = await client.request(describeConfigsCodec, 4, {
        resources: [{ resourceType: 4, resourceName: "", configurationKeys: null }],
        includeSynonyms: true,
        includeDocumentation: false,
      });
      const entries = new Map(res.results[0].configs.map((c) => [c.name, c]));
      for (const key of Object.keys(secrets)) {
        assert.equal(entries.get(key)?.value, null, key);
        assert.equal(entries.get(key)?.isSensitive, true, key);
        assert.equal(entries.get(key)?.synonyms[0].value, null, key);
      }
      assert.equal(entries.get("num.partitions")?.isSensitive, false);
      assert.doesNotMatch(JSON.stringify(res), /hunter2/);
    } finally {
      client.close();
      await b.destroy();
    }
  });
});

describe("log dirs", () => {
  it("new partitions go to the dir holding the fewest partitions; the pool is threads x dirs", async () => {
    const base = tmp();
    const dirs = ["a", "b", "c"].map((d) => join(base, d));
    const b = await BrokerProcess.start({
      logDir: dirs[0],
      overrides: { "log.dirs": dirs.join(","), "num.recovery.threads.per.data.dir": 2 },
    });
    try {
      assert.match(b.output, /recovery pool of 6 thread\(s\)/);
      const c = await RawClient.tcp(b.bootstrap);
      assert.equal((await c.createTopic("one", 1)).errorCode, 0); // a: 1
      assert.equal((await c.createTopic("five", 5)).errorCode, 0); // b, c, a, b, c
      c.close();
      const count = (d: string) => fs.readdirSync(d).filter((n) => /-\d+$/.test(n)).length;
      assert.deepEqual(dirs.map(count), [2, 2, 2]);
      // Each partition lives whole in one dir, found again after a restart.
      await b.restart();
      assert.match(b.output, /opened 6 partition\(s\)/);
      assert.match(b.output, /recovery pool of 6 thread\(s\), [1-6] used/);
      const c2 = await RawClient.tcp(b.bootstrap);
      const { metadataCodec, metadataRequest } = await import("../../src/protocol/metadata.ts");
      const five = await c2.request(metadataCodec, 6, metadataRequest(["five"], false));
      assert.equal(five.topics[0].partitions.length, 5);
      c2.close();
    } finally {
      await b.kill();
    }
  });

  it("a log dir that belongs to another broker.id refuses to start, naming it", async () => {
    const dir = tmp();
    const b = await BrokerProcess.start({ logDir: dir, overrides: { "broker.id": 0 } });
    await b.stop();
    const r = await broker(
      "--override",
      `log.dirs=${dir}`,
      "--override",
      "broker.id=7",
      "--override",
      "listeners=PLAINTEXT://127.0.0.1:0",
      "--override",
      "metrics.listener=127.0.0.1:0",
    );
    assert.equal(r.code, 1);
    assert.match(r.stderr, /broker\.id=0/);
    assert.match(r.stderr, /broker\.id=7/);
  });
});

describe("crash recovery with the real process", () => {
  const BATCHES = 30;

  /** A broker with one partition holding BATCHES acks=-1 batches of 3 records; killed -9. */
  async function crashedLog(): Promise<{ dir: string; sizes: number[] }> {
    const dir = tmp();
    const b = await BrokerProcess.start({ logDir: dir });
    const c = await RawClient.tcp(b.bootstrap);
    await c.createTopic("t", 1);
    const sizes: number[] = [];
    for (let i = 0; i < BATCHES; i++) {
      const batch = encodeBatch(
        [0, 1, 2].map((j) => ({ key: `k${i}`, value: `v${i}-${j}-${"p".repeat(i * 7)}` })),
      );
      sizes.push(batch.length);
      const r = await c.request(produceCodec, 7, {
        transactionalId: null,
        acks: -1,
        timeoutMs: 5000,
        topics: [{ name: "t", partitions: [{ partitionIndex: 0, records: batch }] }],
      });
      assert.equal(r.responses[0].partitions[0].errorCode, 0);
    }
    c.close();
    await b.kill();
    return { dir, sizes };
  }

  const segment = (dir: string) => join(dir, "t-0", "00000000000000000000.log");

  async function served(dir: string): Promise<{ values: string[]; output: string }> {
    const b = await BrokerProcess.start({ logDir: dir });
    try {
      const c = await RawClient.tcp(b.bootstrap);
      const values = (await c.readAll("t", 0)).map((r) => r.value!.toString());
      c.close();
      return { values, output: b.output };
    } finally {
      await b.kill();
    }
  }

  const expected = (batches: number) =>
    Array.from({ length: batches }, (_, i) => [0, 1, 2].map((j) => `v${i}-${j}-${"p".repeat(i * 7)}`)).flat();

  it("a segment cut inside its last batch: the torn batch is cut, everything before is served", async () => {
    const { dir, sizes } = await crashedLog();
    const whole = sizes.reduce((a, b) => a + b, 0);
    const last = sizes[sizes.length - 1];
    for (const into of [1, 12, 60, Math.floor(last / 2), last - 1]) {
      fs.truncateSync(segment(dir), whole - last + into);
      const { values, output } = await served(dir);
      assert.deepEqual(values, expected(BATCHES - 1), `cut ${into} bytes into the last batch`);
      assert.match(output, /recovery cut t-0/);
      // The cut is applied: the file now ends at the last whole batch.
      assert.equal(fs.statSync(segment(dir)).size, whole - last);
      // Put back a torn tail for the next round.
      fs.appendFileSync(segment(dir), Buffer.alloc(into, 0));
      fs.rmSync(join(dir, ".kafka_cleanshutdown"), { force: true });
    }
  });

  it("a flipped byte in the last batch fails its CRC: cut there after an unclean stop", async () => {
    const { dir, sizes } = await crashedLog();
    const whole = sizes.reduce((a, b) => a + b, 0);
    const fd = fs.openSync(segment(dir), "r+");
    const at = whole - 5; // inside the last batch's records
    const b = Buffer.alloc(1);
    fs.readSync(fd, b, 0, 1, at);
    b[0] ^= 0xff;
    fs.writeSync(fd, b, 0, 1, at);
    fs.closeSync(fd);
    const { values, output } = await served(dir);
    assert.deepEqual(values, expected(BATCHES - 1));
    assert.match(output, /CRC/);
  });

  it("partition data in a log dir without meta.properties is checked like after a crash", async () => {
    const { dir, sizes } = await crashedLog();
    const whole = sizes.reduce((a, b) => a + b, 0);
    const fd = fs.openSync(segment(dir), "r+");
    fs.writeSync(fd, Buffer.from([0x55]), 0, 1, whole - 5);
    fs.closeSync(fd);
    fs.rmSync(join(dir, "meta.properties"));
    const { values, output } = await served(dir);
    assert.deepEqual(values, expected(BATCHES - 1));
    assert.match(output, /unclean start/);
    assert.match(output, /CRC/);
  });

  it("deleted or garbage indexes and checkpoints are rebuilt; reads are the same", async () => {
    const { dir } = await crashedLog();
    const before = await served(dir); // recovers and stops by kill: still unclean
    const p = join(dir, "t-0");
    fs.rmSync(join(p, "00000000000000000000.index"));
    fs.writeFileSync(join(p, "00000000000000000000.timeindex"), Buffer.from("garbage!!"));
    fs.writeFileSync(join(dir, "recovery-point-offset-checkpoint"), "not a checkpoint");
    fs.writeFileSync(join(dir, "log-start-offset-checkpoint"), "0\n99\n");
    const afterRebuild = await served(dir);
    assert.deepEqual(afterRebuild.values, before.values);
    assert.deepEqual(afterRebuild.values, expected(BATCHES));
    assert.ok(fs.statSync(join(p, "00000000000000000000.index")).size % 8 === 0);
    assert.ok(fs.statSync(join(p, "00000000000000000000.timeindex")).size % 12 === 0);
  });

  it("after a clean stop, a well-formed but wrong index is caught and rebuilt", async () => {
    const { dir } = await crashedLog();
    // Recover once, then stop cleanly so the next start trusts (and must verify) the indexes.
    const b = await BrokerProcess.start({ logDir: dir, overrides: { "log.index.interval.bytes": 64 } });
    await b.stop();
    const p = join(dir, "t-0");
    const idx = fs.readFileSync(join(p, "00000000000000000000.index"));
    assert.ok(idx.length >= 16, `the log is indexed (${idx.length} index bytes)`);
    // Shift every position by 3 bytes: ascending, inside the log, and wrong.
    for (let at = 0; at < idx.length; at += 8) idx.writeUInt32BE(idx.readUInt32BE(at + 4) + 3, at + 4);
    fs.writeFileSync(join(p, "00000000000000000000.index"), idx);
    assert.ok(fs.existsSync(join(dir, ".kafka_cleanshutdown")), "clean shutdown marker");
    const { values } = await served(dir);
    assert.deepEqual(values, expected(BATCHES));
  });
});
