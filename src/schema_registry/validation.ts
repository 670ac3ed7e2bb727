// Broker-side schema validation (Confluent Server's), per topic: with key.schema.validation=true
// (value.schema.validation=true) every record's key (value) of a produced batch must be in
// Confluent's wire format, magic byte 0 then a 4-byte big-endian schema id, and that id must be
// one of the live versions of the topic's subject under TopicNameStrategy, `<topic>-key`
// (`<topic>-value`). With schema.validation.payload=true the bytes after the id must also decode
// with that schema (Avro: avsc reads exactly the bytes; JSON Schema: JSON that ajv validates;
// Protobuf: Confluent's message indexes, then a message of the indexed type protobufjs decodes).
// A null key or value (a tombstone) passes. A refused batch is answered INVALID_RECORD with the
// reason in the partition's error message (Produce v8+), and nothing of it is appended.
//
// Cost: the produce handler asks only for topics whose overrides turn validation on (one Map
// lookup for a topic with overrides, nothing for the others); for those, the batch is decompressed
// (to at most 64 MiB, the bound the writers use) and its records walked on the
// acceptor thread.

import { Reader } from "../protocol/reader.ts";
import { ATTR_CONTROL, ATTRIBUTES, RECORD_COUNT } from "../protocol/record_batch.ts";
import { decompressRecords, splitBatches } from "../protocol/records.ts";
import type { SchemaRegistry } from "./registry.ts";

export const VALIDATION_CONFIGS = [
  "key.schema.validation",
  "value.schema.validation",
  "schema.validation.payload",
];

/** Which sides a topic's overrides validate; null when none (the usual case). */
export function validationOf(
  overrides: ReadonlyMap<string, string>,
): { key: boolean; value: boolean; payload: boolean } | null {
  if (overrides.size === 0) return null;
  const key = overrides.get("key.schema.validation") === "true";
  const value = overrides.get("value.schema.validation") === "true";
  if (!key && !value) return null;
  return { key, value, payload: overrides.get("schema.validation.payload") === "true" };
}

/** Walk a batch's records, calling `each` with key and value (views); throws on malformed bytes. */
function eachRecord(
  batch: Buffer,
  maxBytes: number,
  each: (i: number, key: Uint8Array | null, value: Uint8Array | null) => void,
): void {
  if ((batch.readInt16BE(ATTRIBUTES) & ATTR_CONTROL) !== 0) return;
  const count = batch.readInt32BE(RECORD_COUNT);
  const data = decompressRecords(batch, maxBytes);
  const r = new Reader(data);
  for (let i = 0; i < count; i++) {
    const length = r.varint();
    const end = r.offset + length;
    r.int8();
    r.varlong();
    r.varint();
    const keyLen = r.varint();
    const key = keyLen < 0 ? null : data.subarray(r.offset, r.offset + keyLen);
    if (keyLen > 0) r.skip(keyLen);
    const valLen = r.varint();
    const value = valLen < 0 ? null : data.subarray(r.offset, r.offset + valLen);
    if (valLen > 0) r.skip(valLen);
    if (end > data.length) throw new Error(`record ${i} runs past the batch`);
    each(i, key, value);
    r.offset = end;
  }
}

/**
 * The reason a produced record set is refused, or null when every record passes. `records` is
 * the partition's record set (one or more RecordBatch v2).
 */
export function checkRecordSet(
  registry: SchemaRegistry,
  topic: string,
  sides: { key: boolean; value: boolean; payload: boolean },
  records: Uint8Array,
  maxBytes: number,
): string | null {
  const buf = Buffer.from(records.buffer, records.byteOffset, records.byteLength);
  let why: string | null = null;
  const check = (side: "key" | "value", i: number, bytes: Uint8Array | null) => {
    if (why !== null || bytes === null) return;
    const subject = `${topic}-${side}`;
    if (bytes.length < 5 || bytes[0] !== 0) {
      why = `Record ${i}: its ${side} has no schema id (Confluent's wire format: magic byte 0 and a 4-byte id), which ${side}.schema.validation requires for topic ${topic}`;
      return;
    }
    const id = ((bytes[1] << 24) | (bytes[2] << 16) | (bytes[3] << 8) | bytes[4]) >>> 0;
    if (!registry.idInSubject(subject, id)) {
      why = `Record ${i}: its ${side} carries schema id ${id}, which is not a registered schema of subject ${subject}`;
      return;
    }
    if (sides.payload) {
      const problem = registry.validatePayload(id, bytes.subarray(5));
      if (problem !== null)
        why = `Record ${i}: its ${side} does not match schema ${id} of subject ${subject}: ${problem}`;
    }
  };
  try {
    for (const batch of splitBatches(buf)) {
      eachRecord(batch, maxBytes, (i, key, value) => {
        if (sides.key) check("key", i, key);
        if (sides.value) check("value", i, value);
      });
      if (why !== null) return why;
    }
  } catch (e) {
    return `The records could not be read for schema validation: ${(e as Error).message}`;
  }
  return why;
}
