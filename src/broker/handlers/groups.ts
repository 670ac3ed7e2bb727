// The group APIs: thin adapters from the codecs to the coordinator (src/broker/groups/),
// which holds the state machine and the committed offsets.

import type { DeleteGroupsRequest, DeleteGroupsResponse } from "../../protocol/delete_groups.ts";
import type { DescribeGroupsRequest, DescribeGroupsResponse } from "../../protocol/describe_groups.ts";
import type { HeartbeatRequest, HeartbeatResponse } from "../../protocol/heartbeat.ts";
import type { JoinGroupRequest, JoinGroupResponse } from "../../protocol/join_group.ts";
import type { LeaveGroupRequest, LeaveGroupResponse } from "../../protocol/leave_group.ts";
import type { ListGroupsResponse } from "../../protocol/list_groups.ts";
import type { OffsetCommitRequest, OffsetCommitResponse } from "../../protocol/offset_commit.ts";
import type { OffsetFetchRequest, OffsetFetchResponse } from "../../protocol/offset_fetch.ts";
import type { SyncGroupRequest, SyncGroupResponse } from "../../protocol/sync_group.ts";
import type { RequestContext } from "../../transport/connection.ts";
import type { GroupCoordinator } from "../groups/coordinator.ts";

/**
 * Kafka shows a member's host as "/address". A TCP connection's remote is "address:port"; a
 * WebSocket one's (uWebSockets.js) is the address alone, which must not lose its last character.
 */
export function clientHost(rc: Pick<RequestContext, "connection">): string {
  const { remote, listener } = rc.connection.sink;
  const colon = remote.lastIndexOf(":");
  return `/${listener === "PLAINTEXT" && colon > 0 ? remote.slice(0, colon) : remote}`;
}

export const handleJoinGroup = async (
  g: GroupCoordinator,
  req: JoinGroupRequest,
  rc: RequestContext,
): Promise<JoinGroupResponse> =>
  g.join(req, rc.header.apiVersion, { clientId: rc.header.clientId ?? "", clientHost: clientHost(rc) });

export const handleSyncGroup = async (
  g: GroupCoordinator,
  req: SyncGroupRequest,
): Promise<SyncGroupResponse> => g.sync(req);

export const handleHeartbeat = (g: GroupCoordinator, req: HeartbeatRequest): HeartbeatResponse =>
  g.heartbeat(req);

export const handleLeaveGroup = (g: GroupCoordinator, req: LeaveGroupRequest): LeaveGroupResponse =>
  g.leave(req);

export const handleOffsetCommit = (
  g: GroupCoordinator,
  req: OffsetCommitRequest,
): Promise<OffsetCommitResponse> => g.commit(req);

export const handleOffsetFetch = (g: GroupCoordinator, req: OffsetFetchRequest): OffsetFetchResponse =>
  g.fetchOffsets(req);

export const handleDescribeGroups = (
  g: GroupCoordinator,
  req: DescribeGroupsRequest,
): DescribeGroupsResponse => g.describe(req.groups);

export const handleListGroups = (g: GroupCoordinator): ListGroupsResponse => g.list();

export const handleDeleteGroups = (
  g: GroupCoordinator,
  req: DeleteGroupsRequest,
): Promise<DeleteGroupsResponse> => g.deleteGroups(req.groupsNames);
