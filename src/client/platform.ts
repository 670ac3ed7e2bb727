// What the client needs from its environment, as one object per client instance: byte arrays,
// CRC-32C, UTF-8, compression codecs, the transports and SASL's cryptography. `browserPlatform()` builds it from
// plain TypeScript and web-standard globals only (Uint8Array, TextEncoder, CompressionStream,
// WebSocket, Web Crypto), so it runs in a browser, in Node, in Deno or a worker. The Node entry
// (src/client/node.ts) starts from it and swaps in Node's faster pieces (Buffer, zlib,
// lz4-napi, @node-rs/crc32, node:crypto) and adds TCP (and TLS) and the `ws` package; nothing
// here imports them.

import { utf8Decode, utf8Length, utf8Write } from "../protocol/utf8.ts";
import { crc32c } from "./crc32c.ts";
import { lz4CompressFrame, lz4DecompressFrame } from "./lz4.ts";
import type { TcpConnector, WebSocketConnector, WebSocketFactory } from "./transport.ts";
import { type SaslCrypto, webCrypto } from "./web_crypto.ts";

/** A compression codec; either direction may be asynchronous (CompressionStream is). */
export interface Codec {
  compress(data: Uint8Array): Uint8Array | Promise<Uint8Array>;
  decompress(data: Uint8Array): Uint8Array | Promise<Uint8Array>;
}

/** Kafka's compression codec ids (RecordBatch attributes bits 0-2), kafkajs's names. */
export const CompressionTypes = { None: 0, GZIP: 1, Snappy: 2, LZ4: 3, ZSTD: 4 } as const;
export type CompressionType = (typeof CompressionTypes)[keyof typeof CompressionTypes];

export interface Platform {
  readonly name: string;
  /** A byte array of n bytes, contents unspecified (Node: Buffer.allocUnsafe). */
  alloc(n: number): Uint8Array;
  /** CRC-32C of data, continuing from `initial` (the CRC of the bytes before; 0 to start). */
  crc32c(data: Uint8Array, initial?: number): number;
  utf8Length(s: string): number;
  /** Write s at `at` (utf8Length(s) bytes of room); returns the bytes written. */
  utf8Write(buf: Uint8Array, at: number, s: string): number;
  utf8Decode(buf: Uint8Array, start: number, end: number): string;
  /** Compression codecs by id (0 = none is not listed). */
  readonly codecs: Map<number, Codec>;
  /** Opens WebSocket connections (ws:// and wss:// bootstrap addresses) through a WebSocket object. */
  webSocket: WebSocketFactory | null;
  /**
   * Opens WebSocket transports itself, framing included (Node: src/client/websocket_node.ts);
   * used instead of `webSocket` when not null.
   */
  webSocketTransport: WebSocketConnector | null;
  /** Opens TCP connections (host:port bootstrap addresses), with TLS when asked; null in a browser. */
  tcp: TcpConnector | null;
  /** PBKDF2, HMAC, digests and random bytes for SASL/SCRAM; null where there is no Web Crypto. */
  crypto: SaslCrypto | null;
}

interface StreamLike {
  readable: { getReader(): { read(): Promise<{ done: boolean; value?: Uint8Array }> } };
  writable: { getWriter(): { write(chunk: Uint8Array): Promise<void>; close(): Promise<void> } };
}
type StreamCtor = new (format: string) => StreamLike;

/** Run bytes through a CompressionStream / DecompressionStream. */
async function throughStream(ctor: StreamCtor, format: string, data: Uint8Array): Promise<Uint8Array> {
  const stream = new ctor(format);
  const writer = stream.writable.getWriter();
  const done = writer.write(data).then(() => writer.close());
  const reader = stream.readable.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done: end, value } = await reader.read();
    if (end) break;
    if (value) {
      chunks.push(value);
      total += value.length;
    }
  }
  await done;
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** gzip through the web-standard CompressionStream, when the environment has it. */
function webGzip(): Codec | null {
  const g = globalThis as unknown as { CompressionStream?: StreamCtor; DecompressionStream?: StreamCtor };
  const C = g.CompressionStream;
  const D = g.DecompressionStream;
  if (C === undefined || D === undefined) return null;
  return {
    compress: (d) => throughStream(C, "gzip", d),
    decompress: (d) => throughStream(D, "gzip", d),
  };
}

/** The global WebSocket constructor (browsers, Deno, Node 22+), as a factory. */
function globalWebSocket(): WebSocketFactory | null {
  // TLS options are not used: a browser's wss:// is the browser's own TLS.
  const W = (globalThis as unknown as { WebSocket?: new (url: string) => unknown }).WebSocket;
  if (typeof W !== "function") return null;
  return (url) => new W(url) as ReturnType<WebSocketFactory>;
}

/** The platform built from plain TypeScript and web-standard globals only. */
export function browserPlatform(): Platform {
  const codecs = new Map<number, Codec>();
  const gzip = webGzip();
  if (gzip !== null) codecs.set(CompressionTypes.GZIP, gzip);
  codecs.set(CompressionTypes.LZ4, { compress: lz4CompressFrame, decompress: lz4DecompressFrame });
  return {
    name: "browser",
    alloc: (n) => new Uint8Array(n),
    crc32c,
    utf8Length,
    utf8Write,
    utf8Decode,
    codecs,
    webSocket: globalWebSocket(),
    webSocketTransport: null,
    tcp: null,
    crypto: webCrypto(),
  };
}
