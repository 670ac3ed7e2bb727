// Topic-level configs in Kafka's names: each one's broker-level default (the server.properties
// key it inherits from), how its value is checked, and where it lands in the partition's log
// config. Per-topic overrides come from CreateTopics configs and AlterConfigs /
// IncrementalAlterConfigs, and are stored beside the partition's segments (topic_config_file.ts).

import type { PartitionLogConfig } from "../log/partition_writer.ts";
import { type BrokerConfig, normaliseCleanupPolicy } from "./config.ts";

export interface TopicConfigDef {
  name: string;
  /** The server.properties key it defaults to; null for a fixed default. */
  brokerKey: string | null;
  /** The broker-level value, as text. */
  value(c: BrokerConfig): string;
  /** Normalised value, or an error message naming the problem. */
  check(v: string): { ok: true; value: string } | { ok: false; error: string };
}

const LONG_MAX = "9223372036854775807";

function long(min: number): TopicConfigDef["check"] {
  return (v) => {
    if (!/^-?\d+$/.test(v)) return { ok: false, error: `"${v}" is not an integer` };
    if (v === LONG_MAX) return { ok: true, value: v };
    const n = Number(v);
    if (!Number.isSafeInteger(n)) return { ok: false, error: `${v} is out of range` };
    if (n < min) return { ok: false, error: `${v} is below the minimum ${min}` };
    return { ok: true, value: String(n) };
  };
}

function oneOf(...allowed: string[]): TopicConfigDef["check"] {
  return (v) =>
    allowed.includes(v)
      ? { ok: true, value: v }
      : { ok: false, error: `"${v}" is not one of ${allowed.join(", ")}` };
}

function cleanupPolicy(v: string): ReturnType<TopicConfigDef["check"]> {
  const p = normaliseCleanupPolicy(v.split(","));
  return p === null
    ? { ok: false, error: `"${v}" is not delete, compact or compact,delete` }
    : { ok: true, value: p };
}

function bool(v: string): ReturnType<TopicConfigDef["check"]> {
  const b = v.toLowerCase();
  return b === "true" || b === "false"
    ? { ok: true, value: b }
    : { ok: false, error: `"${v}" is not true or false` };
}

function ratio(v: string): ReturnType<TopicConfigDef["check"]> {
  const n = Number(v);
  if (v.trim() === "" || !Number.isFinite(n) || n < 0 || n > 1)
    return { ok: false, error: `"${v}" is not a number between 0 and 1` };
  return { ok: true, value: String(n) };
}

export const TOPIC_CONFIGS: readonly TopicConfigDef[] = [
  {
    name: "cleanup.policy",
    brokerKey: "log.cleanup.policy",
    value: (c) => c.cleanupPolicy,
    check: cleanupPolicy,
  },
  {
    name: "min.cleanable.dirty.ratio",
    brokerKey: "log.cleaner.min.cleanable.ratio",
    value: (c) => String(c.cleanerMinCleanableRatio),
    check: ratio,
  },
  {
    name: "min.compaction.lag.ms",
    brokerKey: "log.cleaner.min.compaction.lag.ms",
    value: (c) => String(c.cleanerMinCompactionLagMs),
    check: long(0),
  },
  {
    name: "max.compaction.lag.ms",
    brokerKey: "log.cleaner.max.compaction.lag.ms",
    value: (c) =>
      c.cleanerMaxCompactionLagMs >= Number.MAX_SAFE_INTEGER ? LONG_MAX : String(c.cleanerMaxCompactionLagMs),
    check: long(1),
  },
  {
    name: "delete.retention.ms",
    brokerKey: "log.cleaner.delete.retention.ms",
    value: (c) => String(c.cleanerDeleteRetentionMs),
    check: long(0),
  },
  { name: "compression.type", brokerKey: null, value: () => "producer", check: oneOf("producer") },
  { name: "message.timestamp.type", brokerKey: null, value: () => "CreateTime", check: oneOf("CreateTime") },
  {
    name: "retention.ms",
    brokerKey: "log.retention.ms",
    value: (c) => String(c.retentionMs),
    check: long(-1),
  },
  {
    name: "retention.bytes",
    brokerKey: "log.retention.bytes",
    value: (c) => String(c.retentionBytes),
    check: long(-1),
  },
  {
    name: "segment.bytes",
    brokerKey: "log.segment.bytes",
    value: (c) => String(c.segmentBytes),
    check: long(14),
  },
  { name: "segment.ms", brokerKey: "log.roll.ms", value: (c) => String(c.segmentMs), check: long(1) },
  {
    name: "index.interval.bytes",
    brokerKey: "log.index.interval.bytes",
    value: (c) => String(c.indexIntervalBytes),
    check: long(0),
  },
  {
    name: "max.message.bytes",
    brokerKey: "message.max.bytes",
    value: (c) => String(c.messageMaxBytes),
    check: long(0),
  },
  {
    name: "min.insync.replicas",
    brokerKey: "min.insync.replicas",
    value: (c) => String(c.minInsyncReplicas),
    check: long(1),
  },
  {
    name: "flush.messages",
    brokerKey: "log.flush.interval.messages",
    value: (c) => (c.flushMessages > 0 ? String(c.flushMessages) : LONG_MAX),
    check: long(1),
  },
  {
    name: "flush.ms",
    brokerKey: "log.flush.interval.ms",
    value: (c) => (c.flushMs > 0 ? String(c.flushMs) : LONG_MAX),
    check: long(0),
  },
  // Broker-side schema validation against the Schema Registry (schema_registry/validation.ts).
  { name: "key.schema.validation", brokerKey: null, value: () => "false", check: bool },
  { name: "value.schema.validation", brokerKey: null, value: () => "false", check: bool },
  { name: "schema.validation.payload", brokerKey: null, value: () => "false", check: bool },
];

const BY_NAME = new Map(TOPIC_CONFIGS.map((d) => [d.name, d]));

export function topicConfigDef(name: string): TopicConfigDef | undefined {
  return BY_NAME.get(name);
}

export class TopicConfigError extends Error {
  override name = "TopicConfigError";
}

/** Check a set of overrides; throws TopicConfigError naming the first bad one. */
export function checkOverrides(entries: Iterable<[string, string | null]>): Map<string, string> {
  const out = new Map<string, string>();
  for (const [name, value] of entries) {
    const def = BY_NAME.get(name);
    if (def === undefined) throw new TopicConfigError(`Unknown topic config name: ${name}`);
    if (value === null) throw new TopicConfigError(`${name}: a value is required`);
    const r = def.check(value.trim());
    if (!r.ok) throw new TopicConfigError(`Invalid value for ${name}: ${r.error}`);
    out.set(name, r.value);
  }
  return out;
}

/** The value in force for a topic: its override, else the broker's. */
export function effectiveValue(
  c: BrokerConfig,
  overrides: ReadonlyMap<string, string>,
  name: string,
): string {
  return overrides.get(name) ?? BY_NAME.get(name)!.value(c);
}

function num(v: string): number {
  return v === LONG_MAX ? Number.MAX_SAFE_INTEGER : Number(v);
}

/** The log config of a topic's partitions: broker defaults under the topic's overrides. */
export function partitionLogConfig(
  c: BrokerConfig,
  overrides: ReadonlyMap<string, string>,
): PartitionLogConfig {
  const get = (name: string) => num(effectiveValue(c, overrides, name));
  const flushMessages = get("flush.messages");
  const flushMs = get("flush.ms");
  const policy = effectiveValue(c, overrides, "cleanup.policy");
  return {
    compact: policy.includes("compact"),
    deleteByRetention: policy.includes("delete"),
    minCleanableDirtyRatio: Number(effectiveValue(c, overrides, "min.cleanable.dirty.ratio")),
    minCompactionLagMs: get("min.compaction.lag.ms"),
    maxCompactionLagMs: get("max.compaction.lag.ms"),
    deleteRetentionMs: get("delete.retention.ms"),
    segmentBytes: get("segment.bytes"),
    segmentMs: get("segment.ms"),
    indexIntervalBytes: get("index.interval.bytes"),
    flushMessages: flushMessages >= Number.MAX_SAFE_INTEGER ? 0 : flushMessages,
    flushMs: flushMs >= Number.MAX_SAFE_INTEGER ? 0 : flushMs,
    maxMessageBytes: get("max.message.bytes"),
    retentionMs: get("retention.ms"),
    retentionBytes: get("retention.bytes"),
    retentionCheckIntervalMs: c.retentionCheckIntervalMs,
    producerIdExpirationMs: c.producerIdExpirationMs,
  };
}
