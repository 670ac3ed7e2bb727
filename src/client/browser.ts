// The browser entry: the client over WebSocket only, built from plain TypeScript and web
// standards (Uint8Array, TextEncoder, CompressionStream for gzip, a TypeScript LZ4 and CRC-32C,
// the global WebSocket). Its module graph imports nothing Node-only; a test bundles it with
// esbuild for platform=browser and runs the bundle without Node's globals
// (test/integration/client_browser.test.ts).
//
//   import { Milena } from "milena/browser";
//   const milena = new Milena({ bootstrap: "ws://broker.example:9094" });

import { MilenaClient, type MilenaConfig } from "./client.ts";
import { browserPlatform } from "./platform.ts";

export * from "./api.ts";

export class Milena extends MilenaClient<Uint8Array> {
  constructor(config: MilenaConfig) {
    super(config, browserPlatform());
  }
}
