// The Node entry: the same client with Node's faster pieces plugged in and TCP available.
//   - byte arrays are Buffers (Buffer.allocUnsafe), so consumed keys, values and header values
//     are Buffers (views into the fetched bytes);
//   - CRC-32C from @node-rs/crc32 (hardware instructions), UTF-8 through Buffer;
//   - gzip through node:zlib, LZ4 through lz4-napi (both synchronous);
//   - "host:port" bootstrap addresses use TCP (src/client/tcp.ts), node:tls with `ssl`;
//   - SASL/SCRAM's PBKDF2, HMAC and digests through node:crypto (src/client/node_crypto.ts);
//   - "ws://" and "wss://" ones use the client's own WebSocket framing straight over node:net /
//     node:tls (src/client/websocket_node.ts: replies read into their own buffers, no copies
//     on the way); a `WebSocket` class in the config is used instead when given.

import { gunzipSync, gzipSync } from "node:zlib";
import { crc32c } from "@node-rs/crc32";
import { compressFrameSync, decompressFrameSync } from "lz4-napi";
import { utf8Decode, utf8Write } from "../protocol/utf8.ts";
import { MilenaClient, type MilenaConfig } from "./client.ts";
import { nodeCrypto } from "./node_crypto.ts";
import { browserPlatform, CompressionTypes, type Platform } from "./platform.ts";
import { tcpConnector } from "./tcp.ts";
import { connectNodeWebSocket } from "./websocket_node.ts";

export * from "./api.ts";

function asBuffer(d: Uint8Array): Buffer {
  return Buffer.isBuffer(d) ? d : Buffer.from(d.buffer, d.byteOffset, d.byteLength);
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
    webSocketTransport: connectNodeWebSocket,
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
