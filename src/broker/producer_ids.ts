// Producer ids for idempotent producers (InitProducerId), unique across restarts and, in a
// cluster, across brokers: handed out from blocks of BLOCK_SIZE, each reserved before its first
// id is given. A crash loses the rest of a block, never reuses an id. Where blocks come from:
//   - a broker on its own: the file producer-id-block in the first log dir (the next block's
//     first id, decimal), written to a temporary file, fsynced and renamed (fileBlocks);
//   - a ZooKeeper cluster: Kafka's /latest_producer_id_block znode, {"version":1,"broker":<id>,
//     "block_start":"<first>","block_end":"<last>"}, advanced with a conditional write so two
//     brokers never get the same block (zkBlocks, src/cluster/producer_id_blocks.ts).

import { open, readFile, rename } from "node:fs/promises";
import { join } from "node:path";

export const PRODUCER_ID_FILE = "producer-id-block";
export const BLOCK_SIZE = 1000;

/** Reserve a new block of BLOCK_SIZE ids, none below `atLeast`; resolves to its first id. */
export type BlockSource = (atLeast: number) => Promise<number>;

/** Blocks reserved in the producer-id-block file of `dir`. */
export function fileBlocks(dir: string): BlockSource {
  return async (atLeast) => {
    const path = join(dir, PRODUCER_ID_FILE);
    let start = 0;
    try {
      const text = (await readFile(path, "utf8")).trim();
      start = Number(text);
      if (!Number.isSafeInteger(start) || start < 0)
        throw new Error(`${path} holds "${text}", not a producer id`);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
    }
    start = Math.max(start, atLeast);
    const tmp = `${path}.tmp`;
    const f = await open(tmp, "w");
    try {
      await f.writeFile(`${start + BLOCK_SIZE}\n`);
      await f.sync();
    } finally {
      await f.close();
    }
    await rename(tmp, path);
    return start;
  };
}

export class ProducerIdAllocator {
  private next = 0;
  private end = 0;
  /** Reservations run one at a time. */
  private reserving: Promise<void> | null = null;

  constructor(private readonly blocks: BlockSource) {}

  async allocate(): Promise<number> {
    while (this.next >= this.end) {
      this.reserving ??= this.reserve().finally(() => {
        this.reserving = null;
      });
      await this.reserving;
    }
    return this.next++;
  }

  private async reserve(): Promise<void> {
    const start = await this.blocks(this.end);
    this.next = start;
    this.end = start + BLOCK_SIZE;
  }
}
