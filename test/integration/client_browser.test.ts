// The browser path: src/client/browser.ts and everything it imports must run without Node. esbuild
// bundles it for platform=browser (which fails on any Node built-in import), the bundle must not
// mention Buffer, process or require, and it then runs in a fresh V8 context that has only web
// globals (WebSocket, TextEncoder/Decoder, CompressionStream, timers): no Buffer, no process, no
// require. There it talks to a real broker over WebSocket (the `ws` package stands in for the
// browser's WebSocket, with its real masking): records produced with its plain-TypeScript
// CRC-32C, LZ4 and CompressionStream gzip are read back by the Node client (lz4-napi, zlib) and
// the other way round. Also: the TypeScript CRC-32C and LZ4 agree with @node-rs/crc32 and lz4-napi.

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import * as vm from "node:vm";
import { crc32c as nativeCrc32c } from "@node-rs/crc32";
import * as esbuild from "esbuild";
import { compressFrameSync, decompressFrameSync } from "lz4-napi";
import WebSocket from "ws";
import type * as BrowserApi from "../../src/client/browser.ts";
import { crc32c, lz4CompressFrame, lz4DecompressFrame, Milena } from "../../src/index.ts";
import { BrokerProcess } from "../helpers/broker_process.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

async function bundleBrowserEntry(): Promise<{ code: string; inputs: string[] }> {
  const r = await esbuild.build({
    metafile: true,
    entryPoints: [join(ROOT, "src/client/browser.ts")],
    bundle: true,
    platform: "browser",
    format: "iife",
    globalName: "MilenaBrowser",
    target: "es2022",
    write: false,
    logLevel: "silent",
  });
  return { code: r.outputFiles[0].text, inputs: Object.keys(r.metafile.inputs) };
}

/** The bundle evaluated in a context with web globals only. */
function loadInWebContext(code: string): typeof BrowserApi {
  const sandbox: Record<string, unknown> = {
    WebSocket,
    TextEncoder,
    TextDecoder,
    CompressionStream,
    DecompressionStream,
    setTimeout,
    clearTimeout,
    setInterval,
    clearInterval,
    queueMicrotask,
    console,
  };
  const ctx = vm.createContext(sandbox);
  vm.runInContext(code, ctx, { filename: "milena-browser.js" });
  for (const nodeOnly of ["Buffer", "process", "require", "module", "global"])
    assert.equal(
      vm.runInContext(`typeof ${nodeOnly}`, ctx),
      "undefined",
      `${nodeOnly} is not in the web context`,
    );
  return (ctx as unknown as { MilenaBrowser: typeof BrowserApi }).MilenaBrowser;
}

const text = (b: Uint8Array | null) => (b === null ? null : new TextDecoder().decode(b));

describe("the browser entry", () => {
  let code: string;
  let inputs: string[];
  let broker: BrokerProcess;

  before(async () => {
    ({ code, inputs } = await bundleBrowserEntry());
    broker = await BrokerProcess.start();
  });

  after(async () => {
    await broker?.destroy();
  });

  it("bundles for the browser with nothing Node-only in it", () => {
    assert.ok(code.length > 10_000);
    assert.doesNotMatch(code, /\bBuffer\b/);
    assert.doesNotMatch(code, /\brequire\(/);
    assert.doesNotMatch(code, /\bprocess\./);
    assert.doesNotMatch(code, /["']node:/);
    // Its module graph: Milena's own sources only (no ws, lz4-napi, @node-rs/crc32, tsx ...).
    assert.ok(inputs.includes("src/client/browser.ts"));
    assert.deepEqual(
      inputs.filter((f) => !/^src\/(client|protocol|protocol\/generated)\/[a-z0-9_]+\.ts$/.test(f)),
      [],
    );
    assert.ok(!inputs.includes("src/client/node.ts") && !inputs.includes("src/client/tcp.ts"));
  });

  it("plain-TypeScript CRC-32C and LZ4 agree with the native ones", () => {
    for (let i = 0; i < 200; i++) {
      const n = i < 64 ? i : Math.floor(Math.random() * 200_000);
      const data =
        i % 2 === 0 ? randomBytes(n) : Buffer.from("record-batch-".repeat(Math.ceil(n / 13) + 1).slice(0, n));
      assert.equal(crc32c(data), nativeCrc32c(data), `crc32c of ${n} bytes`);
      const half = n >> 1;
      assert.equal(crc32c(data.subarray(half), crc32c(data.subarray(0, half))), nativeCrc32c(data));
      assert.ok(
        decompressFrameSync(Buffer.from(lz4CompressFrame(data))).equals(data),
        `lz4-napi reads ours (${n} B)`,
      );
      assert.ok(
        Buffer.from(lz4DecompressFrame(compressFrameSync(data))).equals(data),
        `we read lz4-napi's (${n} B)`,
      );
    }
  });

  it("refuses TCP in the browser with a clear error", async () => {
    const api = loadInWebContext(code);
    const m = new api.Milena({ bootstrap: broker.bootstrap, retry: { retries: 0 } });
    const admin = m.admin();
    await assert.rejects(admin.connect(), (e: Error) => {
      assert.equal(e.name, "ConnectionError");
      assert.match(e.message, /TCP is not available/);
      return true;
    });
  });

  it("round-trips with the Node client over WebSocket, every compression", async () => {
    const api = loadInWebContext(code);
    const browser = new api.Milena({ bootstrap: broker.wsUrl, clientId: "browser" });
    const node = new Milena({ bootstrap: broker.bootstrap });
    const admin = browser.admin();
    await admin.connect();
    assert.equal(
      await admin.createTopics({
        topics: [
          { topic: "from-browser", numPartitions: 2 },
          { topic: "to-browser", numPartitions: 2 },
        ],
      }),
      true,
    );

    const N = 200;
    const messages = (who: string, compression: string) =>
      Array.from({ length: N }, (_, i) => ({
        key: i % 4 === 0 ? null : `${who}-${i % 10}`,
        value: `${who}/${compression}/${i}/${"é".repeat(i % 50)}${"z".repeat(i * 7)}`,
        headers: { i: String(i), c: compression },
        timestamp: 1_700_000_000_000 + i,
      }));
    const compressions = ["none", "gzip", "lz4"] as const;

    // Browser writes, Node reads (the broker checked the browser's CRC-32C on the way in).
    const bp = browser.producer({ acks: -1 });
    await bp.connect();
    for (const c of compressions) {
      const res = await bp.send({ topic: "from-browser", compression: c, messages: messages("b", c) });
      assert.ok(res.every((r) => r.errorCode === 0 && r.baseOffset >= 0));
    }
    await bp.disconnect();
    const nc = node.consumer({ autoOffsetReset: "earliest", maxWaitTimeInMs: 50 });
    await nc.connect();
    await nc.assign([{ topic: "from-browser" }]);
    const seen = new Set<string>();
    const it = nc.records();
    while (seen.size < N * 3) {
      const r = await it.next();
      assert.equal(r.done, false);
      const v = r.value!.value!.toString();
      const [, c, i] = v.split("/");
      assert.equal(r.value!.headers.c?.toString(), c);
      assert.equal(r.value!.timestamp, 1_700_000_000_000 + Number(i));
      seen.add(v);
    }
    await nc.disconnect();

    // Node writes, the browser reads (TypeScript LZ4, DecompressionStream gzip).
    const np = node.producer({ acks: 1 });
    await np.connect();
    for (const c of compressions)
      await np.send({ topic: "to-browser", compression: c, messages: messages("n", c) });
    await np.disconnect();
    const bc = browser.consumer({ autoOffsetReset: "earliest", maxWaitTimeInMs: 50 });
    await bc.connect();
    await bc.assign([{ topic: "to-browser" }]);
    const got = new Map<string, { key: string | null; ts: number; h: string | null }>();
    const bit = bc.records();
    while (got.size < N * 3) {
      const r = await bit.next();
      assert.equal(r.done, false);
      const rec = r.value!;
      got.set(text(rec.value)!, {
        key: text(rec.key),
        ts: rec.timestamp,
        h: text(rec.headers.i as Uint8Array),
      });
    }
    await bc.disconnect();
    for (const c of compressions)
      for (const m of messages("n", c)) {
        const g = got.get(m.value);
        assert.ok(g, `${m.value.slice(0, 20)} read by the browser`);
        assert.equal(g.key, m.key);
        assert.equal(g.ts, m.timestamp);
        assert.equal(g.h, m.headers.i);
      }
    await admin.disconnect();
  });
});
