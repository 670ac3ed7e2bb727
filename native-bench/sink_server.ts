// The receiving end of the loopback limits (limits.ts), run as its own process so that it has
// its own event loop, as a broker would: counts the bytes it receives and, when it has the
// expected total, answers "done" on the same connection.
//
//   node --import tsx native-bench/sink_server.ts tcp|ws <total bytes>
//
// Prints "listening <port>" on stdout. tcp: node:net, read into one reused buffer. ws:
// uWebSockets.js (the native binary, loaded as the broker loads it), binary messages.

import * as net from "node:net";
import { loadUws } from "../src/transport/websocket.ts";

const [mode, totalArg] = process.argv.slice(2);
const total = Number(totalArg);

if (mode === "tcp") {
  const server = net.createServer((sock) => {
    let got = 0;
    sock.on("data", (d: Buffer) => {
      got += d.length;
      if (got >= total) {
        got -= total;
        sock.write("done");
      }
    });
  });
  server.listen(0, "127.0.0.1", () => {
    process.stdout.write(`listening ${(server.address() as net.AddressInfo).port}\n`);
  });
} else if (mode === "ws") {
  const u = loadUws();
  const app = u.App();
  app.ws<{ got: number }>("/*", {
    compression: u.DISABLED,
    maxPayloadLength: 16 * 1024 * 1024,
    maxBackpressure: 64 * 1024 * 1024,
    idleTimeout: 0,
    upgrade: (res, req, context) => {
      res.upgrade(
        { got: 0 },
        req.getHeader("sec-websocket-key"),
        req.getHeader("sec-websocket-protocol"),
        req.getHeader("sec-websocket-extensions"),
        context,
      );
    },
    message: (ws, msg) => {
      const d = ws.getUserData();
      d.got += msg.byteLength;
      if (d.got >= total) {
        d.got -= total;
        ws.send("done", false);
      }
    },
  });
  app.listen("127.0.0.1", 0, (token) => {
    if (!token) throw new Error("uWS: listen failed");
    process.stdout.write(`listening ${u.us_socket_local_port(token)}\n`);
  });
} else {
  throw new Error(`sink_server: mode tcp or ws, not ${mode}`);
}
