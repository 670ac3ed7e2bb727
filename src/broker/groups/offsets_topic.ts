// __consumer_offsets as the coordinator's log: created on first use with
// offsets.topic.num.partitions partitions, written through the writers like any produce
// (acks=-1: a commit is answered only once it is fsynced), and replayed at startup.
// Compaction is not built yet, so the topic keeps every record (retention.ms=-1): replay applies
// them in order and the last one per key wins, as compaction would leave it.

import { ErrorCode } from "../../protocol/error_codes.ts";
import { encodeBatch } from "../../protocol/records.ts";
import type { BrokerContext } from "../context.ts";
import type { OffsetsLog } from "./coordinator.ts";
import type { OffsetsRecord } from "./offsets_records.ts";
import { OFFSETS_TOPIC } from "./offsets_replay.ts";

export class OffsetsTopic implements OffsetsLog {
  private creating: Promise<void> | null = null;

  constructor(private readonly ctx: BrokerContext) {}

  get exists(): boolean {
    return this.ctx.logs.topics.has(OFFSETS_TOPIC);
  }

  /** Create the topic if it is not there yet (one creation at a time). */
  ensure(): Promise<void> {
    if (this.exists) return Promise.resolve();
    if (this.creating === null) {
      const c = this.ctx.config;
      const overrides = new Map([
        ["segment.bytes", String(c.offsetsTopicSegmentBytes)],
        ["retention.ms", "-1"],
        ["retention.bytes", "-1"],
      ]);
      this.creating = this.ctx.logs
        .createTopic(OFFSETS_TOPIC, c.offsetsTopicPartitions, overrides)
        .then(() => this.ctx.log(`created ${OFFSETS_TOPIC} with ${c.offsetsTopicPartitions} partitions`))
        .finally(() => {
          this.creating = null;
        });
    }
    return this.creating;
  }

  partitionExists(topic: string, partition: number): boolean {
    return this.ctx.logs.partitionOf(topic, partition) !== undefined;
  }

  /** Resolves to a Kafka error code; never rejects. */
  async append(partition: number, records: { key: Buffer; value: Buffer | null }[]): Promise<number> {
    try {
      await this.ensure();
    } catch (e) {
      this.ctx.logger.limited("offsets topic", `cannot create ${OFFSETS_TOPIC}: ${(e as Error).message}`);
      return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    }
    const entry = this.ctx.logs.partitionOf(OFFSETS_TOPIC, partition);
    if (entry === undefined) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    const batch = encodeBatch(records.map((r) => ({ key: r.key, value: r.value })));
    // The offsets topic's own max.message.bytes (a 17 MB assignment is refused, not queued).
    if (batch.length > this.ctx.logs.topics.get(OFFSETS_TOPIC)!.logConfig.maxMessageBytes)
      return ErrorCode.MESSAGE_TOO_LARGE;
    return new Promise((resolve) => {
      const tag = this.ctx.tracker.register((errorCode) => resolve(errorCode));
      this.ctx.writers.append(entry.slot, tag, -1, batch);
    });
  }

  /** Every record of the topic, partition by partition, in log order (recovery pool). */
  replay(): Promise<OffsetsRecord[][]> {
    const t = this.ctx.logs.topics.get(OFFSETS_TOPIC);
    if (t === undefined) return Promise.resolve([]);
    return Promise.all(t.partitions.map((p) => this.ctx.logs.replayOffsets(p.dir)));
  }
}
