// Kafka's default partitioner for keyed records: murmur2 of the key's bytes, made positive, modulo
// the partition count (Utils.murmur2 / Utils.toPositive in the Java client; kafkajs 2.x's
// DefaultPartitioner does the same), so a key lands on the same partition whichever of these
// clients wrote it. Records without a key use sticky partitioning (KIP-480): one partition,
// chosen at random, until its batch is closed, then another (the producer does that part).

/** Kafka's murmur2 (seed 0x9747b28c) of bytes [start, end), as a signed 32-bit number. */
export function murmur2(data: Uint8Array, start = 0, end = data.length): number {
  const length = end - start;
  const m = 0x5bd1e995;
  let h = 0x9747b28c ^ length;
  const full = start + (length & ~3);
  let i = start;
  for (; i < full; i += 4) {
    let k = data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24);
    k = Math.imul(k, m);
    k ^= k >>> 24;
    k = Math.imul(k, m);
    h = Math.imul(h, m) ^ k;
  }
  const rest = length & 3;
  if (rest === 3) h ^= data[i + 2] << 16;
  if (rest >= 2) h ^= data[i + 1] << 8;
  if (rest >= 1) {
    h ^= data[i];
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

/** Kafka's Utils.toPositive: clear the sign bit (not Math.abs). */
export function toPositive(n: number): number {
  return n & 0x7fffffff;
}

/** The partition Kafka's default partitioner gives a key (its UTF-8 bytes for a string). */
export function partitionForKey(key: Uint8Array, numPartitions: number): number {
  return toPositive(murmur2(key)) % numPartitions;
}

/** What a custom partitioner is given (kafkajs's shape). */
export interface PartitionerArgs {
  topic: string;
  partitionMetadata: { partitionId: number; leader: number }[];
  message: { key?: Uint8Array | string | null; value: Uint8Array | string | null; partition?: number };
}

/** A partitioner factory, as kafkajs's `createPartitioner` option takes. */
export type PartitionerFactory = () => (args: PartitionerArgs) => number;

const encoder = new TextEncoder();

/**
 * kafkajs-compatible partitioners. DefaultPartitioner: murmur2 for keys, round robin for null
 * keys (kafkajs's behaviour). The producer's built-in default is the same for keys and sticky for
 * null keys; pass one of these as `createPartitioner` to get kafkajs's null-key behaviour exactly.
 */
export const Partitioners: { DefaultPartitioner: PartitionerFactory } = {
  DefaultPartitioner: () => {
    let counter = Math.floor(Math.random() * 0x7fffffff);
    return ({ partitionMetadata, message }) => {
      const n = partitionMetadata.length;
      const key = message.key;
      if (key !== null && key !== undefined) {
        const bytes = typeof key === "string" ? encoder.encode(key) : key;
        return partitionForKey(bytes, n);
      }
      counter = (counter + 1) & 0x7fffffff;
      return partitionMetadata[counter % n].partitionId;
    };
  },
};
