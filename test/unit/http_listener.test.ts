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
});
