// Broker configuration in Kafka's names: server.properties, then --override key=value, each
// key parsed and checked once at startup. An unknown key, a malformed value or an impossible
// combination stops startup with a message naming the key (ConfigError). Per-topic overrides use
// Kafka's topic-config names (topicConfigFor below).

import * as fs from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { MAX_PARTITION_SLOTS } from "../log/partition_state.ts";

export class ConfigError extends Error {
  override name = "ConfigError";
}

type Kind = "int" | "long" | "double" | "bool" | "string" | "list";

interface KeyDef {
  kind: Kind;
  default: string | null;
  doc: string;
  min?: number;
  /** Accepted and validated, but only used once clustering lands: say so at startup. */
  notYetUsed?: string;
  /** A secret (Kafka's PASSWORD type): DescribeConfigs answers null with is_sensitive, --print-config hides it. */
  sensitive?: boolean;
}

const LONG_MAX = "9223372036854775807";

/** Every key the broker accepts, with Kafka's defaults. README.md lists the same table. */
export const KEYS: Record<string, KeyDef> = {
  "broker.id": { kind: "int", default: "0", doc: "Unique integer id of this broker in its cluster", min: 0 },
  listeners: {
    kind: "list",
    default: "PLAINTEXT://127.0.0.1:9092,WEBSOCKET://127.0.0.1:9094",
    doc: "Listeners, NAME://host:port: the Kafka protocol over TCP, or over WebSocket for a name starting with WEBSOCKET; each name's security protocol from listener.security.protocol.map (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL)",
  },
  port: {
    kind: "int",
    default: null,
    doc: "Classic Kafka port setting: the PLAINTEXT listener's port (when listeners is not set)",
    min: 0,
  },
  "host.name": {
    kind: "string",
    default: null,
    doc: "Classic Kafka host setting: the PLAINTEXT listener's host (when listeners is not set)",
  },
  "listener.security.protocol.map": {
    kind: "list",
    default: "",
    doc: "NAME:PROTOCOL pairs (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL) giving each listener its security protocol, on top of the defaults PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL (each its own) and WEBSOCKET, WEBSOCKET_SSL, WEBSOCKET_SASL_PLAINTEXT, WEBSOCKET_SASL_SSL (a name starting with WEBSOCKET is served over WebSocket)",
  },
  "inter.broker.listener.name": {
    kind: "string",
    default: null,
    doc: "The listener brokers of a cluster use to reach each other (default: the first PLAINTEXT one); an SSL one: brokers check each other's certificate against ssl.ca.location and present their own (ssl.certificate.location); a SASL one: they authenticate with sasl.mechanism.inter.broker.protocol and the JAAS credentials",
  },
  "sasl.mechanism.inter.broker.protocol": {
    kind: "string",
    default: "GSSAPI",
    doc: "The SASL mechanism brokers authenticate to each other with when inter.broker.listener.name is a SASL listener: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (Kafka's default GSSAPI is not served, so a SASL inter-broker listener needs it set)",
  },
  "sasl.jaas.config": {
    kind: "string",
    default: null,
    doc: 'The broker\'s own SASL credentials for inter-broker connections, in Kafka\'s JAAS syntax: `org.apache.kafka.common.security.scram.ScramLoginModule required username="broker" password="...";` (PlainLoginModule for PLAIN); `listener.name.<listener>.<mechanism>.sasl.jaas.config` (lower case, e.g. listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config) takes precedence',
    sensitive: true,
  },
  "authorizer.class.name": {
    kind: "string",
    default: "",
    doc: "Empty: no authorization (every client may do everything). Kafka's kafka.security.authorizer.AclAuthorizer or org.apache.kafka.metadata.authorizer.StandardAuthorizer (or milena): Kafka's ACLs, kept in acls.json in the first log dir (a single broker) or, with zookeeper.connect, in ZooKeeper as Kafka keeps them (/kafka-acl, /kafka-acl-extended)",
  },
  "super.users": {
    kind: "string",
    default: "",
    doc: "Principals allowed everything, ;-separated (User:admin;User:CN=ops,O=example)",
  },
  "allow.everyone.if.no.acl.found": {
    kind: "bool",
    default: "false",
    doc: "With the authorizer: a resource no ACL names is open to everyone (true) or to no one but super users (false)",
  },
  "sasl.enabled.mechanisms": {
    kind: "list",
    default: "SCRAM-SHA-256,SCRAM-SHA-512",
    doc: "SASL mechanisms the SASL_PLAINTEXT / SASL_SSL listeners offer: SCRAM-SHA-256, SCRAM-SHA-512, PLAIN (checked against the SCRAM credentials; offer it on SASL_SSL only), OAUTHBEARER (signed JWTs, checked with sasl.oauthbearer.jwks.endpoint.url)",
  },
  "sasl.oauthbearer.jwks.endpoint.url": {
    kind: "string",
    default: null,
    doc: "Required with OAUTHBEARER: the JSON Web Key Set tokens are verified with, a file: URL (a JWKS file, or Milena: one PEM public key) or an http(s): URL (at most 1 MiB, 10 s)",
  },
  "sasl.oauthbearer.jwks.endpoint.refresh.ms": {
    kind: "long",
    default: "3600000",
    doc: "The JWKS is read again this often, and when a token names an unknown kid (at most every 10 s); a failed read keeps the last keys",
    min: 1000,
  },
  "sasl.oauthbearer.expected.audience": {
    kind: "list",
    default: "",
    doc: "OAUTHBEARER: a token's aud must include one of these (empty: not checked)",
  },
  "sasl.oauthbearer.expected.issuer": {
    kind: "string",
    default: null,
    doc: "OAUTHBEARER: a token's iss must be this (unset: not checked)",
  },
  "sasl.oauthbearer.sub.claim.name": {
    kind: "string",
    default: "sub",
    doc: "OAUTHBEARER: the claim whose value is the principal (User:<value>)",
  },
  "sasl.oauthbearer.scope.claim.name": {
    kind: "string",
    default: "scope",
    doc: "OAUTHBEARER: the claim holding the token's scopes (kept, not enforced)",
  },
  "sasl.oauthbearer.clock.skew.seconds": {
    kind: "int",
    default: "30",
    doc: "OAUTHBEARER: leeway for exp, nbf and iat against this broker's clock",
    min: 0,
  },
  "sasl.credentials.file": {
    kind: "string",
    default: null,
    doc: "Milena: a single broker's SCRAM credentials (salted, no password), managed with `milena users` or AlterUserScramCredentials (default: sasl-credentials.json in the first log dir); a cluster keeps them in ZooKeeper /config/users",
  },
  "sasl.server.max.receive.size": {
    kind: "int",
    default: "524288",
    doc: "Largest request a SASL client may send before it authenticated (larger ones close the connection)",
    min: 1024,
  },
  "connections.max.reauth.ms": {
    kind: "long",
    default: "0",
    doc: "A SASL session lasts this long (KIP-368): the client re-authenticates before, or is closed; 0 = no limit",
    min: 0,
  },
  "connection.failed.authentication.delay.ms": {
    kind: "int",
    default: "100",
    doc: "A failed authentication is answered after this delay, then the connection closed (slows guessing)",
    min: 0,
  },
  "ssl.key.location": {
    kind: "string",
    default: null,
    doc: "PEM private key of the SSL / SASL_SSL listeners (Kafka's ssl.keystore.location holds it in a JKS)",
  },
  "ssl.certificate.location": {
    kind: "string",
    default: null,
    doc: "PEM certificate chain of the SSL / SASL_SSL listeners; both files are read again when they change",
  },
  "ssl.ca.location": {
    kind: "string",
    default: null,
    doc: "PEM CA certificates client certificates are checked against (Kafka's ssl.truststore.location)",
  },
  "ssl.key.password": {
    kind: "string",
    default: null,
    doc: "Passphrase of ssl.key.location, when it is encrypted",
    sensitive: true,
  },
  "ssl.client.auth": {
    kind: "string",
    default: "none",
    doc: "none, requested (a client certificate is asked for and checked when given) or required; its subject is the principal (User:CN=...)",
  },
  "ssl.enabled.protocols": { kind: "list", default: "TLSv1.2,TLSv1.3", doc: "TLS versions accepted" },
  "ssl.endpoint.identification.algorithm": {
    kind: "string",
    default: "https",
    doc: "https: a broker connecting to another over an SSL / SASL_SSL inter-broker listener checks the name in its certificate against the host it connects to; empty: it checks only that a CA of ssl.ca.location signed it",
  },
  "ssl.cipher.suites": {
    kind: "list",
    default: "",
    doc: "OpenSSL cipher list for TLS 1.2 (empty: Node's defaults)",
  },
  "ssl.keystore.location": {
    kind: "string",
    default: null,
    doc: "Not read (Java keystore): give ssl.certificate.location and ssl.key.location instead; setting it stops startup with that advice",
  },
  "ssl.truststore.location": {
    kind: "string",
    default: null,
    doc: "Not read (Java keystore): give ssl.ca.location instead; setting it stops startup with that advice",
  },
  "advertised.listeners": {
    kind: "list",
    default: null,
    doc: "Listeners given to clients in Metadata, when they differ from listeners",
  },
  "zookeeper.connect": {
    kind: "string",
    default: null,
    doc: "ZooKeeper of the cluster: host:port[,host:port...][/chroot]; unset: a single broker on its own",
  },
  "zookeeper.session.timeout.ms": {
    kind: "int",
    default: "18000",
    doc: "ZooKeeper session timeout: a broker silent this long loses its registration and leaderships",
    min: 1,
  },
  "zookeeper.connection.timeout.ms": {
    kind: "int",
    default: null,
    doc: "How long to wait for the ZooKeeper connection at start (default: zookeeper.session.timeout.ms)",
    min: 1,
  },
  "broker.rack": { kind: "string", default: null, doc: "Rack of this broker (listed in Metadata)" },
  "num.replica.fetchers": {
    kind: "int",
    default: "1",
    doc: "Fetchers per source broker that copy its partitions to this one",
    min: 1,
  },
  "replica.fetch.wait.max.ms": {
    kind: "int",
    default: "500",
    doc: "Longest wait of a follower's fetch at its leader",
    min: 0,
  },
  "replica.fetch.min.bytes": {
    kind: "int",
    default: "1",
    doc: "Bytes a follower's fetch waits for",
    min: 1,
  },
  "replica.fetch.response.max.bytes": {
    kind: "int",
    default: "10485760",
    doc: "Largest fetch response a follower asks for",
    min: 0,
  },
  "replica.fetch.backoff.ms": {
    kind: "int",
    default: "1000",
    doc: "Pause of a follower's fetcher after an error",
    min: 0,
  },
  "replica.lag.time.max.ms": {
    kind: "long",
    default: "30000",
    doc: "A follower that has not caught up for this long leaves the ISR",
    min: 1,
  },
  "unclean.leader.election.enable": {
    kind: "bool",
    default: "false",
    doc: "Let a replica outside the ISR lead when no in-sync one is alive (loses data)",
  },
  "min.insync.replicas": {
    kind: "int",
    default: "1",
    doc: "In-sync replicas an acks=all produce needs (NOT_ENOUGH_REPLICAS below)",
    min: 1,
  },
  "auto.leader.rebalance.enable": {
    kind: "bool",
    default: "true",
    doc: "The controller moves leadership back to each partition's preferred replica (the first assigned) when it is in sync",
  },
  "leader.imbalance.check.interval.seconds": {
    kind: "long",
    default: "300",
    doc: "How often the controller checks for leaders away from their preferred replica",
    min: 1,
  },
  "leader.imbalance.per.broker.percentage": {
    kind: "int",
    default: "10",
    doc: "Share of a broker's preferred partitions led elsewhere above which the controller moves them back",
    min: 0,
  },
  "controlled.shutdown.enable": {
    kind: "bool",
    default: "true",
    doc: "On SIGTERM, move this broker's leaderships to other brokers before stopping",
  },
  "controlled.shutdown.max.retries": {
    kind: "int",
    default: "3",
    doc: "Attempts of a controlled shutdown",
    min: 0,
  },
  "controlled.shutdown.retry.backoff.ms": {
    kind: "long",
    default: "5000",
    doc: "Pause between controlled-shutdown attempts",
    min: 0,
  },
  "log.dirs": {
    kind: "list",
    default: null,
    doc: "Directories holding the partitions' logs (default: log.dir)",
  },
  "log.dir": {
    kind: "string",
    default: "/tmp/kafka-logs",
    doc: "Single log directory, used when log.dirs is not set",
  },
  "num.recovery.threads.per.data.dir": {
    kind: "int",
    default: "1",
    doc: "Recovery pool threads per log dir",
    min: 1,
  },
  "num.partition.writers": {
    kind: "int",
    default: null,
    doc: "Milena: partition writer worker threads (default: CPU cores)",
    min: 1,
  },
  "auto.create.topics.enable": {
    kind: "bool",
    default: "true",
    doc: "Create unknown topics on produce, fetch or metadata",
  },
  "num.partitions": { kind: "int", default: "1", doc: "Partitions of an auto-created topic", min: 1 },
  "default.replication.factor": {
    kind: "int",
    default: "1",
    doc: "Replication factor of auto-created topics",
    min: 1,
  },
  "delete.topic.enable": { kind: "bool", default: "true", doc: "Whether DeleteTopics deletes" },
  "log.retention.ms": { kind: "long", default: null, doc: "Retention by time (ms); -1 = forever", min: -1 },
  "log.retention.minutes": {
    kind: "int",
    default: null,
    doc: "Retention by time (minutes), used when log.retention.ms is not set",
    min: -1,
  },
  "log.retention.hours": {
    kind: "int",
    default: "168",
    doc: "Retention by time (hours), used when ms and minutes are not set",
    min: -1,
  },
  "log.retention.bytes": {
    kind: "long",
    default: "-1",
    doc: "Retention by size per partition; -1 = none",
    min: -1,
  },
  "log.retention.check.interval.ms": {
    kind: "long",
    default: "300000",
    doc: "How often retention is checked",
    min: 1,
  },
  "log.cleanup.policy": {
    kind: "list",
    default: "delete",
    doc: "What happens to old segments: delete (retention by time and size), compact (keep the last record per key), or both",
  },
  "log.cleaner.enable": {
    kind: "bool",
    default: "true",
    doc: "Run the log cleaner, which compacts topics with cleanup.policy=compact",
  },
  "log.cleaner.threads": {
    kind: "int",
    default: "1",
    doc: "Threads of the log cleaner pool (beside the recovery pool)",
    min: 1,
  },
  "log.cleaner.dedupe.buffer.size": {
    kind: "long",
    default: "134217728",
    doc: "Memory for the cleaners' key maps, across all cleaner threads (a clean stops where its map is full)",
    min: 1048576,
  },
  "log.cleaner.backoff.ms": {
    kind: "long",
    default: "15000",
    doc: "Pause of the cleaner when no log needs cleaning",
    min: 0,
  },
  "log.cleaner.min.cleanable.ratio": {
    kind: "double",
    default: "0.5",
    doc: "A log is cleaned once its dirty part is this share of it (topic: min.cleanable.dirty.ratio)",
    min: 0,
  },
  "log.cleaner.min.compaction.lag.ms": {
    kind: "long",
    default: "0",
    doc: "A record stays uncompacted at least this long (topic: min.compaction.lag.ms)",
    min: 0,
  },
  "log.cleaner.max.compaction.lag.ms": {
    kind: "long",
    default: LONG_MAX,
    doc: "A record is compacted at the latest this long after it was written, whatever the dirty ratio (topic: max.compaction.lag.ms)",
    min: 1,
  },
  "log.cleaner.delete.retention.ms": {
    kind: "long",
    default: "86400000",
    doc: "How long a tombstone (null value) stays after its first cleaning, so consumers see the deletion (topic: delete.retention.ms)",
    min: 0,
  },
  "log.segment.bytes": {
    kind: "int",
    default: "1073741824",
    doc: "Roll the active segment at this size",
    min: 14,
  },
  "log.roll.ms": { kind: "long", default: null, doc: "Roll the active segment at this age (ms)", min: 1 },
  "log.segment.ms": {
    kind: "long",
    default: null,
    doc: "Same as log.roll.ms (the reference notes' name)",
    min: 1,
  },
  "log.roll.hours": {
    kind: "int",
    default: "168",
    doc: "Roll the active segment at this age (hours), when no ms setting is given",
    min: 1,
  },
  "log.index.interval.bytes": {
    kind: "int",
    default: "4096",
    doc: "Bytes between sparse index entries",
    min: 0,
  },
  "log.flush.interval.messages": {
    kind: "long",
    default: LONG_MAX,
    doc: "fsync a partition after this many messages",
    min: 1,
  },
  "log.flush.interval.ms": {
    kind: "long",
    default: null,
    doc: "fsync a partition when its oldest unflushed message is this old",
    min: 0,
  },
  "message.max.bytes": {
    kind: "int",
    default: "1000000",
    doc: "Largest record batch a producer may send",
    min: 0,
  },
  "replica.fetch.max.bytes": {
    kind: "int",
    default: "1048576",
    doc: "Bytes per partition a follower fetches (must be >= message.max.bytes)",
  },
  "offsets.topic.num.partitions": {
    kind: "int",
    default: "50",
    doc: "Partitions of __consumer_offsets (fixed once it exists)",
    min: 1,
  },
  "offsets.topic.replication.factor": {
    kind: "int",
    default: "3",
    doc: "Replicas of __consumer_offsets in a cluster (capped to the live brokers when it is created)",
    min: 1,
  },
  "offsets.commit.timeout.ms": {
    kind: "int",
    default: "5000",
    doc: "How long a commit waits for the offsets partition's in-sync replicas (cluster)",
    min: 1,
  },
  "offsets.topic.segment.bytes": {
    kind: "int",
    default: "104857600",
    doc: "Segment size of __consumer_offsets",
    min: 14,
  },
  "offsets.retention.minutes": {
    kind: "int",
    default: "10080",
    doc: "A group empty this long loses its committed offsets",
    min: 1,
  },
  "offsets.retention.check.interval.ms": {
    kind: "long",
    default: "600000",
    doc: "How often offsets expiry is checked",
    min: 1,
  },
  "transaction.state.log.num.partitions": {
    kind: "int",
    default: "50",
    doc: "Partitions of __transaction_state (fixed once it exists)",
    min: 1,
  },
  "transaction.state.log.replication.factor": {
    kind: "int",
    default: "3",
    doc: "Replicas of __transaction_state in a cluster (capped to the live brokers when it is created)",
    min: 1,
  },
  "transaction.state.log.segment.bytes": {
    kind: "int",
    default: "104857600",
    doc: "Segment size of __transaction_state",
    min: 14,
  },
  "transaction.state.log.min.isr": {
    kind: "int",
    default: "2",
    doc: "min.insync.replicas of __transaction_state (never above its replication factor)",
    min: 1,
  },
  "transaction.max.timeout.ms": {
    kind: "int",
    default: "900000",
    doc: "Largest transaction timeout a producer may ask for (INVALID_TRANSACTION_TIMEOUT above)",
    min: 1,
  },
  "transactional.id.expiration.ms": {
    kind: "int",
    default: "604800000",
    doc: "A transactional id without a transaction for this long is forgotten",
    min: 1,
  },
  "transaction.abort.timed.out.transaction.cleanup.interval.ms": {
    kind: "int",
    default: "10000",
    doc: "How often transactions past their timeout are aborted",
    min: 1,
  },
  "transaction.remove.expired.transaction.cleanup.interval.ms": {
    kind: "int",
    default: "3600000",
    doc: "How often expired transactional ids are removed",
    min: 1,
  },
  "producer.id.expiration.ms": {
    kind: "int",
    default: "86400000",
    doc: "An idempotent producer's sequence state is forgotten this long after its last batch to a partition",
    min: 1,
  },
  "offset.metadata.max.bytes": {
    kind: "int",
    default: "4096",
    doc: "Largest metadata string of a committed offset",
    min: 0,
  },
  "group.min.session.timeout.ms": {
    kind: "int",
    default: "6000",
    doc: "Smallest session timeout a group member may ask for",
    min: 0,
  },
  "group.max.session.timeout.ms": {
    kind: "int",
    default: "1800000",
    doc: "Largest session timeout a group member may ask for",
    min: 0,
  },
  "group.initial.rebalance.delay.ms": {
    kind: "int",
    default: "3000",
    doc: "How long the first rebalance of an empty group waits for more members",
    min: 0,
  },
  "socket.request.max.bytes": {
    kind: "int",
    default: "104857600",
    doc: "Largest request frame; larger ones close the connection",
    min: 1,
  },
  "queued.max.request.bytes": {
    kind: "long",
    default: "536870912",
    doc: "Bytes of partial and waiting request frames across all connections; the connection that passes it is closed (-1 = no bound, Kafka's default)",
    min: -1,
  },
  "connections.max.idle.ms": {
    kind: "long",
    default: "600000",
    doc: "Close a connection that sent nothing and waited for nothing this long",
    min: 1,
  },
  "max.connections": {
    kind: "int",
    default: "10000",
    doc: "Open client connections the broker accepts, over every listener (Kafka's default is unbounded)",
    min: 1,
  },
  "max.connections.per.ip": {
    kind: "int",
    default: "2147483647",
    doc: "Open client connections from one IP address",
    min: 1,
  },
  "fetch.max.bytes": {
    kind: "int",
    default: "57671680",
    doc: "Largest fetch response the broker builds, whatever the request asks (a first batch larger than it still goes whole)",
    min: 1024,
  },
  "fetch.max.buffered.bytes": {
    kind: "long",
    default: "268435456",
    doc: "Milena: fetch data read from disk and not yet sent, over all connections; past it fetches shrink to 1 MiB",
    min: 1048576,
  },
  "max.partitions.per.request": {
    kind: "int",
    default: "10000",
    doc: "Milena: partitions one CreateTopics request (or one request's topic auto-creations) may create (POLICY_VIOLATION above)",
    min: 1,
  },
  "max.broker.partitions": {
    kind: "int",
    default: "50000",
    doc: "Partitions this broker holds at most (KIP-578's name); creations beyond fail with POLICY_VIOLATION",
    min: 1,
  },
  "log.max.open.files": {
    kind: "int",
    default: "4096",
    doc: "Milena: segment files kept open for reads and for appends, each (least recently used ones are closed)",
    min: 16,
  },
  "record.validation.enable": {
    kind: "bool",
    default: "true",
    doc: "Milena: the writers walk every produced record (and decompress compressed batches) as Kafka's LogValidator; false checks only batch headers and CRCs (for measuring the cost, or producers trusted completely)",
  },
  "metrics.listener": {
    kind: "string",
    default: "127.0.0.1:9644",
    doc: "Milena: host:port of the HTTP listener serving /metrics (Prometheus text format), /healthz and /readyz (GET and HEAD only); empty or off: none",
  },
  "console.enabled": {
    kind: "bool",
    default: "true",
    doc: "Milena: serve the web console at / on the HTTP listener (metrics.listener)",
  },
  "console.websocket.listener": {
    kind: "string",
    default: "",
    doc: "Milena: the WebSocket listener (a name in listeners, e.g. WEBSOCKET_SASL_SSL) the console's page connects to, at its advertised address; empty: the first WebSocket listener",
  },
  "websocket.allowed.origins": {
    kind: "list",
    default: "",
    doc: "Origins (scheme://host[:port]) whose browser pages may use the WebSocket listener; empty: this host only; * : any",
  },
  "schema.registry.listeners": {
    kind: "list",
    default: "http://127.0.0.1:8081",
    doc: "Milena: where the Schema Registry (Confluent's REST API) listens, http://host:port or https://host:port (TLS with ssl.key.location and ssl.certificate.location); empty: no registry",
  },
  "schema.registry.authentication.method": {
    kind: "string",
    default: null,
    doc: "Milena: NONE, or BASIC (HTTP Basic, checked against the SCRAM users as SASL PLAIN is); default BASIC when a listener uses SASL, else NONE",
  },
  "schema.registry.max.request.bytes": {
    kind: "int",
    default: "1048576",
    doc: "Milena: largest request body the Schema Registry reads (a schema with its JSON envelope); larger ones get 413",
    min: 1024,
  },
  "schema.registry.max.schemas": {
    kind: "int",
    default: "10000",
    doc: "Milena: schema versions the Schema Registry holds, all subjects together (soft-deleted ones count); a registration beyond gets 42205",
    min: 1,
  },
};

/** The validated values: numbers for int/long, booleans, strings, string lists. */
export type RawConfig = Map<string, string>;

export interface Listener {
  /** Kafka's listener name (PLAINTEXT, SSL, SASL_SSL, WEBSOCKET, INTERNAL, ...). */
  name: string;
  host: string;
  port: number;
}

/** Kafka's security protocols, which listener.security.protocol.map gives each listener. */
export type SecurityProtocol = "PLAINTEXT" | "SSL" | "SASL_PLAINTEXT" | "SASL_SSL";
const SECURITY_PROTOCOLS: readonly SecurityProtocol[] = ["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"];

/** How a listener is served: its security protocol, and whether over WebSocket. */
export interface ListenerSecurity {
  protocol: SecurityProtocol;
  /** Milena: a listener whose name starts with WEBSOCKET speaks the protocol over WebSocket. */
  websocket: boolean;
}

/** listener.security.protocol.map's defaults: Kafka's, and Milena's WebSocket names. */
const DEFAULT_PROTOCOL_MAP =
  "PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL," +
  "WEBSOCKET:PLAINTEXT,WEBSOCKET_SSL:SSL,WEBSOCKET_SASL_PLAINTEXT:SASL_PLAINTEXT,WEBSOCKET_SASL_SSL:SASL_SSL";

/** Whether a protocol runs TLS / SASL. */
export function usesTls(p: SecurityProtocol): boolean {
  return p === "SSL" || p === "SASL_SSL";
}
export function usesSasl(p: SecurityProtocol): boolean {
  return p === "SASL_PLAINTEXT" || p === "SASL_SSL";
}

export interface InterBrokerSasl {
  mechanism: string;
  username: string;
  password: string;
}

/** How OAUTHBEARER tokens are checked (Kafka's sasl.oauthbearer.* names, KIP-768). */
export interface OAuthBearerConfig {
  jwksEndpointUrl: string;
  jwksEndpointRefreshMs: number;
  expectedAudience: string[];
  expectedIssuer: string | null;
  subClaimName: string;
  scopeClaimName: string;
  clockSkewSeconds: number;
}

function oauthBearerConfig(values: Map<string, unknown>): OAuthBearerConfig {
  const url = values.get("sasl.oauthbearer.jwks.endpoint.url") as string | undefined;
  if (url === undefined || url.trim() === "")
    throw new ConfigError(
      "sasl.oauthbearer.jwks.endpoint.url is required when sasl.enabled.mechanisms includes OAUTHBEARER (a file: or https: URL of the JWKS tokens are verified with)",
    );
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new ConfigError(`sasl.oauthbearer.jwks.endpoint.url: "${url}" is not a URL`);
  }
  if (!["file:", "http:", "https:"].includes(u.protocol))
    throw new ConfigError(`sasl.oauthbearer.jwks.endpoint.url: ${u.protocol} is not file:, http: or https:`);
  if (u.protocol === "file:" && !fs.existsSync(u))
    throw new ConfigError(`sasl.oauthbearer.jwks.endpoint.url: ${url} does not exist`);
  const name = (k: string) => {
    const v = (values.get(k) as string).trim();
    if (v === "") throw new ConfigError(`${k} must not be empty`);
    return v;
  };
  return {
    jwksEndpointUrl: url,
    jwksEndpointRefreshMs: values.get("sasl.oauthbearer.jwks.endpoint.refresh.ms") as number,
    expectedAudience: (values.get("sasl.oauthbearer.expected.audience") as string[]).filter((a) => a !== ""),
    expectedIssuer: (values.get("sasl.oauthbearer.expected.issuer") as string | undefined) ?? null,
    subClaimName: name("sasl.oauthbearer.sub.claim.name"),
    scopeClaimName: name("sasl.oauthbearer.scope.claim.name"),
    clockSkewSeconds: values.get("sasl.oauthbearer.clock.skew.seconds") as number,
  };
}

export interface BrokerConfig {
  brokerId: number;
  /** metrics.listener: the HTTP listener's address (null: off). */
  metricsListener: { host: string; port: number } | null;
  /** console.enabled and console.websocket.listener: the WebSocket listener the console uses (null: no console). */
  consoleListener: string | null;
  listeners: Listener[];
  advertised: Listener[];
  /** Each listener's security protocol and transport, by name. */
  listenerSecurity: Map<string, ListenerSecurity>;
  /** inter.broker.listener.name: the listener brokers use to reach each other. */
  interBrokerListenerName: string;
  /** Its security protocol (TLS and SASL of the connections to the other brokers). */
  interBrokerProtocol: SecurityProtocol;
  /** The credentials this broker authenticates to the others with (a cluster's SASL inter-broker listener). */
  interBrokerSasl: InterBrokerSasl | null;
  /** TLS (ssl.*): PEM files, for the SSL and SASL_SSL listeners. */
  ssl: SslConfig;
  saslEnabledMechanisms: string[];
  /** sasl.oauthbearer.*: set when sasl.enabled.mechanisms has OAUTHBEARER. */
  oauthbearer: OAuthBearerConfig | null;
  /** authorizer.class.name set: Kafka's ACLs are enforced. */
  authorizerEnabled: boolean;
  superUsers: string;
  allowEveryoneIfNoAclFound: boolean;
  saslCredentialsFile: string;
  connectionsMaxReauthMs: number;
  saslServerMaxReceiveSize: number;
  connectionFailedAuthenticationDelayMs: number;
  logDirs: string[];
  recoveryThreadsPerDataDir: number;
  partitionWriters: number;
  autoCreateTopics: boolean;
  numPartitions: number;
  deleteTopicEnable: boolean;
  retentionMs: number;
  retentionBytes: number;
  retentionCheckIntervalMs: number;
  segmentBytes: number;
  segmentMs: number;
  indexIntervalBytes: number;
  /** log.cleanup.policy: "delete", "compact" or "compact,delete" (normalised). */
  cleanupPolicy: string;
  cleanerEnable: boolean;
  cleanerThreads: number;
  cleanerDedupeBufferSize: number;
  cleanerBackoffMs: number;
  cleanerMinCleanableRatio: number;
  cleanerMinCompactionLagMs: number;
  cleanerMaxCompactionLagMs: number;
  cleanerDeleteRetentionMs: number;
  flushMessages: number;
  flushMs: number;
  messageMaxBytes: number;
  replicaFetchMaxBytes: number;
  socketRequestMaxBytes: number;
  queuedMaxRequestBytes: number;
  connectionsMaxIdleMs: number;
  maxConnections: number;
  maxConnectionsPerIp: number;
  fetchMaxBytes: number;
  fetchMaxBufferedBytes: number;
  maxPartitionsPerRequest: number;
  maxBrokerPartitions: number;
  logMaxOpenFiles: number;
  recordValidation: boolean;
  websocketAllowedOrigins: string[];
  /** schema.registry.*: null when schema.registry.listeners is empty. */
  schemaRegistry: SchemaRegistryConfig | null;
  offsetsTopicPartitions: number;
  offsetsTopicSegmentBytes: number;
  offsetsTopicReplicationFactor: number;
  offsetsCommitTimeoutMs: number;
  offsetsRetentionMs: number;
  offsetsRetentionCheckIntervalMs: number;
  offsetMetadataMaxBytes: number;
  producerIdExpirationMs: number;
  transactionStateLogPartitions: number;
  transactionStateLogReplicationFactor: number;
  transactionStateLogSegmentBytes: number;
  transactionStateLogMinIsr: number;
  transactionMaxTimeoutMs: number;
  transactionalIdExpirationMs: number;
  transactionAbortTimedOutIntervalMs: number;
  transactionRemoveExpiredIntervalMs: number;
  groupMinSessionTimeoutMs: number;
  groupMaxSessionTimeoutMs: number;
  groupInitialRebalanceDelayMs: number;
  zookeeperConnect: string | null;
  zookeeperSessionTimeoutMs: number;
  zookeeperConnectionTimeoutMs: number;
  brokerRack: string | null;
  numReplicaFetchers: number;
  replicaFetchWaitMaxMs: number;
  replicaFetchMinBytes: number;
  replicaFetchResponseMaxBytes: number;
  replicaFetchBackoffMs: number;
  replicaLagTimeMaxMs: number;
  uncleanLeaderElectionEnable: boolean;
  minInsyncReplicas: number;
  defaultReplicationFactor: number;
  controlledShutdownEnable: boolean;
  autoLeaderRebalanceEnable: boolean;
  leaderImbalanceCheckIntervalMs: number;
  leaderImbalancePerBrokerPercentage: number;
  controlledShutdownMaxRetries: number;
  controlledShutdownRetryBackoffMs: number;
  /** Every key with its effective value and where it came from. */
  effective: Map<string, { value: string | null; source: "default" | "static" }>;
  warnings: string[];
}

export interface SchemaRegistryConfig {
  listeners: { tls: boolean; host: string; port: number }[];
  authentication: "NONE" | "BASIC";
  maxRequestBytes: number;
  maxSchemas: number;
}

export interface SslConfig {
  keyLocation: string | null;
  certificateLocation: string | null;
  caLocation: string | null;
  keyPassword: string | null;
  clientAuth: "none" | "requested" | "required";
  /** TLS versions allowed (ssl.enabled.protocols). */
  enabledProtocols: string[];
  cipherSuites: string[];
  /** ssl.endpoint.identification.algorithm: "https" (check the peer's name) or "" (don't). */
  endpointIdentificationAlgorithm: string;
}

/** Parse Java-properties text: key=value or key: value, # and ! comments, \ continuations. */
export function parseProperties(text: string, origin: string): RawConfig {
  const out: RawConfig = new Map();
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i].trim();
    const lineNo = i + 1;
    // Comments never continue (Java's properties format): a trailing backslash there is text.
    if (line === "" || line.startsWith("#") || line.startsWith("!")) continue;
    while (line.endsWith("\\") && i + 1 < lines.length) line = line.slice(0, -1) + lines[++i].trim();
    const m = /^([^=:\s]+)\s*[=:]\s*(.*)$/.exec(line);
    if (!m) throw new ConfigError(`${origin}:${lineNo}: expected key=value, got "${line}"`);
    out.set(m[1], m[2].trim());
  }
  return out;
}

export function loadConfigFile(path: string): RawConfig {
  let text: string;
  try {
    text = fs.readFileSync(path, "utf8");
  } catch (e) {
    throw new ConfigError(`cannot read config file ${path}: ${(e as Error).message}`);
  }
  return parseProperties(text, path);
}

function parseValue(key: string, def: KeyDef, raw: string): number | boolean | string | string[] {
  switch (def.kind) {
    case "int":
    case "long": {
      if (!/^-?\d+$/.test(raw)) throw new ConfigError(`${key}: "${raw}" is not an integer`);
      const big = BigInt(raw);
      if (def.kind === "long" && (big > 9223372036854775807n || big < -9223372036854775808n)) {
        throw new ConfigError(`${key}: ${raw} is out of long range`);
      }
      // Longs beyond 2^53 (Long.MAX_VALUE as "unlimited") saturate at the largest exact number.
      const n = big > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(raw);
      if (def.kind === "int" && (n > 2147483647 || n < -2147483648))
        throw new ConfigError(`${key}: ${raw} is out of int range`);
      if (def.min !== undefined && n < def.min)
        throw new ConfigError(`${key}: ${raw} is below the minimum ${def.min}`);
      return Math.min(n, Number.MAX_SAFE_INTEGER);
    }
    case "double": {
      const n = Number(raw);
      if (raw.trim() === "" || !Number.isFinite(n)) throw new ConfigError(`${key}: "${raw}" is not a number`);
      if (def.min !== undefined && n < def.min)
        throw new ConfigError(`${key}: ${raw} is below the minimum ${def.min}`);
      return n;
    }
    case "bool":
      if (raw !== "true" && raw !== "false") throw new ConfigError(`${key}: "${raw}" is not true or false`);
      return raw === "true";
    case "string":
      return raw;
    case "list":
      return raw
        .split(",")
        .map((s) => s.trim())
        .filter((s) => s !== "");
  }
}

function parseListener(key: string, s: string): Listener {
  const m = /^([A-Za-z_][A-Za-z0-9_]*):\/\/(\[[^\]]*\]|[^:]*):(\d+)$/.exec(s);
  if (!m) throw new ConfigError(`${key}: "${s}" is not NAME://host:port`);
  const name = m[1].toUpperCase();
  const port = Number(m[3]);
  if (port > 65535) throw new ConfigError(`${key}: port ${port} is out of range`);
  return { name, host: m[2] === "" ? "0.0.0.0" : m[2].replace(/^\[|\]$/g, ""), port };
}

function schemaRegistryConfig(
  values: Map<string, unknown>,
  listenerSecurity: Map<string, ListenerSecurity>,
  ssl: SslConfig,
): SchemaRegistryConfig | null {
  const urls = values.get("schema.registry.listeners") as string[];
  if (urls.length === 0) return null;
  const listeners = urls.map((u) => {
    const m = /^(https?):\/\/(\[[^\]]*\]|[^:/]*):(\d+)\/?$/i.exec(u);
    if (!m)
      throw new ConfigError(`schema.registry.listeners: "${u}" is not http://host:port or https://host:port`);
    const port = Number(m[3]);
    if (port > 65535) throw new ConfigError(`schema.registry.listeners: port ${port} is out of range`);
    const tls = m[1].toLowerCase() === "https";
    if (tls && (ssl.keyLocation === null || ssl.certificateLocation === null))
      throw new ConfigError(
        "schema.registry.listeners: an https listener needs ssl.key.location and ssl.certificate.location",
      );
    return { tls, host: m[2] === "" ? "0.0.0.0" : m[2].replace(/^\[|\]$/g, ""), port };
  });
  const method = values.get("schema.registry.authentication.method") as string | undefined;
  let authentication: "NONE" | "BASIC";
  if (method === undefined)
    authentication = [...listenerSecurity.values()].some((l) => usesSasl(l.protocol)) ? "BASIC" : "NONE";
  else if (method.toUpperCase() === "NONE" || method.toUpperCase() === "BASIC")
    authentication = method.toUpperCase() as "NONE" | "BASIC";
  else throw new ConfigError(`schema.registry.authentication.method: "${method}" is not NONE or BASIC`);
  return {
    listeners,
    authentication,
    maxRequestBytes: values.get("schema.registry.max.request.bytes") as number,
    maxSchemas: values.get("schema.registry.max.schemas") as number,
  };
}

/** host:port ([v6]:port), or null for empty / off (metrics.listener). */
function parseHostPort(key: string, s: string): { host: string; port: number } | null {
  const v = s.trim();
  if (v === "" || v.toLowerCase() === "off") return null;
  const m = /^(\[[^\]]+\]|[^:[\]\s]+):(\d{1,5})$/.exec(v);
  if (!m) throw new ConfigError(`${key}: "${s}" is not host:port (or empty / off)`);
  const port = Number(m[2]);
  if (port > 65535) throw new ConfigError(`${key}: port ${port} is out of range (0-65535)`);
  return { host: m[1].replace(/^\[|\]$/g, ""), port };
}

/** Build the broker config from file values then overrides (later wins). */
export function resolveConfig(file: RawConfig, overrides: RawConfig = new Map()): BrokerConfig {
  const raw: RawConfig = new Map([...file, ...overrides]);
  const values = new Map<string, number | boolean | string | string[]>();
  const effective: BrokerConfig["effective"] = new Map();
  const warnings: string[] = [];
  /** listener.name.<listener>.<mechanism>.sasl.jaas.config, by "<LISTENER>/<MECHANISM>". */
  const listenerJaas = new Map<string, string>();
  for (const [key, v] of raw) {
    const lj = LISTENER_JAAS_KEY.exec(key);
    if (lj !== null) {
      listenerJaas.set(`${lj[1].toUpperCase()}/${lj[2].toUpperCase()}`, v);
      continue;
    }
    const def = KEYS[key];
    if (def === undefined) throw new ConfigError(`unknown config key "${key}"`);
    values.set(key, parseValue(key, def, v));
    if (def.notYetUsed) warnings.push(`${key} is set but ${def.notYetUsed}`);
  }
  for (const [key, def] of Object.entries(KEYS)) {
    if (raw.has(key)) effective.set(key, { value: raw.get(key)!, source: "static" });
    else effective.set(key, { value: def.default, source: "default" });
    if (!values.has(key) && def.default !== null) values.set(key, parseValue(key, def, def.default));
  }
  const num = (k: string): number => values.get(k) as number;
  const has = (k: string): boolean => raw.has(k);

  let listeners: Listener[];
  if (has("listeners") || (!has("port") && !has("host.name"))) {
    listeners = (values.get("listeners") as string[]).map((s) => parseListener("listeners", s));
  } else {
    const host = (values.get("host.name") as string | undefined) ?? "0.0.0.0";
    const port = has("port") ? num("port") : 9092;
    if (port > 65535) throw new ConfigError(`port: ${port} is out of range (0-65535)`);
    listeners = [{ name: "PLAINTEXT", host, port }];
  }
  const names = listeners.map((l) => l.name);
  if (new Set(names).size !== names.length)
    throw new ConfigError("listeners: each listener name may appear once");
  // listener.security.protocol.map: its entries on top of the defaults (Kafka's and Milena's).
  const protocolOf = new Map<string, SecurityProtocol>();
  for (const [k, entries] of [
    ["(default)", DEFAULT_PROTOCOL_MAP.split(",")],
    ["listener.security.protocol.map", values.get("listener.security.protocol.map") as string[]],
  ] as const) {
    for (const e of entries) {
      const mm = /^([A-Za-z_][A-Za-z0-9_]*):([A-Za-z_]+)$/.exec(e.trim());
      const proto = mm?.[2].toUpperCase() as SecurityProtocol | undefined;
      if (!mm || proto === undefined || !SECURITY_PROTOCOLS.includes(proto))
        throw new ConfigError(
          `${k}: "${e}" is not NAME:PROTOCOL with PROTOCOL one of ${SECURITY_PROTOCOLS.join(", ")}`,
        );
      protocolOf.set(mm[1].toUpperCase(), proto);
    }
  }
  const listenerSecurity = new Map<string, ListenerSecurity>();
  for (const l of listeners) {
    const protocol = protocolOf.get(l.name);
    if (protocol === undefined)
      throw new ConfigError(
        `listeners: listener ${l.name} has no security protocol: name it in listener.security.protocol.map (e.g. ${l.name}:SSL)`,
      );
    listenerSecurity.set(l.name, { protocol, websocket: l.name.startsWith("WEBSOCKET") });
  }
  const tcpListeners = listeners.filter((l) => !listenerSecurity.get(l.name)!.websocket);
  if (tcpListeners.length === 0)
    throw new ConfigError(
      "listeners: a Kafka protocol listener over TCP (e.g. PLAINTEXT://host:9092) is required",
    );
  const interBrokerListenerName = has("inter.broker.listener.name")
    ? (values.get("inter.broker.listener.name") as string).toUpperCase()
    : (tcpListeners.find((l) => listenerSecurity.get(l.name)!.protocol === "PLAINTEXT") ?? tcpListeners[0])
        .name;
  const interBroker = listenerSecurity.get(interBrokerListenerName);
  if (interBroker === undefined || interBroker.websocket)
    throw new ConfigError(
      `inter.broker.listener.name: ${interBrokerListenerName} is not one of the TCP listeners (${tcpListeners.map((l) => l.name).join(", ")})`,
    );
  // Only a cluster's brokers connect to each other: a single broker needs no credentials of its own.
  const interBrokerSasl =
    usesSasl(interBroker.protocol) && zookeeperConnectOf(values) !== null
      ? interBrokerSaslOf(
          interBrokerListenerName,
          values.get("sasl.mechanism.inter.broker.protocol") as string,
          listenerJaas,
          (values.get("sasl.jaas.config") as string | undefined) ?? null,
        )
      : null;
  const ssl: SslConfig = {
    keyLocation: (values.get("ssl.key.location") as string | undefined) ?? null,
    certificateLocation: (values.get("ssl.certificate.location") as string | undefined) ?? null,
    caLocation: (values.get("ssl.ca.location") as string | undefined) ?? null,
    keyPassword: (values.get("ssl.key.password") as string | undefined) ?? null,
    clientAuth: values.get("ssl.client.auth") as SslConfig["clientAuth"],
    enabledProtocols: values.get("ssl.enabled.protocols") as string[],
    endpointIdentificationAlgorithm: (
      (values.get("ssl.endpoint.identification.algorithm") as string | undefined) ?? ""
    )
      .trim()
      .toLowerCase(),
    cipherSuites: values.get("ssl.cipher.suites") as string[],
  };
  if (!["https", ""].includes(ssl.endpointIdentificationAlgorithm))
    throw new ConfigError(
      `ssl.endpoint.identification.algorithm: "${ssl.endpointIdentificationAlgorithm}" is not https or empty`,
    );
  if (!["none", "requested", "required"].includes(ssl.clientAuth))
    throw new ConfigError(`ssl.client.auth: "${ssl.clientAuth}" is not none, requested or required`);
  for (const v of ssl.enabledProtocols)
    if (!["TLSv1.2", "TLSv1.3"].includes(v))
      throw new ConfigError(`ssl.enabled.protocols: "${v}" is not TLSv1.2 or TLSv1.3`);
  for (const jks of ["ssl.keystore.location", "ssl.truststore.location"])
    if (has(jks))
      throw new ConfigError(
        `${jks}: Java keystores are not read; give PEM files: ssl.certificate.location and ssl.key.location (the keystore's certificate and key), ssl.ca.location (the truststore's CA certificates)`,
      );
  if (listeners.some((l) => usesTls(listenerSecurity.get(l.name)!.protocol))) {
    for (const [k, v] of [
      ["ssl.key.location", ssl.keyLocation],
      ["ssl.certificate.location", ssl.certificateLocation],
    ] as const) {
      if (v === null) throw new ConfigError(`${k} is required by the SSL / SASL_SSL listeners`);
      if (!fs.existsSync(v)) throw new ConfigError(`${k}: ${v} does not exist`);
    }
    if (ssl.caLocation !== null && !fs.existsSync(ssl.caLocation))
      throw new ConfigError(`ssl.ca.location: ${ssl.caLocation} does not exist`);
    if (ssl.clientAuth !== "none" && ssl.caLocation === null)
      throw new ConfigError(
        `ssl.client.auth=${ssl.clientAuth} needs ssl.ca.location (the CAs client certificates are checked against)`,
      );
  }
  const saslEnabledMechanisms = (values.get("sasl.enabled.mechanisms") as string[]).map((m) =>
    m.toUpperCase(),
  );
  for (const m of saslEnabledMechanisms)
    if (!["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"].includes(m))
      throw new ConfigError(
        `sasl.enabled.mechanisms: ${m} is not served (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER; GSSAPI is not)`,
      );
  const oauthbearer = saslEnabledMechanisms.includes("OAUTHBEARER") ? oauthBearerConfig(values) : null;
  if (
    saslEnabledMechanisms.length === 0 &&
    listeners.some((l) => usesSasl(listenerSecurity.get(l.name)!.protocol))
  )
    throw new ConfigError("sasl.enabled.mechanisms: the SASL listeners need at least one mechanism");
  const authorizerName = (values.get("authorizer.class.name") as string).trim();
  const AUTHORIZERS = [
    "kafka.security.authorizer.AclAuthorizer",
    "kafka.security.auth.SimpleAclAuthorizer",
    "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
    "milena",
  ];
  if (authorizerName !== "" && !AUTHORIZERS.includes(authorizerName))
    throw new ConfigError(
      `authorizer.class.name: ${authorizerName} is not served (${AUTHORIZERS.join(", ")})`,
    );
  const authorizerEnabled = authorizerName !== "";
  const advertised = has("advertised.listeners")
    ? (values.get("advertised.listeners") as string[]).map((s) => parseListener("advertised.listeners", s))
    : listeners;
  for (const a of advertised)
    if (!listenerSecurity.has(a.name))
      throw new ConfigError(
        `advertised.listeners: ${a.name} is not one of the listeners (${names.join(", ")})`,
      );

  const logDirs = has("log.dirs") ? (values.get("log.dirs") as string[]) : [values.get("log.dir") as string];
  if (logDirs.length === 0 || logDirs.some((d) => d.trim() === "")) {
    throw new ConfigError(
      `${has("log.dirs") ? "log.dirs" : "log.dir"}: at least one non-empty directory is required`,
    );
  }
  if (new Set(logDirs).size !== logDirs.length)
    throw new ConfigError("log.dirs: a directory is listed twice");

  // Retention precedence, as Kafka: ms > minutes > hours; -1 (any of them) = forever.
  let retentionMs: number;
  if (has("log.retention.ms")) retentionMs = num("log.retention.ms");
  else if (has("log.retention.minutes")) retentionMs = num("log.retention.minutes") * 60_000;
  else retentionMs = num("log.retention.hours") * 3_600_000;
  if (retentionMs < 0) retentionMs = -1;

  // Roll: log.roll.ms (or its alias log.segment.ms) > log.roll.hours.
  if (has("log.roll.ms") && has("log.segment.ms") && num("log.roll.ms") !== num("log.segment.ms")) {
    throw new ConfigError("log.segment.ms and log.roll.ms are the same setting and disagree");
  }
  const segmentMs = has("log.roll.ms")
    ? num("log.roll.ms")
    : has("log.segment.ms")
      ? num("log.segment.ms")
      : num("log.roll.hours") * 3_600_000;

  const messageMaxBytes = num("message.max.bytes");
  const replicaFetchMaxBytes = num("replica.fetch.max.bytes");
  if (has("replica.fetch.max.bytes") && replicaFetchMaxBytes < messageMaxBytes) {
    throw new ConfigError(
      `replica.fetch.max.bytes (${replicaFetchMaxBytes}) must be >= message.max.bytes (${messageMaxBytes})`,
    );
  }
  const segmentBytes = num("log.segment.bytes");
  if (messageMaxBytes > segmentBytes) {
    throw new ConfigError(
      `message.max.bytes (${messageMaxBytes}) must not exceed log.segment.bytes (${segmentBytes})`,
    );
  }
  if (num("group.min.session.timeout.ms") > num("group.max.session.timeout.ms")) {
    throw new ConfigError("group.min.session.timeout.ms must not exceed group.max.session.timeout.ms");
  }
  const flushMessages = num("log.flush.interval.messages");
  const maxBrokerPartitions = num("max.broker.partitions");
  if (maxBrokerPartitions > MAX_PARTITION_SLOTS) {
    throw new ConfigError(
      `max.broker.partitions: ${maxBrokerPartitions} is above the most one broker can hold (${MAX_PARTITION_SLOTS})`,
    );
  }
  const cleanupPolicy = normaliseCleanupPolicy(values.get("log.cleanup.policy") as string[]);
  if (cleanupPolicy === null)
    throw new ConfigError(
      `log.cleanup.policy: "${raw.get("log.cleanup.policy")}" is not delete, compact or compact,delete`,
    );
  if (num("log.cleaner.min.cleanable.ratio") > 1)
    throw new ConfigError("log.cleaner.min.cleanable.ratio: must be between 0 and 1");
  const websocketAllowedOrigins = values.get("websocket.allowed.origins") as string[];
  for (const o of websocketAllowedOrigins) {
    if (o !== "*" && !/^[a-z][a-z0-9+.-]*:\/\/[^/\s]+$/i.test(o)) {
      throw new ConfigError(`websocket.allowed.origins: "${o}" is not scheme://host[:port] or *`);
    }
  }
  if (websocketAllowedOrigins.includes("*")) {
    warnings.push(
      "websocket.allowed.origins=* lets any web page open in a browser on a host that reaches the WebSocket listener produce, consume and delete topics",
    );
  }
  const schemaRegistry = schemaRegistryConfig(values, listenerSecurity, ssl);
  const zookeeperConnect = (values.get("zookeeper.connect") as string | undefined) ?? null;
  if (zookeeperConnect !== null && !/^[^/,\s]+:\d+(,[^/,\s]+:\d+)*(\/[^\s]*)?$/.test(zookeeperConnect))
    throw new ConfigError(
      `zookeeper.connect: "${zookeeperConnect}" is not host:port[,host:port...][/chroot]`,
    );
  const consoleListener = consoleListenerOf(
    values.get("console.enabled") as boolean,
    values.get("console.websocket.listener") as string,
    listeners,
    listenerSecurity,
  );
  if (zookeeperConnect === null && num("default.replication.factor") > 1)
    throw new ConfigError("default.replication.factor above 1 needs a cluster (zookeeper.connect)");
  return {
    brokerId: num("broker.id"),
    metricsListener: parseHostPort("metrics.listener", values.get("metrics.listener") as string),
    consoleListener,
    listeners,
    advertised,
    listenerSecurity,
    interBrokerListenerName,
    interBrokerProtocol: interBroker.protocol,
    interBrokerSasl,
    ssl,
    saslEnabledMechanisms,
    oauthbearer,
    authorizerEnabled,
    superUsers: values.get("super.users") as string,
    allowEveryoneIfNoAclFound: values.get("allow.everyone.if.no.acl.found") as boolean,
    saslCredentialsFile:
      (values.get("sasl.credentials.file") as string | undefined) ??
      join(logDirs[0], "sasl-credentials.json"),
    connectionsMaxReauthMs: num("connections.max.reauth.ms"),
    saslServerMaxReceiveSize: num("sasl.server.max.receive.size"),
    connectionFailedAuthenticationDelayMs: num("connection.failed.authentication.delay.ms"),
    logDirs,
    recoveryThreadsPerDataDir: num("num.recovery.threads.per.data.dir"),
    partitionWriters: has("num.partition.writers") ? num("num.partition.writers") : availableParallelism(),
    autoCreateTopics: values.get("auto.create.topics.enable") as boolean,
    numPartitions: num("num.partitions"),
    deleteTopicEnable: values.get("delete.topic.enable") as boolean,
    retentionMs,
    retentionBytes: num("log.retention.bytes"),
    retentionCheckIntervalMs: num("log.retention.check.interval.ms"),
    segmentBytes,
    segmentMs,
    indexIntervalBytes: num("log.index.interval.bytes"),
    cleanupPolicy,
    cleanerEnable: values.get("log.cleaner.enable") as boolean,
    cleanerThreads: num("log.cleaner.threads"),
    cleanerDedupeBufferSize: num("log.cleaner.dedupe.buffer.size"),
    cleanerBackoffMs: num("log.cleaner.backoff.ms"),
    cleanerMinCleanableRatio: num("log.cleaner.min.cleanable.ratio"),
    cleanerMinCompactionLagMs: num("log.cleaner.min.compaction.lag.ms"),
    cleanerMaxCompactionLagMs: num("log.cleaner.max.compaction.lag.ms"),
    cleanerDeleteRetentionMs: num("log.cleaner.delete.retention.ms"),
    flushMessages: flushMessages >= Number.MAX_SAFE_INTEGER ? 0 : flushMessages,
    flushMs: has("log.flush.interval.ms") ? num("log.flush.interval.ms") : 0,
    messageMaxBytes,
    replicaFetchMaxBytes,
    socketRequestMaxBytes: num("socket.request.max.bytes"),
    queuedMaxRequestBytes: num("queued.max.request.bytes"),
    connectionsMaxIdleMs: num("connections.max.idle.ms"),
    maxConnections: num("max.connections"),
    maxConnectionsPerIp: num("max.connections.per.ip"),
    fetchMaxBytes: num("fetch.max.bytes"),
    fetchMaxBufferedBytes: num("fetch.max.buffered.bytes"),
    maxPartitionsPerRequest: num("max.partitions.per.request"),
    maxBrokerPartitions,
    logMaxOpenFiles: num("log.max.open.files"),
    recordValidation: values.get("record.validation.enable") as boolean,
    websocketAllowedOrigins,
    schemaRegistry,
    offsetsTopicPartitions: num("offsets.topic.num.partitions"),
    offsetsTopicSegmentBytes: num("offsets.topic.segment.bytes"),
    offsetsTopicReplicationFactor: num("offsets.topic.replication.factor"),
    offsetsCommitTimeoutMs: num("offsets.commit.timeout.ms"),
    offsetsRetentionMs: num("offsets.retention.minutes") * 60_000,
    offsetsRetentionCheckIntervalMs: num("offsets.retention.check.interval.ms"),
    offsetMetadataMaxBytes: num("offset.metadata.max.bytes"),
    producerIdExpirationMs: num("producer.id.expiration.ms"),
    transactionStateLogPartitions: num("transaction.state.log.num.partitions"),
    transactionStateLogReplicationFactor: num("transaction.state.log.replication.factor"),
    transactionStateLogSegmentBytes: num("transaction.state.log.segment.bytes"),
    transactionStateLogMinIsr: num("transaction.state.log.min.isr"),
    transactionMaxTimeoutMs: num("transaction.max.timeout.ms"),
    transactionalIdExpirationMs: num("transactional.id.expiration.ms"),
    transactionAbortTimedOutIntervalMs: num("transaction.abort.timed.out.transaction.cleanup.interval.ms"),
    transactionRemoveExpiredIntervalMs: num("transaction.remove.expired.transaction.cleanup.interval.ms"),
    groupMinSessionTimeoutMs: num("group.min.session.timeout.ms"),
    groupMaxSessionTimeoutMs: num("group.max.session.timeout.ms"),
    groupInitialRebalanceDelayMs: num("group.initial.rebalance.delay.ms"),
    zookeeperConnect,
    zookeeperSessionTimeoutMs: num("zookeeper.session.timeout.ms"),
    zookeeperConnectionTimeoutMs: has("zookeeper.connection.timeout.ms")
      ? num("zookeeper.connection.timeout.ms")
      : num("zookeeper.session.timeout.ms"),
    brokerRack: (values.get("broker.rack") as string | undefined) ?? null,
    numReplicaFetchers: num("num.replica.fetchers"),
    replicaFetchWaitMaxMs: num("replica.fetch.wait.max.ms"),
    replicaFetchMinBytes: num("replica.fetch.min.bytes"),
    replicaFetchResponseMaxBytes: num("replica.fetch.response.max.bytes"),
    replicaFetchBackoffMs: num("replica.fetch.backoff.ms"),
    replicaLagTimeMaxMs: num("replica.lag.time.max.ms"),
    uncleanLeaderElectionEnable: values.get("unclean.leader.election.enable") as boolean,
    minInsyncReplicas: num("min.insync.replicas"),
    defaultReplicationFactor: num("default.replication.factor"),
    controlledShutdownEnable: values.get("controlled.shutdown.enable") as boolean,
    autoLeaderRebalanceEnable: values.get("auto.leader.rebalance.enable") as boolean,
    leaderImbalanceCheckIntervalMs: num("leader.imbalance.check.interval.seconds") * 1000,
    leaderImbalancePerBrokerPercentage: num("leader.imbalance.per.broker.percentage"),
    controlledShutdownMaxRetries: num("controlled.shutdown.max.retries"),
    controlledShutdownRetryBackoffMs: num("controlled.shutdown.retry.backoff.ms"),
    effective,
    warnings,
  };
}

/**
 * A cleanup policy list (broker or topic) in its one spelling: "delete", "compact" or
 * "compact,delete" (either order, each once); null when it is anything else (empty included).
 */
export function normaliseCleanupPolicy(items: readonly string[]): string | null {
  const set = new Set(items.map((s) => s.trim().toLowerCase()).filter((s) => s !== ""));
  if (set.size === 0 || set.size !== items.length || [...set].some((s) => s !== "delete" && s !== "compact"))
    return null;
  return set.size === 2 ? "compact,delete" : [...set][0];
}

/** The listener the console's page uses: the named one (which must be a WebSocket listener) or the first WebSocket one. */
function consoleListenerOf(
  enabled: boolean,
  named: string,
  listeners: Listener[],
  security: Map<string, ListenerSecurity>,
): string | null {
  if (!enabled) return null;
  if (named === "") return listeners.find((l) => security.get(l.name)!.websocket)?.name ?? null;
  const sec = security.get(named);
  if (sec === undefined)
    throw new ConfigError(
      `console.websocket.listener: ${named} is not one of the listeners (${listeners.map((l) => l.name).join(", ")})`,
    );
  if (!sec.websocket)
    throw new ConfigError(
      `console.websocket.listener: ${named} is not a WebSocket listener (the console runs in a browser)`,
    );
  return named;
}

/** listener.name.<listener>.<mechanism>.sasl.jaas.config (Kafka's per-listener JAAS override). */
const LISTENER_JAAS_KEY = /^listener\.name\.([a-z0-9_]+)\.([a-z0-9-]+)\.sasl\.jaas\.config$/i;

const INTER_BROKER_MECHANISMS = ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"];

/** The SASL credentials a broker presents to the others (inter.broker.listener.name is SASL). */
function interBrokerSaslOf(
  listener: string,
  mechanismValue: string,
  listenerJaas: Map<string, string>,
  jaas: string | null,
): InterBrokerSasl {
  const mechanism = mechanismValue.toUpperCase();
  if (!INTER_BROKER_MECHANISMS.includes(mechanism))
    throw new ConfigError(
      `sasl.mechanism.inter.broker.protocol: ${mechanismValue}${mechanismValue === "GSSAPI" ? " (Kafka's default)" : ""} is not served; inter.broker.listener.name ${listener} is a SASL listener: set PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512`,
    );
  const perListener = `listener.name.${listener.toLowerCase()}.${mechanism.toLowerCase()}.sasl.jaas.config`;
  const [key, text] = listenerJaas.has(`${listener}/${mechanism}`)
    ? [perListener, listenerJaas.get(`${listener}/${mechanism}`)!]
    : ["sasl.jaas.config", jaas];
  if (text === null)
    throw new ConfigError(
      `${perListener} (or sasl.jaas.config) is required: the credentials this broker authenticates to the others with (inter.broker.listener.name ${listener} is a SASL listener)`,
    );
  const { options } = parseJaasConfig(key, text);
  const username = options.get("username");
  const password = options.get("password");
  if (username === undefined || password === undefined)
    throw new ConfigError(`${key}: needs username="..." and password="..."`);
  return { mechanism, username, password };
}

/**
 * Kafka's JAAS configuration line: `<LoginModule class> <flag> key="value" ...;` (flag one of
 * required, requisite, sufficient, optional; values quoted, \" and \\ escaped).
 */
export function parseJaasConfig(
  key: string,
  text: string,
): { loginModule: string; options: Map<string, string> } {
  const m = /^\s*([A-Za-z_$][\w.$]*)\s+(required|requisite|sufficient|optional)\b([\s\S]*?);?\s*$/.exec(text);
  if (m === null)
    throw new ConfigError(
      `${key}: not a JAAS line (LoginModuleClass required username="..." password="...";)`,
    );
  const options = new Map<string, string>();
  const rest = m[3];
  const option = /\s*([A-Za-z_][\w.-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s";]+))/y;
  let at = 0;
  while (at < rest.length && rest.slice(at).trim() !== "") {
    option.lastIndex = at;
    const o = option.exec(rest);
    if (o === null) throw new ConfigError(`${key}: cannot read the options after ${m[1]} ${m[2]}`);
    options.set(o[1], o[2] !== undefined ? o[2].replace(/\\(.)/g, "$1") : o[3]);
    at = option.lastIndex;
  }
  return { loginModule: m[1], options };
}

function zookeeperConnectOf(values: Map<string, unknown>): string | null {
  return (values.get("zookeeper.connect") as string | undefined) ?? null;
}

/** "key=value" command-line overrides. */
export function parseOverrides(args: readonly string[]): RawConfig {
  const out: RawConfig = new Map();
  for (const a of args) {
    const eq = a.indexOf("=");
    if (eq <= 0) throw new ConfigError(`--override expects key=value, got "${a}"`);
    out.set(a.slice(0, eq).trim(), a.slice(eq + 1).trim());
  }
  return out;
}
