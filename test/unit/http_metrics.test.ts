// GET /metrics (src/broker/http/metrics.ts) behind the broker's HTTP listener, with registries of
// slow or failing collectors: concurrent and pipelined scrapes share one collection at a time and
// the excess gets 503, collections are paced to at most about half the event loop, the loop is
// yielded to between metric families, a collector that throws gives 500 (no crash, no unhandled
// rejection), a collection slower than waitMs gives 503.

import assert from "node:assert/strict";
import * as net from "node:net";
import { after, describe, it } from "node:test";
import { Registry } from "prom-client";
import { metricsHandler, type ScrapeLimits } from "../../src/broker/http/metrics.ts";
import { type HttpListener, startHttpListener } from "../../src/broker/http/server.ts";
import { collector } from "../../src/broker/metrics/collector.ts";
import type { Sample } from "../../src/broker/metrics/histogram.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Keep the thread busy for `ms` (a collection is synchronous work on the event loop). */
function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

const listeners: HttpListener[] = [];
after(async () => {
  for (const l of listeners) await l.close();
});

async function serve(registry: Registry, limits: Partial<ScrapeLimits> = {}): Promise<number> {
  const l = await startHttpListener("127.0.0.1", 0, [metricsHandler(registry, limits)], () => {});
  listeners.push(l);
  return l.port;
}

/** A registry of one gauge whose collection calls `samples`. */
function registryOf(samples: () => Sample[] | Promise<Sample[]>, name = "test_gauge"): Registry {
  const r = new Registry();
  r.registerMetric(collector(name, "gauge", "a test gauge", samples));
  return r;
}

/** Write `data` once, read until `ms` or close: the statuses of the replies in order. */
function rawStatuses(port: number, data: string, ms: number): Promise<number[]> {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    let reply = "";
    const done = () => {
      s.destroy();
      resolve([...reply.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1])));
    };
    const timer = setTimeout(done, ms);
    s.on("data", (d) => {
      reply += d.toString("latin1");
    });
    s.on("error", () => {});
    s.on("close", () => {
      clearTimeout(timer);
      done();
    });
    s.write(data);
  });
}

describe("GET /metrics under load", () => {
  it("concurrent scrapes share one collection at a time; past maxScrapes they get 503", async () => {
    let calls = 0;
    const port = await serve(
      registryOf(async () => {
        calls++;
        // Long enough that all 40 requests arrive during the first collection, even on a loaded
        // machine (at 100 ms, arrivals spread over three collections there: 17 served).
        await sleep(400);
        busy(20);
        return [{ labels: {}, value: calls }];
      }),
      { maxScrapes: 8 },
    );
    const replies = await Promise.all(
      Array.from({ length: 40 }, async () => {
        const r = await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { connection: "close" } });
        return { status: r.status, retry: r.headers.get("retry-after"), body: await r.text() };
      }),
    );
    const ok = replies.filter((r) => r.status === 200);
    const refused = replies.filter((r) => r.status === 503);
    assert.equal(ok.length + refused.length, 40);
    // At most 8 wait at a time (a straggler may come once the first 8 are served).
    assert.ok(ok.length >= 1 && ok.length <= 16, `${ok.length} served`);
    assert.ok(refused.length >= 24, `${refused.length} refused`);
    assert.ok(refused.every((r) => r.retry === "1"));
    // One collection for the first request, one shared by those that came while it ran.
    assert.ok(calls <= 3, `${calls} collections for 40 concurrent scrapes`);
    for (const r of ok) assert.match(r.body, /^test_gauge [123]$/m);

    // Pipelined on one connection, all in one write: the same bound.
    calls = 0;
    const statuses = await rawStatuses(port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n".repeat(100), 6000);
    assert.equal(statuses.length, 100);
    assert.ok(statuses.filter((s) => s === 200).length <= 16, statuses.join(" "));
    assert.ok(calls <= 3, `${calls} collections for 100 pipelined scrapes`);
  });

  it("back-to-back scrapes take at most about half the event loop", async () => {
    let calls = 0;
    const port = await serve(
      registryOf(() => {
        calls++;
        busy(40);
        return [{ labels: {}, value: 1 }];
      }),
    );
    const t0 = performance.now();
    let served = 0;
    while (performance.now() - t0 < 1000) {
      const r = await fetch(`http://127.0.0.1:${port}/metrics`);
      await r.text();
      if (r.status === 200) served++;
    }
    // Unpaced, one client looping got a collection every ~40 ms: 25 in a second.
    assert.ok(calls <= 15, `${calls} collections of 40 ms in a second`);
    assert.equal(served, calls);
  });

  it("between metric families the event loop turns (I/O and timers run)", async () => {
    const order: string[] = [];
    const r = new Registry();
    r.registerMetric(
      collector("first_gauge", "gauge", "one", () => {
        order.push("first");
        setTimeout(() => order.push("timer"), 0);
        busy(5);
        return [{ labels: {}, value: 1 }];
      }),
    );
    r.registerMetric(
      collector("second_gauge", "gauge", "two", () => {
        order.push("second");
        return [{ labels: {}, value: 2 }];
      }),
    );
    const port = await serve(r);
    const res = await fetch(`http://127.0.0.1:${port}/metrics`);
    const text = await res.text();
    assert.equal(res.status, 200);
    assert.match(text, /^first_gauge 1$/m);
    assert.match(text, /^second_gauge 2$/m);
    // prom-client's registry.metrics() calls every collector in one go.
    assert.deepEqual(order.slice(0, 3), ["first", "timer", "second"]);
  });

  it("a collector that throws gives 500, and the next scrape is served", async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on("unhandledRejection", onUnhandled);
    try {
      let fail = true;
      const port = await serve(
        registryOf(async () => {
          await sleep(5);
          if (fail) throw new Error("partition deleted mid-scrape");
          return [{ labels: {}, value: 7 }];
        }),
      );
      const [a, b] = await Promise.all([
        fetch(`http://127.0.0.1:${port}/metrics`),
        fetch(`http://127.0.0.1:${port}/metrics`),
      ]);
      assert.equal(a.status, 500);
      assert.equal(await a.text(), "internal error\n");
      assert.ok(b.status === 500 || b.status === 200);
      await b.text();
      fail = false;
      const c = await fetch(`http://127.0.0.1:${port}/metrics`);
      assert.equal(c.status, 200);
      assert.match(await c.text(), /^test_gauge 7$/m);
      await sleep(50);
      assert.deepEqual(unhandled, []);
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
  });

  it("a collection slower than waitMs gives 503, and its end is not waited for again", async () => {
    let slow = true;
    const port = await serve(
      registryOf(async () => {
        if (slow) await sleep(600);
        return [{ labels: {}, value: 1 }];
      }),
      { waitMs: 200 },
    );
    const t0 = Date.now();
    const r = await fetch(`http://127.0.0.1:${port}/metrics`);
    assert.equal(r.status, 503);
    assert.match(await r.text(), /no collection ended within 200 ms/);
    assert.ok(Date.now() - t0 < 500);
    slow = false;
    await sleep(1300);
    const ok = await fetch(`http://127.0.0.1:${port}/metrics`);
    assert.equal(ok.status, 200);
    await ok.text();
  });
});
