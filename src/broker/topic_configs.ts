// Topic-level configs in Kafka's names and the broker setting each one defaults to, as
// DescribeConfigs shows them. Per-topic overrides (CreateTopics configs,
// IncrementalAlterConfigs) are not stored yet: every topic runs with the broker's values.

import type { BrokerConfig } from "./config.ts";

export interface TopicConfigDef {
  name: string;
  brokerKey: string | null;
  value(c: BrokerConfig): string;
}

export const TOPIC_CONFIGS: readonly TopicConfigDef[] = [
  { name: "cleanup.policy", brokerKey: null, value: () => "delete" },
  { name: "compression.type", brokerKey: null, value: () => "producer" },
  { name: "message.timestamp.type", brokerKey: null, value: () => "CreateTime" },
  { name: "retention.ms", brokerKey: "log.retention.ms", value: (c) => String(c.retentionMs) },
  { name: "retention.bytes", brokerKey: "log.retention.bytes", value: (c) => String(c.retentionBytes) },
  { name: "segment.bytes", brokerKey: "log.segment.bytes", value: (c) => String(c.segmentBytes) },
  { name: "segment.ms", brokerKey: "log.roll.ms", value: (c) => String(c.segmentMs) },
  { name: "segment.index.bytes", brokerKey: null, value: () => "10485760" },
  {
    name: "index.interval.bytes",
    brokerKey: "log.index.interval.bytes",
    value: (c) => String(c.indexIntervalBytes),
  },
  { name: "max.message.bytes", brokerKey: "message.max.bytes", value: (c) => String(c.messageMaxBytes) },
  {
    name: "flush.messages",
    brokerKey: "log.flush.interval.messages",
    value: (c) => (c.flushMessages > 0 ? String(c.flushMessages) : "9223372036854775807"),
  },
  {
    name: "flush.ms",
    brokerKey: "log.flush.interval.ms",
    value: (c) => (c.flushMs > 0 ? String(c.flushMs) : "9223372036854775807"),
  },
];
