// The Kafka protocol over TCP (node:net, or node:tls for the SSL and SASL_SSL listeners:
// tls_options.ts): 4-byte big-endian length-prefixed frames.
//
//   0  int32  size   bytes that follow (request header + body)
//   4  ...    frame
//
// A frame above socket.request.max.bytes closes the connection with a log line. A frame that
// straddles socket reads is assembled in memory of its own, counted against the broker-wide
// queued.max.request.bytes. Reading stops while the socket's send buffer is full (the client is
// not reading) or the Connection says wait, so a slow client never makes the broker buffer
// without bound.

import * as net from "node:net";
import * as tls from "node:tls";
import type { SslConfig } from "../broker/config.ts";
import { type Admission, Connection, type Dispatcher, OPEN_DOOR, type TransportSink } from "./connection.ts";
import { FrameDecoder } from "./frame_decoder.ts";
import { ANONYMOUS, principalOf, tlsServerOptions, watchTlsFiles } from "./tls_options.ts";

/** Above this much unsent reply data, stop reading the client's requests. */
const WRITE_HIGH_WATER = 8 * 1024 * 1024;

/** Which listener this is, and its TLS (SSL and SASL_SSL listeners). */
export interface TcpListenerOptions {
  name: string;
  ssl: SslConfig | null;
  /** SASL_PLAINTEXT / SASL_SSL: clients authenticate first. */
  sasl?: boolean;
  /** sasl.server.max.receive.size: the largest frame before a SASL client authenticated. */
  saslMaxReceiveBytes?: number;
  log: (line: string) => void;
}

export function startTcpListener(
  host: string,
  port: number,
  maxFrameBytes: number,
  dispatcher: Dispatcher,
  connections: Set<Connection>,
  admission: Admission = OPEN_DOOR,
  opts: TcpListenerOptions = { name: "PLAINTEXT", ssl: null, log: () => {} },
): Promise<net.Server> {
  const onSocket = (socket: net.Socket, principal: string) => {
    const remote = `${socket.remoteAddress}:${socket.remotePort}`;
    const ip = socket.remoteAddress ?? "";
    const refused = admission.admit(ip);
    if (refused !== null) {
      dispatcher.logger.limited("refused connection", `refused connection from ${remote}: ${refused}`);
      socket.destroy();
      return;
    }
    let pausedByConnection = false;
    let corked = false;
    const uncork = () => {
      corked = false;
      socket.uncork();
    };
    let conn: Connection;
    const sink: TransportSink = {
      remote,
      listener: opts.name,
      principal,
      sasl: opts.sasl === true,
      send(chunks, _length, sent) {
        // Replies finished in the same tick (a writer's completion report answers many produce
        // requests at once) leave in one writev.
        if (!corked) {
          corked = true;
          socket.cork();
          process.nextTick(uncork);
        }
        const last = chunks.length - 1;
        for (let i = 0; i < last; i++) socket.write(chunks[i]);
        // The write callback runs once libuv is done with the bytes (or the socket died).
        if (sent === undefined) socket.write(chunks[last]);
        else socket.write(chunks[last], () => sent());
        if (socket.writableLength > WRITE_HIGH_WATER) conn.setSendBlocked(true);
      },
      close() {
        socket.destroy();
      },
      pause() {
        pausedByConnection = true;
        socket.pause();
      },
      resume() {
        pausedByConnection = false;
        socket.resume();
      },
    };
    socket.on("drain", () => {
      if (socket.writableLength <= WRITE_HIGH_WATER) conn.setSendBlocked(false);
    });
    conn = new Connection(sink, dispatcher);
    connections.add(conn);
    const preAuth = opts.saslMaxReceiveBytes ?? 524288;
    const decoder = new FrameDecoder(maxFrameBytes, dispatcher.requests, () =>
      conn.sasl !== null && !conn.sasl.authenticated ? preAuth : null,
    );
    const onFrame = (f: Buffer) => conn.onFrame(f);
    socket.on("data", (chunk: Buffer) => {
      conn.touch();
      const err = decoder.push(chunk, onFrame);
      if (err !== null) conn.fail(err);
      // A paused connection takes no more reads (frames of this read already wait in it).
      else if (pausedByConnection && !socket.isPaused()) socket.pause();
    });
    socket.on("error", () => {});
    socket.on("close", () => {
      admission.left(ip);
      decoder.release();
      conn.destroy();
      connections.delete(conn);
    });
  };
  const ssl = opts.ssl;
  let server: net.Server;
  if (ssl === null) {
    server = net.createServer({ noDelay: true }, (socket) => onSocket(socket, ANONYMOUS));
  } else {
    const secure = tls.createServer({ ...tlsServerOptions(ssl), noDelay: true }, (socket) => {
      const principal = principalOf(socket, ssl);
      if (principal === null) {
        dispatcher.logger.limited(
          "refused connection",
          `refused TLS connection from ${socket.remoteAddress}:${socket.remotePort} on ${opts.name}: its client certificate did not verify (${socket.authorizationError})`,
        );
        socket.destroy();
        return;
      }
      onSocket(socket, principal);
    });
    // A failed handshake (plaintext to a TLS port, an unknown certificate): logged, closed.
    secure.on("tlsClientError", (err, socket) => {
      dispatcher.logger.limited(
        "TLS handshake failed",
        `TLS handshake from ${socket.remoteAddress}:${socket.remotePort} on ${opts.name} failed: ${err.message}`,
      );
      socket.destroy();
    });
    const stop = watchTlsFiles(ssl, (o) => secure.setSecureContext(o), opts.log);
    secure.on("close", stop);
    server = secure;
  }
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve(server);
    });
  });
}
