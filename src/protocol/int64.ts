// Kafka's int64 fields as JavaScript numbers, big-endian: the one place that turns them into
// bytes and back (offsets, timestamps, producer ids), for the protocol, the log and its indexes.
// Plain byte arithmetic: the same code runs in browsers.

export function readInt64(b: Uint8Array, at: number): number {
  const hi = (b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3];
  const lo = ((b[at + 4] << 24) | (b[at + 5] << 16) | (b[at + 6] << 8) | b[at + 7]) >>> 0;
  return hi * 4294967296 + lo;
}

function put32(b: Uint8Array, at: number, v: number): void {
  b[at] = v >>> 24;
  b[at + 1] = v >>> 16;
  b[at + 2] = v >>> 8;
  b[at + 3] = v;
}

const INT64_EDGE = 2 ** 63;

/**
 * An int64 from a JavaScript number. A number is exact to 2^53 only: int64's largest value
 * (2^63 - 1), read from a client's batch or request, arrives here as 2^63, one past the range;
 * values at or past either end are written as that end instead of throwing.
 */
export function writeInt64(b: Uint8Array, at: number, v: number): void {
  if (v >= INT64_EDGE) {
    put32(b, at, 0x7fffffff);
    put32(b, at + 4, 0xffffffff);
    return;
  }
  if (v <= -INT64_EDGE) {
    put32(b, at, 0x80000000);
    put32(b, at + 4, 0);
    return;
  }
  const hi = Math.floor(v / 4294967296);
  put32(b, at, hi);
  put32(b, at + 4, v - hi * 4294967296);
}
