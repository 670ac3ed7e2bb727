// Producer ids for idempotent producers (InitProducerId), unique across restarts: handed out
// from blocks of BLOCK_SIZE, each reserved before its first id is given. The reservation is the
// file producer-id-block in the first log dir (the next block's first id, decimal), written to a
// temporary file, fsynced and renamed, off the acceptor thread (Kafka keeps the same record in
// ZooKeeper's /latest_producer_id_block). A crash loses the rest of a block, never reuses an id.

import { open, readFile, rename } from "node:fs/promises";
import { join } from "node:path";

export const PRODUCER_ID_FILE = "producer-id-block";
export const BLOCK_SIZE = 1000;

export class ProducerIdAllocator {
  private next = 0;
  private end = 0;
  /** Reservations run one at a time. */
  private reserving: Promise<void> | null = null;

  constructor(private readonly dir: string) {}

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
    const path = join(this.dir, PRODUCER_ID_FILE);
    let start = 0;
    try {
      const text = (await readFile(path, "utf8")).trim();
      start = Number(text);
      if (!Number.isSafeInteger(start) || start < 0)
        throw new Error(`${path} holds "${text}", not a producer id`);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
    }
    start = Math.max(start, this.end);
    const tmp = `${path}.tmp`;
    const f = await open(tmp, "w");
    try {
      await f.writeFile(`${start + BLOCK_SIZE}\n`);
      await f.sync();
    } finally {
      await f.close();
    }
    await rename(tmp, path);
    this.next = start;
    this.end = start + BLOCK_SIZE;
  }
}
