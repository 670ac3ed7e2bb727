// The client's entry object, shaped like kafkajs's Kafka class:
//
//   const milena = new Milena({ bootstrap: "ws://127.0.0.1:9094" });   // or "127.0.0.1:9092"
//   const producer = milena.producer({ acks: 1, compression: "lz4" });
//   const consumer = milena.consumer({ autoOffsetReset: "earliest" });
//   const member = milena.consumer({ groupId: "billing" });          // a group consumer
//   const admin = milena.admin();
//
// Security, as kafkajs has it: `ssl: true | { ca, cert, key, ... }` (TLS; wss:// for WebSocket)
// and `sasl: { mechanism: "scram-sha-512", username, password }` (or plain, scram-sha-256,
// oauthbearer with an oauthBearerProvider), used by every connection the client opens.
//
// MilenaClient is environment-neutral: it takes a Platform. The Node entry (src/client/node.ts,
// the package's main export) and the browser entry (src/client/browser.ts) each export a
// `Milena` subclass that supplies theirs.

import { Admin, type AdminConfig } from "./admin.ts";
import { Cluster } from "./cluster.ts";
import { Consumer, type ConsumerConfig } from "./consumer.ts";
import { InvalidArgumentError } from "./errors.ts";
import { GroupConsumer, type GroupConsumerConfig } from "./group_consumer.ts";
import type { Codec, Platform } from "./platform.ts";
import { Producer, type ProducerConfig, producerMaxInFlight } from "./producer.ts";
import { type RetryOptions, retryDefaults } from "./retry.ts";
import { type SaslOptions, saslOptionsOf, type TlsOptions, tlsOptionsOf } from "./security.ts";
import { parseAddress, type WebSocketLike } from "./transport.ts";

export interface MilenaConfig {
  /**
   * Where to start: "host:port" (Kafka protocol over TCP; Node only) or "ws://host:port[/path]"
   * / "wss://..." (over WebSocket), or a list of them. Brokers found in Metadata are reached
   * with the same transport.
   */
  bootstrap?: string | string[];
  /** kafkajs's name for bootstrap. */
  brokers?: string[];
  /** Sent in every request header. Default "milena". */
  clientId?: string;
  /** Connect timeout in ms. Default 10000. */
  connectionTimeout?: number;
  /** How long a request may wait for its reply, in ms. Default 30000. */
  requestTimeout?: number;
  /** Default retry policy of producers, consumers and admins (each may override it). */
  retry?: RetryOptions;
  /**
   * A WebSocket constructor to use instead of the environment's (the browser's global one; in
   * Node the `ws` package, loaded when first needed).
   */
  WebSocket?: new (
    url: string,
  ) => unknown;
  /** Extra compression codecs by id (e.g. { [CompressionTypes.ZSTD]: zstdCodec }). */
  codecs?: { [id: number]: Codec };
  /**
   * TLS: true (the system's CAs) or { ca, cert, key, passphrase, rejectUnauthorized, servername }
   * (file contents, as node:tls takes them). TCP goes over node:tls; a ws:// address becomes
   * wss://. In a browser, TLS is the browser's own (wss://) and these settings are not used.
   */
  ssl?: boolean | TlsOptions;
  /**
   * SASL, after each connection's ApiVersions: { mechanism: "plain" | "scram-sha-256" |
   * "scram-sha-512", username, password } or { mechanism: "oauthbearer", oauthBearerProvider }.
   * A refusal is a SaslAuthenticationError (not retried).
   */
  sasl?: SaslOptions;
}

export class MilenaClient<B extends Uint8Array = Uint8Array> {
  readonly platform: Platform;
  private readonly bootstrap;
  private readonly clientId: string;
  private readonly connectionTimeout: number;
  private readonly requestTimeout: number;
  private readonly retry: RetryOptions;
  private readonly tls: TlsOptions | null;
  private readonly sasl: SaslOptions | null;

  constructor(config: MilenaConfig, platform: Platform) {
    const list = config.bootstrap ?? config.brokers;
    const entries = list === undefined ? [] : typeof list === "string" ? list.split(",") : list;
    if (entries.length === 0)
      throw new InvalidArgumentError("no bootstrap address: pass { bootstrap: 'host:port' }");
    try {
      this.bootstrap = entries.map(parseAddress);
    } catch (e) {
      throw new InvalidArgumentError((e as Error).message);
    }
    this.platform = { ...platform, codecs: new Map(platform.codecs) };
    if (config.codecs !== undefined)
      for (const [id, c] of Object.entries(config.codecs)) this.platform.codecs.set(Number(id), c);
    const W = config.WebSocket;
    if (W !== undefined) {
      this.platform.webSocket = (url) => new W(url) as WebSocketLike;
      this.platform.webSocketTransport = null;
    }
    this.clientId = config.clientId ?? "milena";
    this.connectionTimeout = config.connectionTimeout ?? 10_000;
    this.requestTimeout = config.requestTimeout ?? 30_000;
    this.retry = config.retry ?? {};
    this.tls = tlsOptionsOf(config.ssl);
    this.sasl = saslOptionsOf(config.sasl);
  }

  private cluster(maxInFlight: number, retry: RetryOptions | undefined): Cluster {
    return new Cluster(this.platform, {
      bootstrap: this.bootstrap,
      clientId: this.clientId,
      connectionTimeoutMs: this.connectionTimeout,
      requestTimeoutMs: this.requestTimeout,
      maxInFlight,
      tls: this.tls,
      sasl: this.sasl,
      retry: retryDefaults({ ...this.retry, ...retry }),
    });
  }

  producer(config: ProducerConfig = {}): Producer {
    const retry = { ...this.retry, ...config.retry };
    return new Producer(this.cluster(producerMaxInFlight(config), retry), this.platform, {
      ...config,
      retry,
    });
  }

  /** With a groupId: a group consumer (group_consumer.ts); without: the assign/seek consumer. */
  consumer(config: GroupConsumerConfig): GroupConsumer<B>;
  consumer(config?: ConsumerConfig): Consumer<B>;
  consumer(config: ConsumerConfig | GroupConsumerConfig = {}): Consumer<B> | GroupConsumer<B> {
    const retry = { ...this.retry, ...config.retry };
    if ("groupId" in config && config.groupId !== undefined)
      // Its own connections to the coordinator: heartbeats never wait behind a long-polling Fetch.
      return new GroupConsumer<B>(this.cluster(4, retry), this.cluster(4, retry), this.platform, {
        ...config,
        retry,
      });
    return new Consumer<B>(this.cluster(4, retry), this.platform, { ...config, retry });
  }

  admin(config: AdminConfig = {}): Admin {
    const retry = { ...this.retry, ...config.retry };
    return new Admin(this.cluster(4, retry));
  }
}
