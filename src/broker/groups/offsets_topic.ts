// __consumer_offsets as the group coordinator's log (internal_topic.ts): offsets.topic.num.partitions
// partitions, offsets.topic.replication.factor replicas in a cluster, offsets.topic.segment.bytes
// segments; replayed through the recovery pool (offsets_replay.ts).

import type { BrokerContext } from "../context.ts";
import { InternalTopic } from "../internal_topic.ts";
import type { OffsetsRecord } from "./offsets_records.ts";
import { OFFSETS_TOPIC } from "./offsets_replay.ts";

export type OffsetsTopic = InternalTopic<OffsetsRecord>;

export function offsetsTopic(ctx: BrokerContext): OffsetsTopic {
  const c = ctx.config;
  return new InternalTopic(ctx, {
    name: OFFSETS_TOPIC,
    partitions: c.offsetsTopicPartitions,
    replicationFactor: c.offsetsTopicReplicationFactor,
    segmentBytes: c.offsetsTopicSegmentBytes,
    timeoutMs: c.offsetsCommitTimeoutMs,
    replay: (dir) => ctx.logs.replayOffsets(dir),
  });
}
