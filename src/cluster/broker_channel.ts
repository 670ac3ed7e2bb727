// A connection from this broker to another one, for the controller's requests (LeaderAndIsr,
// UpdateMetadata, StopReplica) and a follower's (Fetch, OffsetForLeaderEpoch): Milena's client
// Connection over the shared protocol codecs, opened on first use and again after a failure,
// with the inter-broker listener's TLS and SASL (inter_broker_security.ts). Requests to one
// broker go out in the order sent (Kafka's controller sends one at a time per broker, so a
// broker applies state changes in the controller's order).

import { Connection } from "../client/connection.ts";
import { nodePlatform } from "../client/node.ts";
import type { ApiCodec } from "../protocol/api.ts";
import type { ChannelSecurity } from "./inter_broker_security.ts";

export interface Endpoint {
  host: string;
  port: number;
}

const platform = nodePlatform();

export class BrokerChannel {
  private conn: Promise<Connection> | null = null;
  private tail: Promise<unknown> = Promise.resolve();
  closed = false;

  constructor(
    readonly brokerId: number,
    public endpoint: Endpoint,
    private readonly clientId: string,
    /** TLS and SASL of inter.broker.listener.name (inter_broker_security.ts). */
    private readonly security: ChannelSecurity,
    private readonly requestTimeoutMs = 30_000,
  ) {}

  private connection(): Promise<Connection> {
    if (this.conn === null) {
      const { host, port } = this.endpoint;
      const open = async () =>
        Connection.open(
          platform,
          { kind: "tcp", host, port, url: "", label: `broker ${this.brokerId} (${host}:${port})` },
          {
            clientId: this.clientId,
            connectionTimeoutMs: 5000,
            requestTimeoutMs: this.requestTimeoutMs,
            maxInFlight: 1,
            // Read at each connection: a renewed certificate is used without a restart.
            tls: this.security.tls(),
            sasl: this.security.sasl,
          },
        );
      const opened = open();
      this.conn = opened;
      opened.then(
        (c) =>
          c.onClose(() => {
            if (this.conn === opened) this.conn = null;
          }),
        () => {
          if (this.conn === opened) this.conn = null;
        },
      );
    }
    return this.conn;
  }

  /** Send one request at `version` after every earlier one on this channel settled. */
  request<Req, Res, ReqIn>(
    codec: ApiCodec<Req, Res, ReqIn, unknown>,
    version: number,
    req: ReqIn,
    extraTimeoutMs = 0,
  ): Promise<Res> {
    const run = async (): Promise<Res> => {
      if (this.closed) throw new Error(`channel to broker ${this.brokerId} closed`);
      const c = await this.connection();
      return c.requestVersion(codec, version, req, { extraTimeoutMs });
    };
    const p = this.tail.then(run, run);
    this.tail = p.catch(() => {});
    return p;
  }

  /**
   * As request(), retried (reconnecting, with a growing pause up to 2 s) until it is answered or
   * `keepTrying` says stop (Kafka's controller resends to a broker until it leaves the cluster).
   * Resolves to the answer, or null when given up. Later requests on this channel wait for it,
   * so a broker applies the controller's requests in order.
   */
  requestRetrying<Req, Res, ReqIn>(
    codec: ApiCodec<Req, Res, ReqIn, unknown>,
    version: number,
    req: ReqIn,
    keepTrying: () => boolean,
    onError: (e: Error) => void,
  ): Promise<Res | null> {
    const run = async (): Promise<Res | null> => {
      for (let attempt = 0; ; attempt++) {
        if (this.closed || !keepTrying()) return null;
        try {
          const c = await this.connection();
          return await c.requestVersion(codec, version, req);
        } catch (e) {
          if (attempt === 0) onError(e as Error);
          this.reset();
          await new Promise((r) => setTimeout(r, Math.min(2000, 100 * 2 ** attempt)));
        }
      }
    };
    const p = this.tail.then(run, run);
    this.tail = p.catch(() => {});
    return p;
  }

  /** Drop the connection (the broker moved or failed); the next request opens a new one. */
  reset(): void {
    const c = this.conn;
    this.conn = null;
    c?.then((x) => x.close()).catch(() => {});
  }

  close(): void {
    this.closed = true;
    this.reset();
  }
}
