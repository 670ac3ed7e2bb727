// What must still hold after a fuzz run (test/fuzz/harness.ts), for the fuzz test and `make fuzz`:
// - the broker process is alive;
// - it answers ApiVersions on a fresh TCP connection within 1 s;
// - its resident memory is within 100 MB of what it was before the fuzz;
// - every partition of every topic still takes a valid batch (none answers
//   KAFKA_STORAGE_ERROR: a client's request must never take a partition offline);
// - reference data produced before the fuzz (1,000 records with keys, values and headers, in a
//   topic nothing in the fuzz corpus names) reads back byte-identical: the same stored batches,
//   and the same records.

import assert from "node:assert/strict";
import { ErrorCode } from "../../src/protocol/error_codes.ts";
import { fetchRecordsBuffer } from "../../src/protocol/fetch.ts";
import { metadataCodec, metadataRequest } from "../../src/protocol/metadata.ts";
import { produceCodec } from "../../src/protocol/produce.ts";
import {
  decodeBatch,
  encodeBatch,
  type NewRecord,
  type Record as StoredRecord,
  splitBatches,
} from "../../src/protocol/records.ts";
import type { BrokerProcess } from "../helpers/broker_process.ts";
import { RawClient } from "../integration/raw_client.ts";
import { brokerAlive, probeApiVersions } from "./harness.ts";
import { Rng } from "./prng.ts";

export const REFERENCE_TOPIC = "milena-fuzz-reference";
const REFERENCE_PARTITIONS = 2;
export const RSS_SLACK_BYTES = 100 * 1024 * 1024;

/**
 * Broker settings of fuzz runs. Mutated names make the fuzz create topics (CreateTopics,
 * auto-creation), and a partition is legitimate state: its reader, writer entry and, once
 * written, its segment's index and buffers. Capping the partitions (about 60 exist before the
 * fuzz: the offsets topic's 50, the reference and fuzz topics) keeps that state small, so the
 * RSS check measures leaks, not topics the fuzz was allowed to make.
 */
export const FUZZ_BROKER_OVERRIDES: Record<string, string> = { "max.broker.partitions": "150" };

export interface ReferenceData {
  topic: string;
  /** What was sent, per partition, in offset order. */
  sent: NewRecord[][];
  /** The partitions' stored bytes right after producing (every batch, as fetched). */
  stored: Buffer[];
}

/** 1,000 records (keys, values of 0-2,000 bytes, headers; some null) in batches of 1-50. */
function referenceRecords(count: number): NewRecord[] {
  const rng = new Rng(0x5eed);
  const out: NewRecord[] = [];
  for (let i = 0; i < count; i++) {
    const headers = [];
    for (let h = rng.int(4); h > 0; h--)
      headers.push({ key: `h${h}-${i}`, value: rng.chance(0.1) ? null : rng.bytes(rng.int(40)) });
    out.push({
      key: i % 17 === 0 ? null : Buffer.from(`key-${i}-${rng.u32().toString(16)}`),
      value: i % 23 === 0 ? null : rng.bytes(rng.size(2000)),
      headers,
      timestamp: 1_700_000_000_000 + i,
    });
  }
  return out;
}

/** Every stored byte of a partition from offset 0 (Fetch v11, whole batches). */
async function storedBytes(c: RawClient, topic: string, partition: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let offset = 0;
  for (;;) {
    const p = await c.fetchPartition(topic, partition, offset);
    if (p.errorCode !== 0) throw new Error(`fetch ${topic}-${partition}@${offset}: error ${p.errorCode}`);
    const data = fetchRecordsBuffer(p.records);
    if (data.length === 0) break;
    // whole batches only: baseOffset (int64) + batchLength (int32) + batchLength bytes
    let at = 0;
    let last = offset;
    while (at + 61 <= data.length) {
      const size = data.readInt32BE(at + 8) + 12;
      if (at + size > data.length) break;
      const base = Number(data.readBigInt64BE(at));
      const lastOffsetDelta = data.readInt32BE(at + 23);
      if (base + lastOffsetDelta >= offset) parts.push(Buffer.from(data.subarray(at, at + size)));
      last = base + lastOffsetDelta + 1;
      at += size;
    }
    if (last <= offset) throw new Error(`fetch ${topic}-${partition}@${offset} made no progress`);
    offset = last;
    if (offset >= p.highWatermark) break;
  }
  return Buffer.concat(parts);
}

/** Produce the reference data (acks=all) and keep its stored bytes. */
export async function produceReference(broker: BrokerProcess, count = 1000): Promise<ReferenceData> {
  const records = referenceRecords(count);
  const c = await RawClient.tcp(broker.bootstrap);
  try {
    const created = await c.createTopic(REFERENCE_TOPIC, REFERENCE_PARTITIONS);
    assert.equal(created.errorCode, 0, `creating ${REFERENCE_TOPIC}: error ${created.errorCode}`);
    const sent: NewRecord[][] = Array.from({ length: REFERENCE_PARTITIONS }, () => []);
    const rng = new Rng(0xba7c4);
    let i = 0;
    while (i < records.length) {
      const n = Math.min(records.length - i, rng.range(1, 50));
      const partition = rng.int(REFERENCE_PARTITIONS);
      const batch = records.slice(i, i + n);
      i += n;
      const res = await c.request(produceCodec, 7, {
        transactionalId: null,
        acks: -1,
        timeoutMs: 10_000,
        topics: [
          { name: REFERENCE_TOPIC, partitions: [{ partitionIndex: partition, records: encodeBatch(batch) }] },
        ],
      });
      const p = res.responses[0].partitions[0];
      assert.equal(p.errorCode, 0, `producing the reference data: error ${p.errorCode}`);
      assert.equal(p.baseOffset, sent[partition].length, "reference batch landed at an unexpected offset");
      sent[partition].push(...batch);
    }
    const stored: Buffer[] = [];
    for (let p = 0; p < REFERENCE_PARTITIONS; p++) stored.push(await storedBytes(c, REFERENCE_TOPIC, p));
    return { topic: REFERENCE_TOPIC, sent, stored };
  } finally {
    c.close();
  }
}

const asBuf = (v: Buffer | string | null | undefined): Buffer | null =>
  v === null || v === undefined ? null : typeof v === "string" ? Buffer.from(v) : v;

function sameRecord(got: StoredRecord, want: NewRecord, offset: number): string | null {
  if (got.offset !== offset) return `offset ${got.offset}, expected ${offset}`;
  if (got.timestamp !== want.timestamp)
    return `offset ${offset}: timestamp ${got.timestamp}, expected ${want.timestamp}`;
  const k = asBuf(want.key);
  if (!(got.key === null ? k === null : k !== null && got.key.equals(k)))
    return `offset ${offset}: key differs`;
  const v = asBuf(want.value);
  if (!(got.value === null ? v === null : v !== null && got.value.equals(v)))
    return `offset ${offset}: value differs`;
  const wh = Array.isArray(want.headers) ? want.headers : [];
  if (got.headers.length !== wh.length)
    return `offset ${offset}: ${got.headers.length} headers, expected ${wh.length}`;
  for (let h = 0; h < wh.length; h++) {
    const a = got.headers[h];
    const b = wh[h];
    if (a.key !== b.key) return `offset ${offset}: header ${h} key differs`;
    if (!(a.value === null ? b.value === null : b.value !== null && a.value.equals(b.value)))
      return `offset ${offset}: header ${h} value differs`;
  }
  return null;
}

/** Problems with the reference data now (empty: byte-identical). */
export async function checkReference(broker: BrokerProcess, ref: ReferenceData): Promise<string[]> {
  const problems: string[] = [];
  const c = await RawClient.tcp(broker.bootstrap);
  try {
    for (let p = 0; p < ref.sent.length; p++) {
      const now = await storedBytes(c, ref.topic, p);
      if (!now.equals(ref.stored[p])) {
        problems.push(
          `${ref.topic}-${p}: stored bytes differ (${now.length} bytes now, ${ref.stored[p].length} before the fuzz)`,
        );
      }
      const records = await c.readAll(ref.topic, p);
      if (records.length !== ref.sent[p].length) {
        problems.push(`${ref.topic}-${p}: ${records.length} records, expected ${ref.sent[p].length}`);
      }
      for (let i = 0; i < Math.min(records.length, ref.sent[p].length); i++) {
        const why = sameRecord(records[i], ref.sent[p][i], i);
        if (why) {
          problems.push(`${ref.topic}-${p}: ${why}`);
          break;
        }
      }
    }
  } finally {
    c.close();
  }
  return problems;
}

/**
 * Every partition of every (non-internal) topic takes a valid batch and serves it back: a
 * partition answering KAFKA_STORAGE_ERROR was taken offline by a request; one that acknowledges
 * the batch but cannot return it has lost its log (acknowledged writes lost).
 */
export async function checkWritable(broker: BrokerProcess): Promise<string[]> {
  const c = await RawClient.tcp(broker.bootstrap);
  const problems: string[] = [];
  try {
    const md = await c.request(metadataCodec, 1, metadataRequest(null, false));
    const topics = md.topics.filter((t) => t.errorCode === 0 && !t.name?.startsWith("__"));
    for (const t of topics) {
      const name = t.name ?? "";
      for (const p of t.partitions) {
        const value = Buffer.from(`writable-check ${name}/${p.partitionIndex} ${Date.now()}`);
        const res = await c.request(produceCodec, 7, {
          transactionalId: null,
          acks: -1,
          timeoutMs: 5000,
          topics: [
            {
              name: name,
              partitions: [{ partitionIndex: p.partitionIndex, records: encodeBatch([{ value }]) }],
            },
          ],
        });
        const r = res.responses[0].partitions[0];
        const where = `${name}/${p.partitionIndex}`;
        if (r.errorCode === ErrorCode.KAFKA_STORAGE_ERROR) {
          problems.push(`partition ${where} answers a valid Produce with KAFKA_STORAGE_ERROR (offline)`);
          continue;
        }
        // Other refusals (a topic reconfigured by the fuzz, say max.message.bytes) are not ours to judge.
        if (r.errorCode !== 0) continue;
        const f = await c.fetchPartition(name, p.partitionIndex, r.baseOffset);
        const back = splitBatches(fetchRecordsBuffer(f.records))
          .flatMap((b) => decodeBatch(b))
          .find((x) => x.offset === r.baseOffset);
        if (!back?.value?.equals(value)) {
          problems.push(
            `partition ${where} acknowledged a batch at offset ${r.baseOffset} but does not return it (fetch error ${f.errorCode}, high watermark ${f.highWatermark}, ${f.records.length} record chunks)`,
          );
        }
      }
    }
  } finally {
    c.close();
  }
  return problems;
}

export interface CheckResult {
  problems: string[];
  rssBeforeBytes: number;
  rssAfterBytes: number;
}

/**
 * The checks after a fuzz run. RSS is sampled for up to `settleMs` (the heap shrinks after a
 * burst): the first sample within the slack passes; otherwise the smallest is reported.
 */
export async function checkAfterFuzz(
  broker: BrokerProcess,
  opts: { rssBeforeBytes: number; reference: ReferenceData; settleMs?: number },
): Promise<CheckResult> {
  const problems: string[] = [];
  let rssAfter = -1;
  if (!brokerAlive(broker)) {
    problems.push(`the broker process is not running (exit code ${broker.exitCode})`);
    return { problems, rssBeforeBytes: opts.rssBeforeBytes, rssAfterBytes: rssAfter };
  }
  try {
    const code = await probeApiVersions(broker, 1000);
    if (code !== 0) problems.push(`ApiVersions answered error ${code}`);
  } catch (e) {
    problems.push(`ApiVersions on a fresh TCP connection: ${(e as Error).message}`);
  }
  const deadline = Date.now() + (opts.settleMs ?? 10_000);
  for (;;) {
    let rss: number;
    try {
      rss = broker.rssBytes();
    } catch {
      problems.push("cannot read the broker's RSS (process gone?)");
      break;
    }
    rssAfter = rssAfter < 0 ? rss : Math.min(rssAfter, rss);
    if (rss - opts.rssBeforeBytes <= RSS_SLACK_BYTES || Date.now() >= deadline) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  if (rssAfter >= 0 && rssAfter - opts.rssBeforeBytes > RSS_SLACK_BYTES) {
    problems.push(
      `RSS grew from ${mib(opts.rssBeforeBytes)} to ${mib(rssAfter)} MiB (more than ${mib(RSS_SLACK_BYTES)} MiB)`,
    );
  }
  try {
    problems.push(...(await checkReference(broker, opts.reference)));
  } catch (e) {
    problems.push(`reading the reference data back: ${(e as Error).message}`);
  }
  // After the read-back: this appends to every partition, the reference ones too.
  try {
    problems.push(...(await checkWritable(broker)));
  } catch (e) {
    problems.push(`producing to every partition: ${(e as Error).message}`);
  }
  return { problems, rssBeforeBytes: opts.rssBeforeBytes, rssAfterBytes: rssAfter };
}

export const mib = (n: number) => (n / 1048576).toFixed(0);
