// The codecs of the group coordinator's APIs (kafka-protocol.md §5). They are not in CODECS
// (registry.ts) yet: the broker advertises exactly the APIs it has handlers for, so they move
// there when the coordinator lands. Until then ApiVersions can be built with
// apiVersionsKeys([...CODECS, ...GROUP_CODECS]) (test fixtures do).

import { deleteGroupsCodec } from "./delete_groups.ts";
import { describeGroupsCodec } from "./describe_groups.ts";
import { heartbeatCodec } from "./heartbeat.ts";
import { joinGroupCodec } from "./join_group.ts";
import { leaveGroupCodec } from "./leave_group.ts";
import { listGroupsCodec } from "./list_groups.ts";
import { offsetCommitCodec } from "./offset_commit.ts";
import { offsetDeleteCodec } from "./offset_delete.ts";
import { offsetFetchCodec } from "./offset_fetch.ts";
import type { AnyApiCodec } from "./registry.ts";
import { syncGroupCodec } from "./sync_group.ts";

export const GROUP_CODECS: readonly AnyApiCodec[] = [
  offsetCommitCodec,
  offsetFetchCodec,
  joinGroupCodec,
  heartbeatCodec,
  leaveGroupCodec,
  syncGroupCodec,
  describeGroupsCodec,
  listGroupsCodec,
  deleteGroupsCodec,
  offsetDeleteCodec,
];
