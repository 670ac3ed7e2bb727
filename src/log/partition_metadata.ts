// Topic ids (KIP-516) and the file that keeps one in every partition directory: Kafka's
// PartitionMetadataFile (storage/.../internals/checkpoint/PartitionMetadataFile.java,
// PartitionMetadataReadBuffer.java), byte for byte.
//
//   <log.dir>/<topic>-<partition>/partition.metadata
//
//   +--------------------------------------------------------------+
//   | v e r s i o n :   0 \n                                       |  line 1: "version: <int>"
//   | t o p i c _ i d :   <22 chars> [no newline]                  |  line 2: "topic_id: <id>"
//   +--------------------------------------------------------------+
//
//   e.g. the id 00 11 22 33 44 55 66 77 88 99 aa bb cc dd ee ff is the 42 bytes
//     "version: 0\ntopic_id: ABEiM0RVZneImaq7zN3u_w"
//
// <id> is the 16 id bytes (Kafka's Uuid: most significant long, then least significant, both
// big-endian) in URL-safe base64 (A-Z a-z 0-9 - _) without padding: always 22 characters.
// Kafka's PartitionMetadata.encode() puts no newline after the id, so neither do we; readers
// (Kafka's BufferedReader.readLine, and ours) accept one.
//
// Written as Kafka writes it: whole, to partition.metadata.tmp, fsynced, renamed over the
// file, and the partition directory fsynced (Utils.atomicMoveWithFallback flushes the parent).
//
// Reading follows PartitionMetadataReadBuffer: line 1 splits on ":\s+" into two parts and the
// version must be an integer >= 0 (a newer version is read the same way, for downgrades);
// line 2 splits likewise and its value must decode (Uuid.fromString: at most 24 characters,
// URL-safe base64, padding optional) to exactly 16 bytes, not the all-zero id. Lines after the
// second are ignored. Stricter than Kafka in two ways, both for files Kafka never writes: the
// keys must be "version" and "topic_id", and the reserved id 0...01 (METADATA_TOPIC_ID, the
// KRaft metadata log's) is refused too. parsePartitionMetadata never throws: anything else is
// a problem string naming what is wrong.
//
// A new id is Kafka's Uuid.randomUuid(): a random (version 4) UUID, drawn again while it is a
// reserved id (0 or 1) or while its string would start with "-" (a command line would read it
// as an option).

import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import { join } from "node:path";

export const PARTITION_METADATA_FILE = "partition.metadata";
export const PARTITION_METADATA_VERSION = 0;
export const TOPIC_ID_BYTES = 16;

/** Kafka's Uuid.ZERO_UUID: "no id" on the wire, never a topic's id. */
export const ZERO_TOPIC_ID: Buffer = Buffer.alloc(TOPIC_ID_BYTES);
/** Kafka's Uuid.METADATA_TOPIC_ID (ONE_UUID), reserved for the KRaft metadata log. */
export const METADATA_TOPIC_ID: Buffer = Buffer.from("00000000000000000000000000000001", "hex");

/** A file this large is not ours; only its start is read (Kafka reads two short lines). */
const MAX_READ_BYTES = 4096;

/** Kafka's Uuid.toString(): URL-safe base64 without padding (22 characters). */
export function topicIdToString(id: Uint8Array): string {
  return Buffer.from(id.buffer, id.byteOffset, id.byteLength).toString("base64url");
}

/** Kafka's Uuid.fromString(), without throwing: the 16 bytes, or null when `s` is not an id. */
export function topicIdFromString(s: string): Buffer | null {
  // Java's URL-safe decoder: that alphabet only, padding optional but correct when present.
  if (s.length > 24 || !/^[A-Za-z0-9_-]{22}(?:==)?$/.test(s)) return null;
  const id = Buffer.from(s.slice(0, 22), "base64url");
  return id.length === TOPIC_ID_BYTES ? id : null;
}

/** A key for maps of ids (lowercase hex, 32 characters). */
export function topicIdKey(id: Uint8Array): string {
  return Buffer.from(id.buffer, id.byteOffset, id.byteLength).toString("hex");
}

/** The all-zero id or METADATA_TOPIC_ID: never a topic's id. */
export function isReservedTopicId(id: Uint8Array): boolean {
  if (id.length !== TOPIC_ID_BYTES) return false;
  for (let i = 0; i < TOPIC_ID_BYTES - 1; i++) if (id[i] !== 0) return false;
  return id[TOPIC_ID_BYTES - 1] <= 1;
}

/** Kafka's Uuid.randomUuid(): random, never reserved, never a string starting with "-". */
export function randomTopicId(): Buffer {
  for (;;) {
    const id = Buffer.from(randomUUID().replace(/-/g, ""), "hex");
    // The first base64 character is the first byte's top six bits; 62 is "-".
    if (!isReservedTopicId(id) && id[0] >> 2 !== 62) return id;
  }
}

/** The file's exact text for an id (Kafka's PartitionMetadata.encode()). */
export function renderPartitionMetadata(topicId: Uint8Array): string {
  return `version: ${PARTITION_METADATA_VERSION}\ntopic_id: ${topicIdToString(topicId)}`;
}

export interface PartitionMetadata {
  version: number;
  topicId: Buffer;
}

/** Java's \s, within a line. */
const SEP = /^([^:]*):[ \t\v\f]+(.*)$/;

function quote(line: string): string {
  return JSON.stringify(line.length > 60 ? `${line.slice(0, 60)}...` : line);
}

/**
 * Parse a partition.metadata file's contents. Never throws: a malformed, truncated or foreign
 * file gives { problem } saying what is wrong.
 */
export function parsePartitionMetadata(data: string | Uint8Array): PartitionMetadata | { problem: string } {
  const text = typeof data === "string" ? data : new TextDecoder("utf-8", { ignoreBOM: true }).decode(data);
  if (text.length === 0) return { problem: "the file is empty" };
  // Java's BufferedReader.readLine: a line ends at \n, \r or \r\n.
  const lines = text.split(/\r\n|\r|\n/);
  const v = SEP.exec(lines[0]);
  if (v === null || v[1] !== "version" || v[2].includes(":") || !/^\d{1,10}$/.test(v[2]))
    return { problem: `line 1 is not "version: <number>": ${quote(lines[0])}` };
  const version = Number(v[2]);
  if (version > 0x7fffffff) return { problem: `line 1 is not "version: <number>": ${quote(lines[0])}` };
  if (lines.length < 2 || (lines.length === 2 && lines[1] === ""))
    return { problem: "the file ends before its topic_id line" };
  const t = SEP.exec(lines[1]);
  if (t === null || t[1] !== "topic_id" || t[2].includes(":"))
    return { problem: `line 2 is not "topic_id: <id>": ${quote(lines[1])}` };
  const topicId = topicIdFromString(t[2]);
  if (topicId === null)
    return { problem: `line 2's topic id is not 16 bytes in URL-safe base64: ${quote(t[2])}` };
  if (isReservedTopicId(topicId))
    return { problem: `line 2 holds the reserved topic id ${t[2]}, never a topic's id` };
  return { version, topicId };
}

export type PartitionMetadataRead =
  | { kind: "ok"; version: number; topicId: Buffer }
  | { kind: "missing" }
  | { kind: "corrupt"; problem: string };

/**
 * Read a partition directory's partition.metadata. Never throws: "missing" when there is no
 * such file, "corrupt" (with the reason) when it cannot be read or parsed.
 */
export function readPartitionMetadata(partitionDir: string): PartitionMetadataRead {
  const path = join(partitionDir, PARTITION_METADATA_FILE);
  let bytes: Buffer;
  try {
    const fd = fs.openSync(path, "r");
    try {
      const buf = Buffer.alloc(MAX_READ_BYTES);
      let n = 0;
      for (let got = -1; got !== 0 && n < buf.length; n += got)
        got = fs.readSync(fd, buf, n, buf.length - n, n);
      bytes = buf.subarray(0, n);
    } finally {
      fs.closeSync(fd);
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return { kind: "missing" };
    return { kind: "corrupt", problem: `cannot be read: ${(e as Error).message}` };
  }
  const parsed = parsePartitionMetadata(bytes);
  return "problem" in parsed ? { kind: "corrupt", problem: parsed.problem } : { kind: "ok", ...parsed };
}

/**
 * Write a partition directory's partition.metadata durably, without blocking the event loop:
 * temp file, fsync, rename, fsync of the directory. The directory must exist.
 */
export async function writePartitionMetadata(partitionDir: string, topicId: Uint8Array): Promise<void> {
  if (topicId.length !== TOPIC_ID_BYTES || isReservedTopicId(topicId))
    throw new Error(`not a topic id: ${topicIdKey(topicId)}`);
  const path = join(partitionDir, PARTITION_METADATA_FILE);
  const tmp = `${path}.tmp`;
  const h = await fs.promises.open(tmp, "w");
  try {
    await h.writeFile(renderPartitionMetadata(topicId));
    await h.sync();
  } finally {
    await h.close();
  }
  await fs.promises.rename(tmp, path);
  const d = await fs.promises.open(partitionDir, "r");
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}
