// Timers that can all be cut short: a stop must not wait out a backoff or a poll interval.
// sleep(ms) resolves after ms, or at once when wakeAll() is called meanwhile (the timer is then
// cleared, so a woken sleep holds nothing).

export class Sleeps {
  private readonly wakers = new Set<() => void>();

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(t);
        this.wakers.delete(done);
        resolve();
      };
      const t = setTimeout(done, Math.max(0, ms));
      this.wakers.add(done);
    });
  }

  wakeAll(): void {
    for (const w of [...this.wakers]) w();
  }
}
