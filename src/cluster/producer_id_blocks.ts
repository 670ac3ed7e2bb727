// Producer id blocks from ZooKeeper, as Kafka's ZkProducerIdManager: /latest_producer_id_block
// holds the last block handed out; the next one starts after its block_end and is claimed with a
// write at the znode's version, so of two brokers racing for a block one wins and the other
// reads again and takes the one after.

import { BLOCK_SIZE, type BlockSource } from "../broker/producer_ids.ts";
import { decodeProducerIdBlock, encodeProducerIdBlock, Z } from "./znodes.ts";
import { ZK_BAD_VERSION, ZkError, type ZkSession } from "./zookeeper.ts";

export function zkBlocks(brokerId: number, zk: () => ZkSession | null): BlockSource {
  return async (atLeast) => {
    for (;;) {
      const s = zk();
      if (s === null) throw new Error("not connected to ZooKeeper: no producer id block");
      await s.mkdirp(Z.producerIdBlock);
      const cur = await s.get(Z.producerIdBlock);
      const prev = cur === null ? null : decodeProducerIdBlock(cur.data);
      const start = Math.max(prev === null ? 0 : prev.end + 1, atLeast);
      const block = { broker: brokerId, start, end: start + BLOCK_SIZE - 1 };
      try {
        await s.set(Z.producerIdBlock, encodeProducerIdBlock(block), cur?.stat.version ?? -1);
        return start;
      } catch (e) {
        if (e instanceof ZkError && e.code === ZK_BAD_VERSION) continue;
        throw e;
      }
    }
  };
}
