// The environment-neutral public surface of the client, re-exported by both entries
// (src/client/node.ts and src/client/browser.ts). Nothing here, nor anything it imports, uses a
// Node-only API.

export {
  type AclEntry,
  type AclFilter,
  AclOperationTypes,
  AclPermissionTypes,
  AclResourceTypes,
  type DeleteAclsResult,
  type DescribeAclsResult,
  ResourcePatternTypes,
} from "./acl_admin.ts";
export {
  Admin,
  type AdminConfig,
  AlterConfigOpTypes,
  type BrokerLogDirs,
  type ConfigEntry,
  ConfigResourceTypes,
  ConfigSource,
  type CreateTopicsOptions,
  type DescribeConfigsResult,
  type ResourceConfigQuery,
  type TopicConfig,
  type TopicMetadata,
} from "./admin.ts";
export {
  type AssignContext,
  type AssignerName,
  type GroupMemberSubscription,
  type MemberAssignments,
  type PartitionAssigner,
  PartitionAssigners,
} from "./assigners.ts";
export type { MessageHeaders } from "./batch.ts";
export { MilenaClient, type MilenaConfig } from "./client.ts";
export type { PartitionInfo, TopicInfo } from "./cluster.ts";
export {
  type Assignment,
  type ConsumedBatch,
  Consumer,
  type ConsumerConfig,
  type EachMessagePayload,
  type Offset,
  type RunConfig,
  type SeekTarget,
} from "./consumer.ts";
export { crc32c } from "./crc32c.ts";
export {
  ConnectionError,
  CoordinatorNotAvailableError,
  CorruptMessageError,
  type ErrorDetails,
  InvalidArgumentError,
  InvalidConfigError,
  InvalidPartitionsError,
  InvalidRecordError,
  InvalidReplicaAssignmentError,
  InvalidReplicationFactorError,
  InvalidRequestError,
  InvalidRequiredAcksError,
  InvalidTopicError,
  isRetriableCode,
  KafkaProtocolError,
  KafkaStorageError,
  kafkaErrorName,
  LeaderNotAvailableError,
  MessageTooLargeError,
  MilenaAggregateError,
  MilenaError,
  NotConnectedError,
  NotLeaderOrFollowerError,
  OffsetOutOfRangeError,
  protocolError,
  RecordListTooLargeError,
  RequestTimedOutError,
  RequestTimeoutError,
  SaslAuthenticationError,
  TlsError,
  TopicAlreadyExistsError,
  TopicDeletionDisabledError,
  UnknownServerError,
  UnknownTopicOrPartitionError,
  UnsupportedCompressionTypeError,
  UnsupportedVersionError,
} from "./errors.ts";
export type {
  GroupDescription,
  GroupMemberDescription,
  GroupOverview,
  PartitionOffset,
  SetOffsetsOptions,
} from "./group_admin.ts";
export {
  type CommitOffset,
  type ErrorContext,
  GroupConsumer,
  type GroupConsumerConfig,
  type GroupEachBatchPayload,
  type GroupEachMessagePayload,
  type GroupInfo,
  type GroupRunConfig,
} from "./group_consumer.ts";
export {
  decodeAssignment,
  decodeSubscription,
  encodeAssignment,
  encodeSubscription,
  type MemberAssignment,
  type MemberSubscription,
  type TopicPartitions,
} from "./group_protocol.ts";
export { lz4CompressFrame, lz4DecompressFrame } from "./lz4.ts";
export {
  murmur2,
  type PartitionerArgs,
  type PartitionerFactory,
  Partitioners,
  partitionForKey,
  toPositive,
} from "./partitioner.ts";
export {
  browserPlatform,
  type Codec,
  type CompressionType,
  CompressionTypes,
  type Platform,
} from "./platform.ts";
export {
  type Compression,
  type Message,
  Producer,
  type ProducerBatch,
  type ProducerConfig,
  type ProducerRecord,
  type RecordMetadata,
  type TopicMessages,
} from "./producer.ts";
export type { ConsumedRecord, RecordHeaders } from "./records.ts";
export type { RetryOptions } from "./retry.ts";
export type { OauthBearerToken, PemInput, SaslMechanism, SaslOptions, TlsOptions } from "./security.ts";
export type { WebSocketFactory, WebSocketLike } from "./transport.ts";
