// The group coordinator: Kafka's group membership protocol (JoinGroup, SyncGroup, Heartbeat,
// LeaveGroup), committed offsets (OffsetCommit, OffsetFetch) and group administration
// (DescribeGroups, ListGroups, DeleteGroups), answered with Kafka's error codes
// (GroupCoordinator.scala). A single broker coordinates every group.
//
// Committed offsets and group metadata are a log: each change is appended to
// __consumer_offsets (partition = abs(hash(group)) % offsets.topic.num.partitions) through the
// same writer path as any produce, acks=-1, before the commit is answered; at startup the log is
// replayed into memory (offsets_replay.ts, in the recovery pool).

import { randomUUID } from "node:crypto";
import { decodeSubscription } from "../../protocol/consumer_protocol.ts";
import type { DeleteGroupsResponse } from "../../protocol/delete_groups.ts";
import type { DescribedGroup, DescribeGroupsResponse } from "../../protocol/describe_groups.ts";
import { ErrorCode } from "../../protocol/error_codes.ts";
import type { HeartbeatRequest, HeartbeatResponse } from "../../protocol/heartbeat.ts";
import type { JoinGroupRequest, JoinGroupResponse } from "../../protocol/join_group.ts";
import type { LeaveGroupRequest, LeaveGroupResponse } from "../../protocol/leave_group.ts";
import type { ListGroupsResponse } from "../../protocol/list_groups.ts";
import type { OffsetCommitRequest, OffsetCommitResponse } from "../../protocol/offset_commit.ts";
import type { OffsetDeleteRequest, OffsetDeleteResponse } from "../../protocol/offset_delete.ts";
import type {
  OffsetFetchRequest,
  OffsetFetchResponse,
  OffsetFetchTopicResponse,
} from "../../protocol/offset_fetch.ts";
import type { SyncGroupRequest, SyncGroupResponse } from "../../protocol/sync_group.ts";
import type { TxnOffsetCommitRequest, TxnOffsetCommitResponse } from "../../protocol/transactions.ts";
import { authorizedOperations } from "../authorized_operations.ts";
import { type CommittedOffset, Group, Member } from "./group.ts";
import {
  encodeGroupKey,
  encodeGroupValue,
  encodeOffsetKey,
  encodeOffsetValue,
  type OffsetsRecord,
  offsetsPartitionFor,
} from "./offsets_records.ts";

export interface CoordinatorConfig {
  groupMinSessionTimeoutMs: number;
  groupMaxSessionTimeoutMs: number;
  groupInitialRebalanceDelayMs: number;
  offsetsRetentionMs: number;
  offsetsRetentionCheckIntervalMs: number;
  offsetMetadataMaxBytes: number;
  offsetsTopicPartitions: number;
}

/** What the coordinator needs from the broker: the offsets log and topic existence. */
export interface OffsetsLog {
  /** Append records (acks=-1) to a partition of __consumer_offsets; resolves to a Kafka error code. */
  append(
    partition: number,
    records: { key: Buffer; value: Buffer | null }[],
    txn?: { producerId: number; producerEpoch: number },
  ): Promise<number>;
  partitionExists(topic: string, partition: number): boolean;
  /**
   * Whether this broker coordinates the groups of an offsets partition: NONE, NOT_COORDINATOR
   * (another broker leads it) or COORDINATOR_LOAD_IN_PROGRESS (being loaded). A broker on its own
   * coordinates every group.
   */
  coordinates(partition: number): number;
}

export interface ClientInfo {
  clientId: string;
  clientHost: string;
}

/** Characters of the client id a member id starts with. */
const MEMBER_ID_CLIENT_CHARS = 200;

/** A member that never completes its first join is dropped after this long (Kafka's NewMemberJoinTimeoutMs). */
const NEW_MEMBER_JOIN_TIMEOUT_MS = 5 * 60 * 1000;

function joinError(errorCode: number, memberId: string): JoinGroupResponse {
  return {
    throttleTimeMs: 0,
    errorCode,
    generationId: -1,
    // null from v7 (Kafka's NoProtocol below: the handler writes "" there)
    protocolType: null,
    protocolName: null,
    leader: "",
    skipAssignment: false,
    memberId,
    members: [],
  };
}

/** What a failed group metadata append tells the members (Kafka's GroupMetadataManager.storeGroup). */
function storeGroupError(code: number): number {
  switch (code) {
    case ErrorCode.UNKNOWN_TOPIC_OR_PARTITION:
      return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    case ErrorCode.NOT_LEADER_OR_FOLLOWER:
    case ErrorCode.KAFKA_STORAGE_ERROR:
      return ErrorCode.NOT_COORDINATOR;
    case ErrorCode.REQUEST_TIMED_OUT:
      return ErrorCode.REBALANCE_IN_PROGRESS;
    case ErrorCode.MESSAGE_TOO_LARGE:
    case ErrorCode.RECORD_LIST_TOO_LARGE:
    case ErrorCode.INVALID_FETCH_SIZE:
      return ErrorCode.UNKNOWN_SERVER_ERROR;
    default:
      return code;
  }
}

/** A static member's request with a member id other than its instance's current one (KIP-345). */
function fenced(g: Group, memberId: string, groupInstanceId: string | null): boolean {
  if (groupInstanceId === null) return false;
  for (const m of g.members.values())
    if (m.groupInstanceId === groupInstanceId) return m.memberId !== memberId;
  return false;
}

function syncError(errorCode: number): SyncGroupResponse {
  return {
    throttleTimeMs: 0,
    errorCode,
    protocolType: null,
    protocolName: null,
    assignment: Buffer.alloc(0),
  };
}

/** SyncGroup's answer with this member's assignment (v5 names the group's protocol). */
function synced(g: Group, assignment: Buffer): SyncGroupResponse {
  return {
    throttleTimeMs: 0,
    errorCode: 0,
    protocolType: g.protocolType,
    protocolName: g.protocolName,
    assignment,
  };
}

/** A commit's answer for an append error (a full or failed log is the coordinator's problem). */
function commitError(code: number): number {
  return code === ErrorCode.KAFKA_STORAGE_ERROR ? ErrorCode.COORDINATOR_NOT_AVAILABLE : code;
}

export class GroupCoordinator {
  readonly groups = new Map<string, Group>();
  /** Offsets committed in transactions not decided yet (TxnOffsetCommit), by producer id. */
  private readonly txnOffsets = new Map<number, { groupId: string; key: string; value: CommittedOffset }[]>();
  private expiryTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly config: CoordinatorConfig,
    private readonly log: OffsetsLog,
    private readonly logLine: (line: string) => void,
  ) {}

  start(): void {
    this.expiryTimer = setInterval(() => {
      this.expireOffsets(Date.now()).catch((e) =>
        this.logLine(`offsets expiry failed: ${(e as Error).stack ?? e}`),
      );
    }, this.config.offsetsRetentionCheckIntervalMs);
    this.expiryTimer.unref();
  }

  stop(): void {
    if (this.expiryTimer) clearInterval(this.expiryTimer);
    for (const g of this.groups.values()) this.clearTimers(g);
  }

  // ---- replay (startup) ----

  /** Apply records replayed from __consumer_offsets, oldest first. */
  replay(records: Iterable<OffsetsRecord>): void {
    const now = Date.now();
    for (const r of records) {
      if (r.kind === "offset" && r.pendingProducerId !== undefined) {
        if (r.value !== null)
          this.holdTxnOffset(r.pendingProducerId, r.key.group, r.key.topic, r.key.partition, r.value);
        continue;
      }
      if (r.kind === "offset") {
        const key = Group.offsetKey(r.key.topic, r.key.partition);
        let g = this.groups.get(r.key.group);
        if (r.value === null) {
          g?.offsets.delete(key);
          continue;
        }
        if (g === undefined) this.groups.set(r.key.group, (g = new Group(r.key.group, now)));
        g.offsets.set(key, r.value);
      } else if (r.value === null) {
        this.groups.delete(r.group);
      } else {
        let g = this.groups.get(r.group);
        if (g === undefined) this.groups.set(r.group, (g = new Group(r.group, now)));
        // Members do not survive a coordinator restart (their sessions are gone): the group comes
        // back Empty at its generation, and its members rejoin.
        g.stored = true;
        g.generationId = r.value.generation;
        g.protocolType = r.value.protocolType;
        g.protocolName = r.value.protocol;
        if (r.value.members.length === 0 && r.value.currentStateTimestamp > 0)
          g.emptySinceMs = r.value.currentStateTimestamp;
      }
    }
  }

  /** Kafka's coordinator check: a group's requests go to the leader of its offsets partition. */
  private notHere(groupId: string): number {
    return this.log.coordinates(offsetsPartitionFor(groupId, this.config.offsetsTopicPartitions));
  }

  /**
   * Drop the groups of an offsets partition this broker no longer leads (Kafka's
   * onResignation): their members learn NOT_COORDINATOR and find the new coordinator.
   */
  unload(partition: number): void {
    for (const g of [...this.groups.values()]) {
      if (offsetsPartitionFor(g.groupId, this.config.offsetsTopicPartitions) !== partition) continue;
      for (const m of [...g.members.values()]) this.memberGone(g, m, ErrorCode.NOT_COORDINATOR);
      this.clearTimers(g);
      this.groups.delete(g.groupId);
    }
  }

  // ---- membership ----

  private group(groupId: string): Group | undefined {
    const g = this.groups.get(groupId);
    return g !== undefined && g.state !== "Dead" ? g : undefined;
  }

  join(
    req: JoinGroupRequest,
    version: number,
    client: ClientInfo,
  ): Promise<JoinGroupResponse> | JoinGroupResponse {
    const c = this.config;
    if (req.groupId === "") return joinError(ErrorCode.INVALID_GROUP_ID, req.memberId);
    const away = this.notHere(req.groupId);
    if (away !== ErrorCode.NONE) return joinError(away, req.memberId);
    if (
      req.sessionTimeoutMs < c.groupMinSessionTimeoutMs ||
      req.sessionTimeoutMs > c.groupMaxSessionTimeoutMs
    ) {
      return joinError(ErrorCode.INVALID_SESSION_TIMEOUT, req.memberId);
    }
    // JoinGroup v0 has no rebalance timeout: use the session timeout (never -1, which would
    // rebalance forever).
    const rebalanceTimeoutMs = req.rebalanceTimeoutMs > 0 ? req.rebalanceTimeoutMs : req.sessionTimeoutMs;
    const protocols = req.protocols.map((p) => ({ name: p.name, metadata: Buffer.from(p.metadata) }));
    let g = this.group(req.groupId);
    // Static membership (KIP-345, v5+): a member known by its group instance id.
    const instance = req.groupInstanceId;
    const staticMember =
      instance !== null && g !== undefined
        ? [...g.members.values()].find((x) => x.groupInstanceId === instance)
        : undefined;
    if (staticMember !== undefined && req.memberId !== "" && req.memberId !== staticMember.memberId)
      return joinError(ErrorCode.FENCED_INSTANCE_ID, req.memberId);
    if (req.memberId === "") {
      if (g === undefined) this.groups.set(req.groupId, (g = new Group(req.groupId, Date.now())));
      if (!g.supportsProtocols(req.protocolType, protocols))
        return joinError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL, "");
      // Kafka's "<client.id>-<uuid>", with the client id cut so a member id always fits a string.
      const memberId = `${client.clientId.slice(0, MEMBER_ID_CLIENT_CHARS) || "member"}-${randomUUID()}`;
      if (instance !== null) {
        // A static member gets its id at once; one that restarted replaces its old self, whose
        // id is fenced from now on (Kafka's updateStaticMemberAndRebalance, without its
        // no-rebalance shortcut: the group rebalances once).
        if (staticMember !== undefined) {
          this.logLine(`group ${g.groupId}: static member ${instance} rejoined as ${memberId}`);
          // Its old self's waiting JoinGroup/SyncGroup learn they are fenced (Kafka's replaceStaticMember).
          this.memberGone(g, staticMember, ErrorCode.FENCED_INSTANCE_ID);
        }
        return this.addMemberAndRebalance(g, memberId, req, rebalanceTimeoutMs, protocols, client);
      }
      if (version >= 4) {
        // KIP-394: hand out the id; the member rejoins with it at once.
        const group = g;
        const t = setTimeout(() => {
          group.pendingMembers.delete(memberId);
          if (group.state === "PreparingRebalance") this.tryCompleteJoin(group);
        }, req.sessionTimeoutMs);
        t.unref();
        g.pendingMembers.set(memberId, t);
        return joinError(ErrorCode.MEMBER_ID_REQUIRED, memberId);
      }
      return this.addMemberAndRebalance(g, memberId, req, rebalanceTimeoutMs, protocols, client);
    }
    if (g === undefined) return joinError(ErrorCode.UNKNOWN_MEMBER_ID, req.memberId);
    const pending = g.pendingMembers.get(req.memberId);
    if (pending !== undefined) {
      clearTimeout(pending);
      g.pendingMembers.delete(req.memberId);
      if (!g.supportsProtocols(req.protocolType, protocols))
        return joinError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL, req.memberId);
      return this.addMemberAndRebalance(g, req.memberId, req, rebalanceTimeoutMs, protocols, client);
    }
    const m = g.members.get(req.memberId);
    if (m === undefined) return joinError(ErrorCode.UNKNOWN_MEMBER_ID, req.memberId);
    if (!g.supportsProtocols(req.protocolType, protocols))
      return joinError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL, req.memberId);
    m.sessionTimeoutMs = req.sessionTimeoutMs;
    m.rebalanceTimeoutMs = rebalanceTimeoutMs;
    switch (g.state) {
      case "PreparingRebalance":
        m.protocols = protocols;
        return this.awaitJoin(g, m);
      case "CompletingRebalance":
        if (m.sameProtocols(protocols)) return this.currentJoinResult(g, m);
        m.protocols = protocols;
        this.prepareRebalance(g, `member ${m.memberId} changed its protocols`);
        return this.awaitJoin(g, m);
      case "Stable":
        if (m.memberId !== g.leaderId && m.sameProtocols(protocols)) {
          // A follower rejoining unchanged gets the current generation and goes on to SyncGroup.
          this.heartbeatSeen(g, m);
          return this.currentJoinResult(g, m);
        }
        m.protocols = protocols;
        this.prepareRebalance(g, `member ${m.memberId} rejoined`);
        return this.awaitJoin(g, m);
      default:
        return joinError(ErrorCode.UNKNOWN_MEMBER_ID, req.memberId);
    }
  }

  private addMemberAndRebalance(
    g: Group,
    memberId: string,
    req: JoinGroupRequest,
    rebalanceTimeoutMs: number,
    protocols: Member["protocols"],
    client: ClientInfo,
  ): Promise<JoinGroupResponse> {
    const m = new Member(
      memberId,
      req.groupInstanceId,
      client.clientId,
      client.clientHost,
      req.sessionTimeoutMs,
      rebalanceTimeoutMs,
      protocols,
    );
    if (g.members.size === 0) g.protocolType = req.protocolType;
    g.members.set(memberId, m);
    const p = this.awaitJoin(g, m);
    if (g.state === "PreparingRebalance") this.tryCompleteJoin(g);
    else this.prepareRebalance(g, `member ${memberId} joined`);
    return p;
  }

  private awaitJoin(g: Group, m: Member): Promise<JoinGroupResponse> {
    // A member waiting in JoinGroup is kept alive (it cannot heartbeat meanwhile), but a new one
    // that never completes its first join is dropped.
    this.scheduleExpiry(g, m, m.isNew ? NEW_MEMBER_JOIN_TIMEOUT_MS : null);
    const previous = m.joinWaiter;
    const p = new Promise<JoinGroupResponse>((resolve) => {
      m.joinWaiter = resolve;
    });
    previous?.(joinError(ErrorCode.UNKNOWN_MEMBER_ID, m.memberId));
    if (g.state === "PreparingRebalance") queueMicrotask(() => this.tryCompleteJoin(g));
    return p;
  }

  private currentJoinResult(g: Group, m: Member): JoinGroupResponse {
    const isLeader = m.memberId === g.leaderId;
    return {
      throttleTimeMs: 0,
      errorCode: 0,
      generationId: g.generationId,
      protocolType: g.protocolType,
      protocolName: g.protocolName,
      leader: g.leaderId ?? "",
      skipAssignment: false,
      memberId: m.memberId,
      members: isLeader
        ? [...g.members.values()].map((x) => ({
            memberId: x.memberId,
            groupInstanceId: x.groupInstanceId,
            metadata: x.metadataFor(g.protocolName!),
          }))
        : [],
    };
  }

  private prepareRebalance(g: Group, reason: string): void {
    if (g.state === "CompletingRebalance") {
      // Assignments of the generation being completed are void: members rejoin.
      for (const m of g.members.values()) {
        m.assignment = Buffer.alloc(0);
        const w = m.syncWaiter;
        m.syncWaiter = null;
        w?.(syncError(ErrorCode.REBALANCE_IN_PROGRESS));
      }
    }
    const wasEmpty = g.state === "Empty";
    g.transition("PreparingRebalance", Date.now());
    if (g.joinTimer) clearTimeout(g.joinTimer);
    // The first rebalance of an empty group waits group.initial.rebalance.delay.ms for more
    // members; later ones wait for every member up to the largest rebalance timeout.
    const delay = wasEmpty
      ? Math.min(this.config.groupInitialRebalanceDelayMs, g.maxRebalanceTimeoutMs)
      : g.maxRebalanceTimeoutMs;
    g.joinTimer = setTimeout(() => {
      g.joinTimer = null;
      this.completeJoin(g);
    }, delay);
    this.logLine(`group ${g.groupId}: preparing rebalance (${reason})`);
    if (wasEmpty) g.initialDelayUntil = Date.now() + delay;
  }

  private tryCompleteJoin(g: Group): void {
    if (g.state !== "PreparingRebalance" || !g.allMembersJoined()) return;
    if (g.initialDelayUntil > Date.now()) return; // the initial delay's timer completes it
    this.completeJoin(g);
  }

  private completeJoin(g: Group): void {
    if (g.state !== "PreparingRebalance") return;
    if (g.joinTimer) {
      clearTimeout(g.joinTimer);
      g.joinTimer = null;
    }
    g.initialDelayUntil = 0;
    // Members that did not rejoin in time are out.
    for (const m of [...g.members.values()]) if (m.joinWaiter === null) this.removeMember(g, m);
    for (const t of g.pendingMembers.values()) clearTimeout(t);
    g.pendingMembers.clear();
    g.generationId++;
    if (g.members.size === 0) {
      g.protocolName = null;
      g.leaderId = null;
      g.transition("Empty", Date.now());
      this.logLine(`group ${g.groupId}: generation ${g.generationId} is empty`);
      void this.storeGroup(g); // never rejects (failures are logged)
      return;
    }
    g.protocolName = g.selectProtocol();
    if (g.leaderId === null || !g.members.has(g.leaderId)) g.leaderId = g.members.keys().next().value!;
    g.transition("CompletingRebalance", Date.now());
    this.logLine(
      `group ${g.groupId}: generation ${g.generationId} with ${g.members.size} member(s), protocol ${g.protocolName}`,
    );
    for (const m of g.members.values()) {
      const w = m.joinWaiter!;
      m.joinWaiter = null;
      m.isNew = false;
      this.scheduleExpiry(g, m, null);
      w(this.currentJoinResult(g, m));
    }
  }

  sync(req: SyncGroupRequest): Promise<SyncGroupResponse> | SyncGroupResponse {
    const away = this.notHere(req.groupId);
    if (away !== ErrorCode.NONE) return syncError(away);
    const g = this.group(req.groupId);
    if (g === undefined) return syncError(ErrorCode.UNKNOWN_MEMBER_ID);
    if (fenced(g, req.memberId, req.groupInstanceId)) return syncError(ErrorCode.FENCED_INSTANCE_ID);
    const m = g.members.get(req.memberId);
    if (m === undefined) return syncError(ErrorCode.UNKNOWN_MEMBER_ID);
    if (req.generationId !== g.generationId) return syncError(ErrorCode.ILLEGAL_GENERATION);
    // v5: the member names the protocol it joined with (Kafka's isValidProtocolTypeAndName).
    if (
      (req.protocolType !== null && req.protocolType !== g.protocolType) ||
      (req.protocolName !== null && g.protocolName !== null && req.protocolName !== g.protocolName)
    )
      return syncError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    switch (g.state) {
      case "PreparingRebalance":
        return syncError(ErrorCode.REBALANCE_IN_PROGRESS);
      case "Stable":
        this.heartbeatSeen(g, m);
        return synced(g, m.assignment);
      case "CompletingRebalance": {
        this.heartbeatSeen(g, m);
        // A member's earlier SyncGroup still waiting is answered, never dropped.
        const previous = m.syncWaiter;
        const p = new Promise<SyncGroupResponse>((resolve) => {
          m.syncWaiter = resolve;
        });
        previous?.(syncError(ErrorCode.REBALANCE_IN_PROGRESS));
        // The leader's assignment for this generation, unless one is being stored for it already
        // (a store of an earlier generation still in flight does not hold this one up).
        if (m.memberId === g.leaderId && g.storingAssignment !== g.generationId) {
          const given = new Map(req.assignments.map((a) => [a.memberId, Buffer.from(a.assignment)]));
          const assignments = new Map(
            [...g.members.keys()].map((id) => [id, given.get(id) ?? Buffer.alloc(0)] as const),
          );
          // Kafka's storeGroup: the assignment is written to the offsets log first; members get
          // it once it is durable, or all get the error and the group rebalances.
          const generation = g.generationId;
          g.storingAssignment = generation;
          this.storeGroup(g, assignments).then(
            (code) => {
              if (g.storingAssignment === generation) g.storingAssignment = -1;
              if (g.state !== "CompletingRebalance" || g.generationId !== generation) return;
              if (code !== ErrorCode.NONE) {
                const error = storeGroupError(code);
                for (const x of g.members.values()) {
                  x.assignment = Buffer.alloc(0);
                  const w = x.syncWaiter;
                  x.syncWaiter = null;
                  w?.(syncError(error));
                }
                this.prepareRebalance(g, `error ${code} storing the group's assignment`);
                return;
              }
              for (const x of g.members.values())
                x.assignment = assignments.get(x.memberId) ?? Buffer.alloc(0);
              g.transition("Stable", Date.now());
              for (const x of g.members.values()) {
                const w = x.syncWaiter;
                x.syncWaiter = null;
                w?.(synced(g, x.assignment));
              }
            },
            (e) =>
              this.logLine(`group ${g.groupId}: completing SyncGroup failed: ${(e as Error).stack ?? e}`),
          );
        }
        return p;
      }
      default:
        return syncError(ErrorCode.UNKNOWN_MEMBER_ID);
    }
  }

  heartbeat(req: HeartbeatRequest): HeartbeatResponse {
    const answer = (errorCode: number): HeartbeatResponse => ({ throttleTimeMs: 0, errorCode });
    const away = this.notHere(req.groupId);
    if (away !== ErrorCode.NONE) return answer(away);
    const g = this.group(req.groupId);
    if (g === undefined || g.state === "Empty") return answer(ErrorCode.UNKNOWN_MEMBER_ID);
    if (fenced(g, req.memberId, req.groupInstanceId)) return answer(ErrorCode.FENCED_INSTANCE_ID);
    const m = g.members.get(req.memberId);
    if (m === undefined) return answer(ErrorCode.UNKNOWN_MEMBER_ID);
    if (req.generationId !== g.generationId) return answer(ErrorCode.ILLEGAL_GENERATION);
    this.heartbeatSeen(g, m);
    return answer(g.state === "PreparingRebalance" ? ErrorCode.REBALANCE_IN_PROGRESS : ErrorCode.NONE);
  }

  /**
   * LeaveGroup: v0-2 name one member (memberId), v3+ a batch (members, by member id or group
   * instance id), each answered on its own; the top-level error is the single member's (v0-2),
   * none from v3 (Kafka's handleLeaveGroup).
   */
  leave(req: LeaveGroupRequest, version: number): LeaveGroupResponse {
    const away = this.notHere(req.groupId);
    if (away !== ErrorCode.NONE) return { throttleTimeMs: 0, errorCode: away, members: [] };
    const g = this.group(req.groupId);
    const leaving =
      version >= 3 ? req.members : [{ memberId: req.memberId, groupInstanceId: null, reason: null }];
    const members = leaving.map((who) => ({
      memberId: who.memberId,
      groupInstanceId: who.groupInstanceId,
      errorCode: g === undefined ? ErrorCode.UNKNOWN_MEMBER_ID : this.leaveOne(g, who),
    }));
    // v3+: an unknown group answers each member UNKNOWN_MEMBER_ID, the request NONE (Kafka's).
    if (version >= 3) return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, members };
    return { throttleTimeMs: 0, errorCode: members[0].errorCode, members: [] };
  }

  private leaveOne(
    g: Group,
    who: { memberId: string; groupInstanceId: string | null; reason: string | null },
  ): number {
    let memberId = who.memberId;
    if (who.groupInstanceId !== null) {
      // A static member leaves by its instance id; a member id given with it must match.
      const m = [...g.members.values()].find((x) => x.groupInstanceId === who.groupInstanceId);
      if (m === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
      if (memberId !== "" && memberId !== m.memberId) return ErrorCode.FENCED_INSTANCE_ID;
      memberId = m.memberId;
    }
    const pending = g.pendingMembers.get(memberId);
    if (pending !== undefined) {
      // An id handed out with MEMBER_ID_REQUIRED that never joined: forget it, so a rebalance
      // does not wait for it.
      clearTimeout(pending);
      g.pendingMembers.delete(memberId);
      if (g.state === "PreparingRebalance") this.tryCompleteJoin(g);
      return ErrorCode.NONE;
    }
    const m = g.members.get(memberId);
    if (m === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
    const reason = who.reason ? ` (${who.reason.slice(0, 200)})` : "";
    this.logLine(`group ${g.groupId}: member ${m.memberId} left${reason}`);
    this.memberGone(g, m);
    return ErrorCode.NONE;
  }

  /** A member left or its session expired: out, and the group rebalances. */
  private memberGone(g: Group, m: Member, code: number = ErrorCode.UNKNOWN_MEMBER_ID): void {
    const waiter = m.joinWaiter;
    m.joinWaiter = null;
    this.removeMember(g, m, code);
    waiter?.(joinError(code, m.memberId));
    if (g.state === "Stable" || g.state === "CompletingRebalance")
      this.prepareRebalance(g, `member ${m.memberId} is gone`);
    else if (g.state === "PreparingRebalance") this.tryCompleteJoin(g);
  }

  private removeMember(g: Group, m: Member, code: number = ErrorCode.UNKNOWN_MEMBER_ID): void {
    if (m.expiry) clearTimeout(m.expiry);
    m.expiry = null;
    g.members.delete(m.memberId);
    const w = m.syncWaiter;
    m.syncWaiter = null;
    w?.(syncError(code));
    if (g.leaderId === m.memberId) g.leaderId = g.members.keys().next().value ?? null;
  }

  private heartbeatSeen(g: Group, m: Member): void {
    this.scheduleExpiry(g, m, null);
  }

  /** (Re)arm a member's session expiry: session.timeout.ms from now, or `ms` when given. */
  private scheduleExpiry(g: Group, m: Member, ms: number | null): void {
    if (m.expiry) clearTimeout(m.expiry);
    m.expiry = setTimeout(() => {
      m.expiry = null;
      // Waiting in JoinGroup or SyncGroup keeps a member alive (Kafka's shouldKeepAlive).
      if ((m.joinWaiter !== null && !m.isNew) || m.syncWaiter !== null) {
        this.scheduleExpiry(g, m, null);
        return;
      }
      if (g.members.get(m.memberId) !== m) return;
      this.logLine(
        `group ${g.groupId}: member ${m.memberId} expired (no heartbeat in ${m.sessionTimeoutMs} ms)`,
      );
      this.memberGone(g, m);
    }, ms ?? m.sessionTimeoutMs);
    m.expiry.unref();
  }

  private clearTimers(g: Group): void {
    if (g.joinTimer) clearTimeout(g.joinTimer);
    g.joinTimer = null;
    for (const m of g.members.values()) if (m.expiry) clearTimeout(m.expiry);
    for (const t of g.pendingMembers.values()) clearTimeout(t);
  }

  // ---- offsets ----

  /**
   * A commit's records and per-partition answers, OffsetCommit's and TxnOffsetCommit's alike:
   * metadata over offset.metadata.max.bytes is OFFSET_METADATA_TOO_LARGE, an unknown partition
   * UNKNOWN_TOPIC_OR_PARTITION; the others become records (and are answered by the append).
   */
  private commitRecords(
    groupId: string,
    requested: readonly {
      name: string;
      partitions: readonly {
        partitionIndex: number;
        committedOffset: number;
        committedLeaderEpoch: number;
        committedMetadata: string | null;
      }[];
    }[],
  ) {
    const now = Date.now();
    const records: { key: Buffer; value: Buffer }[] = [];
    const accepted: {
      topic: string;
      partition: number;
      value: CommittedOffset;
      out: { errorCode: number };
    }[] = [];
    const topics = requested.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => {
        const out = { partitionIndex: p.partitionIndex, errorCode: 0 };
        const metadata = p.committedMetadata ?? "";
        if (Buffer.byteLength(metadata) > this.config.offsetMetadataMaxBytes)
          out.errorCode = ErrorCode.OFFSET_METADATA_TOO_LARGE;
        else if (!this.log.partitionExists(t.name, p.partitionIndex))
          out.errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
        else {
          const value: CommittedOffset = {
            offset: p.committedOffset,
            leaderEpoch: p.committedLeaderEpoch,
            metadata,
            commitTimestamp: now,
          };
          records.push({
            key: encodeOffsetKey({ group: groupId, topic: t.name, partition: p.partitionIndex }),
            value: encodeOffsetValue(value),
          });
          accepted.push({ topic: t.name, partition: p.partitionIndex, value, out });
        }
        return out;
      }),
    }));
    return { topics, records, accepted };
  }

  // ---- transactions (TxnOffsetCommit, then the transaction's marker) ----

  private holdTxnOffset(
    producerId: number,
    groupId: string,
    topic: string,
    partition: number,
    value: CommittedOffset,
  ): void {
    let held = this.txnOffsets.get(producerId);
    if (held === undefined) this.txnOffsets.set(producerId, (held = []));
    held.push({ groupId, key: Group.offsetKey(topic, partition), value });
  }

  /**
   * TxnOffsetCommit (Kafka's handleTxnCommitOffsets): the offsets go to the group's
   * __consumer_offsets partition in a batch of the producer's transaction, and count once its
   * COMMIT marker is written there (onTxnMarker); an ABORT drops them. v3+ name the member:
   * checked as OffsetCommit checks it, when given.
   */
  async txnCommit(req: TxnOffsetCommitRequest): Promise<TxnOffsetCommitResponse> {
    const all = (errorCode: number): TxnOffsetCommitResponse => ({
      throttleTimeMs: 0,
      topics: req.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode })),
      })),
    });
    if (req.groupId === "") return all(ErrorCode.INVALID_GROUP_ID);
    const away = this.notHere(req.groupId);
    if (away !== ErrorCode.NONE) return all(away);
    const g = this.group(req.groupId);
    if (g !== undefined && req.memberId !== "" && g.members.size > 0) {
      if (fenced(g, req.memberId, req.groupInstanceId)) return all(ErrorCode.FENCED_INSTANCE_ID);
      if (!g.members.has(req.memberId)) return all(ErrorCode.UNKNOWN_MEMBER_ID);
      if (req.generationId >= 0 && req.generationId !== g.generationId)
        return all(ErrorCode.ILLEGAL_GENERATION);
    }
    const { topics, records, accepted } = this.commitRecords(req.groupId, req.topics);
    if (records.length > 0) {
      const code = await this.log.append(
        offsetsPartitionFor(req.groupId, this.config.offsetsTopicPartitions),
        records,
        { producerId: req.producerId, producerEpoch: req.producerEpoch },
      );
      for (const a of accepted) {
        if (code === 0) this.holdTxnOffset(req.producerId, req.groupId, a.topic, a.partition, a.value);
        else a.out.errorCode = commitError(code);
      }
    }
    return { throttleTimeMs: 0, topics };
  }

  /**
   * A transaction marker of `producerId` was written to __consumer_offsets partition
   * `partition`: its offsets committed there take effect (COMMIT) or go (ABORT).
   */
  onTxnMarker(partition: number, producerId: number, commit: boolean): void {
    const held = this.txnOffsets.get(producerId);
    if (held === undefined) return;
    const left = held.filter(
      (h) => offsetsPartitionFor(h.groupId, this.config.offsetsTopicPartitions) !== partition,
    );
    if (commit) {
      const now = Date.now();
      for (const h of held) {
        if (offsetsPartitionFor(h.groupId, this.config.offsetsTopicPartitions) !== partition) continue;
        let g = this.groups.get(h.groupId);
        if (g === undefined) this.groups.set(h.groupId, (g = new Group(h.groupId, now)));
        g.offsets.set(h.key, h.value);
      }
    }
    if (left.length === 0) this.txnOffsets.delete(producerId);
    else this.txnOffsets.set(producerId, left);
  }

  async commit(req: OffsetCommitRequest): Promise<OffsetCommitResponse> {
    const all = (errorCode: number): OffsetCommitResponse => ({
      throttleTimeMs: 0,
      topics: req.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode })),
      })),
    });
    if (req.groupId === "") return all(ErrorCode.INVALID_GROUP_ID);
    const away = this.notHere(req.groupId);
    if (away !== ErrorCode.NONE) return all(away);
    let g = this.group(req.groupId);
    const generationId = req.generationIdOrMemberEpoch;
    const simple = generationId < 0 && req.memberId === "";
    // Kafka's order of checks (GroupCoordinator.handleCommitOffsets).
    if (g === undefined) {
      // Commits for a group without members (kcat's simple consumer, admin tools) are accepted.
      if (generationId >= 0) return all(ErrorCode.ILLEGAL_GENERATION);
      this.groups.set(req.groupId, (g = new Group(req.groupId, Date.now())));
    } else if (simple && g.state === "Empty") {
      // a memberless commit to a group without members
    } else if (fenced(g, req.memberId, req.groupInstanceId)) {
      return all(ErrorCode.FENCED_INSTANCE_ID);
    } else {
      const m = g.members.get(req.memberId);
      if (m === undefined) return all(ErrorCode.UNKNOWN_MEMBER_ID);
      if (generationId !== g.generationId) return all(ErrorCode.ILLEGAL_GENERATION);
      // Kafka refuses commits only while assignments are being handed out; a member of the
      // current generation may commit while the group prepares a rebalance (kafkajs commits
      // what it consumed on REBALANCE_IN_PROGRESS, then rejoins).
      if (g.state === "CompletingRebalance") return all(ErrorCode.REBALANCE_IN_PROGRESS);
      this.heartbeatSeen(g, m);
    }
    const { topics, records, accepted } = this.commitRecords(req.groupId, req.topics);
    if (records.length > 0) {
      const code = await this.log.append(
        offsetsPartitionFor(req.groupId, this.config.offsetsTopicPartitions),
        records,
      );
      for (const a of accepted) {
        if (code === 0) g.offsets.set(Group.offsetKey(a.topic, a.partition), a.value);
        else a.out.errorCode = commitError(code);
      }
    }
    return { throttleTimeMs: 0, topics };
  }

  /** OffsetFetch: v0-7 ask for one group, v8+ for many (each answered in `groups`). */
  fetchOffsets(req: OffsetFetchRequest, version: number): OffsetFetchResponse {
    if (version >= 8) {
      const groups = req.groups.map((q) => {
        const away = this.notHere(q.groupId);
        return away !== ErrorCode.NONE
          ? { groupId: q.groupId, topics: [], errorCode: away }
          : { groupId: q.groupId, topics: this.committedOffsets(q.groupId, q.topics), errorCode: 0 };
      });
      return { throttleTimeMs: 0, topics: [], errorCode: 0, groups };
    }
    const away = this.notHere(req.groupId);
    if (away !== ErrorCode.NONE) return { throttleTimeMs: 0, topics: [], errorCode: away, groups: [] };
    return {
      throttleTimeMs: 0,
      topics: this.committedOffsets(req.groupId, req.topics),
      errorCode: 0,
      groups: [],
    };
  }

  /** A group's committed offsets: of the partitions named, or (null) of every one it committed. */
  private committedOffsets(
    groupId: string,
    wanted: readonly { name: string; partitionIndexes: number[] }[] | null,
  ): OffsetFetchTopicResponse[] {
    const g = this.group(groupId);
    const topics: OffsetFetchTopicResponse[] = [];
    const answer = (topic: string, partition: number) => {
      const o = g?.offsets.get(Group.offsetKey(topic, partition));
      return {
        partitionIndex: partition,
        committedOffset: o?.offset ?? -1,
        committedLeaderEpoch: o?.leaderEpoch ?? -1,
        metadata: o?.metadata ?? "",
        errorCode: 0,
      };
    };
    if (wanted === null) {
      // Every committed offset of the group.
      const byTopic = new Map<string, number[]>();
      for (const key of g?.offsets.keys() ?? []) {
        const [topic, p] = key.split("\0");
        byTopic.set(topic, [...(byTopic.get(topic) ?? []), Number(p)]);
      }
      for (const [name, ps] of byTopic)
        topics.push({ name, partitions: ps.sort((a, b) => a - b).map((p) => answer(name, p)) });
    } else {
      // Every requested partition is answered; -1 where nothing is committed.
      for (const t of wanted)
        topics.push({ name: t.name, partitions: t.partitionIndexes.map((p) => answer(t.name, p)) });
    }
    return topics;
  }

  // ---- administration ----

  describe(groupIds: readonly string[], includeAuthorizedOperations = false): DescribeGroupsResponse {
    const ops = authorizedOperations("group", includeAuthorizedOperations);
    const groups: DescribedGroup[] = groupIds.map((id) => {
      const away = this.notHere(id);
      if (away !== ErrorCode.NONE)
        return {
          errorCode: away,
          groupId: id,
          groupState: "",
          protocolType: "",
          protocolData: "",
          members: [],
          authorizedOperations: ops,
        };
      const g = this.group(id);
      if (g === undefined)
        return {
          errorCode: 0,
          groupId: id,
          groupState: "Dead",
          protocolType: "",
          protocolData: "",
          members: [],
          authorizedOperations: ops,
        };
      const stable = g.state === "Stable";
      return {
        errorCode: 0,
        groupId: id,
        groupState: g.state,
        protocolType: g.protocolType ?? "",
        protocolData: stable ? (g.protocolName ?? "") : "",
        authorizedOperations: ops,
        members: [...g.members.values()].map((m) => ({
          memberId: m.memberId,
          groupInstanceId: m.groupInstanceId,
          clientId: m.clientId,
          clientHost: m.clientHost,
          memberMetadata: stable ? m.metadataFor(g.protocolName!) : Buffer.alloc(0),
          memberAssignment: stable ? m.assignment : Buffer.alloc(0),
        })),
      };
    });
    return { throttleTimeMs: 0, groups };
  }

  /** ListGroups; v4 may filter by state, v5 by type (every Milena group is "classic"). */
  list(statesFilter: readonly string[] = [], typesFilter: readonly string[] = []): ListGroupsResponse {
    const states = new Set(statesFilter.map((s) => s.toLowerCase()));
    const types = new Set(typesFilter.map((s) => s.toLowerCase()));
    const groups = [...this.groups.values()]
      .filter((g) => g.state !== "Dead")
      .filter((g) => states.size === 0 || states.has(g.state.toLowerCase()))
      .filter(() => types.size === 0 || types.has("classic"))
      .map((g) => ({
        groupId: g.groupId,
        protocolType: g.protocolType ?? "",
        groupState: g.state,
        groupType: "classic",
      }));
    return { throttleTimeMs: 0, errorCode: 0, groups };
  }

  async deleteGroups(ids: readonly string[]): Promise<DeleteGroupsResponse> {
    const results = [];
    for (const id of ids) {
      const g = this.group(id);
      const away = this.notHere(id);
      if (away !== ErrorCode.NONE) results.push({ groupId: id, errorCode: away });
      else if (g === undefined) results.push({ groupId: id, errorCode: ErrorCode.GROUP_ID_NOT_FOUND });
      else if (g.state !== "Empty") results.push({ groupId: id, errorCode: ErrorCode.NON_EMPTY_GROUP });
      else results.push({ groupId: id, errorCode: await this.removeGroup(g) });
    }
    return { throttleTimeMs: 0, results };
  }

  /** Tombstones for the group and its offsets, then it is Dead. */
  private async removeGroup(g: Group): Promise<number> {
    const records: { key: Buffer; value: Buffer | null }[] = [];
    for (const key of g.offsets.keys()) {
      const [topic, p] = key.split("\0");
      records.push({ key: encodeOffsetKey({ group: g.groupId, topic, partition: Number(p) }), value: null });
    }
    records.push({ key: encodeGroupKey(g.groupId), value: null });
    const code = await this.log.append(
      offsetsPartitionFor(g.groupId, this.config.offsetsTopicPartitions),
      records,
    );
    if (code !== 0) return code;
    this.clearTimers(g);
    g.transition("Dead", Date.now());
    this.groups.delete(g.groupId);
    return 0;
  }

  /** Offsets of a deleted topic go (tombstones), in every group. */
  async topicDeleted(topic: string): Promise<void> {
    for (const g of this.groups.values()) {
      const gone = [...g.offsets.keys()].filter((k) => k.startsWith(`${topic}\0`));
      if (gone.length > 0) await this.deleteOffsets(g, gone);
    }
  }

  /**
   * OffsetDelete (Kafka's handleDeleteOffsets): an unknown group is GROUP_ID_NOT_FOUND; a group
   * with members keeps the offsets of topics a member subscribes to (GROUP_SUBSCRIBED_TO_TOPIC
   * per partition), and a non-consumer group with members refuses all (NON_EMPTY_GROUP); every
   * other partition named loses its committed offset (a tombstone in __consumer_offsets).
   */
  async deleteGroupOffsets(req: OffsetDeleteRequest): Promise<OffsetDeleteResponse> {
    const g = this.group(req.groupId);
    const answer = (perPartition: (topic: string, partition: number) => number): OffsetDeleteResponse => ({
      errorCode: 0,
      throttleTimeMs: 0,
      topics: req.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => ({
          partitionIndex: p.partitionIndex,
          errorCode: perPartition(t.name, p.partitionIndex),
        })),
      })),
    });
    // A group-level error answers no topics (Kafka's OffsetDeleteRequest.getErrorResponse).
    const groupError = (errorCode: number): OffsetDeleteResponse => ({
      errorCode,
      throttleTimeMs: 0,
      topics: [],
    });
    const away = this.notHere(req.groupId);
    if (away !== ErrorCode.NONE) return groupError(away);
    if (g === undefined) return groupError(ErrorCode.GROUP_ID_NOT_FOUND);
    const subscribed = new Set<string>();
    if (g.members.size > 0) {
      if (g.protocolType !== "consumer" || g.protocolName === null)
        return groupError(ErrorCode.NON_EMPTY_GROUP);
      for (const m of g.members.values()) {
        try {
          for (const t of decodeSubscription(m.metadataFor(g.protocolName)).topics) subscribed.add(t);
        } catch {
          // A subscription the coordinator cannot read protects nothing (Kafka skips it too).
        }
      }
    }
    // A partition the broker does not have: UNKNOWN_TOPIC_OR_PARTITION, its offset left alone.
    const known = (topic: string, partition: number) => this.log.partitionExists(topic, partition);
    const keys: string[] = [];
    for (const t of req.topics) {
      if (subscribed.has(t.name)) continue;
      for (const p of t.partitions) {
        if (!known(t.name, p.partitionIndex)) continue;
        const k = Group.offsetKey(t.name, p.partitionIndex);
        if (g.offsets.has(k)) keys.push(k);
      }
    }
    if (keys.length > 0) {
      const code = await this.deleteOffsets(g, keys);
      if (code !== 0) return groupError(storeGroupError(code));
    }
    return answer((topic, partition) =>
      !known(topic, partition)
        ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
        : subscribed.has(topic)
          ? ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC
          : 0,
    );
  }

  /** Tombstones for some of a group's offsets ("topic\0partition" keys), then they are gone. */
  private async deleteOffsets(g: Group, keys: readonly string[]): Promise<number> {
    const records = keys.map((k) => {
      const [topic, p] = k.split("\0");
      return { key: encodeOffsetKey({ group: g.groupId, topic, partition: Number(p) }), value: null };
    });
    const partition = offsetsPartitionFor(g.groupId, this.config.offsetsTopicPartitions);
    const code = await this.log.append(partition, records);
    if (code === 0) for (const k of keys) g.offsets.delete(k);
    return code;
  }

  /**
   * Expiry (Kafka's GroupMetadata.removeExpiredOffsets): a consumer group empty for
   * offsets.retention.minutes loses its offsets and is removed. A standalone consumer's group
   * (memberless commits only, no protocol type) is Empty from its first commit on, so each of
   * its offsets expires that long after its own last commit, and the group goes with the last.
   */
  async expireOffsets(nowMs: number): Promise<void> {
    const retention = this.config.offsetsRetentionMs;
    for (const g of [...this.groups.values()]) {
      if (g.state === "Empty" && g.protocolType === null && g.offsets.size > 0) {
        const expired = [...g.offsets]
          .filter(([, o]) => nowMs - o.commitTimestamp >= retention)
          .map(([k]) => k);
        if (expired.length === 0) continue;
        if (expired.length < g.offsets.size) {
          this.logLine(`group ${g.groupId}: ${expired.length} offset(s) expired`);
          await this.deleteOffsets(g, expired);
          continue;
        }
        this.logLine(`group ${g.groupId}: offsets expired`);
        await this.removeGroup(g);
      } else if (g.state === "Empty" && g.offsets.size === 0 && g.pendingMembers.size === 0) {
        // Kafka's cleanupGroupMetadata: an empty group without offsets is dead at the next check
        // (so group ids a client makes up do not pile up).
        if (g.stored) await this.removeGroup(g);
        else {
          this.clearTimers(g);
          g.transition("Dead", nowMs);
          this.groups.delete(g.groupId);
        }
      } else if (g.state === "Empty" && nowMs - g.emptySinceMs >= retention) {
        this.logLine(
          `group ${g.groupId}: offsets expired (empty for ${Math.round((nowMs - g.emptySinceMs) / 60000)} min)`,
        );
        await this.removeGroup(g);
      }
    }
  }

  /**
   * Group metadata record: written when a generation's assignment is handed out or the group
   * empties. Resolves to the append's error code; never rejects.
   */
  private async storeGroup(g: Group, assignments?: ReadonlyMap<string, Buffer>): Promise<number> {
    try {
      return await this.appendGroup(g, assignments);
    } catch (e) {
      this.logLine(`group ${g.groupId}: storing group metadata failed: ${(e as Error).message}`);
      return ErrorCode.UNKNOWN_SERVER_ERROR;
    }
  }

  private async appendGroup(g: Group, assignments?: ReadonlyMap<string, Buffer>): Promise<number> {
    const value = encodeGroupValue({
      protocolType: g.protocolType ?? "",
      generation: g.generationId,
      protocol: g.protocolName,
      leader: g.leaderId,
      currentStateTimestamp: Date.now(),
      members: [...g.members.values()].map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        rebalanceTimeoutMs: m.rebalanceTimeoutMs,
        sessionTimeoutMs: m.sessionTimeoutMs,
        subscription: m.metadataFor(g.protocolName ?? ""),
        assignment: assignments?.get(m.memberId) ?? m.assignment,
      })),
    });
    const code = await this.log.append(offsetsPartitionFor(g.groupId, this.config.offsetsTopicPartitions), [
      { key: encodeGroupKey(g.groupId), value },
    ]);
    if (code !== 0) this.logLine(`group ${g.groupId}: storing group metadata failed with error ${code}`);
    else g.stored = true;
    return code;
  }
}
