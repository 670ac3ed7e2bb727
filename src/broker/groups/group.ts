// One consumer group as the coordinator holds it: members, generation, chosen protocol, leader,
// and Kafka's state machine (GroupMetadata.scala):
//
//   Empty --join--> PreparingRebalance --all joined / rebalance timeout--> CompletingRebalance
//   CompletingRebalance --leader's SyncGroup--> Stable
//   Stable | CompletingRebalance --join of a new or changed member, leave, expiry--> PreparingRebalance
//   PreparingRebalance --nobody left--> Empty
//   any --DeleteGroups / offsets expired--> Dead
//
// This file holds the data and the transitions' bookkeeping; coordinator.ts drives them.

import type { JoinGroupResponse } from "../../protocol/join_group.ts";
import type { SyncGroupResponse } from "../../protocol/sync_group.ts";

export type GroupState = "Empty" | "PreparingRebalance" | "CompletingRebalance" | "Stable" | "Dead";

export interface MemberProtocol {
  name: string;
  metadata: Buffer;
}

export class Member {
  protocols: MemberProtocol[];
  assignment: Buffer = Buffer.alloc(0);
  /** Set while the member waits in JoinGroup for the rebalance to complete. */
  joinWaiter: ((r: JoinGroupResponse) => void) | null = null;
  /** Set while the member waits in SyncGroup for the leader's assignment. */
  syncWaiter: ((r: SyncGroupResponse) => void) | null = null;
  /** Session expiry (heartbeats, joins, syncs and commits push it back). */
  expiry: NodeJS.Timeout | null = null;
  /** Whether it joined a generation yet (a new member that never completes a join expires fast). */
  isNew = true;

  constructor(
    readonly memberId: string,
    readonly groupInstanceId: string | null,
    readonly clientId: string,
    readonly clientHost: string,
    public sessionTimeoutMs: number,
    public rebalanceTimeoutMs: number,
    protocols: MemberProtocol[],
  ) {
    this.protocols = protocols;
  }

  metadataFor(protocol: string): Buffer {
    return this.protocols.find((p) => p.name === protocol)?.metadata ?? Buffer.alloc(0);
  }

  sameProtocols(other: readonly MemberProtocol[]): boolean {
    return (
      other.length === this.protocols.length &&
      other.every(
        (p, i) => p.name === this.protocols[i].name && p.metadata.equals(this.protocols[i].metadata),
      )
    );
  }
}

export interface CommittedOffset {
  offset: number;
  leaderEpoch: number;
  metadata: string;
  commitTimestamp: number;
}

export class Group {
  state: GroupState = "Empty";
  generationId = 0;
  protocolType: string | null = null;
  protocolName: string | null = null;
  leaderId: string | null = null;
  readonly members = new Map<string, Member>();
  /** Member ids handed out with MEMBER_ID_REQUIRED (JoinGroup v4+), not yet joined. */
  readonly pendingMembers = new Map<string, NodeJS.Timeout>();
  /** Completes the join phase when the rebalance timeout (or initial delay) runs out. */
  joinTimer: NodeJS.Timeout | null = null;
  /** The generation whose assignment is being written to the offsets log (-1: none; SyncGroup waits for it). */
  storingAssignment = -1;
  /** A group metadata record of this group is in the offsets log (a tombstone must follow it). */
  stored = false;
  /** While the first rebalance of an empty group waits for more members (initial delay). */
  initialDelayUntil = 0;
  /** Committed offsets, "topic\0partition" -> offset. */
  readonly offsets = new Map<string, CommittedOffset>();
  /** When the group last became Empty (offsets.retention.minutes counts from here). */
  emptySinceMs: number;

  constructor(
    readonly groupId: string,
    nowMs: number,
  ) {
    this.emptySinceMs = nowMs;
  }

  static offsetKey(topic: string, partition: number): string {
    return `${topic}\0${partition}`;
  }

  transition(to: GroupState, nowMs: number): void {
    if (to === "Empty" && this.state !== "Empty") this.emptySinceMs = nowMs;
    this.state = to;
  }

  /** Whether a member offering these protocols may join (Kafka's supportsProtocols). */
  supportsProtocols(protocolType: string, protocols: readonly MemberProtocol[]): boolean {
    if (protocols.length === 0 || protocolType === "") return false;
    if (this.members.size === 0) return true;
    if (protocolType !== this.protocolType) return false;
    return protocols.some((p) =>
      [...this.members.values()].every((m) => m.protocols.some((q) => q.name === p.name)),
    );
  }

  /** The protocol every member supports, by votes of each member's first supported choice. */
  selectProtocol(): string {
    const members = [...this.members.values()];
    const candidates = members[0].protocols
      .map((p) => p.name)
      .filter((name) => members.every((m) => m.protocols.some((q) => q.name === name)));
    const votes = new Map<string, number>(candidates.map((c) => [c, 0]));
    for (const m of members) {
      const choice = m.protocols.find((p) => votes.has(p.name));
      if (choice) votes.set(choice.name, votes.get(choice.name)! + 1);
    }
    let best = candidates[0];
    for (const c of candidates) if (votes.get(c)! > votes.get(best)!) best = c;
    return best;
  }

  get maxRebalanceTimeoutMs(): number {
    let max = 0;
    for (const m of this.members.values()) max = Math.max(max, m.rebalanceTimeoutMs);
    return max;
  }

  allMembersJoined(): boolean {
    for (const m of this.members.values()) if (m.joinWaiter === null) return false;
    return this.pendingMembers.size === 0;
  }
}
