// partition.metadata (Kafka's PartitionMetadataFile) and topic ids: Kafka's exact bytes for a
// known id, worked out by hand below; round trips; Kafka's Uuid.randomUuid rules; every kind of
// garbage and truncation answered with a problem, never a throw.

import assert from "node:assert/strict";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import {
  isReservedTopicId,
  METADATA_TOPIC_ID,
  PARTITION_METADATA_FILE,
  parsePartitionMetadata,
  randomTopicId,
  readPartitionMetadata,
  renderPartitionMetadata,
  topicIdFromString,
  topicIdKey,
  topicIdToString,
  writePartitionMetadata,
  ZERO_TOPIC_ID,
} from "../../src/log/partition_metadata.ts";

const temps: string[] = [];
const tmp = () => {
  const d = fs.mkdtempSync(join(tmpdir(), "milena-pm-"));
  temps.push(d);
  return d;
};
after(() => {
  for (const d of temps) fs.rmSync(d, { recursive: true, force: true });
});

// The id 00112233-4455-6677-8899-aabbccddeeff, i.e. Kafka's new Uuid(0x0011223344556677L,
// 0x8899aabbccddeeffL). URL-safe base64, 3 bytes -> four 6-bit values (A-Z 0-25, a-z 26-51,
// 0-9 52-61, "-" 62, "_" 63):
//   00 11 22  000000 000001 000100 100010   0  1  4 34  A B E i
//   33 44 55  001100 110100 010001 010101  12 52 17 21  M 0 R V
//   66 77 88  011001 100111 011110 001000  25 39 30  8  Z n e I
//   99 aa bb  100110 011010 101010 111011  38 26 42 59  m a q 7
//   cc dd ee  110011 001101 110111 101110  51 13 55 46  z N 3 u
//   ff        111111 11(0000)              63 48        _ w      (no "==" padding)
const KNOWN = Buffer.from([
  0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff,
]);
const KNOWN_STRING = "ABEiM0RVZneImaq7zN3u_w";
// PartitionMetadata.encode(): "version: " + 0 + "\ntopic_id: " + id, no newline at the end.
const KNOWN_FILE = Buffer.concat([
  Buffer.from([0x76, 0x65, 0x72, 0x73, 0x69, 0x6f, 0x6e, 0x3a, 0x20, 0x30, 0x0a]), // "version: 0\n"
  Buffer.from([0x74, 0x6f, 0x70, 0x69, 0x63, 0x5f, 0x69, 0x64, 0x3a, 0x20]), // "topic_id: "
  Buffer.from(KNOWN_STRING, "latin1"),
]);

describe("topic ids", () => {
  it("Kafka's string form of a known id, and back", () => {
    assert.equal(topicIdToString(KNOWN), KNOWN_STRING);
    assert.deepEqual(topicIdFromString(KNOWN_STRING), KNOWN);
    // Java's decoder also takes the padded form.
    assert.deepEqual(topicIdFromString(`${KNOWN_STRING}==`), KNOWN);
    assert.equal(topicIdKey(KNOWN), "00112233445566778899aabbccddeeff");
    // "-" and "_" (62, 63), never "+" or "/": f8 ff ff = 111110 001111 111111 111111 = "-P__",
    // four more ff ff ff = 16 x "_", the last ff = "_w".
    const dash = Buffer.alloc(16, 0xff);
    dash[0] = 0xf8;
    assert.equal(topicIdToString(dash), `-P${"_".repeat(19)}w`);
    assert.equal(topicIdToString(ZERO_TOPIC_ID), "AAAAAAAAAAAAAAAAAAAAAA");
    assert.equal(topicIdToString(METADATA_TOPIC_ID), "AAAAAAAAAAAAAAAAAAAAAQ");
    // A Uint8Array view into a larger buffer converts only its own bytes.
    const big = new Uint8Array(40);
    big.set(KNOWN, 7);
    assert.equal(topicIdToString(big.subarray(7, 23)), KNOWN_STRING);
  });

  it("strings that are not ids give null", () => {
    for (const s of [
      "",
      "ABEiM0RVZneImaq7zN3u", // 20 chars: 15 bytes
      "ABEiM0RVZneImaq7zN3u_", // 21
      "ABEiM0RVZneImaq7zN3u_wA", // 23
      "ABEiM0RVZneImaq7zN3u_w=", // wrong padding
      "ABEiM0RVZneImaq7zN3u/w", // standard alphabet, not URL-safe
      "ABEiM0RVZneImaq7zN3u+w",
      "ABEiM0RVZneImaq7zN3u w",
      "ABEiM0RVZneImaq7zN3u_wAAAA", // too long (> 24)
      "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", // 32 bytes, Kafka's oversize test
    ])
      assert.equal(topicIdFromString(s), null, s);
  });

  it("randomTopicId is Kafka's randomUuid: version 4, never reserved, never starting with '-'", () => {
    const seen = new Set<string>();
    for (let i = 0; i < 5000; i++) {
      const id = randomTopicId();
      assert.equal(id.length, 16);
      assert.ok(!isReservedTopicId(id));
      const s = topicIdToString(id);
      assert.equal(s.length, 22);
      // Without the redraw, about 1 in 64 would start with "-": 5,000 draws all but surely hit it.
      assert.notEqual(s[0], "-", s);
      assert.equal(id[6] >> 4, 4, "version 4");
      assert.equal(id[8] >> 6, 2, "IETF variant");
      assert.deepEqual(topicIdFromString(s), id);
      seen.add(s);
    }
    assert.equal(seen.size, 5000);
    assert.ok(isReservedTopicId(ZERO_TOPIC_ID));
    assert.ok(isReservedTopicId(METADATA_TOPIC_ID));
    assert.ok(!isReservedTopicId(KNOWN));
  });
});

describe("partition.metadata format", () => {
  it("renders Kafka's exact bytes for a known id", () => {
    assert.deepEqual(Buffer.from(renderPartitionMetadata(KNOWN)), KNOWN_FILE);
    assert.equal(KNOWN_FILE.length, 43);
  });

  it("parses Kafka's bytes, and with a final newline or CRLF", () => {
    for (const text of [
      KNOWN_FILE,
      Buffer.concat([KNOWN_FILE, Buffer.from("\n")]),
      `version: 0\r\ntopic_id: ${KNOWN_STRING}\r\n`,
      `version:  0\ntopic_id:\t${KNOWN_STRING}`, // ":\s+" takes any run of whitespace
      `version: 0\ntopic_id: ${KNOWN_STRING}==`,
      `version: 0\ntopic_id: ${KNOWN_STRING}\nwhatever follows is ignored, as Kafka does\n`,
    ]) {
      const r = parsePartitionMetadata(text);
      assert.ok(!("problem" in r), `${JSON.stringify(text.toString())}: ${JSON.stringify(r)}`);
      assert.deepEqual(r.topicId, KNOWN);
      assert.equal(r.version, 0);
    }
    // A later version is read the same way (Kafka: for downgrades).
    const v1 = parsePartitionMetadata(`version: 1\ntopic_id: ${KNOWN_STRING}`);
    assert.ok(!("problem" in v1));
    assert.equal(v1.version, 1);
  });

  it("round-trips random ids", () => {
    for (let i = 0; i < 200; i++) {
      const id = randomTopicId();
      const r = parsePartitionMetadata(renderPartitionMetadata(id));
      assert.ok(!("problem" in r));
      assert.deepEqual(r.topicId, id);
    }
  });

  it("every truncation of the file is a problem, not a throw", () => {
    for (let n = 0; n < KNOWN_FILE.length; n++) {
      const r = parsePartitionMetadata(KNOWN_FILE.subarray(0, n));
      assert.ok("problem" in r, `prefix of ${n} bytes parsed: ${JSON.stringify(r)}`);
      assert.equal(typeof r.problem, "string");
    }
  });

  it("garbage gives a problem naming what is wrong", () => {
    const cases: [string | Buffer, RegExp][] = [
      ["", /empty/],
      ["version: 0", /ends before its topic_id/],
      ["version: 0\n", /ends before its topic_id/],
      ["version: 0\n\n", /line 2/],
      [`version: -1\ntopic_id: ${KNOWN_STRING}`, /line 1/],
      [`version: x\ntopic_id: ${KNOWN_STRING}`, /line 1/],
      [`version: 99999999999\ntopic_id: ${KNOWN_STRING}`, /line 1/],
      [`version:0\ntopic_id: ${KNOWN_STRING}`, /line 1/],
      [`version: 0 \ntopic_id: ${KNOWN_STRING}`, /line 1/],
      [`\uFEFFversion: 0\ntopic_id: ${KNOWN_STRING}`, /line 1/],
      [`vers: 0\ntopic_id: ${KNOWN_STRING}`, /line 1/],
      [`topic_id: ${KNOWN_STRING}\nversion: 0`, /line 1/],
      [`version: 0\ntopic: ${KNOWN_STRING}`, /line 2/],
      [`version: 0\ntopic_id:${KNOWN_STRING}`, /line 2/],
      [`version: 0\ntopic_id: ${KNOWN_STRING}: x`, /line 2/],
      [`version: 0\ntopic_id: ${KNOWN_STRING} `, /not 16 bytes/],
      ["version: 0\ntopic_id: ABEiM0RVZneImaq7zN3u/w", /not 16 bytes/],
      ["version: 0\ntopic_id: 00112233-4455-6677-8899-aabbccddeeff", /not 16 bytes/],
      ["version: 0\ntopic_id: AAAAAAAAAAAAAAAAAAAAAA", /reserved/],
      ["version: 0\ntopic_id: AAAAAAAAAAAAAAAAAAAAAQ", /reserved/],
      [Buffer.from([0xff, 0xfe, 0x00, 0x01, 0x80]), /line 1/],
      [`version: 0\ntopic_id: ${"A".repeat(5000)}`, /not 16 bytes/],
    ];
    for (const [text, problem] of cases) {
      const r = parsePartitionMetadata(text);
      assert.ok("problem" in r, `${JSON.stringify(text.toString())} parsed`);
      assert.match(r.problem, problem, JSON.stringify(text.toString()));
    }
  });

  it("random bytes never throw", () => {
    let seed = 12345;
    const next = () => (seed = (seed * 1103515245 + 12345) >>> 0);
    const alphabet = Buffer.from(`version: 0\ntopic_id: \r${KNOWN_STRING}=-_+/\u00ff`, "latin1");
    for (let i = 0; i < 3000; i++) {
      const n = next() % 80;
      const b = Buffer.alloc(n);
      for (let j = 0; j < n; j++) b[j] = i % 2 === 0 ? next() & 0xff : alphabet[next() % alphabet.length];
      const r = parsePartitionMetadata(b);
      if (!("problem" in r)) assert.equal(r.topicId.length, 16);
    }
  });
});

describe("partition.metadata on disk", () => {
  it("writePartitionMetadata writes Kafka's bytes durably (no temp file left) and reads back", async () => {
    const dir = tmp();
    await writePartitionMetadata(dir, KNOWN);
    assert.deepEqual(fs.readFileSync(join(dir, PARTITION_METADATA_FILE)), KNOWN_FILE);
    assert.deepEqual(fs.readdirSync(dir), [PARTITION_METADATA_FILE]);
    const r = readPartitionMetadata(dir);
    assert.equal(r.kind, "ok");
    assert.deepEqual(r.kind === "ok" && r.topicId, KNOWN);
    // Replaced whole, never appended to.
    const other = randomTopicId();
    await writePartitionMetadata(dir, other);
    const again = readPartitionMetadata(dir);
    assert.deepEqual(again.kind === "ok" && again.topicId, other);
    assert.equal(fs.readFileSync(join(dir, PARTITION_METADATA_FILE), "utf8").length, 43);
  });

  it("refuses to write a reserved id", async () => {
    const dir = tmp();
    await assert.rejects(writePartitionMetadata(dir, ZERO_TOPIC_ID), /not a topic id/);
    await assert.rejects(writePartitionMetadata(dir, METADATA_TOPIC_ID), /not a topic id/);
    assert.deepEqual(fs.readdirSync(dir), []);
  });

  it("readPartitionMetadata: missing, corrupt, unreadable, never a throw", () => {
    const dir = tmp();
    assert.deepEqual(readPartitionMetadata(dir), { kind: "missing" });
    assert.deepEqual(readPartitionMetadata(join(dir, "no-such-dir")), { kind: "missing" });
    fs.writeFileSync(join(dir, PARTITION_METADATA_FILE), "version: 0\ntopic_id: ABEiM0RVZn");
    const torn = readPartitionMetadata(dir);
    assert.equal(torn.kind, "corrupt");
    assert.match(torn.kind === "corrupt" ? torn.problem : "", /not 16 bytes/);
    // A file far larger than any partition.metadata: only its start is read.
    fs.writeFileSync(join(dir, PARTITION_METADATA_FILE), Buffer.alloc(1 << 20, 0x41));
    assert.equal(readPartitionMetadata(dir).kind, "corrupt");
    fs.writeFileSync(
      join(dir, PARTITION_METADATA_FILE),
      Buffer.concat([KNOWN_FILE, Buffer.from("\n"), Buffer.alloc(1 << 16, 0x41)]),
    );
    assert.equal(readPartitionMetadata(dir).kind, "ok");
    const d2 = tmp();
    fs.mkdirSync(join(d2, PARTITION_METADATA_FILE));
    const isDir = readPartitionMetadata(d2);
    assert.equal(isDir.kind, "corrupt");
    assert.match(isDir.kind === "corrupt" ? isDir.problem : "", /cannot be read/);
  });
});
