// The Schema Registry inside the broker: its state (registry.ts) kept in the compacted topic
// `_schemas` (one partition, an internal topic like __consumer_offsets: created on the first
// write, written only here, acks=all so a change is answered once fsynced), replayed when the
// broker starts, so a restarted broker has the same subjects, versions and ids; and its REST
// listeners (server.ts) on schema.registry.listeners.
//
// A cluster (zookeeper.connect) does not run it yet: every broker would need the leader of
// `_schemas` to allocate ids and the others to follow its records; until then the registry is
// off there, and said so at startup.

import * as fs from "node:fs";
import type { BrokerContext } from "../broker/context.ts";
import { InternalTopic } from "../broker/internal_topic.ts";
import { verifyPlainAsync } from "../broker/security/plain.ts";
import type { SaslCredentials } from "../broker/security/sasl_store.ts";
import { replayRecords } from "../log/replay.ts";
import { Errors } from "./errors.ts";
import { SchemaRegistry } from "./registry.ts";
import {
  decodeSchemasRecord,
  encodeKey,
  encodeValue,
  SCHEMAS_TOPIC,
  type SchemasRecord,
} from "./schemas_records.ts";
import { type RegistryServer, startRegistryServer } from "./server.ts";

export class SchemaRegistryService {
  readonly registry: SchemaRegistry;
  private readonly topic: InternalTopic<SchemasRecord>;
  private readonly servers: RegistryServer[] = [];
  readonly ports: number[] = [];

  constructor(
    private readonly ctx: BrokerContext,
    private readonly users: SaslCredentials,
  ) {
    const c = ctx.config;
    this.topic = new InternalTopic(ctx, {
      name: SCHEMAS_TOPIC,
      partitions: 1,
      replicationFactor: c.offsetsTopicReplicationFactor,
      segmentBytes: c.offsetsTopicSegmentBytes,
      timeoutMs: c.offsetsCommitTimeoutMs,
      replay: (dir) =>
        Promise.resolve(replayRecords(dir, (key, value) => decodeSchemasRecord(key, value)).records),
    });
    this.registry = new SchemaRegistry((records) => this.append(records), {
      maxSchemas: c.schemaRegistry?.maxSchemas ?? 10000,
      maxSubjectLength: 255,
      maxReferences: 100,
    });
  }

  private async append(records: SchemasRecord[]): Promise<void> {
    const code = await this.topic.append(
      0,
      records.map((r) => ({ key: encodeKey(r), value: encodeValue(r) })),
    );
    if (code !== 0)
      throw Errors.storeError(`Error while writing to ${SCHEMAS_TOPIC} (Kafka error code ${code})`);
  }

  /** Replay `_schemas`, then listen. */
  async start(): Promise<void> {
    const c = this.ctx.config.schemaRegistry;
    if (c === null) return;
    let n = 0;
    for (const part of await this.topic.replay())
      for (const r of part) {
        this.registry.apply(r);
        n++;
      }
    if (n > 0)
      this.ctx.log(
        `replayed ${n} record(s) of ${SCHEMAS_TOPIC}: ${this.registry.listSubjects(true).length} subject(s), ${this.registry.schemaCount} schema version(s)`,
      );
    const ssl = this.ctx.config.ssl;
    for (const l of c.listeners) {
      let server: RegistryServer;
      try {
        server = await startRegistryServer(this.registry, {
          host: l.host,
          port: l.port,
          tls: l.tls
            ? {
                key: fs.readFileSync(ssl.keyLocation!),
                cert: fs.readFileSync(ssl.certificateLocation!),
                ...(ssl.keyPassword === null ? {} : { passphrase: ssl.keyPassword }),
              }
            : null,
          maxRequestBytes: c.maxRequestBytes,
          failedAuthenticationDelayMs: this.ctx.config.connectionFailedAuthenticationDelayMs,
          authenticate:
            c.authentication === "BASIC"
              ? async (user, password) => {
                  try {
                    await verifyPlainAsync(
                      Buffer.from(`\u0000${user}\u0000${password}`),
                      (u) => this.users.user(u),
                      {
                        fakeCredentialSecret: this.users.secret,
                      },
                    );
                    return true;
                  } catch {
                    return false;
                  }
                }
              : null,
          log: (l) => this.ctx.logger.limited("schema registry", l),
        });
      } catch (e) {
        throw new Error(
          `schema.registry.listeners: cannot listen on ${l.host}:${l.port}: ${(e as Error).message}`,
        );
      }
      this.servers.push(server);
      this.ports.push(server.port);
      this.ctx.log(
        `Schema Registry listening on ${l.tls ? "https" : "http"}://${l.host}:${server.port} (authentication ${c.authentication})`,
      );
      if (c.authentication === "BASIC" && !l.tls)
        this.ctx.log(
          `warning: the Schema Registry on http://${l.host}:${server.port} takes HTTP Basic passwords in clear text; use https:// in schema.registry.listeners`,
        );
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.servers.map((s) => s.close()));
  }
}
