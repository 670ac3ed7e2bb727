/// <reference lib="dom" />
// The console's connection to the broker: one Milena browser client (the Kafka protocol over the
// broker's WebSocket listener, with SASL when the listener asks for it), its admin, and a producer
// and consumers made on demand. Everything the console shows comes through here.

import { type Admin, Milena, type Producer, type SaslOptions } from "../client/browser.ts";

export interface Credentials {
  /** Kafka's name: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512. */
  mechanism: string;
  username: string;
  password: string;
}

export class Session {
  readonly milena: Milena;
  readonly admin: Admin;
  private producerP: Promise<Producer> | null = null;

  constructor(
    readonly url: string,
    readonly credentials: Credentials | null,
  ) {
    const sasl =
      credentials === null
        ? undefined
        : ({
            mechanism: credentials.mechanism.toLowerCase(),
            username: credentials.username,
            password: credentials.password,
          } as SaslOptions);
    this.milena = new Milena({
      bootstrap: url,
      clientId: "milena-console",
      sasl,
      connectionTimeout: 8000,
      requestTimeout: 15000,
      retry: { retries: 2 },
    });
    this.admin = this.milena.admin();
  }

  /** Connect (and authenticate): throws SaslAuthenticationError for refused credentials. */
  async open(): Promise<void> {
    await this.admin.connect();
    await this.admin.describeCluster();
  }

  /** One producer for the console's sends (acks -1). */
  producer(): Promise<Producer> {
    if (this.producerP === null) {
      const p = this.milena.producer({ acks: -1 });
      this.producerP = p.connect().then(
        () => p,
        (e) => {
          this.producerP = null;
          throw e;
        },
      );
    }
    return this.producerP;
  }

  async close(): Promise<void> {
    const p = this.producerP;
    this.producerP = null;
    if (p !== null) await (await p.catch(() => null))?.disconnect();
    await this.admin.disconnect();
  }
}
