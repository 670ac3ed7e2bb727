// The HTTP listener (metrics.listener) of a real broker process against hostile clients, with
// the broker's own limits: connections that hold on in their headers and never read cannot lock
// out scrapes nor grow the broker's sockets past the bound, and a burst of concurrent and
// pipelined /metrics scrapes is bounded (503 with Retry-After past the waiting ones), the broker
// answering Kafka requests meanwhile. (test/unit/http_listener.test.ts and http_metrics.test.ts
// cover each bound with small limits.)

import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as net from "node:net";
import { after, before, describe, it } from "node:test";
import { BrokerProcess } from "../helpers/broker_process.ts";
import { RawClient } from "./raw_client.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Write `data`, read until the server closes (or `ms`). */
function exchange(port: number, data: string, ms = 3000): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    let reply = "";
    const timer = setTimeout(() => {
      s.destroy();
      resolve(reply);
    }, ms);
    s.on("data", (d) => {
      reply += d.toString("latin1");
    });
    s.on("error", () => {});
    s.on("close", () => {
      clearTimeout(timer);
      resolve(reply);
    });
    s.write(data);
  });
}

/** Established TCP connections of process `pid` whose local port is `port` (Linux /proc). */
function httpSockets(pid: number, port: number): number {
  const inodes = new Set<string>();
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]);
    } catch {
      // closed meanwhile
    }
  }
  let n = 0;
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    if (!fs.existsSync(file)) continue;
    for (const line of fs.readFileSync(file, "utf8").split("\n").slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 10 || cols[3] !== "01" || !inodes.has(cols[9])) continue;
      if (Number.parseInt(cols[1].split(":")[1], 16) === port) n++;
    }
  }
  return n;
}

describe("HTTP listener against hostile clients (real broker)", () => {
  let broker: BrokerProcess;
  before(async () => {
    broker = await BrokerProcess.start();
  });
  after(async () => {
    await broker?.destroy();
  });

  it("100 connections holding on in their headers, never reading: scrapes still served, sockets bounded", async () => {
    const holders = Array.from({ length: 100 }, () => {
      const s = net.connect({ port: broker.metricsPort, host: "127.0.0.1", allowHalfOpen: true });
      s.pause();
      s.on("error", () => {});
      s.write("GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: ");
      return s;
    });
    const trickle = setInterval(() => {
      for (const s of holders) if (!s.destroyed && s.writable) s.write("a");
    }, 200);
    try {
      await sleep(500);
      for (let i = 0; i < 5; i++) {
        const r = await exchange(
          broker.metricsPort,
          "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        );
        assert.match(r, /^HTTP\/1\.1 200 /, `scrape ${i}`);
      }
      // The broker's sockets on the HTTP port: 64 at most.
      const open = httpSockets(broker.pid!, broker.metricsPort);
      assert.ok(open <= 64, `${open} HTTP connections open`);
      assert.ok(open >= 50, `${open}: the holders are not connected?`);
    } finally {
      clearInterval(trickle);
      for (const s of holders) s.destroy();
    }
  });

  it("a burst of concurrent and pipelined /metrics scrapes is bounded; Kafka requests are answered meanwhile", async () => {
    const kafka = await RawClient.tcp(broker.bootstrap);
    try {
      const pipelined = exchange(
        broker.metricsPort,
        `${"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n".repeat(99)}GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
        5000,
      );
      const replies = await Promise.all(
        Array.from({ length: 40 }, async () => {
          const r = await fetch(`http://127.0.0.1:${broker.metricsPort}/metrics`, {
            headers: { connection: "close" },
          });
          await r.arrayBuffer();
          return { status: r.status, retry: r.headers.get("retry-after") };
        }),
      );
      const t0 = performance.now();
      await kafka.apiVersions(3);
      assert.ok(performance.now() - t0 < 2000);
      const statuses = [...(await pipelined).matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
      const all = [...replies.map((r) => r.status), ...statuses];
      assert.ok(
        all.every((s) => s === 200 || s === 503),
        all.join(" "),
      );
      const ok = all.filter((s) => s === 200).length;
      assert.ok(ok >= 1, "some scrapes served");
      assert.ok(ok <= 48, `${ok} of ${all.length} served at once`);
      assert.ok(replies.filter((r) => r.status === 503).every((r) => r.retry === "1"));
      // Once the burst is over, scrapes are served again.
      await sleep(300);
      const after = await fetch(`http://127.0.0.1:${broker.metricsPort}/metrics`);
      assert.equal(after.status, 200);
      await after.text();
      assert.ok(broker.alive);
    } finally {
      kafka.close();
    }
  });
});
