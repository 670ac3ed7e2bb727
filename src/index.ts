// The package's exports: Milena's client for Node (Kafka protocol over TCP and WebSocket).
// A browser build imports src/client/browser.ts instead (WebSocket only, nothing Node-only).
//
//   import { Milena } from "milena";
//   const milena = new Milena({ bootstrap: "127.0.0.1:9092" });
//   const producer = milena.producer();
//   await producer.connect();
//   await producer.send({ topic: "demo", messages: [{ key: "k", value: "hello" }] });

export * from "./client/node.ts";
