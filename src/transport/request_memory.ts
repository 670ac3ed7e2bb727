// Memory that clients make the broker hold, counted across every connection, with Kafka's
// bounds and Milena's:
//
// - requests: bytes of partial frames (a frame whose size prefix arrived but not all of its
//   bytes) plus whole frames waiting while their connection is paused. Bounded by
//   queued.max.request.bytes: the connection whose bytes pass it is closed.
// - responses: bytes of fetch data read from segment files into pooled buffers and not yet sent
//   (fetch.max.buffered.bytes). Past it, a fetch gets a small budget instead of waiting for
//   somebody else's slow client, so one slow consumer cannot stall the others.

export class RequestMemory {
  used = 0;

  /** limit < 0: no bound (Kafka's -1). */
  constructor(readonly limit: number) {}

  /** Count n more bytes; false (and nothing counted) when that passes the limit. */
  take(n: number): boolean {
    if (this.limit >= 0 && this.used + n > this.limit) return false;
    this.used += n;
    return true;
  }

  give(n: number): void {
    this.used -= n;
  }
}

export class ResponseMemory {
  used = 0;

  constructor(readonly limit: number) {}

  /** Room left under the limit (0 when at or past it). */
  get room(): number {
    return Math.max(0, this.limit - this.used);
  }
}
