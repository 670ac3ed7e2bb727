// Produce batches in flight between the acceptor and the writers: a tag per batch (its index
// in a slab, reused through a free list), resolved by the writer's completion. No per-batch
// Map or Promise: one callback slot per tag.

export type BatchDone = (errorCode: number, baseOffset: number) => void;

export class ProduceTracker {
  private callbacks: (BatchDone | null)[] = [];
  private free: number[] = [];

  register(done: BatchDone): number {
    const tag = this.free.pop();
    if (tag !== undefined) {
      this.callbacks[tag] = done;
      return tag;
    }
    this.callbacks.push(done);
    return this.callbacks.length - 1;
  }

  complete(tag: number, errorCode: number, baseOffset: number): void {
    const cb = this.callbacks[tag];
    if (!cb) return;
    this.callbacks[tag] = null;
    this.free.push(tag);
    cb(errorCode, baseOffset);
  }

  /** Answer every batch still in flight (the writers are gone: shutdown or a fatal error). */
  failAll(errorCode: number): void {
    for (let tag = 0; tag < this.callbacks.length; tag++)
      if (this.callbacks[tag]) this.complete(tag, errorCode, -1);
  }

  get inFlight(): number {
    return this.callbacks.length - this.free.length;
  }
}
