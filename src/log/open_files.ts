// A bound on open file descriptors: the least recently used holders are asked to close theirs.
// A broker with 10,000+ partitions cannot keep every segment open (Kafka keeps indexes mmap'd
// and closes them lazily; Redpanda keeps an fd cache); here each thread that opens segment
// files keeps one of these: the acceptor for reads (partition_reader.ts), each partition writer
// for appends (partition_writer.ts). A holder reopens on its next use.
//
// Holders are kept in a Map in use order (delete + set moves one to the end); touching is O(1).

export interface FileHolder {
  /** Close what it holds now (it will reopen when used again). */
  closeFiles(): void;
}

export class OpenFiles<T extends FileHolder> {
  private readonly order = new Map<T, true>();

  constructor(private capacity: number) {}

  setCapacity(n: number): void {
    this.capacity = Math.max(1, n);
    this.trim(null);
  }

  get size(): number {
    return this.order.size;
  }

  /** `holder` has its files open and just used them: the most recent; others may close. */
  touch(holder: T): void {
    if (this.order.has(holder)) this.order.delete(holder);
    this.order.set(holder, true);
    if (this.order.size > this.capacity) this.trim(holder);
  }

  /** `holder` closed its files (or is gone). */
  forget(holder: T): void {
    this.order.delete(holder);
  }

  private trim(keep: T | null): void {
    for (const h of this.order.keys()) {
      if (this.order.size <= this.capacity) return;
      if (h === keep) continue;
      this.order.delete(h);
      h.closeFiles();
    }
  }
}
