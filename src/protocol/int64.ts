// Kafka's int64 fields as JavaScript numbers, big-endian: the one place that turns them into
// bytes and back (offsets, timestamps, producer ids), for the protocol, the log and its indexes.

export function readInt64(buf: Uint8Array, at: number): number {
  const b = buf as Buffer;
  return b.readInt32BE(at) * 4294967296 + b.readUInt32BE(at + 4);
}

const INT64_EDGE = 2 ** 63;

/**
 * An int64 from a JavaScript number. A number is exact to 2^53 only: int64's largest value
 * (2^63 - 1), read from a client's batch or request, arrives here as 2^63, one past the range;
 * values at or past either end are written as that end instead of throwing.
 */
export function writeInt64(buf: Uint8Array, at: number, v: number): void {
  const b = buf as Buffer;
  if (v >= INT64_EDGE) {
    b.writeUInt32BE(0x7fffffff, at);
    b.writeUInt32BE(0xffffffff, at + 4);
    return;
  }
  if (v <= -INT64_EDGE) {
    b.writeUInt32BE(0x80000000, at);
    b.writeUInt32BE(0, at + 4);
    return;
  }
  const hi = Math.floor(v / 4294967296);
  b.writeInt32BE(hi, at);
  b.writeUInt32BE(v - hi * 4294967296, at + 4);
}
