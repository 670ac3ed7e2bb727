// REQUIRED_ACLS: for each API the broker serves, the ACL checks Kafka's KafkaApis performs and what
// it answers when one fails. Documentation as data, for the wiring of the authorizer into the
// handlers (and for a test that every served API is covered).
//
// The reference is Kafka 3.8.0 (the last release with the ZooKeeper inter-broker APIs):
// core/src/main/scala/kafka/server/KafkaApis.scala, AuthHelper.scala, AclApis.scala and
// ConfigHelper.scala; each entry names its handler. Every check is AuthHelper.authorize on a
// LITERAL resource: `name` says which name (the cluster is always "kafka-cluster"); "any" is
// authorizeByResourceType (allowed on at least one resource of the type). `anyOf`: the check
// passes when one of its actions is allowed, tried in order. errorCode null: a failure is not an
// error but leaves the resource out of the answer.
//
// Where this differs from what one might guess:
//   - Produce has no IDEMPOTENT_WRITE check since Kafka 2.8 (KIP-679): InitProducerId without a
//     transactional id is where idempotence is authorized (IDEMPOTENT_WRITE on the cluster, or
//     WRITE on any topic), answering CLUSTER_AUTHORIZATION_FAILED.
//   - OffsetFetch needs DESCRIBE (not READ) on the group and DESCRIBE on each topic.
//   - A follower Fetch without CLUSTER_ACTION answers TOPIC_AUTHORIZATION_FAILED for every partition.
//   - Metadata never discloses a topic the caller may not DESCRIBE: left out of an all-topics answer;
//     a named one answers TOPIC_AUTHORIZATION_FAILED whether or not it exists.
//   - Topic checks come before the topic's existence: an unauthorized topic that does not exist
//     answers TOPIC_AUTHORIZATION_FAILED, never UNKNOWN_TOPIC_OR_PARTITION.

import { ApiKey } from "../../protocol/api_keys.ts";
import { ErrorCode } from "../../protocol/error_codes.ts";
import { AclOperation, ResourceType } from "./acl.ts";

/** Keys src/protocol/api_keys.ts does not list (yet): the security APIs. */
export const SecurityApiKey = {
  SaslHandshake: 17,
  DescribeAcls: 29,
  CreateAcls: 30,
  DeleteAcls: 31,
  SaslAuthenticate: 36,
  DescribeUserScramCredentials: 50,
  AlterUserScramCredentials: 51,
} as const;

/** Which resource name an action is checked on. */
export type AclResourceName =
  /** Each topic the request names (one check per distinct name). */
  | "topic"
  /** The request's group id (or each group it names). */
  | "group"
  /** The request's transactional id (or each one it names). */
  | "transactional_id"
  /** "kafka-cluster". */
  | "cluster"
  /** authorizeByResourceType: at least one resource of the type. */
  | "any";

export interface AclAction {
  readonly operation: AclOperation;
  readonly resourceType: ResourceType;
  readonly name: AclResourceName;
}

export interface AclCheck {
  /** Passes when any one of these is allowed (Kafka tries them in this order). */
  readonly anyOf: readonly AclAction[];
  /** When Kafka makes the check; null: always. */
  readonly when: string | null;
  /** What a failure answers; null: no error, the resource is left out of the answer. */
  readonly errorCode: number | null;
  /** Where and how the failure is answered. */
  readonly failure: string;
}

export interface ApiAcls {
  readonly apiKey: number;
  readonly api: string;
  /** In the order Kafka makes them; empty: no ACL check. */
  readonly checks: readonly AclCheck[];
  /** Kafka's handler (Kafka 3.8.0). */
  readonly kafka: string;
  readonly notes?: string;
}

const { READ, WRITE, CREATE, DELETE, ALTER, DESCRIBE, CLUSTER_ACTION, DESCRIBE_CONFIGS, ALTER_CONFIGS } =
  AclOperation;
const { TOPIC, GROUP, CLUSTER, TRANSACTIONAL_ID } = ResourceType;
const {
  TOPIC_AUTHORIZATION_FAILED: TOPIC_FAILED,
  GROUP_AUTHORIZATION_FAILED: GROUP_FAILED,
  CLUSTER_AUTHORIZATION_FAILED: CLUSTER_FAILED,
  TRANSACTIONAL_ID_AUTHORIZATION_FAILED: TXN_FAILED,
} = ErrorCode;

function on(operation: AclOperation, resourceType: ResourceType, name: AclResourceName): AclAction {
  return { operation, resourceType, name };
}

function check(
  anyOf: AclAction | readonly AclAction[],
  errorCode: number | null,
  failure: string,
  when: string | null = null,
): AclCheck {
  return { anyOf: Array.isArray(anyOf) ? anyOf : [anyOf as AclAction], when, errorCode, failure };
}

const WHOLE_CLUSTER =
  "the whole request: authorizeClusterOperation throws ClusterAuthorizationException, answered as the request's error response";
const WHOLE_GROUP = "the whole request: its error response with GROUP_AUTHORIZATION_FAILED";
const PER_PARTITION = "each partition of the topic (checked before the topic's existence)";

const clusterAction = (apiKey: number, api: string, kafka: string): ApiAcls => ({
  apiKey,
  api,
  kafka,
  checks: [check(on(CLUSTER_ACTION, CLUSTER, "cluster"), CLUSTER_FAILED, WHOLE_CLUSTER)],
  notes: "Inter-broker: sent by the controller (or a broker); its principal needs CLUSTER_ACTION.",
});

const groupRead = (apiKey: number, api: string, kafka: string): ApiAcls => ({
  apiKey,
  api,
  kafka,
  checks: [check(on(READ, GROUP, "group"), GROUP_FAILED, WHOLE_GROUP)],
});

const configChecks = (operation: AclOperation, clusterTypes: string): AclCheck[] => [
  check(
    on(operation, CLUSTER, "cluster"),
    CLUSTER_FAILED,
    "that resource's result",
    `resource type ${clusterTypes}`,
  ),
  check(on(operation, TOPIC, "topic"), TOPIC_FAILED, "that resource's result", "resource type TOPIC (2)"),
];

const TABLE: readonly ApiAcls[] = [
  {
    apiKey: ApiKey.Produce,
    api: "Produce",
    kafka: "KafkaApis.handleProduceRequest",
    checks: [
      check(
        on(WRITE, TRANSACTIONAL_ID, "transactional_id"),
        TXN_FAILED,
        "the whole request (every partition); a null transactional id fails the same way",
        "the request holds transactional records",
      ),
      check(on(WRITE, TOPIC, "topic"), TOPIC_FAILED, PER_PARTITION),
    ],
    notes: "No IDEMPOTENT_WRITE check (removed by KIP-679, Kafka 2.8): see InitProducerId.",
  },
  {
    apiKey: ApiKey.Fetch,
    api: "Fetch",
    kafka: "KafkaApis.handleFetchRequest",
    checks: [
      check(
        on(CLUSTER_ACTION, CLUSTER, "cluster"),
        TOPIC_FAILED,
        "every partition answers TOPIC_AUTHORIZATION_FAILED (not CLUSTER_AUTHORIZATION_FAILED)",
        "from a follower (replica id >= 0)",
      ),
      check(on(READ, TOPIC, "topic"), TOPIC_FAILED, PER_PARTITION, "from a consumer (replica id < 0)"),
    ],
  },
  {
    apiKey: ApiKey.ListOffsets,
    api: "ListOffsets",
    kafka: "KafkaApis.handleListOffsetRequest",
    checks: [check(on(DESCRIBE, TOPIC, "topic"), TOPIC_FAILED, PER_PARTITION)],
  },
  {
    apiKey: ApiKey.Metadata,
    api: "Metadata",
    kafka: "KafkaApis.handleTopicMetadataRequest",
    checks: [
      check(
        on(DESCRIBE, TOPIC, "topic"),
        TOPIC_FAILED,
        "all topics asked (topics null, or v0 with an empty list): the topic is left out, silently; " +
          "topics named: TOPIC_AUTHORIZATION_FAILED with no partitions, topic id zero, is_internal " +
          "false, whether or not the topic exists (by topic id, v12+: name null, the id kept)",
      ),
      check(
        [on(CREATE, CLUSTER, "cluster"), on(CREATE, TOPIC, "topic")],
        TOPIC_FAILED,
        "that topic answers TOPIC_AUTHORIZATION_FAILED and is not created",
        "auto-creation: allow_auto_topic_creation, auto.create.topics.enable, a named topic the caller may DESCRIBE that does not exist",
      ),
      check(
        on(DESCRIBE, CLUSTER, "cluster"),
        null,
        "cluster_authorized_operations is 0 (else authorizedOperations(CLUSTER))",
        "v8-10 with include_cluster_authorized_operations",
      ),
    ],
    notes:
      "include_topic_authorized_operations (v8+): authorizedOperations(TOPIC, name) for each topic answered with " +
      "metadata; refused topics keep the default (INT32_MIN).",
  },
  clusterAction(ApiKey.LeaderAndIsr, "LeaderAndIsr", "KafkaApis.handleLeaderAndIsrRequest"),
  clusterAction(ApiKey.StopReplica, "StopReplica", "KafkaApis.handleStopReplicaRequest"),
  clusterAction(ApiKey.UpdateMetadata, "UpdateMetadata", "KafkaApis.handleUpdateMetadataRequest"),
  clusterAction(ApiKey.ControlledShutdown, "ControlledShutdown", "KafkaApis.handleControlledShutdownRequest"),
  {
    apiKey: ApiKey.OffsetCommit,
    api: "OffsetCommit",
    kafka: "KafkaApis.handleOffsetCommitRequest",
    checks: [
      check(on(READ, GROUP, "group"), GROUP_FAILED, WHOLE_GROUP),
      check(on(READ, TOPIC, "topic"), TOPIC_FAILED, "each partition of the topic (before its existence)"),
    ],
  },
  {
    apiKey: ApiKey.OffsetFetch,
    api: "OffsetFetch",
    kafka: "KafkaApis.handleOffsetFetchRequest (FromCoordinator, FromZookeeper for v0)",
    checks: [
      check(
        on(DESCRIBE, GROUP, "group"),
        GROUP_FAILED,
        "the group's error (per group in v8+, the response's before)",
      ),
      check(
        on(DESCRIBE, TOPIC, "topic"),
        TOPIC_FAILED,
        "topics named: each partition answers TOPIC_AUTHORIZATION_FAILED with committed offset -1; " +
          "all topics (topics null): the topic is left out, silently",
      ),
    ],
    notes: "DESCRIBE, not READ: a consumer's READ on the group implies DESCRIBE.",
  },
  {
    apiKey: ApiKey.FindCoordinator,
    api: "FindCoordinator",
    kafka: "KafkaApis.handleFindCoordinatorRequest (getCoordinator)",
    checks: [
      check(
        on(DESCRIBE, GROUP, "group"),
        GROUP_FAILED,
        "that key (v4+) or the response (v0-3): node id -1, host empty, port -1",
        "key type 0 (group)",
      ),
      check(
        on(DESCRIBE, TRANSACTIONAL_ID, "transactional_id"),
        TXN_FAILED,
        "that key (v4+) or the response (v0-3): node id -1, host empty, port -1",
        "key type 1 (transaction)",
      ),
    ],
  },
  groupRead(ApiKey.JoinGroup, "JoinGroup", "KafkaApis.handleJoinGroupRequest"),
  groupRead(ApiKey.Heartbeat, "Heartbeat", "KafkaApis.handleHeartbeatRequest"),
  groupRead(ApiKey.LeaveGroup, "LeaveGroup", "KafkaApis.handleLeaveGroupRequest"),
  groupRead(ApiKey.SyncGroup, "SyncGroup", "KafkaApis.handleSyncGroupRequest"),
  {
    apiKey: ApiKey.DescribeGroups,
    api: "DescribeGroups",
    kafka: "KafkaApis.handleDescribeGroupsRequest",
    checks: [
      check(
        on(DESCRIBE, GROUP, "group"),
        GROUP_FAILED,
        "that group's result (DescribeGroupsResponse.groupError)",
      ),
    ],
    notes:
      "include_authorized_operations (v3+): authorizedOperations(GROUP, id) for each group answered without error.",
  },
  {
    apiKey: ApiKey.ListGroups,
    api: "ListGroups",
    kafka: "KafkaApis.handleListGroupsRequest",
    checks: [
      check(
        [on(DESCRIBE, CLUSTER, "cluster"), on(DESCRIBE, GROUP, "group")],
        null,
        "the group is left out of the list (DESCRIBE on the cluster lists every group)",
      ),
    ],
  },
  {
    apiKey: SecurityApiKey.SaslHandshake,
    api: "SaslHandshake",
    kafka: "KafkaApis.handleSaslHandshakeRequest",
    checks: [],
    notes: "Before authentication: no ACL.",
  },
  {
    apiKey: ApiKey.ApiVersions,
    api: "ApiVersions",
    kafka: "KafkaApis.handleApiVersionsRequest",
    checks: [],
    notes: "No ACL (also answered before authentication).",
  },
  {
    apiKey: ApiKey.CreateTopics,
    api: "CreateTopics",
    kafka: "KafkaApis.handleCreateTopicsRequest",
    checks: [
      check(
        [on(CREATE, CLUSTER, "cluster"), on(CREATE, TOPIC, "topic")],
        TOPIC_FAILED,
        'that topic: TOPIC_AUTHORIZATION_FAILED, message "Authorization failed."',
      ),
      check(
        on(DESCRIBE_CONFIGS, TOPIC, "topic"),
        TOPIC_FAILED,
        "topic_config_error_code TOPIC_AUTHORIZATION_FAILED and no configs answered (the topic is still created)",
      ),
    ],
  },
  {
    apiKey: ApiKey.DeleteTopics,
    api: "DeleteTopics",
    kafka: "KafkaApis.handleDeleteTopicsRequest",
    checks: [
      check(
        on(DESCRIBE, TOPIC, "topic"),
        TOPIC_FAILED,
        "that topic: TOPIC_AUTHORIZATION_FAILED with its name answered null",
        "the topic is named by id (v6+)",
      ),
      check(on(DELETE, TOPIC, "topic"), TOPIC_FAILED, "that topic (before its existence)"),
    ],
  },
  {
    apiKey: ApiKey.DeleteRecords,
    api: "DeleteRecords",
    kafka: "KafkaApis.handleDeleteRecordsRequest",
    checks: [check(on(DELETE, TOPIC, "topic"), TOPIC_FAILED, `${PER_PARTITION}, low watermark -1`)],
  },
  {
    apiKey: ApiKey.InitProducerId,
    api: "InitProducerId",
    kafka: "KafkaApis.handleInitProducerIdRequest",
    checks: [
      check(
        on(WRITE, TRANSACTIONAL_ID, "transactional_id"),
        TXN_FAILED,
        "the response",
        "transactional id not null",
      ),
      check(
        [on(AclOperation.IDEMPOTENT_WRITE, CLUSTER, "cluster"), on(WRITE, TOPIC, "any")],
        CLUSTER_FAILED,
        "the response",
        "transactional id null (an idempotent producer)",
      ),
    ],
  },
  {
    apiKey: ApiKey.OffsetForLeaderEpoch,
    api: "OffsetForLeaderEpoch",
    kafka: "KafkaApis.handleOffsetForLeaderEpochRequest",
    checks: [
      check(
        [on(CLUSTER_ACTION, CLUSTER, "cluster"), on(DESCRIBE, TOPIC, "topic")],
        TOPIC_FAILED,
        "each partition of the topic",
      ),
    ],
    notes: "CLUSTER_ACTION (followers) allows every topic; consumers (KIP-320) need DESCRIBE per topic.",
  },
  {
    apiKey: ApiKey.AddPartitionsToTxn,
    api: "AddPartitionsToTxn",
    kafka: "KafkaApis.handleAddPartitionsToTxnRequest",
    checks: [
      check(
        on(CLUSTER_ACTION, CLUSTER, "cluster"),
        CLUSTER_FAILED,
        WHOLE_CLUSTER,
        "v4+ (from a broker verifying a transaction, KIP-890)",
      ),
      check(
        on(WRITE, TRANSACTIONAL_ID, "transactional_id"),
        TXN_FAILED,
        "every partition of that transaction",
        "v0-3 (from a producer)",
      ),
      check(
        on(WRITE, TOPIC, "topic"),
        TOPIC_FAILED,
        "the topic's partitions (an internal topic always fails); the transaction's other partitions answer " +
          "OPERATION_NOT_ATTEMPTED and none is added",
        "v0-3",
      ),
    ],
  },
  {
    apiKey: ApiKey.AddOffsetsToTxn,
    api: "AddOffsetsToTxn",
    kafka: "KafkaApis.handleAddOffsetsToTxnRequest",
    checks: [
      check(on(WRITE, TRANSACTIONAL_ID, "transactional_id"), TXN_FAILED, "the response"),
      check(on(READ, GROUP, "group"), GROUP_FAILED, "the response"),
    ],
  },
  {
    apiKey: ApiKey.EndTxn,
    api: "EndTxn",
    kafka: "KafkaApis.handleEndTxnRequest",
    checks: [check(on(WRITE, TRANSACTIONAL_ID, "transactional_id"), TXN_FAILED, "the response")],
  },
  {
    apiKey: ApiKey.WriteTxnMarkers,
    api: "WriteTxnMarkers",
    kafka: "KafkaApis.handleWriteTxnMarkersRequest",
    checks: [
      check(
        [on(ALTER, CLUSTER, "cluster"), on(CLUSTER_ACTION, CLUSTER, "cluster")],
        CLUSTER_FAILED,
        WHOLE_CLUSTER,
      ),
    ],
    notes: "Inter-broker: sent by the transaction coordinator.",
  },
  {
    apiKey: ApiKey.TxnOffsetCommit,
    api: "TxnOffsetCommit",
    kafka: "KafkaApis.handleTxnOffsetCommitRequest",
    checks: [
      check(
        on(WRITE, TRANSACTIONAL_ID, "transactional_id"),
        TXN_FAILED,
        "the whole request (every partition)",
      ),
      check(on(READ, GROUP, "group"), GROUP_FAILED, "the whole request (every partition)"),
      check(on(READ, TOPIC, "topic"), TOPIC_FAILED, "each partition of the topic (before its existence)"),
    ],
  },
  {
    apiKey: SecurityApiKey.DescribeAcls,
    api: "DescribeAcls",
    kafka: "AclApis.handleDescribeAcls",
    checks: [check(on(DESCRIBE, CLUSTER, "cluster"), CLUSTER_FAILED, WHOLE_CLUSTER)],
    notes: "Then, with no authorizer configured: SECURITY_DISABLED (acl_apis.ts).",
  },
  {
    apiKey: SecurityApiKey.CreateAcls,
    api: "CreateAcls",
    kafka: "AclApis.handleCreateAcls",
    checks: [check(on(ALTER, CLUSTER, "cluster"), CLUSTER_FAILED, `${WHOLE_CLUSTER} (every creation)`)],
    notes: "Then, with no authorizer configured: SECURITY_DISABLED for every creation (acl_apis.ts).",
  },
  {
    apiKey: SecurityApiKey.DeleteAcls,
    api: "DeleteAcls",
    kafka: "AclApis.handleDeleteAcls",
    checks: [check(on(ALTER, CLUSTER, "cluster"), CLUSTER_FAILED, `${WHOLE_CLUSTER} (every filter)`)],
    notes: "Then, with no authorizer configured: SECURITY_DISABLED for every filter (acl_apis.ts).",
  },
  {
    apiKey: ApiKey.DescribeConfigs,
    api: "DescribeConfigs",
    kafka: "ConfigHelper.handleDescribeConfigsRequest",
    checks: configChecks(DESCRIBE_CONFIGS, "BROKER (4), BROKER_LOGGER (8) or CLIENT_METRICS (16)"),
  },
  {
    apiKey: ApiKey.AlterConfigs,
    api: "AlterConfigs",
    kafka: "KafkaApis.processLegacyAlterConfigsRequest",
    checks: configChecks(ALTER_CONFIGS, "BROKER (4) or CLIENT_METRICS (16)"),
  },
  {
    apiKey: SecurityApiKey.SaslAuthenticate,
    api: "SaslAuthenticate",
    kafka: "KafkaApis.handleSaslAuthenticateRequest",
    checks: [],
    notes: "Before authentication: no ACL.",
  },
  {
    apiKey: ApiKey.DescribeLogDirs,
    api: "DescribeLogDirs",
    kafka: "KafkaApis.handleDescribeLogDirsRequest",
    checks: [
      check(on(DESCRIBE, CLUSTER, "cluster"), CLUSTER_FAILED, "no results; the response's error_code (v3+)"),
    ],
  },
  {
    apiKey: ApiKey.CreatePartitions,
    api: "CreatePartitions",
    kafka: "KafkaApis.handleCreatePartitionsRequest",
    checks: [
      check(
        on(ALTER, TOPIC, "topic"),
        TOPIC_FAILED,
        'that topic, message "The topic authorization is failed."',
      ),
    ],
  },
  {
    apiKey: ApiKey.DeleteGroups,
    api: "DeleteGroups",
    kafka: "KafkaApis.handleDeleteGroupsRequest",
    checks: [check(on(DELETE, GROUP, "group"), GROUP_FAILED, "that group's result")],
  },
  {
    apiKey: ApiKey.IncrementalAlterConfigs,
    api: "IncrementalAlterConfigs",
    kafka: "KafkaApis.processIncrementalAlterConfigsRequest (BROKER_LOGGER: ConfigAdminManager.preprocess)",
    checks: configChecks(ALTER_CONFIGS, "BROKER (4), BROKER_LOGGER (8) or CLIENT_METRICS (16)"),
  },
  {
    apiKey: ApiKey.AlterPartitionReassignments,
    api: "AlterPartitionReassignments",
    kafka: "KafkaApis.handleAlterPartitionReassignmentsRequest",
    checks: [check(on(ALTER, CLUSTER, "cluster"), CLUSTER_FAILED, WHOLE_CLUSTER)],
  },
  {
    apiKey: ApiKey.ListPartitionReassignments,
    api: "ListPartitionReassignments",
    kafka: "KafkaApis.handleListPartitionReassignmentsRequest",
    checks: [check(on(DESCRIBE, CLUSTER, "cluster"), CLUSTER_FAILED, WHOLE_CLUSTER)],
  },
  {
    apiKey: ApiKey.OffsetDelete,
    api: "OffsetDelete",
    kafka: "KafkaApis.handleOffsetDeleteRequest",
    checks: [
      check(on(DELETE, GROUP, "group"), GROUP_FAILED, WHOLE_GROUP),
      check(on(READ, TOPIC, "topic"), TOPIC_FAILED, "each partition of the topic (before its existence)"),
    ],
  },
  {
    apiKey: SecurityApiKey.DescribeUserScramCredentials,
    api: "DescribeUserScramCredentials",
    kafka: "KafkaApis.handleDescribeUserScramCredentialsRequest",
    checks: [check(on(DESCRIBE, CLUSTER, "cluster"), CLUSTER_FAILED, "the response (getErrorResponse)")],
  },
  {
    apiKey: SecurityApiKey.AlterUserScramCredentials,
    api: "AlterUserScramCredentials",
    kafka: "KafkaApis.handleAlterUserScramCredentialsRequest",
    checks: [check(on(ALTER, CLUSTER, "cluster"), CLUSTER_FAILED, "every result (getErrorResponse)")],
  },
  {
    apiKey: ApiKey.DescribeCluster,
    api: "DescribeCluster",
    kafka: "AuthHelper.computeDescribeClusterResponse",
    checks: [
      check(
        on(DESCRIBE, CLUSTER, "cluster"),
        null,
        "cluster_authorized_operations is 0 (else authorizedOperations(CLUSTER))",
        "include_cluster_authorized_operations",
      ),
    ],
    notes: "Otherwise no ACL: any authenticated client may describe the cluster.",
  },
  {
    apiKey: ApiKey.DescribeProducers,
    api: "DescribeProducers",
    kafka: "KafkaApis.handleDescribeProducersRequest",
    checks: [
      check(
        on(READ, TOPIC, "topic"),
        TOPIC_FAILED,
        "each partition of the topic (after the name's validity)",
      ),
    ],
  },
  {
    apiKey: ApiKey.DescribeTransactions,
    api: "DescribeTransactions",
    kafka: "KafkaApis.handleDescribeTransactionsRequest",
    checks: [
      check(on(DESCRIBE, TRANSACTIONAL_ID, "transactional_id"), TXN_FAILED, "that transaction's state"),
      check(on(DESCRIBE, TOPIC, "topic"), null, "the topic is left out of the transaction's partitions"),
    ],
  },
  {
    apiKey: ApiKey.ListTransactions,
    api: "ListTransactions",
    kafka: "KafkaApis.handleListTransactionsRequest",
    checks: [check(on(DESCRIBE, TRANSACTIONAL_ID, "transactional_id"), null, "the transaction is left out")],
  },
];

/** By API key. */
export const REQUIRED_ACLS: ReadonlyMap<number, ApiAcls> = new Map(TABLE.map((e) => [e.apiKey, e]));

/** The checks for an API key; undefined for a key the table does not know. */
export function requiredAcls(apiKey: number): ApiAcls | undefined {
  return REQUIRED_ACLS.get(apiKey);
}
