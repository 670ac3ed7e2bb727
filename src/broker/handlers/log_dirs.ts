// DescribeLogDirs: each log dir of this broker, the partitions it holds and their bytes on disk
// (the sum of their .log segment files, Kafka's Log.size), the dir's total and usable bytes
// (v4, statfs). A partition a request names that this broker does not hold is left out, as
// Kafka does. File work is asynchronous: the acceptor keeps answering meanwhile.

import { promises as fsp } from "node:fs";
import { join } from "node:path";
import type { DescribeLogDirsRequest, DescribeLogDirsResponse } from "../../protocol/describe_log_dirs.ts";
import { ErrorCode } from "../../protocol/error_codes.ts";
import type { BrokerContext } from "../context.ts";
import type { PartitionEntry } from "../log_manager.ts";

/** Bytes of a partition's segment files (.log), or -1 when its directory cannot be listed. */
async function partitionBytes(dir: string): Promise<number> {
  try {
    let total = 0;
    for (const name of await fsp.readdir(dir)) {
      if (!name.endsWith(".log")) continue;
      total += (await fsp.stat(join(dir, name)).catch(() => ({ size: 0 }))).size;
    }
    return total;
  } catch {
    return -1;
  }
}

async function space(logDir: string): Promise<{ totalBytes: number; usableBytes: number }> {
  try {
    const s = await fsp.statfs(logDir);
    return { totalBytes: s.blocks * s.bsize, usableBytes: s.bavail * s.bsize };
  } catch {
    return { totalBytes: -1, usableBytes: -1 };
  }
}

export async function handleDescribeLogDirs(
  ctx: BrokerContext,
  req: DescribeLogDirsRequest,
): Promise<DescribeLogDirsResponse> {
  const wanted: PartitionEntry[] = [];
  if (req.topics === null) {
    for (const t of ctx.logs.topics.values())
      for (const p of t.partitions) if (p !== undefined) wanted.push(p);
  } else {
    for (const t of req.topics)
      for (const i of t.partitions) {
        const p = ctx.logs.partitionOf(t.topic, i);
        if (p !== undefined) wanted.push(p);
      }
  }
  const sizes = await Promise.all(wanted.map((p) => partitionBytes(p.dir)));
  const results = await Promise.all(
    ctx.config.logDirs.map(async (logDir) => {
      const byTopic = new Map<string, DescribeLogDirsResponse["results"][number]["topics"][number]>();
      let offline = false;
      wanted.forEach((p, i) => {
        if (p.logDir !== logDir) return;
        if (ctx.logs.isOffline(p)) offline = true;
        let t = byTopic.get(p.topic);
        if (t === undefined) byTopic.set(p.topic, (t = { name: p.topic, partitions: [] }));
        t.partitions.push({
          partitionIndex: p.partition,
          partitionSize: Math.max(0, sizes[i]),
          offsetLag: 0,
          isFutureKey: false,
        });
      });
      return {
        errorCode: offline ? ErrorCode.KAFKA_STORAGE_ERROR : ErrorCode.NONE,
        logDir,
        topics: [...byTopic.values()],
        ...(await space(logDir)),
      };
    }),
  );
  return { throttleTimeMs: 0, errorCode: 0, results };
}
