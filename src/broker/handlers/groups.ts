// The group APIs: thin adapters from the codecs to the coordinator (src/broker/groups/),
// which holds the state machine and the committed offsets.

import type { DeleteGroupsRequest, DeleteGroupsResponse } from "../../protocol/delete_groups.ts";
import type { DescribeGroupsRequest, DescribeGroupsResponse } from "../../protocol/describe_groups.ts";
import type { HeartbeatRequest, HeartbeatResponse } from "../../protocol/heartbeat.ts";
import type { JoinGroupRequest, JoinGroupResponse } from "../../protocol/join_group.ts";
import type { LeaveGroupRequest, LeaveGroupResponse } from "../../protocol/leave_group.ts";
import type { ListGroupsRequest, ListGroupsResponse } from "../../protocol/list_groups.ts";
import type { OffsetCommitRequest, OffsetCommitResponse } from "../../protocol/offset_commit.ts";
import type { OffsetDeleteRequest, OffsetDeleteResponse } from "../../protocol/offset_delete.ts";
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
  const tcp = !listener.startsWith("WEBSOCKET");
  return `/${tcp && colon > 0 ? remote.slice(0, colon) : remote}`;
}

export const handleJoinGroup = async (
  g: GroupCoordinator,
  req: JoinGroupRequest,
  rc: RequestContext,
): Promise<JoinGroupResponse> => {
  const version = rc.header.apiVersion;
  const res = await g.join(req, version, { clientId: rc.header.clientId ?? "", clientHost: clientHost(rc) });
  // Below v7 the protocol name is not nullable: Kafka writes its NoProtocol, "".
  return version < 7 && res.protocolName === null ? { ...res, protocolName: "" } : res;
};

export const handleSyncGroup = async (
  g: GroupCoordinator,
  req: SyncGroupRequest,
): Promise<SyncGroupResponse> => g.sync(req);

export const handleHeartbeat = (g: GroupCoordinator, req: HeartbeatRequest): HeartbeatResponse =>
  g.heartbeat(req);

export const handleLeaveGroup = (
  g: GroupCoordinator,
  req: LeaveGroupRequest,
  rc: RequestContext,
): LeaveGroupResponse => g.leave(req, rc.header.apiVersion);

export const handleOffsetCommit = (
  g: GroupCoordinator,
  req: OffsetCommitRequest,
): Promise<OffsetCommitResponse> => g.commit(req);

export const handleOffsetFetch = (
  g: GroupCoordinator,
  req: OffsetFetchRequest,
  rc: RequestContext,
): OffsetFetchResponse => g.fetchOffsets(req, rc.header.apiVersion);

export const handleDescribeGroups = (
  g: GroupCoordinator,
  req: DescribeGroupsRequest,
): DescribeGroupsResponse => g.describe(req.groups, req.includeAuthorizedOperations);

export const handleListGroups = (g: GroupCoordinator, req: ListGroupsRequest): ListGroupsResponse =>
  g.list(req.statesFilter, req.typesFilter);

export const handleOffsetDelete = (
  g: GroupCoordinator,
  req: OffsetDeleteRequest,
): Promise<OffsetDeleteResponse> => g.deleteGroupOffsets(req);

export const handleDeleteGroups = (
  g: GroupCoordinator,
  req: DeleteGroupsRequest,
): Promise<DeleteGroupsResponse> => g.deleteGroups(req.groupsNames);
