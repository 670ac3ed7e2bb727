// TLS and authorization (the security issue), measured in one part:
//
//   1. TLS: one broker with two listeners, PLAINTEXT and SSL (a CA and a server certificate made
//      with openssl by test/helpers/certs.ts; ssl.client.auth none), W1 (produce, 100 B, one
//      partition, acks=1) then W3 (consume it back from the start) through two clients over each
//      listener:
//        lean     native-bench's lean client (client.ts: pre-built 16 KiB batches, 64 requests in
//                 flight, Fetch of 8 MiB walking batch headers only) over a connection of this
//                 file (StreamConnection) on a node:net socket or a node:tls one, the same code
//                 for both: client.ts's own TCP connection reads through net's `onread`, which
//                 node:tls does not offer, so the plaintext side here reads with 'data' events
//                 as the TLS side must (its figure is a little below the e2e part's lean TCP)
//        kafkajs  kafkajs 2.2.4 (`ssl: { ca }` for SSL), as the e2e part drives it: send()s of
//                 1,000 messages, 8 in flight; a group consumer with eachBatch; 1/5 of the
//                 records (its own CPU bounds it)
//      Milena's own client has no TLS yet, so it is not in this comparison. The four
//      (client, listener) pairs take turns (the first rotates), fresh topics, median of the
//      repetitions; connections (and the TLS handshake) are made before the timed part.
//   2. Authorization: two brokers alike but for authorizer.class.name, each with one
//      SASL_PLAINTEXT listener and SCRAM-SHA-256 users admin and bench (added with `milena users
//      add` before the start): "no authorizer", and kafka.security.authorizer.AclAuthorizer with
//      super.users=User:admin and 480 ACLs (ACLS_TOTAL; created by admin through kafkajs's
//      createAcls): one that grants User:bench WRITE on the prefix "authz-" (which implies
//      DESCRIBE) and 479 that do not concern it (literal ACLs on other topics, groups
//      and transactional ids, prefixed ones on other prefixes of many lengths, prefixed ones on
//      prefixes of the benchmark topic and wildcard ones for other principals, which every
//      lookup walks). kafkajs as bench: 50,000 send()s (QUICK 10,000) of one 100 B record
//      (acks=1, 8 in flight, one Produce request each), against either broker in turn, 5 pairs
//      (QUICK 1; more with more repetitions), median; per request:
//      wall time / sends, and the broker's CPU / sends. Checked before: bench may not write a
//      topic outside the prefix on the authorizer's broker (TOPIC_AUTHORIZATION_FAILED) and may
//      on the other. Beside it, the same check in this process: the broker's allowed() against
//      an Authorizer holding the same ACLs, and against no authorizer, ns per call.
//
// Nothing is asserted on a figure; a refused request the run did not expect, a missing record or
// a broker that exits ends the run with the broker's lines.

import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tls from "node:tls";
import { fileURLToPath } from "node:url";
import kafkajs, { Kafka, logLevel } from "kafkajs";
import { allowed } from "../src/broker/security/access.ts";
import { AclOperation, AclPermissionType, PatternType, ResourceType } from "../src/broker/security/acl.ts";
import { ALLOW_ALL, Authorizer } from "../src/broker/security/authorizer.ts";
import { makeCerts } from "../test/helpers/certs.ts";
import { BenchBroker } from "./broker.ts";
import { type BenchConnection, consumeAll, createTopic, produceAll, StreamReplies } from "./client.ts";
import { IN_FLIGHT, PIPELINE } from "./drivers.ts";
import { buildBatches, fmtInt } from "./e2e.ts";
import { CpuMeter, type CpuShare, waitForQuiet } from "./procstat.ts";

const { AclResourceTypes, ResourcePatternTypes, AclOperationTypes, AclPermissionTypes } = kafkajs;
const ROOT = fileURLToPath(new URL("..", import.meta.url));

export type Listener = "PLAINTEXT" | "SSL";
export type TlsClient = "lean" | "kafkajs";
export type TlsWorkload = "W1 produce acks=1" | "W3 consume";
const LISTENERS: Listener[] = ["PLAINTEXT", "SSL"];
const CLIENTS: TlsClient[] = ["lean", "kafkajs"];
const WORKLOADS: TlsWorkload[] = ["W1 produce acks=1", "W3 consume"];
const VALUE_BYTES = 100;
/** kafkajs's share of the lean client's records (as the e2e part's KafkajsDriver.scale). */
const KAFKAJS_SCALE = 0.2;

export interface TlsRun {
  client: TlsClient;
  listener: Listener;
  workload: TlsWorkload;
  rep: number;
  ms: number;
  records: number;
  cpu: CpuShare;
}

export type AuthzBroker = "no authorizer" | "AclAuthorizer";

export interface AuthzRun {
  broker: AuthzBroker;
  rep: number;
  ms: number;
  sends: number;
  cpu: CpuShare;
}

export interface LookupRow {
  name: string;
  nsPerCall: number;
  runs: number[];
  result: boolean;
}

export interface SecurityResult {
  reps: number;
  authzReps: number;
  leanRecords: number;
  kafkajsRecords: number;
  window: number;
  fetchMaxBytes: number;
  /** What the lean client's and kafkajs's TLS connections negotiated. */
  negotiated: string[];
  tls: TlsRun[];
  sends: number;
  acls: number;
  authz: AuthzRun[];
  lookup: LookupRow[];
}

export interface SecurityConfig {
  quick: boolean;
  records: number;
  reps: number;
  window: number;
  fetchMaxBytes: number;
  warmupRecords: number;
  quietWaitMs: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? Number.NaN : s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

// ---- a lean connection over any stream socket (node:net or node:tls) ----

/**
 * StreamReplies (client.ts) read with 'data' events, which node:tls, unlike node:net's
 * `onread`, is limited to.
 */
class StreamConnection extends StreamReplies implements BenchConnection {
  private constructor(protected readonly socket: net.Socket) {
    super();
    socket.on("data", (c: Buffer) => this.onBytes(c, c.length));
    socket.on("error", (e) => this.fail(e));
    socket.on("close", () => this.fail(new Error("connection closed by the broker")));
  }

  static connect(listener: Listener, port: number, ca: Buffer): Promise<StreamConnection> {
    return new Promise((resolve, reject) => {
      const s =
        listener === "SSL"
          ? tls.connect({ host: "127.0.0.1", port, ca, servername: "localhost" }, () => done())
          : net.connect({ host: "127.0.0.1", port }, () => done());
      const done = () => {
        s.off("error", reject);
        s.setNoDelay(true);
        resolve(new StreamConnection(s));
      };
      s.once("error", reject);
    });
  }

  /** "TLSv1.3 TLS_AES_256_GCM_SHA384" over node:tls, "" otherwise. */
  negotiated(): string {
    const s = this.socket;
    return s instanceof tls.TLSSocket ? `${s.getProtocol()} ${s.getCipher().name}` : "";
  }
}

// ---- 1. TLS beside plaintext ----

async function tlsRuns(
  cfg: SecurityConfig,
  log: (l: string) => void,
): Promise<{ runs: TlsRun[]; negotiated: string[]; kafkajsRecords: number }> {
  const certs = makeCerts();
  const ca = fs.readFileSync(certs.ca);
  const b = await BenchBroker.start({
    overrides: {
      listeners: "PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0",
      "ssl.key.location": certs.serverKey,
      "ssl.certificate.location": certs.serverCert,
      "group.initial.rebalance.delay.ms": 0,
    },
  });
  const port = (l: Listener) => {
    const p = b.listenerPorts[l];
    if (!p) throw new Error(`security: no ${l} port in the broker's started line:\n${b.output}`);
    return p;
  };
  const kafkaOf = (l: Listener) =>
    new Kafka({
      clientId: `bench-tls-${l.toLowerCase()}`,
      brokers: [`127.0.0.1:${port(l)}`],
      logLevel: logLevel.NOTHING,
      ...(l === "SSL" ? { ssl: { ca: [ca], servername: "localhost" } } : {}),
    });
  const kafka = { PLAINTEXT: kafkaOf("PLAINTEXT"), SSL: kafkaOf("SSL") };
  const admin = kafka.PLAINTEXT.admin();
  const kafkajsRecords = Math.max(PIPELINE, Math.round((cfg.records * KAFKAJS_SCALE) / PIPELINE) * PIPELINE);
  const lean = buildBatches(cfg.records, 150, VALUE_BYTES);
  const warm = buildBatches(cfg.warmupRecords, 150, VALUE_BYTES);
  const msgs = Array.from({ length: PIPELINE }, () => ({ value: Buffer.alloc(VALUE_BYTES, 0x61) }));
  const negotiated = new Set<string>();
  const runs: TlsRun[] = [];
  let groups = 0;

  const leanProduce = async (l: Listener, topic: string, batches: typeof lean, onStart: () => void) => {
    const conn = await StreamConnection.connect(l, port(l), ca);
    try {
      if (l === "SSL") negotiated.add(`lean client: ${conn.negotiated()}`);
      await createTopic(conn, topic);
      onStart();
      const r = await produceAll(conn, topic, 1, batches.full, batches.tail, cfg.window);
      return { ms: r.ms, records: r.records };
    } finally {
      conn.close();
    }
  };
  const leanConsume = async (l: Listener, topic: string, records: number, onStart: () => void) => {
    const conn = await StreamConnection.connect(l, port(l), ca);
    try {
      onStart();
      const r = await consumeAll(conn, topic, 0, records, cfg.fetchMaxBytes, 1);
      if (r.records !== records) throw new Error(`security: lean over ${l} read ${r.records} of ${records}`);
      return { ms: r.ms, records: r.records };
    } finally {
      conn.close();
    }
  };
  const kjsProduce = async (l: Listener, topic: string, records: number, onStart: () => void) => {
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
    const producer = kafka[l].producer({ allowAutoTopicCreation: false });
    await producer.connect();
    onStart();
    const t0 = performance.now();
    let next = 0;
    const worker = async () => {
      while (next < records) {
        const n = Math.min(PIPELINE, records - next);
        next += n;
        await producer.send({ topic, acks: 1, messages: n === msgs.length ? msgs : msgs.slice(0, n) });
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
    const ms = performance.now() - t0;
    await producer.disconnect();
    return { ms, records };
  };
  const kjsConsume = async (l: Listener, topic: string, records: number, onStart: () => void) => {
    const consumer = kafka[l].consumer({
      groupId: `bench-tls-${++groups}`,
      maxBytesPerPartition: 8 << 20,
      maxWaitTimeInMs: 500,
    });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    let n = 0;
    let t0 = 0;
    let resolve!: () => void;
    const done = new Promise<void>((r) => {
      resolve = r;
    });
    consumer.on(consumer.events.GROUP_JOIN, () => {
      onStart();
      t0 = performance.now();
    });
    await consumer.run({
      eachBatchAutoResolve: true,
      eachBatch: async ({ batch }) => {
        n += batch.messages.length;
        if (n >= records) resolve();
      },
    });
    const timeout = setTimeout(resolve, 120_000);
    await done;
    clearTimeout(timeout);
    const ms = performance.now() - t0;
    await consumer.disconnect();
    if (n !== records) throw new Error(`security: kafkajs over ${l} read ${n} of ${records} from ${topic}`);
    return { ms, records: n };
  };
  const timed = async (
    client: TlsClient,
    listener: Listener,
    workload: TlsWorkload,
    rep: number,
    run: (onStart: () => void) => Promise<{ ms: number; records: number }>,
  ) => {
    let meter: CpuMeter | null = null;
    const r = await run(() => {
      meter = new CpuMeter(b.pid);
    });
    const m = meter as CpuMeter | null;
    if (m === null) throw new Error(`security: ${client} ${listener} ${workload}: timing never started`);
    const row: TlsRun = { client, listener, workload, rep, ms: r.ms, records: r.records, cpu: m.stop() };
    runs.push(row);
    log(
      `  rep ${rep} ${`${client} / ${listener}`.padEnd(19)} ${workload.padEnd(18)} ` +
        `${fmtInt((r.records / r.ms) * 1000).padStart(10)} msg/s  ${r.ms.toFixed(0)} ms  cpu broker main ` +
        `${row.cpu.brokerMain.toFixed(0)}% all ${row.cpu.brokerTotal.toFixed(0)}% client ` +
        `${row.cpu.client.toFixed(0)}% others ${row.cpu.others.toFixed(0)}%`,
    );
  };

  const pairs = CLIENTS.flatMap((client) => LISTENERS.map((listener) => ({ client, listener })));
  try {
    await admin.connect();
    for (const { client, listener } of pairs) {
      const topic = `tls-warm-${client}-${listener.toLowerCase()}`;
      if (client === "lean") {
        await leanProduce(listener, topic, warm, () => {});
        await leanConsume(listener, topic, cfg.warmupRecords, () => {});
      } else {
        const n = Math.max(PIPELINE, Math.round(cfg.warmupRecords / PIPELINE) * PIPELINE);
        await kjsProduce(listener, topic, n, () => {});
        await kjsConsume(listener, topic, n, () => {});
      }
      await admin.deleteTopics({ topics: [topic] });
    }
    log(`  security: TLS warmed up with ${fmtInt(cfg.warmupRecords)} records per client and listener`);
    for (let rep = 1; rep <= cfg.reps; rep++) {
      for (let k = 0; k < pairs.length; k++) {
        const { client, listener } = pairs[(k + rep - 1) % pairs.length];
        await waitForQuiet(cfg.quietWaitMs);
        const topic = `tls-${client}-${listener.toLowerCase()}-r${rep}`;
        if (client === "lean") {
          await timed(client, listener, "W1 produce acks=1", rep, (s) =>
            leanProduce(listener, topic, lean, s),
          );
          await timed(client, listener, "W3 consume", rep, (s) =>
            leanConsume(listener, topic, cfg.records, s),
          );
        } else {
          await timed(client, listener, "W1 produce acks=1", rep, (s) =>
            kjsProduce(listener, topic, kafkajsRecords, s),
          );
          await timed(client, listener, "W3 consume", rep, (s) =>
            kjsConsume(listener, topic, kafkajsRecords, s),
          );
        }
        await admin.deleteTopics({ topics: [topic] });
      }
    }
    negotiated.add(`kafkajs: ${await kafkajsNegotiated(port("SSL"), ca)}`);
  } finally {
    await admin.disconnect().catch(() => {});
    const code = await b.stop();
    if (code !== 0) log(`  security: TLS broker exited with ${code}:\n${b.output.slice(-4000)}`);
    fs.rmSync(certs.dir, { recursive: true, force: true });
  }
  return { runs, negotiated: [...negotiated], kafkajsRecords };
}

/**
 * What kafkajs's TLS connection negotiates: kafkajs calls tls.connect with its `ssl` options and
 * Node's defaults, so a tls.connect with the same options (ca, servername) gets the same.
 */
function kafkajsNegotiated(port: number, ca: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: "127.0.0.1", port, ca: [ca], servername: "localhost" }, () => {
      const out = `${s.getProtocol()} ${s.getCipher().name}`;
      s.destroy();
      resolve(out);
    });
    s.once("error", reject);
  });
}

// ---- 2. the authorizer's cost per request ----

const PASSWORD = "bench-secret";
const GRANT_PREFIX = "authz-";

interface AclSpec {
  resourceType: number;
  resourceName: string;
  pattern: "LITERAL" | "PREFIXED";
  principal: string;
  operation: "READ" | "WRITE" | "DESCRIBE";
  permission: "ALLOW" | "DENY";
}

/** The grant, then the ACLs that do not concern User:bench's writes (none denies it). */
function aclSpecs(): AclSpec[] {
  const ops = ["READ", "WRITE", "DESCRIBE"] as const;
  const out: AclSpec[] = [
    {
      resourceType: ResourceType.TOPIC,
      resourceName: GRANT_PREFIX,
      pattern: "PREFIXED",
      principal: "User:bench",
      operation: "WRITE",
      permission: "ALLOW",
    },
  ];
  const add = (
    resourceType: number,
    resourceName: string,
    pattern: AclSpec["pattern"],
    principal: string,
    i: number,
    permission: AclSpec["permission"] = "ALLOW",
  ) => out.push({ resourceType, resourceName, pattern, principal, operation: ops[i % 3], permission });
  // Literal topic ACLs on other topics: a map lookup away.
  for (let i = 0; i < 300; i++) add(ResourceType.TOPIC, `orders-${i}`, "LITERAL", `User:user-${i % 50}`, i);
  // Prefixed ones on other prefixes, of 16 lengths: each lookup tries every length.
  for (let i = 0; i < 64; i++)
    add(ResourceType.TOPIC, `team-${i % 16}-${"x".repeat(i % 16)}`, "PREFIXED", `User:user-${i}`, i);
  // Prefixes of the benchmark topics' names, and the wildcard, for other principals (some deny):
  // every lookup walks these lists.
  for (let i = 0; i < 24; i++)
    add(
      ResourceType.TOPIC,
      "authz-bench-r".slice(0, 1 + (i % 13)),
      "PREFIXED",
      `User:user-${i}`,
      i,
      i % 4 === 3 ? "DENY" : "ALLOW",
    );
  for (let i = 0; i < 6; i++) add(ResourceType.TOPIC, "*", "LITERAL", `User:monitor-${i}`, 2);
  for (let i = 0; i < 60; i++) add(ResourceType.GROUP, `group-${i}`, "LITERAL", `User:user-${i % 50}`, 0);
  for (let i = 0; i < 25; i++)
    add(ResourceType.TRANSACTIONAL_ID, `txn-${i}`, "LITERAL", `User:user-${i % 50}`, 1);
  return out;
}

/** How many ACLs the authorizer's broker holds. */
export const ACLS_TOTAL = aclSpecs().length;

const KJS_OP = {
  READ: AclOperationTypes.READ,
  WRITE: AclOperationTypes.WRITE,
  DESCRIBE: AclOperationTypes.DESCRIBE,
};

function usersAdd(dir: string, names: string[]): void {
  for (const name of names)
    execFileSync(
      process.execPath,
      [
        "--import",
        "tsx",
        join(ROOT, "src/cli/main.ts"),
        "users",
        "add",
        name,
        "--password",
        PASSWORD,
        "--mechanism",
        "SCRAM-SHA-256",
        "--file",
        join(dir, "sasl-credentials.json"),
      ],
      { cwd: ROOT, stdio: ["ignore", "ignore", "pipe"] },
    );
}

interface SaslBroker {
  kind: AuthzBroker;
  broker: BenchBroker;
  dir: string;
  kafka: (user: string) => Kafka;
}

async function saslBroker(kind: AuthzBroker): Promise<SaslBroker> {
  const dir = fs.mkdtempSync(join(tmpdir(), "milena-bench-authz-"));
  usersAdd(dir, ["admin", "bench"]);
  const broker = await BenchBroker.start({
    logDir: dir,
    overrides: {
      listeners: "SASL_PLAINTEXT://127.0.0.1:0",
      "sasl.enabled.mechanisms": "SCRAM-SHA-256",
      ...(kind === "AclAuthorizer"
        ? { "authorizer.class.name": "kafka.security.authorizer.AclAuthorizer", "super.users": "User:admin" }
        : {}),
    },
  });
  const port = broker.listenerPorts.SASL_PLAINTEXT;
  if (!port)
    throw new Error(`security: no SASL_PLAINTEXT port in the broker's started line:\n${broker.output}`);
  return {
    kind,
    broker,
    dir,
    kafka: (user) =>
      new Kafka({
        clientId: `bench-authz-${user}`,
        brokers: [`127.0.0.1:${port}`],
        sasl: { mechanism: "scram-sha-256", username: user, password: PASSWORD },
        logLevel: logLevel.NOTHING,
        retry: { retries: 0 },
      }),
  };
}

/** Whether bench's one send to `topic` is refused with TOPIC_AUTHORIZATION_FAILED (else it must pass). */
async function refused(s: SaslBroker, topic: string): Promise<boolean> {
  const p = s.kafka("bench").producer({ allowAutoTopicCreation: false });
  await p.connect();
  try {
    await p.send({ topic, acks: 1, messages: [{ value: "check" }] });
    return false;
  } catch (e) {
    const err = e as Error & { type?: string };
    // kafkajs throws it as "Not authorized to access topics: [Topic authorization failed]".
    if (/TOPIC_AUTHORIZATION_FAILED|Topic authorization failed/i.test(`${err.type} ${err.message}`))
      return true;
    throw new Error(
      `security: bench's send to ${topic} on the ${s.kind} broker failed: ${err.type ?? ""} ${err.message}\n` +
        s.broker.output.slice(-4000),
    );
  } finally {
    await p.disconnect().catch(() => {});
  }
}

async function authzRuns(
  cfg: SecurityConfig,
  sends: number,
  reps: number,
  log: (l: string) => void,
): Promise<{ runs: AuthzRun[]; acls: number }> {
  const specs = aclSpecs();
  const brokers: SaslBroker[] = [];
  const runs: AuthzRun[] = [];
  const value = { value: Buffer.alloc(VALUE_BYTES, 0x62) };
  try {
    for (const kind of ["no authorizer", "AclAuthorizer"] as const) brokers.push(await saslBroker(kind));
    for (const s of brokers) {
      const admin = s.kafka("admin").admin();
      await admin.connect();
      const topics = [
        "not-granted",
        "authz-warm",
        ...Array.from({ length: reps }, (_, i) => `authz-bench-r${i + 1}`),
      ];
      await admin.createTopics({ topics: topics.map((topic) => ({ topic, numPartitions: 1 })) });
      if (s.kind === "AclAuthorizer") {
        await admin.createAcls({
          acl: specs.map((a) => ({
            resourceType: a.resourceType as (typeof AclResourceTypes)[keyof typeof AclResourceTypes],
            resourceName: a.resourceName,
            resourcePatternType:
              a.pattern === "PREFIXED" ? ResourcePatternTypes.PREFIXED : ResourcePatternTypes.LITERAL,
            principal: a.principal,
            host: "*",
            operation: KJS_OP[a.operation],
            permissionType: a.permission === "ALLOW" ? AclPermissionTypes.ALLOW : AclPermissionTypes.DENY,
          })),
        });
        const listed = await admin.describeAcls({
          resourceType: AclResourceTypes.ANY,
          resourcePatternType: ResourcePatternTypes.ANY,
          operation: AclOperationTypes.ANY,
          permissionType: AclPermissionTypes.ANY,
        });
        const n = listed.resources.reduce((a, r) => a + r.acls.length, 0);
        if (n !== specs.length)
          throw new Error(`security: DescribeAcls lists ${n} ACLs, ${specs.length} created`);
      }
      await admin.disconnect();
      const no = await refused(s, "not-granted");
      if (no !== (s.kind === "AclAuthorizer"))
        throw new Error(
          `security: on the ${s.kind} broker bench's write to not-granted was ${no ? "refused" : "accepted"}\n` +
            s.broker.output.slice(-4000),
        );
    }
    const run = async (s: SaslBroker, topic: string, n: number) => {
      const p = s.kafka("bench").producer({ allowAutoTopicCreation: false });
      await p.connect();
      // Not timed: the producer's metadata for the topic.
      await p.send({ topic, acks: 1, messages: [value] });
      const cpu = new CpuMeter(s.broker.pid);
      const t0 = performance.now();
      let next = 0;
      const worker = async () => {
        while (next < n) {
          next++;
          await p.send({ topic, acks: 1, messages: [value] });
        }
      };
      await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
      const ms = performance.now() - t0;
      const share = cpu.stop();
      await p.disconnect();
      return { ms, cpu: share };
    };
    for (const s of brokers) await run(s, "authz-warm", Math.max(1000, Math.round(sends / 10)));
    log(
      `  security: authorization warmed up (${fmtInt(Math.max(1000, Math.round(sends / 10)))} sends per broker)`,
    );
    for (let rep = 1; rep <= reps; rep++) {
      const order = rep % 2 === 1 ? brokers : [...brokers].reverse();
      for (const s of order) {
        await waitForQuiet(cfg.quietWaitMs);
        const r = await run(s, `authz-bench-r${rep}`, sends);
        runs.push({ broker: s.kind, rep, ms: r.ms, sends, cpu: r.cpu });
        log(
          `  rep ${rep} ${s.kind.padEnd(14)} ${fmtInt((sends / r.ms) * 1000).padStart(8)} sends/s  ` +
            `${((r.ms * 1000) / sends).toFixed(1)} us/request, broker CPU ` +
            `${((r.cpu.brokerTotal * r.ms * 10) / sends).toFixed(1)} us/request (broker main ${r.cpu.brokerMain.toFixed(0)}% all ${r.cpu.brokerTotal.toFixed(0)}% ` +
            `client ${r.cpu.client.toFixed(0)}% others ${r.cpu.others.toFixed(0)}%)`,
        );
      }
    }
  } finally {
    for (const s of brokers) {
      const code = await s.broker.stop();
      if (code !== 0)
        log(`  security: ${s.kind} broker exited with ${code}:\n${s.broker.output.slice(-4000)}`);
      fs.rmSync(s.dir, { recursive: true, force: true });
    }
  }
  return { runs, acls: specs.length };
}

/** The broker's allowed() in this process: no authorizer, and an Authorizer with the same ACLs. */
function lookupCost(quick: boolean): LookupRow[] {
  const binding = (s: AclSpec) => ({
    resourceType: s.resourceType as ResourceType,
    resourceName: s.resourceName,
    patternType: s.pattern === "PREFIXED" ? PatternType.PREFIXED : PatternType.LITERAL,
    principal: s.principal,
    host: "*",
    operation: AclOperation[s.operation],
    permissionType: s.permission === "ALLOW" ? AclPermissionType.ALLOW : AclPermissionType.DENY,
  });
  const authorizerOf = (specs: AclSpec[]) => {
    const a = new Authorizer({ superUsers: ["User:admin"] });
    const bad = a.createAcls(specs.map(binding)).find((r) => r.errorCode !== 0);
    if (bad) throw new Error(`security: Authorizer.createAcls: ${bad.errorCode} ${bad.errorMessage}`);
    return a;
  };
  const specs = aclSpecs();
  const all = authorizerOf(specs);
  const grantOnly = authorizerOf(specs.slice(0, 1));
  // What a Produce request's check reads: the connection's principal, remote address and listener.
  const rc = {
    connection: { principal: "User:bench", sink: { remote: "127.0.0.1:53124", listener: "SASL_PLAINTEXT" } },
  } as unknown as Parameters<typeof allowed>[1];
  const ctxOf = (authorizer: unknown) => ({ authorizer }) as unknown as Parameters<typeof allowed>[0];
  const cases: { name: string; ctx: Parameters<typeof allowed>[0]; topic: string }[] = [
    { name: "no authorizer (ALLOW_ALL)", ctx: ctxOf(ALLOW_ALL), topic: "authz-bench-r1" },
    { name: "AclAuthorizer, the grant alone: WRITE granted", ctx: ctxOf(grantOnly), topic: "authz-bench-r1" },
    { name: `AclAuthorizer, ${specs.length} ACLs: WRITE granted`, ctx: ctxOf(all), topic: "authz-bench-r1" },
    {
      name: `AclAuthorizer, ${specs.length} ACLs: WRITE on not-granted`,
      ctx: ctxOf(all),
      topic: "not-granted",
    },
  ];
  const calls = quick ? 200_000 : 1_000_000;
  const rounds = quick ? 3 : 7;
  // Rounds interleaved over the cases (the same call site sees every case from the first round).
  const runs = cases.map(() => [] as number[]);
  const results = cases.map(() => false);
  for (let round = 0; round < rounds; round++)
    cases.forEach((c, k) => {
      const t0 = process.hrtime.bigint();
      let yes = 0;
      for (let i = 0; i < calls; i++)
        if (allowed(c.ctx, rc, AclOperation.WRITE, ResourceType.TOPIC, c.topic)) yes++;
      runs[k].push(Number(process.hrtime.bigint() - t0) / calls);
      results[k] = yes === calls;
    });
  return cases.map((c, k) => ({
    name: c.name,
    nsPerCall: median(runs[k]),
    runs: runs[k],
    result: results[k],
  }));
}

// ---- the part ----

export async function measureSecurity(
  cfg: SecurityConfig,
  log: (l: string) => void,
): Promise<SecurityResult> {
  const sends = cfg.quick ? 10_000 : 50_000;
  // The authorizer's cost is small beside a request's: more pairs than the other figures (cheap).
  const authzReps = cfg.reps > 1 ? Math.max(5, cfg.reps) : 1;
  log(
    `  security: TLS W1/W3 ${fmtInt(cfg.records)} x ${VALUE_BYTES} B (kafkajs ${fmtInt(cfg.records * KAFKAJS_SCALE)}), ` +
      `authorization ${fmtInt(sends)} sends of 1 record; ${cfg.reps} repetition(s) (authorization ${authzReps})`,
  );
  const t = await tlsRuns(cfg, log);
  const lookup = lookupCost(cfg.quick);
  for (const l of lookup)
    log(`  in-process allowed(): ${l.name}: ${l.nsPerCall.toFixed(0)} ns/call (${l.result})`);
  const z = await authzRuns(cfg, sends, authzReps, log);
  return {
    reps: cfg.reps,
    authzReps,
    leanRecords: cfg.records,
    kafkajsRecords: t.kafkajsRecords,
    window: cfg.window,
    fetchMaxBytes: cfg.fetchMaxBytes,
    negotiated: t.negotiated,
    tls: t.runs,
    sends,
    acls: z.acls,
    authz: z.runs,
    lookup,
  };
}

export function securityIntro(r: SecurityResult): string {
  return (
    "TLS: one broker with a PLAINTEXT and an SSL listener (RSA 2048 server certificate from a test CA, no " +
    `client certificate; negotiated: ${r.negotiated.join("; ")}). W1: ${fmtInt(r.leanRecords)} x ${VALUE_BYTES} B ` +
    `into one partition, acks=1, then W3 reads them back from the start. _lean_: native-bench's lean client ` +
    `(16 KiB batches, ${r.window} requests in flight; Fetch of ${r.fetchMaxBytes >> 20} MiB, batch headers ` +
    "walked, nothing decoded) over a connection of security.ts that reads with 'data' events on a node:net or " +
    "node:tls socket (the same code both ways; client.ts's own TCP path reads through `onread`, which node:tls " +
    `lacks, so its plaintext figure is not the e2e part's lean TCP one); _kafkajs_: ${fmtInt(r.kafkajsRecords)} ` +
    `records, send()s of ${fmtInt(PIPELINE)}, ${IN_FLIGHT} in flight, a group consumer timed from its join. ` +
    "Milena's own client has no TLS, so it is not compared. Broker CPU per record: every broker thread's CPU " +
    "over the run / records. Authorization: two brokers alike but for `authorizer.class.name` (none, or " +
    `kafka.security.authorizer.AclAuthorizer with super.users=User:admin and ${r.acls} ACLs: one PREFIXED ` +
    `"${GRANT_PREFIX}" WRITE grant to User:bench, the others for other topics, prefixes, groups, transactional ` +
    "ids and principals, some on prefixes of the benchmark topic and on the wildcard, which every lookup walks), " +
    "each with a SASL_PLAINTEXT listener, SCRAM-SHA-256 users admin and bench. kafkajs as bench: " +
    `${fmtInt(r.sends)} send()s of one ${VALUE_BYTES} B record (one Produce request each), acks=1, ${IN_FLIGHT} ` +
    "in flight; per request = run time / sends (throughput's inverse, not a latency) and broker CPU / sends. " +
    "In-process: the broker's allowed() (principal, host from the remote address, authorize) called in a loop. " +
    (r.reps > 1
      ? `Median of ${r.reps} runs (authorization: ${r.authzReps} pairs), interleaved.`
      : "One run of each.")
  );
}

export function securityTables(
  r: SecurityResult,
  table: (h: string[], right: boolean[], rows: string[][]) => string,
): string {
  const rate = (x: { records: number; ms: number }) => (x.records / x.ms) * 1000;
  const nsPerRecord = (x: TlsRun) => (x.cpu.brokerTotal * x.ms * 1e4) / x.records;
  const cpu = (xs: TlsRun[]) =>
    `${median(xs.map((x) => x.cpu.brokerMain)).toFixed(0)}% / ${median(xs.map((x) => x.cpu.brokerTotal)).toFixed(0)}% / ${median(xs.map((x) => x.cpu.client)).toFixed(0)}%`;
  const each = (xs: TlsRun[]) => xs.map((x) => `${fmtInt(rate(x))} (${x.cpu.others.toFixed(0)}%)`).join(", ");
  const a = table(
    [
      "client",
      "workload",
      "PLAINTEXT msgs/s",
      "SSL msgs/s",
      "SSL / PLAINTEXT",
      "SSL MB/s payload",
      "broker CPU ns/record, PLAINTEXT -> SSL",
      "each run, PLAINTEXT (others' CPU)",
      "each run, SSL (others' CPU)",
      "CPU PLAINTEXT: broker main / all / client",
      "CPU SSL",
    ],
    [false, false, true, true, true, true, false, false, false, false, false],
    CLIENTS.flatMap((client) =>
      WORKLOADS.flatMap((w) => {
        const p = r.tls.filter((x) => x.client === client && x.workload === w && x.listener === "PLAINTEXT");
        const s = r.tls.filter((x) => x.client === client && x.workload === w && x.listener === "SSL");
        if (p.length === 0 || s.length === 0) return [];
        const pr = median(p.map(rate));
        const sr = median(s.map(rate));
        return [
          [
            client,
            w,
            fmtInt(pr),
            fmtInt(sr),
            `${(sr / pr).toFixed(2)}x`,
            ((sr * VALUE_BYTES) / 1e6).toFixed(1),
            `${fmtInt(median(p.map(nsPerRecord)))} -> ${fmtInt(median(s.map(nsPerRecord)))}`,
            each(p),
            each(s),
            cpu(p),
            cpu(s),
          ],
        ];
      }),
    ),
  );
  const perReq = (x: AuthzRun) => (x.ms * 1000) / x.sends;
  const cpuPerReq = (x: AuthzRun, share: number) => (share * x.ms * 10) / x.sends;
  const of = (k: AuthzBroker) => r.authz.filter((x) => x.broker === k);
  const none = of("no authorizer");
  const acl = of("AclAuthorizer");
  const stat = (xs: AuthzRun[]) => ({
    rate: median(xs.map((x) => (x.sends / x.ms) * 1000)),
    wall: median(xs.map(perReq)),
    main: median(xs.map((x) => cpuPerReq(x, x.cpu.brokerMain))),
    broker: median(xs.map((x) => cpuPerReq(x, x.cpu.brokerTotal))),
    client: median(xs.map((x) => cpuPerReq(x, x.cpu.client))),
  });
  const sign = (x: number) => `${x >= 0 ? "+" : ""}${x.toFixed(1)}`;
  const rows: string[][] = [];
  for (const [label, xs] of [
    ["no authorizer", none],
    [`AclAuthorizer, ${r.acls} ACLs`, acl],
  ] as const) {
    if (xs.length === 0) continue;
    const st = stat(xs);
    rows.push([
      label,
      fmtInt(st.rate),
      xs.map((x) => `${fmtInt((x.sends / x.ms) * 1000)} (${x.cpu.others.toFixed(0)}%)`).join(", "),
      st.wall.toFixed(1),
      st.main.toFixed(1),
      st.broker.toFixed(1),
      st.client.toFixed(1),
      `${median(xs.map((x) => x.cpu.brokerMain)).toFixed(0)}% / ${median(xs.map((x) => x.cpu.brokerTotal)).toFixed(0)}% / ${median(xs.map((x) => x.cpu.client)).toFixed(0)}%`,
    ]);
  }
  if (none.length > 0 && acl.length > 0) {
    const n = stat(none);
    const y = stat(acl);
    // Each repetition ran both brokers back to back: the pairs' differences too.
    const pairs = acl
      .map((x) => {
        const o = none.find((z) => z.rep === x.rep);
        return o
          ? [perReq(x) - perReq(o), cpuPerReq(x, x.cpu.brokerMain) - cpuPerReq(o, o.cpu.brokerMain)]
          : null;
      })
      .filter((x) => x !== null);
    rows.push([
      "difference (authorizer - none)",
      `${((y.rate / n.rate - 1) * 100).toFixed(1)}%`,
      `each pair, us per request: wall ${pairs.map((x) => sign(x[0])).join(", ")}; broker main CPU ${pairs.map((x) => sign(x[1])).join(", ")}`,
      sign(y.wall - n.wall),
      sign(y.main - n.main),
      sign(y.broker - n.broker),
      sign(y.client - n.client),
      "",
    ]);
  }
  const b = table(
    [
      "broker (SASL_PLAINTEXT, SCRAM-SHA-256)",
      "records/s (median)",
      "each run (others' CPU)",
      "us per request (wall)",
      "broker main thread CPU us per request",
      "broker CPU us per request (all threads)",
      "client CPU us per request",
      "CPU: broker main / all / client",
    ],
    [false, true, false, true, true, true, true, false],
    rows,
  );
  const c = table(
    ["in-process check (allowed(), WRITE on a topic)", "ns per call (median)", "each round", "answer"],
    [false, true, false, false],
    r.lookup.map((l) => [
      l.name,
      l.nsPerCall.toFixed(0),
      l.runs.map((x) => x.toFixed(0)).join(", "),
      l.result ? "allowed" : "denied",
    ]),
  );
  return `${a}\n\n${b}\n\n${c}`;
}
