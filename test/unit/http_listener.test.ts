// The broker's HTTP listener (src/broker/http/server.ts) against hostile clients, in process with
// small limits so that each bound shows in well under a second: what it answers to a malformed or
// too slow request and that such a client cannot keep its socket afterwards.

import assert from "node:assert/strict";
import * as net from "node:net";
import { after, before, describe, it } from "node:test";
import { sendText } from "../../src/broker/http/handler.ts";
import { type HttpLimits, type HttpListener, startHttpListener } from "../../src/broker/http/server.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const LIMITS: Partial<HttpLimits> = {
  headersTimeoutMs: 300,
  requestTimeoutMs: 600,
  keepAliveMs: 300,
  timeoutCheckMs: 50,
};

/**
 * A client that writes `first`, then one byte every 20 ms and never reads (allowHalfOpen: the
 * server's FIN alone does not close it). Resolves with how long the server let it write: the
 * time until a write fails or the socket closes, or null when it could still write after `ms`.
 */
function trickler(port: number, first: string, ms: number): Promise<number | null> {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const s = net.connect({ port, host: "127.0.0.1", allowHalfOpen: true });
    s.pause();
    let done = false;
    const finish = (v: number | null) => {
      if (done) return;
      done = true;
      clearInterval(iv);
      s.destroy();
      resolve(v);
    };
    s.on("error", () => finish(Date.now() - t0));
    s.on("close", () => finish(Date.now() - t0));
    s.write(first);
    const iv = setInterval(() => {
      if (Date.now() - t0 > ms) finish(null);
      else s.write("a");
    }, 20);
  });
}

/** Write `data`, read until the server closes (or `ms`): the reply and whether it closed. */
function exchange(port: number, data: string, ms = 2000): Promise<{ reply: string; closed: boolean }> {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    let reply = "";
    const timer = setTimeout(() => {
      s.destroy();
      resolve({ reply, closed: false });
    }, ms);
    s.on("data", (d) => {
      reply += d.toString("latin1");
    });
    s.on("error", () => {});
    s.on("close", () => {
      clearTimeout(timer);
      resolve({ reply, closed: true });
    });
    s.write(data);
  });
}

describe("HTTP listener against hostile clients", () => {
  let listener: HttpListener;
  before(async () => {
    listener = await startHttpListener(
      "127.0.0.1",
      0,
      [
        (_req, res) => {
          sendText(res, 200, "ok\n");
          return true;
        },
      ],
      () => {},
      LIMITS,
    );
  });
  after(async () => {
    await listener?.close();
  });

  it("headers trickled byte by byte are cut at headersTimeoutMs", async () => {
    // Node checks headersTimeout only every connectionsCheckingInterval (30 s by default): a
    // client sending a byte now and then kept its socket ~30 s, not the 300 ms set here.
    const t0 = Date.now();
    const s = net.connect(listener.port, "127.0.0.1");
    let reply = "";
    s.on("data", (d) => {
      reply += d.toString();
    });
    s.on("error", () => {});
    const iv = setInterval(() => s.write("a"), 20);
    s.write("GET /metrics HTTP/1.1\r\nX: ");
    const closedAfter = await Promise.race([
      new Promise<number>((r) => s.on("close", () => r(Date.now() - t0))),
      sleep(3000).then(() => null),
    ]);
    clearInterval(iv);
    s.destroy();
    assert.notEqual(closedAfter, null, "still open after 3 s");
    assert.ok(closedAfter! < 1500, `closed after ${closedAfter} ms`);
    assert.match(reply, /^HTTP\/1\.1 4\d\d /);
  });

  it("a timed-out client that neither reads nor closes cannot keep its socket", async () => {
    // The 408 used to go with a FIN only (socket.end): the listener's sockets allow half-open
    // connections, so a client that never closed its side and kept trickling header bytes held
    // the socket, and one of maxConnections, for good (the timeout fires once per request).
    const held = await trickler(listener.port, "GET /metrics HTTP/1.1\r\nX: ", 2500);
    assert.notEqual(held, null, "the server still took bytes 2.5 s after its 300 ms header timeout");
    assert.ok(held! < 1500, `cut after ${held} ms`);
  });

  it("malformed requests get 400, headers past maxHeaderBytes 431, and the connection goes", async () => {
    for (const [request, status] of [
      ["GARBAGE\r\n\r\n", 400],
      ["GET / HTTP/9.9\r\n\r\n", 400],
      ["GET /he\0llo HTTP/1.1\r\n\r\n", 400],
      [`GET /${"a".repeat(10_000)} HTTP/1.1\r\n\r\n`, 431],
      [`GET / HTTP/1.1\r\nX: ${"a".repeat(10_000)}\r\n\r\n`, 431],
    ] as const) {
      const r = await exchange(listener.port, request);
      assert.match(r.reply, new RegExp(`^HTTP/1\\.1 ${status} `), request.slice(0, 40));
      assert.ok(r.closed, request.slice(0, 40));
    }
  });
});

describe("HTTP listener at maxConnections", () => {
  let listener: HttpListener;
  const hung: (() => void)[] = [];
  before(async () => {
    listener = await startHttpListener(
      "127.0.0.1",
      0,
      [
        (req, res) => {
          if (req.url === "/hang") {
            hung.push(() => sendText(res, 200, "late\n"));
            return new Promise<boolean>(() => {});
          }
          sendText(res, 200, "ok\n");
          return true;
        },
      ],
      () => {},
      {
        ...LIMITS,
        maxConnections: 4,
        headersTimeoutMs: 5000,
        requestTimeoutMs: 10_000,
        responseTimeoutMs: 700,
      },
    );
  });
  after(async () => {
    await listener?.close();
  });

  /** A connection that sent `first` and holds on, and whether the server has closed its side. */
  function holder(first: string) {
    const s = net.connect({ port: listener.port, host: "127.0.0.1", allowHalfOpen: true });
    const h = { s, closed: false };
    s.on("error", () => {});
    // allowHalfOpen: the server's FIN ends it, its side would stay open until destroyed.
    for (const event of ["end", "close"])
      s.on(event, () => {
        h.closed = true;
      });
    s.on("data", () => {});
    s.write(first);
    return h;
  }

  it("connections that hold on without a request cannot lock out a scrape: the oldest makes room", async () => {
    const held = Array.from({ length: 4 }, () => holder("GET /metrics HTTP/1.1\r\nX: "));
    await sleep(100);
    // Before: the listener refused every new connection until one of these timed out.
    for (let i = 0; i < 3; i++) {
      const r = await exchange(
        listener.port,
        "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
      );
      assert.match(r.reply, /^HTTP\/1\.1 200 /, `scrape ${i}`);
    }
    await sleep(50);
    // The first scrape took the oldest's place; the next ones found that place free.
    assert.deepEqual(
      held.map((h) => h.closed),
      [true, false, false, false],
    );
    for (const h of held) h.s.destroy();
  });

  it("when every connection has a request being answered, a new one is refused; answers are bounded in time", async () => {
    const busy = Array.from({ length: 4 }, () => holder("GET /hang HTTP/1.1\r\nHost: x\r\n\r\n"));
    await sleep(100);
    const r = await exchange(listener.port, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 300);
    assert.equal(r.reply, "");
    assert.ok(r.closed, "the fifth connection is refused");
    assert.ok(busy.every((h) => !h.closed));
    // An answer not written within responseTimeoutMs (700 ms) goes with its connection.
    await sleep(900);
    assert.ok(
      busy.every((h) => h.closed),
      "connections whose answer did not come within responseTimeoutMs are closed",
    );
    hung.length = 0;
    const after = await exchange(
      listener.port,
      "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert.match(after.reply, /^HTTP\/1\.1 200 /);
  });
});
