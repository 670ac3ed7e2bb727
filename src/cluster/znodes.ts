// Kafka's znode layout in ZooKeeper (under the chroot of zookeeper.connect), and the JSON each
// znode holds, written exactly as Kafka's ZK-mode brokers write it so Kafka's operators and
// tools (zookeeper-shell, kafka-topics --zookeeper of old) recognise a Milena cluster:
//
//   /cluster/id                                   {"version":"1","id":"<cluster id>"}
//   /controller                (ephemeral)        {"version":1,"brokerid":1,"timestamp":"<ms>"}
//   /controller_epoch                             1
//   /brokers/ids/<id>          (ephemeral)        {"listener_security_protocol_map":{...},
//                                                  "endpoints":["PLAINTEXT://h:9092",...],
//                                                  "rack":null,"jmx_port":-1,"port":9092,
//                                                  "host":"h","version":5,"timestamp":"<ms>"}
//   /brokers/topics/<topic>                       {"partitions":{"0":[1,2,3]},"topic_id":"<b64>",
//                                                  "adding_replicas":{},"removing_replicas":{},
//                                                  "version":3}
//   /brokers/topics/<topic>/partitions/<p>/state  {"controller_epoch":1,"leader":1,"version":1,
//                                                  "leader_epoch":0,"isr":[1,2,3]}
//   /config/topics/<topic>                        {"version":1,"config":{"retention.ms":"1000"}}
//   /admin/delete_topics/<topic>                  (empty: the controller deletes the topic)
//   /config/changes/config_change_<seq>           {"version":2,"entity_path":"topics/<topic>"}
//   /isr_change_notification/isr_change_<seq>     {"version":1,"partitions":[{"topic":"t","partition":0}]}
//   /latest_producer_id_block                     {"version":1,"broker":1,"block_start":"0","block_end":"999"}
//
// The security state is drawn where it is written (src/cluster/zk_security.ts): SCRAM users at
// /config/users/<user> (with users/<user> config change notifications), ACLs at /kafka-acl,
// /kafka-acl-extended/prefixed and their change notifications.
//
// WebSocket listeners are listed like any other endpoint ("WEBSOCKET://h:9094"), mapped to the
// PLAINTEXT security protocol.

import type { Listener } from "../broker/config.ts";

export const Z = {
  clusterId: "/cluster/id",
  controller: "/controller",
  controllerEpoch: "/controller_epoch",
  brokerIds: "/brokers/ids",
  broker: (id: number) => `/brokers/ids/${id}`,
  topics: "/brokers/topics",
  topic: (t: string) => `/brokers/topics/${t}`,
  partitions: (t: string) => `/brokers/topics/${t}/partitions`,
  partition: (t: string, p: number) => `/brokers/topics/${t}/partitions/${p}`,
  partitionState: (t: string, p: number) => `/brokers/topics/${t}/partitions/${p}/state`,
  topicConfigs: "/config/topics",
  topicConfig: (t: string) => `/config/topics/${t}`,
  deleteTopics: "/admin/delete_topics",
  deleteTopic: (t: string) => `/admin/delete_topics/${t}`,
  isrChanges: "/isr_change_notification",
  isrChange: "/isr_change_notification/isr_change_",
  producerIdBlock: "/latest_producer_id_block",
  configChanges: "/config/changes",
  configChange: "/config/changes/config_change_",
};

/** The persistent paths a broker makes sure exist at startup (Kafka's ZkData.PersistentZkPaths). */
export const PERSISTENT_PATHS = [
  "/consumers",
  Z.brokerIds,
  Z.topics,
  "/config/changes",
  "/config/clients",
  "/config/brokers",
  Z.topicConfigs,
  "/config/users",
  "/config/ips",
  Z.deleteTopics,
  "/brokers/seqid",
  Z.isrChanges,
  Z.producerIdBlock,
  "/log_dir_event_notification",
];

function json(v: unknown): Buffer {
  return Buffer.from(JSON.stringify(v));
}

function parse(data: Buffer, what: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(data.toString("utf8"));
  } catch {
    throw new Error(`${what}: not JSON: ${data.toString("utf8").slice(0, 200)}`);
  }
  if (v === null || typeof v !== "object") throw new Error(`${what}: not a JSON object`);
  return v as Record<string, unknown>;
}

function intList(v: unknown, what: string): number[] {
  if (!Array.isArray(v) || !v.every((x) => Number.isInteger(x)))
    throw new Error(`${what}: not a list of ints`);
  return v as number[];
}

// /cluster/id

export function encodeClusterId(id: string): Buffer {
  return json({ version: "1", id });
}

export function decodeClusterId(data: Buffer): string {
  const v = parse(data, Z.clusterId);
  if (typeof v.id !== "string") throw new Error(`${Z.clusterId}: no id`);
  return v.id;
}

// /controller

export function encodeController(brokerId: number): Buffer {
  return json({ version: 1, brokerid: brokerId, timestamp: String(Date.now()) });
}

export function decodeController(data: Buffer): number {
  const v = parse(data, Z.controller);
  if (!Number.isInteger(v.brokerid)) throw new Error(`${Z.controller}: no brokerid`);
  return v.brokerid as number;
}

// /brokers/ids/<id>

export interface BrokerRegistration {
  id: number;
  /** Every advertised listener, in the order configured. */
  endpoints: Listener[];
  rack: string | null;
  /** Kafka's broker epoch: the czxid of the registration znode (set when read). */
  epoch: bigint;
  /** listener_security_protocol_map: each endpoint's security protocol (PLAINTEXT when absent). */
  protocols?: Record<string, string>;
}

export function encodeBroker(
  endpoints: readonly Listener[],
  rack: string | null,
  protocols: ReadonlyMap<string, { protocol: string }> = new Map(),
): Buffer {
  const plain = endpoints.find((l) => l.name === "PLAINTEXT");
  const map: Record<string, string> = {};
  for (const l of endpoints) map[l.name] = protocols.get(l.name)?.protocol ?? "PLAINTEXT";
  return json({
    features: {},
    listener_security_protocol_map: map,
    endpoints: endpoints.map((l) => `${l.name}://${l.host.includes(":") ? `[${l.host}]` : l.host}:${l.port}`),
    rack,
    jmx_port: -1,
    port: plain?.port ?? -1,
    host: plain?.host ?? null,
    version: 5,
    timestamp: String(Date.now()),
  });
}

export function decodeBroker(id: number, data: Buffer, epoch: bigint): BrokerRegistration {
  const what = Z.broker(id);
  const v = parse(data, what);
  if (!Array.isArray(v.endpoints)) throw new Error(`${what}: no endpoints`);
  const endpoints: Listener[] = [];
  for (const e of v.endpoints) {
    const m =
      typeof e === "string" ? /^([A-Za-z_][A-Za-z0-9_]*):\/\/(\[[^\]]*\]|[^:]*):(\d+)$/.exec(e) : null;
    if (!m) throw new Error(`${what}: endpoint ${JSON.stringify(e)} is not NAME://host:port`);
    endpoints.push({ name: m[1].toUpperCase(), host: m[2].replace(/^\[|\]$/g, ""), port: Number(m[3]) });
  }
  const protocols: Record<string, string> = {};
  const map = v.listener_security_protocol_map;
  if (map !== null && typeof map === "object")
    for (const [k, p] of Object.entries(map as Record<string, unknown>))
      if (typeof p === "string") protocols[k.toUpperCase()] = p;
  return { id, endpoints, rack: typeof v.rack === "string" ? v.rack : null, epoch, protocols };
}

// /brokers/topics/<topic>

export interface TopicAssignment {
  /** Replicas of each partition, preferred leader first. */
  partitions: number[][];
  /** 16 bytes (Kafka's Uuid, base64url without padding in the znode). */
  topicId: Buffer;
  /** Reassignments in progress (KIP-455): replicas being added and removed, by partition. */
  adding?: Map<number, number[]>;
  removing?: Map<number, number[]>;
}

export function encodeTopicId(id: Buffer): string {
  return id.toString("base64url");
}

export function encodeTopic(a: TopicAssignment): Buffer {
  const partitions: Record<string, number[]> = {};
  a.partitions.forEach((r, i) => {
    partitions[String(i)] = r;
  });
  const obj = (m: Map<number, number[]> | undefined) =>
    Object.fromEntries([...(m ?? [])].map(([p, r]) => [String(p), r]));
  return json({
    partitions,
    topic_id: encodeTopicId(a.topicId),
    adding_replicas: obj(a.adding),
    removing_replicas: obj(a.removing),
    version: 3,
  });
}

export function decodeTopic(topic: string, data: Buffer): TopicAssignment {
  const what = Z.topic(topic);
  const v = parse(data, what);
  const parts = v.partitions;
  if (parts === null || typeof parts !== "object") throw new Error(`${what}: no partitions`);
  const partitions: number[][] = [];
  for (const [k, r] of Object.entries(parts as Record<string, unknown>)) {
    const i = Number(k);
    if (!Number.isInteger(i) || i < 0 || i > 1_000_000) throw new Error(`${what}: partition ${k}`);
    partitions[i] = intList(r, `${what} partition ${k}`);
  }
  for (let i = 0; i < partitions.length; i++)
    if (partitions[i] === undefined) throw new Error(`${what}: partition ${i} missing`);
  const topicId = typeof v.topic_id === "string" ? Buffer.from(v.topic_id, "base64url") : Buffer.alloc(16);
  if (topicId.length !== 16) throw new Error(`${what}: topic_id is not 16 bytes`);
  const map = (v: unknown, field: string): Map<number, number[]> => {
    const out = new Map<number, number[]>();
    if (v !== null && typeof v === "object")
      for (const [k, r] of Object.entries(v as Record<string, unknown>))
        out.set(Number(k), intList(r, `${what} ${field} ${k}`));
    return out;
  };
  return {
    partitions,
    topicId,
    adding: map(v.adding_replicas, "adding_replicas"),
    removing: map(v.removing_replicas, "removing_replicas"),
  };
}

// /brokers/topics/<topic>/partitions/<p>/state

export interface PartitionStateZ {
  leader: number;
  leaderEpoch: number;
  isr: number[];
  controllerEpoch: number;
}

export function encodePartitionState(s: PartitionStateZ): Buffer {
  return json({
    controller_epoch: s.controllerEpoch,
    leader: s.leader,
    version: 1,
    leader_epoch: s.leaderEpoch,
    isr: s.isr,
  });
}

export function decodePartitionState(what: string, data: Buffer): PartitionStateZ {
  const v = parse(data, what);
  if (
    !Number.isInteger(v.leader) ||
    !Number.isInteger(v.leader_epoch) ||
    !Number.isInteger(v.controller_epoch)
  )
    throw new Error(`${what}: leader, leader_epoch and controller_epoch must be ints`);
  return {
    leader: v.leader as number,
    leaderEpoch: v.leader_epoch as number,
    isr: intList(v.isr, `${what} isr`),
    controllerEpoch: v.controller_epoch as number,
  };
}

// /config/topics/<topic>

export function encodeTopicConfig(overrides: ReadonlyMap<string, string>): Buffer {
  return json({ version: 1, config: Object.fromEntries(overrides) });
}

export function decodeTopicConfig(topic: string, data: Buffer): Map<string, string> {
  const v = parse(data, Z.topicConfig(topic));
  const out = new Map<string, string>();
  if (v.config !== null && typeof v.config === "object")
    for (const [k, x] of Object.entries(v.config as Record<string, unknown>)) out.set(k, String(x));
  return out;
}

// /isr_change_notification/isr_change_<seq>

export function encodeIsrChange(partitions: readonly { topic: string; partition: number }[]): Buffer {
  return json({ version: 1, partitions });
}

export function decodeIsrChange(data: Buffer): { topic: string; partition: number }[] {
  const v = parse(data, Z.isrChanges);
  if (!Array.isArray(v.partitions)) return [];
  return v.partitions.filter(
    (p): p is { topic: string; partition: number } =>
      p !== null && typeof p.topic === "string" && Number.isInteger(p.partition),
  );
}

// /latest_producer_id_block

export interface ProducerIdBlock {
  broker: number;
  start: number;
  end: number;
}

export function encodeProducerIdBlock(b: ProducerIdBlock): Buffer {
  return json({ version: 1, broker: b.broker, block_start: String(b.start), block_end: String(b.end) });
}

export function decodeProducerIdBlock(data: Buffer): ProducerIdBlock | null {
  if (data.length === 0) return null;
  const v = parse(data, Z.producerIdBlock);
  return { broker: Number(v.broker), start: Number(v.block_start), end: Number(v.block_end) };
}

// /config/changes/config_change_<seq>

export function encodeConfigChange(entityPath: string): Buffer {
  return json({ version: 2, entity_path: entityPath });
}

export function decodeConfigChange(data: Buffer): string | null {
  const v = parse(data, Z.configChanges);
  return typeof v.entity_path === "string" ? v.entity_path : null;
}
