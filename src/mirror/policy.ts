// How a flow names remote topics and which topics it copies (MirrorMaker 2's ReplicationPolicy
// and its topic filter).
//
// DefaultReplicationPolicy: topic T of cluster A is "A.T" on the target (separator
// replication.policy.separator); a topic's source is the part before its first separator. A
// flow A->B never copies a topic whose chain of sources holds B ("B.T" on A is B's own T come
// back): that is what lets A->B and B->A run together without loops.
// IdentityReplicationPolicy: the same name on both sides (but for the heartbeats topics, named as
// by the default policy, as MM2 does); nothing tells a remote topic from a local one, so config.ts
// refuses two flows that form a cycle under it.
//
// Never copied: internal topics (names starting with "__" or ".", ending in ".internal" or
// "-internal", the mirror's own mm2-* topics). Always copied, whatever `topics` says: the
// heartbeats topics ("heartbeats", "A.heartbeats", ...), as MM2 does, so a target shows the whole
// replication path.

import { type FlowConfig, matchesAny, type PolicyKind } from "./config.ts";

export const HEARTBEATS_TOPIC = "heartbeats";

export class ReplicationPolicy {
  constructor(
    readonly kind: PolicyKind,
    readonly separator: string,
  ) {}

  /** The name on the target of `topic` from cluster `source`. */
  formatRemoteTopic(source: string, topic: string): string {
    // Identity keeps names, except the heartbeats topics (as MM2's IdentityReplicationPolicy):
    // the target's own `heartbeats` is where this flow writes.
    if (this.kind === "identity" && !this.isHeartbeatsTopic(topic)) return topic;
    return `${source}${this.separator}${topic}`;
  }

  /** Under identity naming only heartbeats topics carry their source in the name. */
  private named(topic: string): boolean {
    return this.kind === "default" || (this.isHeartbeatsTopic(topic) && topic !== HEARTBEATS_TOPIC);
  }

  /** The cluster a remote topic came from (null: a local topic, or identity naming). */
  topicSource(topic: string): string | null {
    if (!this.named(topic)) return null;
    const i = topic.indexOf(this.separator);
    return i > 0 ? topic.slice(0, i) : null;
  }

  /** The topic's name on the cluster it came from (null: not a remote topic). */
  upstreamTopic(topic: string): string | null {
    if (!this.named(topic)) return null;
    const i = topic.indexOf(this.separator);
    return i > 0 ? topic.slice(i + this.separator.length) : null;
  }

  /** The offset-syncs topic of flows into `target` (kept on the source cluster). */
  offsetSyncsTopic(target: string): string {
    return `mm2-offset-syncs${this.separator}${target}${this.separator}internal`;
  }

  /** The checkpoints topic of flows from `source` (kept on the target cluster). */
  checkpointsTopic(source: string): string {
    return `${source}${this.separator}checkpoints${this.separator}internal`;
  }

  isInternalTopic(topic: string): boolean {
    return (
      topic.startsWith("__") ||
      topic.startsWith(".") ||
      topic.endsWith(".internal") ||
      topic.endsWith("-internal") ||
      topic.endsWith(`${this.separator}internal`) ||
      topic.startsWith("mm2-")
    );
  }

  isHeartbeatsTopic(topic: string): boolean {
    return topic === HEARTBEATS_TOPIC || topic.endsWith(`${this.separator}${HEARTBEATS_TOPIC}`);
  }

  /** Whether `topic` came, through any number of hops, from cluster `alias`. */
  isCycle(topic: string, alias: string): boolean {
    const source = this.topicSource(topic);
    if (source === null) return false;
    if (source === alias) return true;
    return this.isCycle(this.upstreamTopic(topic)!, alias);
  }

  /** Whether the flow copies `topic` of its source. */
  shouldReplicateTopic(flow: FlowConfig, topic: string): boolean {
    if (this.isInternalTopic(topic)) return false;
    if (this.isCycle(topic, flow.target)) return false;
    if (this.isHeartbeatsTopic(topic)) return true;
    return matchesAny(topic, flow.topics) && !matchesAny(topic, flow.topicsExclude);
  }
}

/** The consumer group of the mirror's own consumers of a flow (on the source cluster). */
export function mirrorGroupId(source: string, target: string): string {
  return `milena-mirror-${source}-${target}`;
}

/** Whether a flow checkpoints the offsets of group `group`. */
export function shouldReplicateGroup(flow: FlowConfig, group: string): boolean {
  if (group.startsWith("milena-mirror-")) return false;
  return matchesAny(group, flow.groups) && !matchesAny(group, flow.groupsExclude);
}
