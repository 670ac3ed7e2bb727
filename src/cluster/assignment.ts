// Replica assignment of new partitions: Kafka's rack-unaware round-robin with shift
// (AdminUtils.assignReplicasToBrokersRackUnaware). The first replica of partition p goes to
// broker (start + p) mod n, the others follow at an offset that shifts by one every n
// partitions, so leaders and followers spread evenly and no two partitions share the same
// follower pattern. `start` and `shift` are random per topic (as Kafka), fixed in tests.

export class AssignmentError extends Error {
  override name = "AssignmentError";
}

export function assignReplicas(
  brokers: readonly number[],
  partitions: number,
  replicationFactor: number,
  opts: { start?: number; shift?: number; firstPartition?: number } = {},
): number[][] {
  const ids = [...brokers].sort((a, b) => a - b);
  const n = ids.length;
  if (replicationFactor <= 0) throw new AssignmentError("Replication factor must be larger than 0.");
  if (replicationFactor > n)
    throw new AssignmentError(
      `Replication factor: ${replicationFactor} larger than available brokers: ${n}.`,
    );
  const start = opts.start ?? Math.floor(Math.random() * n);
  let shift = opts.shift ?? Math.floor(Math.random() * n);
  let current = opts.firstPartition ?? 0;
  const out: number[][] = [];
  for (let i = 0; i < partitions; i++) {
    if (current > 0 && current % n === 0) shift++;
    const first = (current + start) % n;
    const replicas = [ids[first]];
    for (let j = 0; j < replicationFactor - 1; j++)
      replicas.push(ids[(first + 1 + ((shift + j) % (n - 1))) % n]);
    out.push(replicas);
    current++;
  }
  return out;
}
