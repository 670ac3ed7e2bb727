// A small deterministic PRNG (mulberry32) for the protocol fuzzer (test/fuzz/harness.ts): the same
// seed gives the same bytes, so a run that found something can be replayed with FUZZ_SEED=<seed>.
// Each fuzz connection draws from its own generator, derived from the run seed and the
// connection's index, so what one connection sends does not depend on the others' timing.

/** mulberry32: 32-bit state, good enough for fuzzing, fast, and trivially reproducible. */
export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** A 32-bit unsigned integer. */
  u32(): number {
    return Math.floor(this.next() * 4294967296) >>> 0;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return n <= 0 ? 0 : Math.floor(this.next() * n);
  }

  /** An integer in [lo, hi], both included. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }

  /** One of the items, each with its weight (weights need not sum to 1). */
  weighted<T>(items: readonly (readonly [T, number])[]): T {
    let total = 0;
    for (const [, w] of items) total += w;
    let x = this.next() * total;
    for (const [item, w] of items) {
      x -= w;
      if (x < 0) return item;
    }
    return items[items.length - 1][0];
  }

  bytes(n: number): Buffer {
    const b = Buffer.allocUnsafe(n);
    let i = 0;
    for (; i + 4 <= n; i += 4) b.writeUInt32LE(this.u32(), i);
    for (; i < n; i++) b[i] = this.int(256);
    return b;
  }

  /** A size skewed towards small values: mostly under 64, sometimes up to max. */
  size(max: number): number {
    const r = this.next();
    if (r < 0.5) return this.int(Math.min(64, max) + 1);
    if (r < 0.85) return this.int(Math.min(4096, max) + 1);
    return this.int(max + 1);
  }
}

/** The seed of sub-generator `index` of run `seed` (a splitmix32-style hash of both). */
export function deriveSeed(seed: number, index: number): number {
  let z = (seed ^ Math.imul(index + 1, 0x9e3779b9)) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}

/** A fresh random seed (for runs without FUZZ_SEED): 31 bits, so it prints and parses simply. */
export function randomSeed(): number {
  return Math.floor(Math.random() * 0x7fffffff);
}
