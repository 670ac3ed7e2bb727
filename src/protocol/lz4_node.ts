// LZ4 (Kafka's LZ4 frame format) for Node, through lz4-napi: registered into the records codec
// table by the broker and the Node client. The browser WebSocket path does not import this.

import { compressFrameSync, decompressFrameSync } from "lz4-napi";
import { Compression } from "./record_batch.ts";
import { codecs } from "./records.ts";

export function registerLz4(): void {
  codecs.set(Compression.LZ4, {
    compress: (d) => compressFrameSync(d),
    decompress: (d) => decompressFrameSync(d),
  });
}
