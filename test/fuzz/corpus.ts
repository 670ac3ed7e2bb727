// The protocol fuzzer's corpus of valid request frames (test/fuzz/harness.ts mutates them): one
// or more per (api key, version) the broker advertises. Sources, in order:
// - the captured frames of test/fixtures/protocol (kafkajs bodies get a request header; kcat
//   frames are used as captured);
// - every fixture decoded with Milena's codec and re-encoded at each other advertised version of
//   its API (so a version without a capture still has a real client's request);
// - hand-written sample requests per API, aimed at the fuzzer's own topics and group, encoded
//   at every advertised version with the codecs of src/protocol (registry.ts CODECS);
// - for every advertised version, a request built from Kafka's spec alone
//   (test/helpers/spec_requests.ts), aimed at the same topic and group, so no API (a new one
//   without fixtures or samples) goes without valid requests to mutate.
// Frames are whole request frames without the 4-byte size prefix, correlation id 0 (the sender
// stamps its own). Nothing here names the reference topic the checks read back, so a mutation
// that keeps its names intact cannot delete or reconfigure it.

import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { ApiVersionRange } from "../../src/protocol/api_versions.ts";
import { encodeAssignment, encodeSubscription } from "../../src/protocol/consumer_protocol.ts";
import { MESSAGES } from "../../src/protocol/generated/messages.ts";
import { decodeRequestHeader, encodeRequestHeader } from "../../src/protocol/header.ts";
import { produceCodec } from "../../src/protocol/produce.ts";
import { Reader } from "../../src/protocol/reader.ts";
import { encodeBatch, type NewRecord } from "../../src/protocol/records.ts";
import { type AnyApiCodec, CODECS, codecFor } from "../../src/protocol/registry.ts";
import { encodeMessage } from "../../src/protocol/schema_codec.ts";
import { Writer } from "../../src/protocol/writer.ts";
import { specRequest } from "../helpers/spec_requests.ts";
import type { Rng } from "./prng.ts";

const FIXTURES = fileURLToPath(new URL("../fixtures/protocol", import.meta.url));

/** Topics and group the fuzzer aims at (created by the harness before a run). */
export const FUZZ_TOPICS = ["fuzz-0", "fuzz-1", "fuzz-2"] as const;
export const FUZZ_PARTITIONS = 2;
export const FUZZ_GROUP = "fuzz-group";
/** A fixed timestamp for sample records, so the corpus is the same on every run. */
export const SAMPLE_TIME = 1_700_000_000_000;

export interface CorpusEntry {
  apiKey: number;
  apiName: string;
  version: number;
  /** Where it came from: "kafkajs/produce_v7", "kafkajs/fetch_v4 as v9", "sample". */
  source: string;
  /** Request frame without the size prefix, correlation id 0. */
  frame: Buffer;
}

export interface Corpus {
  entries: CorpusEntry[];
  /** Entries of one api key and version: `${key}/${version}`. */
  byVersion: Map<string, CorpusEntry[]>;
  advertised: ApiVersionRange[];
  /** (api, version) pairs advertised but with no entry (no codec, nothing encodable). */
  missing: string[];
}

/** A request frame (no size prefix): header v1/v2 as the version wants, then the body. */
export function frameOf(
  apiKey: number,
  version: number,
  body: (w: Writer) => void,
  correlationId = 0,
  clientId: string | null = "milena-fuzz",
): Buffer {
  const w = new Writer(256);
  encodeRequestHeader(w, { apiKey, apiVersion: version, correlationId, clientId });
  body(w);
  return Buffer.concat(w.chunks());
}

/** A few records with keys, values and headers (the content varies with the rng when given). */
export function sampleRecords(rng?: Rng, n = 3): NewRecord[] {
  const out: NewRecord[] = [];
  for (let i = 0; i < n; i++) {
    const salt = rng ? rng.u32().toString(36) : String(i);
    out.push({
      key: `k-${salt}`,
      value: rng?.chance(0.1) ? null : `value-${i}-${salt}`,
      headers: [
        { key: "h", value: Buffer.from(salt) },
        { key: "n", value: null },
      ],
      timestamp: SAMPLE_TIME + i,
    });
  }
  return out;
}

/** A Produce request frame carrying the given record sets (one per partition). */
export function produceFrame(
  version: number,
  topic: string,
  sets: { partition: number; records: Buffer | null }[],
  acks = 1,
  timeoutMs = 1000,
): Buffer {
  return frameOf(produceCodec.key, version, (w) =>
    produceCodec.encodeRequest(w, version, {
      transactionalId: null,
      acks,
      timeoutMs,
      topics: [
        { name: topic, partitions: sets.map((s) => ({ partitionIndex: s.partition, records: s.records })) },
      ],
    }),
  );
}

/** Sample requests per API (decoded shape of each codec), encoded at every advertised version. */
function sampleRequests(): Map<string, unknown[]> {
  const [t0, t1, t2] = FUZZ_TOPICS;
  const batch = encodeBatch(sampleRecords(), 0, SAMPLE_TIME);
  const fetchPartition = (partition: number, fetchOffset: number) => ({
    partition,
    currentLeaderEpoch: -1,
    fetchOffset,
    logStartOffset: -1,
    partitionMaxBytes: 256 * 1024,
  });
  const subscription = encodeSubscription({
    version: 1,
    topics: [t0, t1],
    userData: null,
    ownedPartitions: [],
  });
  const assignment = encodeAssignment({
    version: 0,
    assignedPartitions: [{ topic: t0, partitions: [0, 1] }],
    userData: Buffer.from("u"),
  });
  return new Map<string, unknown[]>([
    [
      "Produce",
      [
        {
          transactionalId: null,
          acks: 1,
          timeoutMs: 1000,
          topics: [{ name: t0, partitions: [{ partitionIndex: 0, records: batch }] }],
        },
        {
          transactionalId: null,
          acks: -1,
          timeoutMs: 1000,
          topics: [
            {
              name: t1,
              partitions: [
                { partitionIndex: 0, records: batch },
                { partitionIndex: 1, records: batch },
              ],
            },
            { name: t2, partitions: [{ partitionIndex: 1, records: null }] },
          ],
        },
      ],
    ],
    [
      "Fetch",
      [
        {
          replicaId: -1,
          maxWaitMs: 50,
          minBytes: 1,
          maxBytes: 1024 * 1024,
          isolationLevel: 0,
          sessionId: 0,
          sessionEpoch: -1,
          topics: [
            { topic: t0, partitions: [fetchPartition(0, 0), fetchPartition(1, 0)] },
            { topic: t1, partitions: [fetchPartition(0, 1)] },
          ],
          forgottenTopicsData: [{ topic: t2, partitions: [0] }],
          rackId: "",
        },
      ],
    ],
    [
      "ListOffsets",
      [
        {
          replicaId: -1,
          isolationLevel: 0,
          topics: [
            {
              name: t0,
              partitions: [
                { partitionIndex: 0, timestamp: -1 },
                { partitionIndex: 1, timestamp: -2 },
              ],
            },
            { name: t1, partitions: [{ partitionIndex: 0, timestamp: SAMPLE_TIME }] },
          ],
        },
      ],
    ],
    [
      "Metadata",
      [
        { topics: [t0, t1, "fuzz-missing"], allowAutoTopicCreation: false },
        { topics: null, allowAutoTopicCreation: false },
        { topics: [], allowAutoTopicCreation: true },
      ],
    ],
    ["ApiVersions", [{ clientSoftwareName: "milena-fuzz", clientSoftwareVersion: "1.0.0" }]],
    [
      "CreateTopics",
      [
        {
          topics: [
            {
              name: "fuzz-created",
              numPartitions: 2,
              replicationFactor: 1,
              assignments: [],
              configs: [{ name: "retention.ms", value: "3600000" }],
            },
          ],
          timeoutMs: 1000,
          validateOnly: false,
        },
        {
          topics: [
            {
              name: "fuzz-validated",
              numPartitions: -1,
              replicationFactor: -1,
              assignments: [{ partitionIndex: 0, brokerIds: [0] }],
              configs: [],
            },
          ],
          timeoutMs: 1000,
          validateOnly: true,
        },
      ],
    ],
    ["DeleteTopics", [{ topicNames: ["fuzz-created", "fuzz-missing"], timeoutMs: 1000 }]],
    [
      "DescribeConfigs",
      [
        {
          resources: [
            { resourceType: 2, resourceName: t0, configurationKeys: null },
            { resourceType: 4, resourceName: "0", configurationKeys: ["log.retention.ms"] },
          ],
          includeSynonyms: true,
        },
      ],
    ],
    [
      "FindCoordinator",
      [
        { key: FUZZ_GROUP, keyType: 0 },
        { key: "fuzz-txn", keyType: 1 },
      ],
    ],
    [
      "AlterConfigs",
      [
        {
          resources: [
            {
              resourceType: 2,
              resourceName: t2,
              configs: [
                { name: "retention.ms", value: "3600000" },
                { name: "max.message.bytes", value: "1000000" },
              ],
            },
          ],
          validateOnly: false,
        },
      ],
    ],
    [
      "IncrementalAlterConfigs",
      [
        {
          resources: [
            {
              resourceType: 2,
              resourceName: t2,
              configs: [
                { name: "retention.ms", configOperation: 0, value: "7200000" },
                { name: "segment.ms", configOperation: 1, value: null },
              ],
            },
          ],
          validateOnly: false,
        },
      ],
    ],
    [
      "JoinGroup",
      [
        {
          groupId: FUZZ_GROUP,
          sessionTimeoutMs: 6000,
          rebalanceTimeoutMs: 6000,
          memberId: "",
          groupInstanceId: null,
          protocolType: "consumer",
          protocols: [{ name: "range", metadata: subscription }],
        },
      ],
    ],
    [
      "SyncGroup",
      [
        {
          groupId: FUZZ_GROUP,
          generationId: 1,
          memberId: "m-1",
          groupInstanceId: null,
          assignments: [{ memberId: "m-1", assignment }],
        },
      ],
    ],
    [
      "OffsetCommit",
      [
        {
          groupId: FUZZ_GROUP,
          generationId: -1,
          memberId: "",
          retentionTimeMs: -1,
          topics: [
            { name: t0, partitions: [{ partitionIndex: 0, committedOffset: 1, committedMetadata: "m" }] },
          ],
        },
      ],
    ],
    ["Heartbeat", [{ groupId: FUZZ_GROUP, generationId: 1, memberId: "m-1", groupInstanceId: null }]],
    ["LeaveGroup", [{ groupId: FUZZ_GROUP, memberId: "m-1" }]],
    ["DescribeGroups", [{ groups: [FUZZ_GROUP, "fuzz-other"] }]],
    ["DeleteGroups", [{ groupsNames: ["fuzz-other"] }]],
    [
      "OffsetFetch",
      [
        { groupId: FUZZ_GROUP, topics: null },
        { groupId: FUZZ_GROUP, topics: [{ name: t0, partitionIndexes: [0, 1] }] },
      ],
    ],
  ]);
}

/** ApiVersions -> snake_case fixture prefix, for every codec. */
function snakeName(c: AnyApiCodec): string {
  return c.name.replace(/[A-Z]/g, (m, i: number) => (i === 0 ? m.toLowerCase() : `_${m.toLowerCase()}`));
}

interface Fixture {
  name: string;
  codec: AnyApiCodec;
  version: number;
  frame: Buffer;
}

function loadFixtures(): Fixture[] {
  const bySnake = new Map(CODECS.map((c) => [snakeName(c), c]));
  const out: Fixture[] = [];
  for (const source of ["kafkajs", "kcat"]) {
    for (const file of readdirSync(path.join(FIXTURES, source)).sort()) {
      const m = /^(frame_)?([a-z_]+?)_v(\d+)(_[a-z_]+)?\.hex$/.exec(file);
      if (!m) continue;
      const codec = bySnake.get(m[2]);
      if (!codec) continue;
      const version = Number(m[3]);
      const bytes = Buffer.from(readFileSync(path.join(FIXTURES, source, file), "utf8").trim(), "hex");
      // kcat frames and kafkajs frame_* files have a header; the other kafkajs files are bodies.
      const full = source === "kcat" || m[1] !== undefined;
      const frame = full ? bytes : frameOf(codec.key, version, (w) => w.raw(bytes));
      out.push({ name: `${source}/${file.slice(0, -4)}`, codec, version, frame });
    }
  }
  return out;
}

/** Decode a frame's body with its codec (null when it does not decode). */
function decodeBody(f: Fixture): unknown | null {
  try {
    const r = new Reader(f.frame);
    decodeRequestHeader(r);
    return f.codec.decodeRequest(r, f.version);
  } catch {
    return null;
  }
}

function encodeAt(codec: AnyApiCodec, version: number, req: unknown): Buffer | null {
  try {
    return frameOf(codec.key, version, (w) => codec.encodeRequest(w, version, req));
  } catch {
    return null;
  }
}

/** The corpus for what the broker advertises (ApiVersions keys). */
export function buildCorpus(advertised: readonly ApiVersionRange[]): Corpus {
  const entries: CorpusEntry[] = [];
  const seen = new Set<string>();
  const add = (e: CorpusEntry) => {
    const k = `${e.apiKey}/${e.version}/${e.frame.toString("hex")}`;
    if (seen.has(k)) return;
    seen.add(k);
    entries.push(e);
  };
  const ranges = new Map(advertised.map((a) => [a.apiKey, a]));
  const served = (key: number, v: number) => {
    const a = ranges.get(key);
    return a !== undefined && v >= a.minVersion && v <= a.maxVersion;
  };

  for (const f of loadFixtures()) {
    if (served(f.codec.key, f.version)) {
      add({ apiKey: f.codec.key, apiName: f.codec.name, version: f.version, source: f.name, frame: f.frame });
    }
    const req = decodeBody(f);
    const range = ranges.get(f.codec.key);
    if (req === null || range === undefined) continue;
    for (let v = range.minVersion; v <= range.maxVersion; v++) {
      if (v === f.version) continue;
      const frame = encodeAt(f.codec, v, req);
      if (frame)
        add({ apiKey: f.codec.key, apiName: f.codec.name, version: v, source: `${f.name} as v${v}`, frame });
    }
  }

  const samples = sampleRequests();
  for (const a of advertised) {
    const codec = codecFor(a.apiKey);
    if (!codec) continue;
    const reqs = samples.get(codec.name) ?? [];
    for (const req of reqs) {
      for (let v = a.minVersion; v <= a.maxVersion; v++) {
        const frame = encodeAt(codec, v, req);
        if (frame) add({ apiKey: a.apiKey, apiName: codec.name, version: v, source: "sample", frame });
      }
    }
  }

  for (const a of advertised) {
    const codec = codecFor(a.apiKey);
    const spec = codec && MESSAGES[`${codec.name}Request`];
    if (!codec || !spec) continue;
    for (let v = a.minVersion; v <= a.maxVersion; v++) {
      let frame: Buffer | null = null;
      try {
        const req = specRequest(spec, v, FUZZ_TOPICS[0], FUZZ_GROUP);
        frame = frameOf(codec.key, v, (w) => encodeMessage(spec, v, w, req));
      } catch {
        frame = null;
      }
      if (frame) add({ apiKey: a.apiKey, apiName: codec.name, version: v, source: "spec", frame });
    }
  }

  const byVersion = new Map<string, CorpusEntry[]>();
  for (const e of entries) {
    const k = `${e.apiKey}/${e.version}`;
    let list = byVersion.get(k);
    if (!list) byVersion.set(k, (list = []));
    list.push(e);
  }
  const missing: string[] = [];
  for (const a of advertised) {
    for (let v = a.minVersion; v <= a.maxVersion; v++) {
      if (!byVersion.has(`${a.apiKey}/${v}`)) missing.push(`${codecFor(a.apiKey)?.name ?? a.apiKey} v${v}`);
    }
  }
  return { entries, byVersion, advertised: [...advertised], missing };
}

/** The name of an api key (its codec's), or the number. */
export function apiName(apiKey: number): string {
  return codecFor(apiKey)?.name ?? `api${apiKey}`;
}
