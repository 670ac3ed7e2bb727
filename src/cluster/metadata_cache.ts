// What this broker knows of the cluster, as the controller last told it (UpdateMetadata): the
// live brokers with their endpoints, the controller, and every partition's leader, leader epoch,
// replicas, in-sync replicas and offline replicas. Metadata answers come from here, so every
// broker answers the same. Fenced by controller epoch: an older controller's update is refused.

import type { Listener } from "../broker/config.ts";
import type { UpdateMetadataRequest } from "../protocol/inter_broker.ts";

export interface CachedPartition {
  leader: number;
  leaderEpoch: number;
  isr: number[];
  replicas: number[];
  offlineReplicas: number[];
  zkVersion: number;
}

export interface CachedTopic {
  name: string;
  topicId: Uint8Array;
  partitions: CachedPartition[];
}

export interface CachedBroker {
  id: number;
  endpoints: Listener[];
  rack: string | null;
}

export class MetadataCache {
  controllerId = -1;
  controllerEpoch = -1;
  readonly brokers = new Map<number, CachedBroker>();
  readonly topics = new Map<string, CachedTopic>();
  private readonly byId = new Map<string, CachedTopic>();
  private readonly listeners = new Set<() => void>();

  /** Apply an UpdateMetadata; false when it comes from an older controller (refused). */
  apply(req: UpdateMetadataRequest): boolean {
    if (req.controllerEpoch < this.controllerEpoch) return false;
    this.controllerEpoch = req.controllerEpoch;
    this.controllerId = req.controllerId;
    this.brokers.clear();
    for (const b of req.liveBrokers) {
      const endpoints: Listener[] = [];
      for (const e of b.endpoints) {
        endpoints.push({ name: e.listener.toUpperCase(), host: e.host, port: e.port });
      }
      this.brokers.set(b.id, { id: b.id, endpoints, rack: b.rack });
    }
    for (const t of req.topicStates) {
      let topic = this.topics.get(t.topicName);
      if (topic === undefined || Buffer.compare(Buffer.from(topic.topicId), Buffer.from(t.topicId)) !== 0) {
        if (topic !== undefined) this.byId.delete(Buffer.from(topic.topicId).toString("hex"));
        topic = { name: t.topicName, topicId: t.topicId, partitions: [] };
        this.topics.set(t.topicName, topic);
        this.byId.set(Buffer.from(t.topicId).toString("hex"), topic);
      }
      for (const p of t.partitionStates) {
        // Kafka's marker of a deleted topic: leader -2 (LeaderDuringDelete).
        if (p.leader === -2) {
          this.topics.delete(t.topicName);
          this.byId.delete(Buffer.from(topic.topicId).toString("hex"));
          break;
        }
        topic.partitions[p.partitionIndex] = {
          leader: p.leader,
          leaderEpoch: p.leaderEpoch,
          isr: p.isr,
          replicas: p.replicas,
          offlineReplicas: p.offlineReplicas,
          zkVersion: p.zkVersion,
        };
      }
    }
    for (const l of [...this.listeners]) l();
    return true;
  }

  topicById(id: Uint8Array): CachedTopic | undefined {
    return this.byId.get(Buffer.from(id).toString("hex"));
  }

  partition(topic: string, partition: number): CachedPartition | undefined {
    return this.topics.get(topic)?.partitions[partition];
  }

  /**
   * The endpoint of `broker` on the listener `name` (the one the client came in on, or the
   * inter-broker one); a broker without that listener: its first one.
   */
  endpoint(broker: number, name: string): Listener | undefined {
    const b = this.brokers.get(broker);
    return b?.endpoints.find((e) => e.name === name) ?? b?.endpoints[0];
  }

  /** Resolves when `ready` holds after some update, or false after `timeoutMs`. */
  waitFor(ready: () => boolean, timeoutMs: number): Promise<boolean> {
    if (ready()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const check = () => {
        if (!ready()) return;
        this.listeners.delete(check);
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.listeners.delete(check);
        resolve(false);
      }, timeoutMs);
      this.listeners.add(check);
    });
  }
}
