// The Node entry: the same client with Node's faster pieces plugged in and TCP available.
//   - byte arrays are Buffers (Buffer.allocUnsafe), so consumed keys, values and header values
//     are Buffers (views into the fetched bytes);
//   - CRC-32C from @node-rs/crc32 (hardware instructions), UTF-8 through Buffer;
//   - gzip through node:zlib, LZ4 through lz4-napi (both synchronous);
//   - "host:port" bootstrap addresses use TCP (src/client/tcp.ts), node:tls with `ssl`;
//   - SASL/SCRAM's PBKDF2, HMAC and digests through node:crypto (src/client/node_crypto.ts);
//   - "ws://" ones use the `ws` package, loaded on first use (Node 20 has no global WebSocket;
//     where the package is missing, a global WebSocket is used when there is one).

import { gunzipSync, gzipSync } from "node:zlib";
import { crc32c } from "@node-rs/crc32";
import { compressFrameSync, decompressFrameSync } from "lz4-napi";
import { utf8Decode, utf8Write } from "../protocol/utf8.ts";
import { MilenaClient, type MilenaConfig } from "./client.ts";
import { nodeCrypto } from "./node_crypto.ts";
import { browserPlatform, CompressionTypes, type Platform } from "./platform.ts";
import type { TlsOptions } from "./security.ts";
import { nodeTlsOptions, tcpConnector } from "./tcp.ts";
import type { WebSocketFactory, WebSocketLike } from "./transport.ts";

export * from "./api.ts";

function asBuffer(d: Uint8Array): Buffer {
  return Buffer.isBuffer(d) ? d : Buffer.from(d.buffer, d.byteOffset, d.byteLength);
}

/** Largest WebSocket message accepted from a broker (a Fetch reply). */
const MAX_WS_PAYLOAD = 512 * 1024 * 1024;

let wsFactory: Promise<WebSocketFactory> | null = null;

/**
 * ws's masking key generator: all zeros. RFC 6455 requires client frames to be masked, and a zero
 * key is a valid mask that leaves the payload as it is, so ws skips the masking pass and the copy
 * it makes for it and writes record batches by reference. (Masking protects intermediaries from
 * script-controlled payloads in browsers; a Node process writing its own frames gains nothing from
 * it.) The browser entry always uses the browser's own masking.
 */
function zeroMask(mask: Uint8Array): void {
  mask.fill(0);
}

function loadWs(): Promise<WebSocketFactory> {
  wsFactory ??= import("ws").then(
    (m) => {
      const WS = m.WebSocket ?? m.default;
      return (url: string, tls?: TlsOptions | null) => {
        // wss:// with the client's `ssl` settings (CA, client certificate ...), as TCP has them.
        const secure =
          tls !== null && tls !== undefined && /^wss:/i.test(url)
            ? nodeTlsOptions(new URL(url).hostname.replace(/^\[|\]$/g, ""), tls)
            : {};
        const ws = new WS(url, {
          perMessageDeflate: false,
          maxPayload: MAX_WS_PAYLOAD,
          generateMask: zeroMask,
          ...secure,
        });
        ws.binaryType = "nodebuffer";
        const like = ws as unknown as WebSocketLike;
        // One message as fragments: header and record batches go out by reference, no join, in
        // one write (the socket corked around the fragments).
        const socket = () => (ws as unknown as { _socket?: { cork(): void; uncork(): void } })._socket;
        like.sendChunks = (chunks) => {
          const s = socket();
          s?.cork();
          const last = chunks.length - 1;
          for (let i = 0; i <= last; i++) ws.send(chunks[i], { binary: true, fin: i === last });
          s?.uncork();
        };
        like.cork = () => socket()?.cork();
        like.uncork = () => socket()?.uncork();
        return like;
      };
    },
    (e) => {
      const G = (globalThis as unknown as { WebSocket?: new (url: string) => WebSocketLike }).WebSocket;
      if (G === undefined)
        throw new Error(
          `ws:// needs the "ws" package in this Node version (npm install ws): ${(e as Error).message}`,
        );
      return (url: string) => new G(url);
    },
  );
  return wsFactory;
}

/** The Node platform: browserPlatform() with Node's native pieces and TCP. */
export function nodePlatform(): Platform {
  const p = browserPlatform();
  p.codecs.set(CompressionTypes.GZIP, { compress: (d) => gzipSync(d), decompress: (d) => gunzipSync(d) });
  p.codecs.set(CompressionTypes.LZ4, {
    compress: (d) => compressFrameSync(asBuffer(d)),
    decompress: (d) => decompressFrameSync(asBuffer(d)),
  });
  return {
    ...p,
    name: "node",
    alloc: (n) => Buffer.allocUnsafe(n),
    crc32c: (d, initial) => crc32c(asBuffer(d), initial),
    utf8Length: (s) => Buffer.byteLength(s, "utf8"),
    utf8Write: (buf, at, s) => (Buffer.isBuffer(buf) ? buf.write(s, at) : utf8Write(buf, at, s)),
    utf8Decode: (buf, start, end) =>
      Buffer.isBuffer(buf) && end - start > 16
        ? buf.toString("utf8", start, end)
        : utf8Decode(buf, start, end),
    webSocket: async (url, tls) => (await loadWs())(url, tls),
    tcp: tcpConnector,
    crypto: nodeCrypto,
  };
}

/** The client for Node: TCP ("host:port") and WebSocket ("ws://host:port") bootstrap addresses. */
export class Milena extends MilenaClient<Buffer> {
  constructor(config: MilenaConfig) {
    super(config, nodePlatform());
  }
}
