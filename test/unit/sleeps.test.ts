// Sleeps (src/client/sleeps.ts): the group consumer's and the mirror's interruptible timers.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Sleeps } from "../../src/client/sleeps.ts";

describe("Sleeps", () => {
  it("wakeAll() ends every pending sleep at once; later sleeps wait again", async () => {
    const s = new Sleeps();
    let woke = 0;
    const a = s.sleep(60_000).then(() => woke++);
    const b = s.sleep(60_000).then(() => woke++);
    s.wakeAll();
    await Promise.all([a, b]);
    assert.equal(woke, 2);
    let later = false;
    const c = s.sleep(30).then(() => {
      later = true;
    });
    await new Promise((r) => setImmediate(r));
    assert.equal(later, false);
    await c;
    assert.equal(later, true);
  });
});
