// The broker: the acceptor thread's wiring. Starts the partition writers and the log (through
// the recovery pool), binds the listeners, routes each API to its handler, and shuts down in
// order: stop accepting, let writers flush and close, write checkpoints and the clean-shutdown
// marker.

import type * as net from "node:net";
import { dirname } from "node:path";
import { ClusterNode, type ClusterSecurity } from "../cluster/node.ts";
import { zkBlocks } from "../cluster/producer_id_blocks.ts";
import { ZkAcls, ZkSaslCredentials } from "../cluster/zk_security.ts";
import { consoleHandler } from "../console/serve.ts";
import { readerFiles } from "../log/partition_reader.ts";
import { createPartitionState, PartitionState } from "../log/partition_state.ts";
import { validTopicName } from "../log/segment_files.ts";
import { COMPLETION_DUPLICATE, COMPLETION_FIELDS, COMPLETION_NO_TAG } from "../log/writer_protocol.ts";
import type { AlterConfigsRequest } from "../protocol/alter_configs.ts";
import { ApiKey } from "../protocol/api_keys.ts";
import type { CreatePartitionsRequest } from "../protocol/create_partitions.ts";
import type { CreateTopicsRequest } from "../protocol/create_topics.ts";
import type { DeleteGroupsRequest } from "../protocol/delete_groups.ts";
import type { DeleteRecordsRequest } from "../protocol/delete_records.ts";
import type { DeleteTopicsRequest } from "../protocol/delete_topics.ts";
import type { DescribeConfigsRequest } from "../protocol/describe_configs.ts";
import type { DescribeGroupsRequest } from "../protocol/describe_groups.ts";
import type { DescribeLogDirsRequest } from "../protocol/describe_log_dirs.ts";
import type { DescribeProducersRequest } from "../protocol/describe_producers.ts";
import { ErrorCode } from "../protocol/error_codes.ts";
import type { FindCoordinatorRequest } from "../protocol/find_coordinator.ts";
import type { HeartbeatRequest } from "../protocol/heartbeat.ts";
import type { IncrementalAlterConfigsRequest } from "../protocol/incremental_alter_configs.ts";
import type { InitProducerIdRequest } from "../protocol/init_producer_id.ts";
import type { JoinGroupRequest } from "../protocol/join_group.ts";
import type { LeaveGroupRequest } from "../protocol/leave_group.ts";
import type { ListGroupsRequest } from "../protocol/list_groups.ts";
import type { ListOffsetsRequest } from "../protocol/list_offsets.ts";
import { registerLz4 } from "../protocol/lz4_node.ts";
import type { OffsetCommitRequest, OffsetCommitResponse } from "../protocol/offset_commit.ts";
import type { OffsetDeleteRequest } from "../protocol/offset_delete.ts";
import type { OffsetFetchRequest } from "../protocol/offset_fetch.ts";
import type { OffsetForLeaderEpochRequest } from "../protocol/offset_for_leader_epoch.ts";
import { DEFAULT_MAX_UNCOMPRESSED_BYTES } from "../protocol/record_validation.ts";
import { CODECS } from "../protocol/registry.ts";
import type {
  AlterUserScramCredentialsRequest,
  CreateAclsRequest,
  DeleteAclsRequest,
  DescribeAclsRequest,
  DescribeUserScramCredentialsRequest,
} from "../protocol/security.ts";
import type { SyncGroupRequest } from "../protocol/sync_group.ts";
import type {
  AddOffsetsToTxnRequest,
  AddPartitionsToTxnRequest,
  DescribeTransactionsRequest,
  EndTxnRequest,
  ListTransactionsRequest,
  TxnOffsetCommitRequest,
  TxnOffsetCommitResponse,
  WriteTxnMarkersRequest,
} from "../protocol/transactions.ts";
import { SchemaRegistryService } from "../schema_registry/service.ts";
import { checkRecordSet } from "../schema_registry/validation.ts";
import type { Connection, Dispatcher, Handler } from "../transport/connection.ts";
import { activeRequest } from "../transport/connection.ts";
import { RequestMemory, ResponseMemory } from "../transport/request_memory.ts";
import { startTcpListener } from "../transport/tcp.ts";
import { startWebSocketListener, type WebSocketListener } from "../transport/websocket.ts";
import { type BrokerConfig, usesSasl, usesTls } from "./config.ts";
import type { AutoCreateBudget, BrokerContext } from "./context.ts";
import { GroupCoordinator } from "./groups/coordinator.ts";
import { OFFSETS_TOPIC } from "./groups/offsets_replay.ts";
import { type OffsetsTopic, offsetsTopic } from "./groups/offsets_topic.ts";
import {
  clusterCreate,
  handleApiVersions,
  handleCreateTopics,
  handleDeleteTopics,
  handleFindCoordinator,
  handleListOffsets,
  handleMetadata,
} from "./handlers/admin.ts";
import {
  handleCreatePartitions,
  handleDescribeCluster,
  handleOffsetForLeaderEpoch,
} from "./handlers/cluster.ts";
import {
  handleAlterConfigs,
  handleDescribeConfigs,
  handleIncrementalAlterConfigs,
} from "./handlers/configs.ts";
import { handleFetch } from "./handlers/fetch.ts";
import {
  handleDeleteGroups,
  handleDescribeGroups,
  handleHeartbeat,
  handleJoinGroup,
  handleLeaveGroup,
  handleListGroups,
  handleOffsetCommit,
  handleOffsetDelete,
  handleOffsetFetch,
  handleSyncGroup,
} from "./handlers/groups.ts";
import { handleDescribeLogDirs } from "./handlers/log_dirs.ts";
import { handleDeleteRecords, handleDescribeProducers } from "./handlers/partition_admin.ts";
import { handleProduce } from "./handlers/produce.ts";
import { handleInitProducerId } from "./handlers/producers.ts";
import {
  handleAlterUserScramCredentials,
  handleDescribeUserScramCredentials,
  handleSaslAuthenticate,
  handleSaslHandshake,
  type SaslBackends,
  saslRawToken,
} from "./handlers/sasl.ts";
import {
  handleAddOffsetsToTxn,
  handleAddPartitionsToTxn,
  handleDescribeTransactions,
  handleEndTxn,
  handleListTransactions,
  handleWriteTxnMarkers,
} from "./handlers/transactions.ts";
import type { HttpHandler } from "./http/handler.ts";
import { brokerRoutes } from "./http/routes.ts";
import { type HttpListener, startHttpListener } from "./http/server.ts";
import { InternalTopic, isInternalTopic } from "./internal_topic.ts";
import { createLogger, type Logger } from "./log.ts";
import { LogCleaner } from "./log_cleaner.ts";
import { LogManager, type PartitionEntry, PartitionLimitError, type RecoveryReport } from "./log_manager.ts";
import { brokerMetrics } from "./metrics/broker_metrics.ts";
import { RequestMetrics } from "./metrics/request_metrics.ts";
import { ProduceTracker } from "./produce_tracker.ts";
import { fileBlocks, ProducerIdAllocator } from "./producer_ids.ts";
import {
  AclOperation,
  allowed,
  allowedBetweenBrokers,
  allowedOnCluster,
  ResourceType,
  requestHost,
} from "./security/access.ts";
import { CLUSTER_NAME } from "./security/acl.ts";
import {
  type AclWriter,
  createAclsErrorResponse,
  createAclsFromRequest,
  deleteAclsErrorResponse,
  deleteAclsResponse,
  describeAclsErrorResponse,
  describeAclsResponse,
} from "./security/acl_apis.ts";
import { defaultAclFilePath, loadAclFile, saveAclFile } from "./security/acl_store.ts";
import { ALLOW_ALL, Authorizer, clientHost } from "./security/authorizer.ts";
import { JwksSource } from "./security/jwks.ts";
import { jwksTokenValidator } from "./security/oauthbearer.ts";
import { FileSaslCredentials, loadSecret, type SaslCredentials } from "./security/sasl_store.ts";
import { TransactionCoordinator } from "./txn/coordinator.ts";
import { MarkerWriter } from "./txn/markers.ts";
import { TRANSACTION_STATE_TOPIC, type TxnLogRecord } from "./txn/transaction_log.ts";
import { WriterPool } from "./writers.ts";

export interface BoundPorts {
  /** The inter-broker listener's port (else the first TCP listener's). */
  kafka: number;
  /** The HTTP listener's port (metrics.listener; null: off). */
  metrics: number | null;
  /** The first WebSocket listener's port. */
  websocket: number | null;
  /** Every listener's port, by name. */
  listeners: Record<string, number>;
  /** The Schema Registry's first listener's port (null: no registry). */
  schemaRegistry: number | null;
}

function ringBytesFor(messageMaxBytes: number): number {
  let n = 32 * 1024 * 1024;
  while (n / 2 < messageMaxBytes + 1024) n *= 2;
  return n;
}

export class Broker {
  private readonly logLine: (line: string) => void;
  readonly ctx: BrokerContext;
  readonly ports: BoundPorts = {
    kafka: 0,
    metrics: null,
    websocket: null,
    listeners: {},
    schemaRegistry: null,
  };
  recovery: RecoveryReport | null = null;
  private readonly connections = new Set<Connection>();
  private readonly tcpServers: net.Server[] = [];
  /** metrics.listener: /metrics, /healthz, /readyz (null: off, or not started yet). */
  private http: HttpListener | null = null;
  /** Request counts and latencies per API and version (null when metrics.listener is off). */
  private readonly requestMetrics: RequestMetrics | null;
  /** What start() is doing now (/readyz says it); null once started. */
  private phase: string | null = "starting";
  private readonly wsListeners: WebSocketListener[] = [];
  private readonly handlers: (Handler | undefined)[] = [];
  private readonly creating = new Map<string, Promise<number>>();
  private stopping: Promise<void> | null = null;
  private throttled = false;
  readonly logger: Logger;
  private readonly perIp = new Map<string, number>();
  private idleSweep: NodeJS.Timeout | null = null;
  private readonly requestMemory: RequestMemory;
  private readonly responseMemory: ResponseMemory;
  readonly offsetsTopic: OffsetsTopic;
  /** Compaction of cleanup.policy=compact topics (log_cleaner.ts). */
  readonly cleaner: LogCleaner;
  /** __transaction_state and the transaction coordinator over it (txn/coordinator.ts). */
  readonly txnTopic: InternalTopic<TxnLogRecord>;
  readonly txnCoordinator: TransactionCoordinator;
  private readonly markers: MarkerWriter;
  /** Kafka's ACLs when authorizer.class.name is set (null: none). */
  private authorizer: Authorizer | null = null;
  /** Where CreateAcls and DeleteAcls write: the authorizer (acls.json) or ZooKeeper (null: none). */
  private aclWriter: AclWriter | null = null;
  /** SCRAM users (sasl.credentials.file, or ZooKeeper in a cluster), for the SASL listeners and the user APIs. */
  readonly saslUsers: SaslCredentials;
  /** OAUTHBEARER's verification keys (sasl.oauthbearer.jwks.endpoint.url), when it is enabled. */
  private readonly jwks: JwksSource | null;
  private readonly sasl: SaslBackends;
  readonly coordinator: GroupCoordinator;
  /** The Schema Registry (schema.registry.listeners; null when off). */
  readonly schemaRegistry: SchemaRegistryService | null = null;

  constructor(
    readonly config: BrokerConfig,
    logLine: (line: string) => void = (l) =>
      process.stderr.write(`[milena ${new Date().toISOString()}] ${l}\n`),
  ) {
    this.logger = createLogger(logLine);
    this.logLine = this.logger.info;
    this.requestMemory = new RequestMemory(config.queuedMaxRequestBytes);
    this.responseMemory = new ResponseMemory(config.fetchMaxBufferedBytes);
    registerLz4();
    readerFiles.setCapacity(config.logMaxOpenFiles);
    const buffers = createPartitionState();
    const state = new PartitionState(buffers);
    const writers = new WriterPool(
      config.partitionWriters,
      buffers,
      ringBytesFor(config.messageMaxBytes),
      config.logMaxOpenFiles,
      config.recordValidation,
    );
    const logs = new LogManager(
      config,
      state,
      writers,
      (l) => this.logger.limited("log dirs", l),
      (l) => this.logLine(l),
    );
    const tracker = new ProduceTracker();
    this.requestMetrics = config.metricsListener === null ? null : new RequestMetrics();
    this.ctx = {
      config,
      logs,
      writers,
      tracker,
      state,
      producerIds: new ProducerIdAllocator(fileBlocks(config.logDirs[0])),
      cluster: null,
      autoCreate: (topic, budget) => this.autoCreate(topic, budget),
      topicDeleted: (topic) => this.coordinator.topicDeleted(topic),
      verifyTransaction: (id, producerId, epoch, partitions) =>
        this.verifyTransaction(id, producerId, epoch, partitions),
      log: this.logLine,
      logger: this.logger,
      authorizer: ALLOW_ALL,
      purgatory: { produce: 0, fetch: 0 },
    };
    const zkConnect = config.zookeeperConnect;
    if (config.authorizerEnabled) {
      // Kafka's ACLs: a single broker keeps them in acls.json in the first log dir (rewritten
      // durably on every change); a cluster in ZooKeeper (ZkAcls writes them, every broker
      // reads them at each session and follows their change notifications).
      const aclFile = defaultAclFilePath(config.logDirs);
      const authorizer = Authorizer.fromConfig(
        { superUsers: config.superUsers, allowEveryoneIfNoAclFound: config.allowEveryoneIfNoAclFound },
        zkConnect === null ? () => saveAclFile(aclFile, authorizer.acls()) : undefined,
      );
      if (zkConnect === null) authorizer.replaceAll(loadAclFile(aclFile));
      this.authorizer = authorizer;
      this.aclWriter = authorizer;
      this.ctx.authorizer = authorizer;
    }
    if (zkConnect !== null) {
      // The cluster's users (/config/users) and ACLs (/kafka-acl...): zk_security.ts.
      const zk = () => cluster.zk;
      const users = new ZkSaslCredentials(zk, loadSecret(dirname(config.saslCredentialsFile)));
      const acls = this.authorizer === null ? null : new ZkAcls(this.authorizer, zk, this.logLine);
      if (acls !== null) this.aclWriter = acls;
      this.saslUsers = users;
      const cluster = createClusterNode(
        this.ctx,
        { onRoleChange: (e, role) => this.offsetsRoleChange(e, role) },
        {
          load: async (session) => {
            await users.loadAll(session);
            await acls?.loadAll(session);
          },
          userChanged: (session, user) => users.reload(session, user),
        },
      );
      this.ctx.cluster = cluster;
      // Producer ids unique across the cluster: blocks from /latest_producer_id_block.
      this.ctx.producerIds = new ProducerIdAllocator(zkBlocks(config.brokerId, () => cluster.zk));
    } else this.saslUsers = new FileSaslCredentials(config.saslCredentialsFile);
    this.offsetsTopic = offsetsTopic(this.ctx);
    if (config.schemaRegistry !== null) {
      const sr = new SchemaRegistryService(this.ctx, this.saslUsers);
      this.schemaRegistry = sr;
      this.ctx.schemaCheck = (topic, sides, records) =>
        checkRecordSet(sr.registry, topic, sides, records, DEFAULT_MAX_UNCOMPRESSED_BYTES);
    }
    this.cleaner = new LogCleaner({
      config,
      logs,
      writers,
      highWatermark: (e) => {
        const end = this.ctx.logs.bySlot[e.slot] === e ? e.reader.logEndOffset : -1;
        return this.ctx.cluster === null ? end : Math.min(end, this.ctx.cluster.replicas.highWatermark(e));
      },
      // An internal partition being loaded by its coordinator is left alone meanwhile.
      busy: (e) =>
        (e.topic === OFFSETS_TOPIC && this.offsetsTopic.loading.has(e.partition)) ||
        (e.topic === TRANSACTION_STATE_TOPIC && this.txnTopic.loading.has(e.partition)),
      log: this.logLine,
    });
    this.coordinator = new GroupCoordinator(
      {
        groupMinSessionTimeoutMs: config.groupMinSessionTimeoutMs,
        groupMaxSessionTimeoutMs: config.groupMaxSessionTimeoutMs,
        groupInitialRebalanceDelayMs: config.groupInitialRebalanceDelayMs,
        offsetsRetentionMs: config.offsetsRetentionMs,
        offsetsRetentionCheckIntervalMs: config.offsetsRetentionCheckIntervalMs,
        offsetMetadataMaxBytes: config.offsetMetadataMaxBytes,
        offsetsTopicPartitions: config.offsetsTopicPartitions,
      },
      this.offsetsTopic,
      // Group events follow what clients do (a fuzzer's joins, a reconnect loop): rate-limited.
      (l) => this.logger.limited("group events", l),
    );
    const oauth = config.oauthbearer;
    this.jwks =
      oauth === null
        ? null
        : new JwksSource({
            url: oauth.jwksEndpointUrl,
            refreshMs: oauth.jwksEndpointRefreshMs,
            log: (l) => this.logger.limited("jwks", l),
          });
    this.sasl = {
      users: this.saslUsers,
      oauthbearer:
        oauth === null || this.jwks === null
          ? null
          : jwksTokenValidator(this.jwks, {
              expectedAudience: oauth.expectedAudience,
              expectedIssuer: oauth.expectedIssuer,
              subClaimName: oauth.subClaimName,
              scopeClaimName: oauth.scopeClaimName,
              clockSkewSeconds: oauth.clockSkewSeconds,
            }),
    };
    this.txnTopic = new InternalTopic(this.ctx, {
      name: TRANSACTION_STATE_TOPIC,
      partitions: config.transactionStateLogPartitions,
      replicationFactor: config.transactionStateLogReplicationFactor,
      segmentBytes: config.transactionStateLogSegmentBytes,
      minInsyncReplicas: config.transactionStateLogMinIsr,
      timeoutMs: config.offsetsCommitTimeoutMs,
      replay: (dir) => logs.replayTxns(dir),
    });
    this.markers = new MarkerWriter(this.ctx, (p, producerId, commit) =>
      this.coordinator.onTxnMarker(p, producerId, commit),
    );
    this.txnCoordinator = new TransactionCoordinator(
      {
        partitions: config.transactionStateLogPartitions,
        maxTimeoutMs: config.transactionMaxTimeoutMs,
        transactionalIdExpirationMs: config.transactionalIdExpirationMs,
        abortTimedOutIntervalMs: config.transactionAbortTimedOutIntervalMs,
        removeExpiredIntervalMs: config.transactionRemoveExpiredIntervalMs,
      },
      {
        append: (p, key, value) => this.txnTopic.append(p, [{ key, value }]),
        coordinates: (p) =>
          this.txnTopic.exists ? this.txnTopic.coordinates(p) : ErrorCode.COORDINATOR_NOT_AVAILABLE,
        coordinatorEpoch: (p) => {
          const e = this.ctx.logs.partitionOf(TRANSACTION_STATE_TOPIC, p);
          return this.ctx.cluster === null || e === undefined
            ? 0
            : Math.max(0, this.ctx.cluster.replicas.leaderEpoch(e));
        },
        writeMarker: (topic, p, m) => this.markers.write(topic, p, m),
        allocateProducerId: () => this.ctx.producerIds.allocate(),
        partitionExists: (topic, p) => this.offsetsTopic.partitionExists(topic, p),
        log: this.logLine,
      },
    );
    writers.onAppended = (records, count) => this.onAppended(records, count);
    // Writers behind (their rings full and a backlog building): stop reading requests until
    // they catch up, so no client can make the broker buffer without bound.
    writers.onBacklog = (high) => {
      this.throttled = high;
      for (const c of this.connections) c.setThrottled(high);
    };
    writers.onFatal = (error) => {
      this.logLine(`fatal: ${error}`);
      process.exitCode = 1;
      this.stop().catch((e) =>
        this.logLine(`shutdown after a fatal error failed: ${(e as Error).stack ?? e}`),
      );
    };
    this.route();
  }

  private route(): void {
    const c = this.ctx;
    const on = (key: number, h: (req: never, rc: Parameters<Handler>[1]) => ReturnType<Handler>) => {
      this.handlers[key] = h;
    };
    // ApiVersions advertises exactly the APIs that have both a codec and a handler.
    on(ApiKey.ApiVersions, () =>
      handleApiVersions(CODECS.filter((codec) => this.handlers[codec.key] !== undefined)),
    );
    on(ApiKey.Metadata, (req, rc) => handleMetadata(c, req, rc.header.apiVersion, rc));
    on(ApiKey.Produce, (req, rc) => handleProduce(c, req, rc.header.apiVersion, rc));
    on(ApiKey.Fetch, (req, rc) => handleFetch(c, req, rc));
    // Kafka's ACLs: DESCRIBE on the topic (TOPIC_AUTHORIZATION_FAILED for the others).
    on(ApiKey.ListOffsets, async (req: ListOffsetsRequest, rc) => {
      const may = (name: string) => allowed(c, rc, AclOperation.DESCRIBE, ResourceType.TOPIC, name);
      if (req.topics.every((t) => may(t.name))) return handleListOffsets(c, req, rc.header.apiVersion);
      const res = await handleListOffsets(
        c,
        { ...req, topics: req.topics.filter((t) => may(t.name)) },
        rc.header.apiVersion,
      );
      for (const t of req.topics)
        if (!may(t.name))
          res.topics.push({
            name: t.name,
            partitions: t.partitions.map((p) => ({
              partitionIndex: p.partitionIndex,
              errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
              oldStyleOffsets: [],
              timestamp: -1,
              offset: -1,
              leaderEpoch: -1,
            })),
          });
      return res;
    });
    // Kafka's ACLs: CREATE on the cluster or the topic; DELETE on the topic. The refused topics
    // are answered TOPIC_AUTHORIZATION_FAILED, the others handled.
    on(ApiKey.CreateTopics, async (req: CreateTopicsRequest, rc) => {
      const may = (name: string) =>
        allowedOnCluster(c, rc, AclOperation.CREATE) ||
        allowed(c, rc, AclOperation.CREATE, ResourceType.TOPIC, name);
      const refused = req.topics.filter((t) => !may(t.name));
      if (refused.length === 0) return handleCreateTopics(c, req);
      const res = await handleCreateTopics(c, { ...req, topics: req.topics.filter((t) => may(t.name)) });
      for (const t of refused)
        res.topics.push({
          name: t.name,
          topicId: new Uint8Array(16),
          errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
          errorMessage: "Authorization failed.",
          numPartitions: -1,
          replicationFactor: -1,
          configs: null,
        });
      return res;
    });
    on(ApiKey.DeleteTopics, async (req: DeleteTopicsRequest, rc) => {
      const names = [
        ...req.topicNames,
        ...req.topics.map((t) => t.name).filter((n): n is string => n !== null),
      ];
      const may = (name: string) => allowed(c, rc, AclOperation.DELETE, ResourceType.TOPIC, name);
      if (names.every(may)) return handleDeleteTopics(c, req, rc.header.apiVersion);
      const res = await handleDeleteTopics(
        c,
        {
          ...req,
          topicNames: req.topicNames.filter(may),
          topics: req.topics.filter((t) => t.name === null || may(t.name)),
        },
        rc.header.apiVersion,
      );
      for (const name of names)
        if (!may(name))
          res.responses.push({
            name,
            topicId: new Uint8Array(16),
            errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
            errorMessage: "Authorization failed.",
          });
      return res;
    });
    // DESCRIBE_CONFIGS on the topic, or on the cluster for a broker resource.
    on(ApiKey.DescribeConfigs, async (req: DescribeConfigsRequest, rc) => {
      const refusal = (r: { resourceType: number; resourceName: string }) =>
        r.resourceType === 2
          ? allowed(c, rc, AclOperation.DESCRIBE_CONFIGS, ResourceType.TOPIC, r.resourceName)
            ? 0
            : ErrorCode.TOPIC_AUTHORIZATION_FAILED
          : allowedOnCluster(c, rc, AclOperation.DESCRIBE_CONFIGS)
            ? 0
            : ErrorCode.CLUSTER_AUTHORIZATION_FAILED;
      if (req.resources.every((r) => refusal(r) === 0))
        return handleDescribeConfigs(c, req, rc.header.apiVersion);
      const res = await handleDescribeConfigs(
        c,
        { ...req, resources: req.resources.filter((r) => refusal(r) === 0) },
        rc.header.apiVersion,
      );
      for (const r of req.resources)
        if (refusal(r) !== 0)
          res.results.push({
            errorCode: refusal(r),
            errorMessage: "Authorization failed.",
            resourceType: r.resourceType,
            resourceName: r.resourceName,
            configs: [],
          });
      return res;
    });
    // Kafka's ACLs: ALTER_CONFIGS on the topic (TOPIC_AUTHORIZATION_FAILED) or, for a broker
    // resource, on the cluster (CLUSTER_AUTHORIZATION_FAILED); the refused resources answered here.
    const configRefusal = (rc: Parameters<Handler>[1], type: number, name: string): number =>
      type === 2
        ? allowed(c, rc, AclOperation.ALTER_CONFIGS, ResourceType.TOPIC, name)
          ? 0
          : ErrorCode.TOPIC_AUTHORIZATION_FAILED
        : allowedOnCluster(c, rc, AclOperation.ALTER_CONFIGS)
          ? 0
          : ErrorCode.CLUSTER_AUTHORIZATION_FAILED;
    const alterConfigsChecked =
      <R extends { resourceType: number; resourceName: string }, Q extends { resources: R[] }>(
        f: (req: Q) =>
          | Promise<{
              throttleTimeMs: number;
              responses: {
                errorCode: number;
                errorMessage: string | null;
                resourceType: number;
                resourceName: string;
              }[];
            }>
          | {
              throttleTimeMs: number;
              responses: {
                errorCode: number;
                errorMessage: string | null;
                resourceType: number;
                resourceName: string;
              }[];
            },
      ) =>
      async (req: Q, rc: Parameters<Handler>[1]) => {
        const refused = req.resources.filter((r) => configRefusal(rc, r.resourceType, r.resourceName) !== 0);
        if (refused.length === 0) return f(req);
        const res = await f({ ...req, resources: req.resources.filter((r) => !refused.includes(r)) });
        for (const r of refused)
          res.responses.push({
            errorCode: configRefusal(rc, r.resourceType, r.resourceName),
            errorMessage: "Authorization failed.",
            resourceType: r.resourceType,
            resourceName: r.resourceName,
          });
        return res;
      };
    on(
      ApiKey.AlterConfigs,
      alterConfigsChecked((req: AlterConfigsRequest) => handleAlterConfigs(c, req)),
    );
    on(
      ApiKey.IncrementalAlterConfigs,
      alterConfigsChecked((req: IncrementalAlterConfigsRequest) => handleIncrementalAlterConfigs(c, req)),
    );
    // In a cluster the coordinator is the leader of an offsets partition: the topic exists first.
    on(ApiKey.FindCoordinator, async (req: FindCoordinatorRequest, rc) => {
      if (c.cluster !== null) {
        const topic = req.keyType === 1 ? this.txnTopic : this.offsetsTopic;
        await topic
          .ensure()
          .catch((e) =>
            this.logger.limited(topic.name, `creating ${topic.name} failed: ${(e as Error).message}`),
          );
      }
      return handleFindCoordinator(c, req, rc);
    });
    // A transactional id's coordinator keeps its state in __transaction_state: made on first use.
    const withTxnLog =
      <R>(f: (req: never, rc: Parameters<Handler>[1]) => R | Promise<R>) =>
      async (req: never, rc: Parameters<Handler>[1]): Promise<R> => {
        await this.txnTopic
          .ensure()
          .catch((e) =>
            this.logger.limited(
              TRANSACTION_STATE_TOPIC,
              `creating ${TRANSACTION_STATE_TOPIC} failed: ${(e as Error).message}`,
            ),
          );
        return f(req, rc);
      };
    on(ApiKey.InitProducerId, async (req: InitProducerIdRequest, rc) => {
      // Kafka's ACLs: WRITE on the transactional id; an idempotent producer IDEMPOTENT_WRITE on
      // the cluster or WRITE on some topic.
      const refusal =
        req.transactionalId !== null
          ? allowed(c, rc, AclOperation.WRITE, ResourceType.TRANSACTIONAL_ID, req.transactionalId)
            ? 0
            : ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED
          : !c.authorizer.enabled ||
              allowedOnCluster(c, rc, AclOperation.IDEMPOTENT_WRITE) ||
              c.authorizer.authorizeByResourceType(
                rc.connection.principal,
                requestHost(rc),
                AclOperation.WRITE,
                ResourceType.TOPIC,
              )
            ? 0
            : ErrorCode.CLUSTER_AUTHORIZATION_FAILED;
      if (refusal !== 0) return { throttleTimeMs: 0, errorCode: refusal, producerId: -1, producerEpoch: -1 };
      if (req.transactionalId !== null) await withTxnLog(() => undefined)(req as never, rc);
      return handleInitProducerId(c, this.txnCoordinator, req, rc.header.apiVersion);
    });
    const t = this.txnCoordinator;
    // Kafka's ACLs on the transaction APIs: WRITE on the transactional id (and on each topic
    // added; READ on the group for offsets); v4+ AddPartitionsToTxn and WriteTxnMarkers are
    // between brokers: CLUSTER_ACTION.
    const txnDenied = (rc: Parameters<Handler>[1], id: string) =>
      !allowed(c, rc, AclOperation.WRITE, ResourceType.TRANSACTIONAL_ID, id);
    const T = ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
    on(ApiKey.AddPartitionsToTxn, (req: AddPartitionsToTxnRequest, rc) => {
      const v = rc.header.apiVersion;
      if (v >= 4 && !allowedBetweenBrokers(c, rc, "AddPartitionsToTxn"))
        return {
          throttleTimeMs: 0,
          errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
          resultsByTransaction: [],
          resultsByTopicV3AndBelow: [],
        };
      if (v <= 3) {
        const idDenied = txnDenied(rc, req.v3AndBelowTransactionalId);
        const topicDenied = req.v3AndBelowTopics.some(
          (x) => !allowed(c, rc, AclOperation.WRITE, ResourceType.TOPIC, x.name),
        );
        if (idDenied || topicDenied)
          return {
            throttleTimeMs: 0,
            errorCode: 0,
            resultsByTransaction: [],
            resultsByTopicV3AndBelow: req.v3AndBelowTopics.map((x) => ({
              name: x.name,
              resultsByPartition: x.partitions.map((partitionIndex) => ({
                partitionIndex,
                partitionErrorCode: idDenied
                  ? T
                  : allowed(c, rc, AclOperation.WRITE, ResourceType.TOPIC, x.name)
                    ? ErrorCode.OPERATION_NOT_ATTEMPTED
                    : ErrorCode.TOPIC_AUTHORIZATION_FAILED,
              })),
            })),
          };
      }
      return handleAddPartitionsToTxn(t, req, v);
    });
    on(ApiKey.AddOffsetsToTxn, (req: AddOffsetsToTxnRequest, rc) =>
      txnDenied(rc, req.transactionalId)
        ? { throttleTimeMs: 0, errorCode: T }
        : !allowed(c, rc, AclOperation.READ, ResourceType.GROUP, req.groupId)
          ? { throttleTimeMs: 0, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED }
          : handleAddOffsetsToTxn(t, c.config.offsetsTopicPartitions, req, rc.header.apiVersion),
    );
    on(ApiKey.EndTxn, (req: EndTxnRequest, rc) =>
      txnDenied(rc, req.transactionalId)
        ? { throttleTimeMs: 0, errorCode: T, producerId: -1, producerEpoch: -1 }
        : handleEndTxn(t, req, rc.header.apiVersion),
    );
    on(ApiKey.WriteTxnMarkers, (req: WriteTxnMarkersRequest, rc) =>
      allowedBetweenBrokers(c, rc, "WriteTxnMarkers", true)
        ? handleWriteTxnMarkers(this.markers, req)
        : {
            markers: req.markers.map((m) => ({
              producerId: m.producerId,
              topics: m.topics.map((x) => ({
                name: x.name,
                partitions: x.partitionIndexes.map((partitionIndex) => ({
                  partitionIndex,
                  errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
                })),
              })),
            })),
          },
    );
    // DESCRIBE on the transactional id (Kafka's): others answered TRANSACTIONAL_ID_AUTHORIZATION_FAILED.
    on(ApiKey.DescribeTransactions, (req: DescribeTransactionsRequest, rc) => {
      const res = handleDescribeTransactions(t, req);
      for (const s of res.transactionStates)
        if (!allowed(c, rc, AclOperation.DESCRIBE, ResourceType.TRANSACTIONAL_ID, s.transactionalId))
          Object.assign(s, {
            errorCode: T,
            transactionState: "",
            transactionTimeoutMs: 0,
            transactionStartTimeMs: -1,
            producerId: -1,
            producerEpoch: -1,
            topics: [],
          });
      return res;
    });
    on(ApiKey.SaslHandshake, (req, rc) => handleSaslHandshake(c, req, rc));
    // Kafka's ACL APIs: ALTER on the cluster to change them, DESCRIBE to list them.
    const clusterDenied = "Cluster authorization failed.";
    on(ApiKey.CreateAcls, (req: CreateAclsRequest, rc) =>
      allowedOnCluster(c, rc, AclOperation.ALTER)
        ? createAclsFromRequest(this.aclWriter, req)
        : createAclsErrorResponse(req, ErrorCode.CLUSTER_AUTHORIZATION_FAILED, clusterDenied),
    );
    on(ApiKey.DescribeAcls, (req: DescribeAclsRequest, rc) =>
      allowedOnCluster(c, rc, AclOperation.DESCRIBE)
        ? describeAclsResponse(this.authorizer, req)
        : describeAclsErrorResponse(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, clusterDenied),
    );
    on(ApiKey.DeleteAcls, (req: DeleteAclsRequest, rc) =>
      allowedOnCluster(c, rc, AclOperation.ALTER)
        ? deleteAclsResponse(this.aclWriter, req)
        : deleteAclsErrorResponse(req, ErrorCode.CLUSTER_AUTHORIZATION_FAILED, clusterDenied),
    );
    on(ApiKey.SaslAuthenticate, (req, rc) => handleSaslAuthenticate(c, this.sasl, req, rc));
    // Users: DESCRIBE / ALTER on the cluster (Kafka's).
    on(ApiKey.DescribeUserScramCredentials, (req: DescribeUserScramCredentialsRequest, rc) =>
      allowedOnCluster(c, rc, AclOperation.DESCRIBE)
        ? handleDescribeUserScramCredentials(this.saslUsers, req)
        : {
            throttleTimeMs: 0,
            errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
            errorMessage: "Cluster authorization failed.",
            results: [],
          },
    );
    on(ApiKey.AlterUserScramCredentials, (req: AlterUserScramCredentialsRequest, rc) =>
      allowedOnCluster(c, rc, AclOperation.ALTER)
        ? handleAlterUserScramCredentials(c, this.saslUsers, req)
        : {
            throttleTimeMs: 0,
            results: [...new Set([...req.deletions, ...req.upsertions].map((x) => x.name))].map((user) => ({
              user,
              errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
              errorMessage: "Cluster authorization failed.",
            })),
          },
    );
    on(ApiKey.ListTransactions, (req: ListTransactionsRequest, rc) => {
      const res = handleListTransactions(t, req, rc.header.apiVersion);
      res.transactionStates = res.transactionStates.filter((s) =>
        allowed(c, rc, AclOperation.DESCRIBE, ResourceType.TRANSACTIONAL_ID, s.transactionalId),
      );
      return res;
    });
    // Kafka's ACLs: CLUSTER_ACTION (a follower) answers every topic, else DESCRIBE on each topic.
    on(ApiKey.OffsetForLeaderEpoch, async (req: OffsetForLeaderEpochRequest, rc) => {
      const follower = req.replicaId >= 0;
      if (
        !c.authorizer.enabled ||
        (follower
          ? allowedBetweenBrokers(c, rc, "OffsetForLeaderEpoch")
          : allowedOnCluster(c, rc, AclOperation.CLUSTER_ACTION))
      )
        return handleOffsetForLeaderEpoch(c, req);
      const may = (name: string) => allowed(c, rc, AclOperation.DESCRIBE, ResourceType.TOPIC, name);
      const res = await handleOffsetForLeaderEpoch(c, {
        ...req,
        topics: req.topics.filter((t) => may(t.topic)),
      });
      for (const t of req.topics)
        if (!may(t.topic))
          res.topics.push({
            topic: t.topic,
            partitions: t.partitions.map((p) => ({
              errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
              partition: p.partition,
              leaderEpoch: -1,
              endOffset: -1,
            })),
          });
      return res;
    });
    on(ApiKey.CreatePartitions, async (req: CreatePartitionsRequest, rc) => {
      const may = (name: string) => allowed(c, rc, AclOperation.ALTER, ResourceType.TOPIC, name);
      if (req.topics.every((t) => may(t.name))) return handleCreatePartitions(c, req);
      const res = await handleCreatePartitions(c, { ...req, topics: req.topics.filter((t) => may(t.name)) });
      for (const t of req.topics)
        if (!may(t.name))
          res.results.push({
            name: t.name,
            errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
            errorMessage: "Authorization failed.",
          });
      return res;
    });
    on(ApiKey.DescribeCluster, (req, rc) => handleDescribeCluster(c, req, rc));
    on(ApiKey.DescribeLogDirs, (req: DescribeLogDirsRequest, rc) =>
      allowedOnCluster(c, rc, AclOperation.DESCRIBE)
        ? handleDescribeLogDirs(c, req)
        : { throttleTimeMs: 0, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, results: [] },
    );
    on(ApiKey.DeleteRecords, async (req: DeleteRecordsRequest, rc) => {
      const may = (name: string) => allowed(c, rc, AclOperation.DELETE, ResourceType.TOPIC, name);
      if (req.topics.every((t) => may(t.name))) return handleDeleteRecords(c, req);
      const res = await handleDeleteRecords(c, { ...req, topics: req.topics.filter((t) => may(t.name)) });
      for (const t of req.topics)
        if (!may(t.name))
          res.topics.push({
            name: t.name,
            partitions: t.partitions.map((p) => ({
              partitionIndex: p.partitionIndex,
              lowWatermark: -1,
              errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
            })),
          });
      return res;
    });
    on(ApiKey.DescribeProducers, async (req: DescribeProducersRequest, rc) => {
      const may = (name: string) => allowed(c, rc, AclOperation.READ, ResourceType.TOPIC, name);
      const res = await handleDescribeProducers(c, { ...req, topics: req.topics.filter((x) => may(x.name)) });
      for (const x of req.topics)
        if (!may(x.name))
          res.topics.push({
            name: x.name,
            partitions: x.partitionIndexes.map((partitionIndex) => ({
              partitionIndex,
              errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
              errorMessage: null,
              activeProducers: [],
            })),
          });
      return res;
    });
    const cluster = c.cluster;
    if (cluster !== null) {
      // Between brokers: served (and advertised) only in a cluster.
      // Kafka's ACLs: CLUSTER_ACTION on the cluster, else the whole request answers
      // CLUSTER_AUTHORIZATION_FAILED (and the refusal is logged: allowedBetweenBrokers).
      const refused = ErrorCode.CLUSTER_AUTHORIZATION_FAILED;
      on(ApiKey.LeaderAndIsr, (req, rc) =>
        allowedBetweenBrokers(c, rc, "LeaderAndIsr")
          ? cluster.handleLeaderAndIsr(req as never)
          : { errorCode: refused, partitionErrors: [], topics: [] },
      );
      on(ApiKey.UpdateMetadata, (req, rc) =>
        allowedBetweenBrokers(c, rc, "UpdateMetadata")
          ? cluster.handleUpdateMetadata(req as never)
          : { errorCode: refused },
      );
      on(ApiKey.StopReplica, (req, rc) =>
        allowedBetweenBrokers(c, rc, "StopReplica")
          ? cluster.handleStopReplica(req as never)
          : { errorCode: refused, partitionErrors: [] },
      );
      on(ApiKey.ControlledShutdown, (req, rc) =>
        allowedBetweenBrokers(c, rc, "ControlledShutdown")
          ? cluster.handleControlledShutdown(req as never)
          : { errorCode: refused, remainingPartitions: [] },
      );
      on(ApiKey.AlterPartitionReassignments, (req) =>
        cluster.handleAlterPartitionReassignments(req as never),
      );
      on(ApiKey.ListPartitionReassignments, (req) => cluster.handleListPartitionReassignments(req as never));
    }
    const g = this.coordinator;
    // The coordinator's log exists before a group uses it (Kafka creates it on first lookup).
    const withOffsets =
      <R>(f: (req: never, rc: Parameters<Handler>[1]) => R | Promise<R>) =>
      async (req: never, rc: Parameters<Handler>[1]): Promise<R> => {
        await this.offsetsTopic.ensure();
        return f(req, rc);
      };
    // Kafka's ACLs on a group's requests: READ on the group (GROUP_AUTHORIZATION_FAILED), and
    // for commits READ on each topic (TOPIC_AUTHORIZATION_FAILED); OffsetFetch DESCRIBE.
    const groupDenied = (rc: Parameters<Handler>[1], groupId: string, op: AclOperation = AclOperation.READ) =>
      !allowed(c, rc, op, ResourceType.GROUP, groupId);
    const G = ErrorCode.GROUP_AUTHORIZATION_FAILED;
    on(
      ApiKey.JoinGroup,
      withOffsets((req: JoinGroupRequest, rc) =>
        groupDenied(rc, req.groupId)
          ? {
              throttleTimeMs: 0,
              errorCode: G,
              generationId: -1,
              protocolType: null,
              protocolName: null,
              leader: "",
              skipAssignment: false,
              memberId: "",
              members: [],
            }
          : handleJoinGroup(g, req, rc),
      ),
    );
    on(ApiKey.SyncGroup, (req: SyncGroupRequest, rc) =>
      groupDenied(rc, req.groupId)
        ? {
            throttleTimeMs: 0,
            errorCode: G,
            protocolType: null,
            protocolName: null,
            assignment: new Uint8Array(0),
          }
        : handleSyncGroup(g, req),
    );
    on(ApiKey.Heartbeat, (req: HeartbeatRequest, rc) =>
      groupDenied(rc, req.groupId) ? { throttleTimeMs: 0, errorCode: G } : handleHeartbeat(g, req),
    );
    on(ApiKey.LeaveGroup, (req: LeaveGroupRequest, rc) =>
      groupDenied(rc, req.groupId)
        ? { throttleTimeMs: 0, errorCode: G, members: [] }
        : handleLeaveGroup(g, req, rc),
    );
    on(
      ApiKey.OffsetCommit,
      withOffsets((req: OffsetCommitRequest, rc) => {
        const denied = groupDenied(rc, req.groupId);
        const refused = (name: string) =>
          denied
            ? G
            : !allowed(c, rc, AclOperation.READ, ResourceType.TOPIC, name)
              ? ErrorCode.TOPIC_AUTHORIZATION_FAILED
              : 0;
        if (!req.topics.some((t) => refused(t.name) !== 0)) return handleOffsetCommit(g, req);
        // The refused topics are answered here, the others committed.
        const allowedTopics = req.topics.filter((t) => refused(t.name) === 0);
        const answer = async () => {
          const res: OffsetCommitResponse =
            allowedTopics.length === 0
              ? { throttleTimeMs: 0, topics: [] }
              : await handleOffsetCommit(g, { ...req, topics: allowedTopics });
          for (const t of req.topics)
            if (refused(t.name) !== 0)
              res.topics.push({
                name: t.name,
                partitions: t.partitions.map((p) => ({
                  partitionIndex: p.partitionIndex,
                  errorCode: refused(t.name),
                })),
              });
          return res;
        };
        return answer();
      }),
    );
    on(ApiKey.OffsetFetch, (req: OffsetFetchRequest, rc) =>
      rc.header.apiVersion < 8 && groupDenied(rc, req.groupId, AclOperation.DESCRIBE)
        ? { throttleTimeMs: 0, topics: [], errorCode: G, groups: [] }
        : handleOffsetFetch(g, req, rc),
    );
    on(
      ApiKey.TxnOffsetCommit,
      withOffsets((req: TxnOffsetCommitRequest, rc) => {
        const code = txnDenied(rc, req.transactionalId)
          ? T
          : groupDenied(rc, req.groupId)
            ? ErrorCode.GROUP_AUTHORIZATION_FAILED
            : 0;
        if (code === 0) return this.txnOffsetCommit(req);
        return {
          throttleTimeMs: 0,
          topics: req.topics.map((x) => ({
            name: x.name,
            partitions: x.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: code })),
          })),
        };
      }),
    );
    // DESCRIBE on each group; ListGroups lists every group with DESCRIBE on the cluster, else
    // only the groups the caller may describe.
    on(ApiKey.DescribeGroups, async (req: DescribeGroupsRequest, rc) => {
      const res = await handleDescribeGroups(g, req);
      for (const d of res.groups)
        if (groupDenied(rc, d.groupId, AclOperation.DESCRIBE))
          Object.assign(d, {
            errorCode: G,
            groupState: "",
            protocolType: "",
            protocolData: "",
            members: [],
            authorizedOperations: -2147483648,
          });
      return res;
    });
    on(ApiKey.ListGroups, async (req: ListGroupsRequest, rc) => {
      const res = await handleListGroups(g, req);
      if (!allowedOnCluster(c, rc, AclOperation.DESCRIBE))
        res.groups = res.groups.filter((x) => !groupDenied(rc, x.groupId, AclOperation.DESCRIBE));
      return res;
    });
    on(ApiKey.DeleteGroups, async (req: DeleteGroupsRequest, rc) => {
      const may = (id: string) => allowed(c, rc, AclOperation.DELETE, ResourceType.GROUP, id);
      if (req.groupsNames.every(may)) return handleDeleteGroups(g, req);
      const res = await handleDeleteGroups(g, { ...req, groupsNames: req.groupsNames.filter(may) });
      for (const groupId of req.groupsNames)
        if (!may(groupId)) res.results.push({ groupId, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED });
      return res;
    });
    on(
      ApiKey.OffsetDelete,
      withOffsets((req: OffsetDeleteRequest, rc) =>
        groupDenied(rc, req.groupId, AclOperation.DELETE)
          ? { errorCode: G, throttleTimeMs: 0, topics: [] }
          : handleOffsetDelete(g, req),
      ),
    );
  }

  /**
   * Cluster: this broker became the leader of a __consumer_offsets partition (load its groups:
   * COORDINATOR_LOAD_IN_PROGRESS meanwhile) or stopped being (drop them: NOT_COORDINATOR).
   */
  private offsetsRoleChange(e: PartitionEntry, role: "leader" | "follower" | "none"): void {
    if (e.topic === TRANSACTION_STATE_TOPIC) {
      this.txnRoleChange(e, role);
      return;
    }
    if (e.topic !== OFFSETS_TOPIC) return;
    const p = e.partition;
    this.coordinator.unload(p);
    if (role !== "leader") return;
    this.offsetsTopic.loading.add(p);
    void this.offsetsTopic
      .replayPartition(p)
      .then(
        (records) => {
          this.coordinator.replay(records);
          if (records.length > 0) this.logLine(`loaded ${records.length} record(s) of ${OFFSETS_TOPIC}-${p}`);
        },
        (err) => this.logLine(`loading ${OFFSETS_TOPIC}-${p} failed: ${(err as Error).message}`),
      )
      .finally(() => this.offsetsTopic.loading.delete(p));
  }

  /**
   * Cluster: this broker became the leader of a __transaction_state partition (load its ids:
   * COORDINATOR_LOAD_IN_PROGRESS meanwhile; unfinished commits and aborts are finished) or
   * stopped being (drop them: NOT_COORDINATOR).
   */
  private txnRoleChange(e: PartitionEntry, role: "leader" | "follower" | "none"): void {
    const p = e.partition;
    this.txnCoordinator.unload(p);
    if (role !== "leader") return;
    this.txnTopic.loading.add(p);
    void this.txnTopic
      .replayPartition(p)
      .then(
        (records) => {
          this.txnTopic.loading.delete(p);
          this.txnCoordinator.load(p, records);
        },
        (err) => this.logLine(`loading ${TRANSACTION_STATE_TOPIC}-${p} failed: ${(err as Error).message}`),
      )
      .finally(() => this.txnTopic.loading.delete(p));
  }

  /**
   * KIP-890 verification of a transactional produce: the partitions must be in the producer's
   * ongoing transaction, asked of its coordinator (this broker's, or another's through
   * AddPartitionsToTxn v4 verify_only). The answers as a produce gives them: a fenced producer
   * INVALID_PRODUCER_EPOCH, a partition outside the transaction INVALID_TXN_STATE, a coordinator
   * not reachable now NOT_ENOUGH_REPLICAS (retriable: the producer sends again).
   */
  private async verifyTransaction(
    transactionalId: string,
    producerId: number,
    producerEpoch: number,
    partitions: readonly { topic: string; partition: number }[],
  ): Promise<number[]> {
    const p = this.txnCoordinator.partitionFor(transactionalId);
    const here = this.txnTopic.exists ? this.txnTopic.coordinates(p) : ErrorCode.INVALID_TXN_STATE;
    const cluster = this.ctx.cluster;
    let codes: number[];
    if (here === ErrorCode.NONE)
      codes = partitions.map((x) =>
        this.txnCoordinator.verifyPartition(transactionalId, producerId, producerEpoch, x.topic, x.partition),
      );
    else if (cluster === null || here !== ErrorCode.NOT_COORDINATOR) codes = partitions.map(() => here);
    else {
      const leader = cluster.cache.partition(TRANSACTION_STATE_TOPIC, p)?.leader ?? -1;
      codes =
        leader < 0
          ? partitions.map(() => ErrorCode.COORDINATOR_NOT_AVAILABLE)
          : await this.markers.verifyRemote(leader, transactionalId, producerId, producerEpoch, partitions);
    }
    return codes.map((c) =>
      c === ErrorCode.NONE || c === ErrorCode.INVALID_TXN_STATE
        ? c
        : c === ErrorCode.PRODUCER_FENCED || c === ErrorCode.INVALID_PRODUCER_EPOCH
          ? ErrorCode.INVALID_PRODUCER_EPOCH
          : c === ErrorCode.INVALID_PRODUCER_ID_MAPPING
            ? ErrorCode.INVALID_TXN_STATE
            : ErrorCode.NOT_ENOUGH_REPLICAS,
    );
  }

  /**
   * TxnOffsetCommit: the producer must hold its transactional id's ongoing transaction (when
   * this broker coordinates the id too; otherwise its coordinator vouched for it through
   * AddOffsetsToTxn), then the group coordinator writes the offsets in the transaction.
   */
  private async txnOffsetCommit(req: TxnOffsetCommitRequest): Promise<TxnOffsetCommitResponse> {
    const coordinated = this.txnCoordinator.ongoing(req.transactionalId, req.producerId, req.producerEpoch);
    const here =
      this.txnTopic.exists &&
      this.txnTopic.coordinates(this.txnCoordinator.partitionFor(req.transactionalId)) === ErrorCode.NONE;
    if (here && coordinated !== ErrorCode.NONE)
      return {
        throttleTimeMs: 0,
        topics: req.topics.map((t) => ({
          name: t.name,
          partitions: t.partitions.map((x) => ({ partitionIndex: x.partitionIndex, errorCode: coordinated })),
        })),
      };
    return this.coordinator.txnCommit(req);
  }

  /** Completions from the writers: mirror the index, wake long-polls, answer produces. */
  private onAppended(r: Float64Array, count: number): void {
    const { logs, tracker } = this.ctx;
    for (let i = 0; i < count; i++) {
      const at = i * COMPLETION_FIELDS;
      const errorCode = r[at + 2];
      if (errorCode === COMPLETION_DUPLICATE) {
        tracker.complete(r[at], 0, r[at + 3]);
        continue;
      }
      if (errorCode === 0) {
        const e = logs.bySlot[r[at + 1]];
        if (e !== undefined) {
          e.reader.onAppend(r[at + 8], r[at + 3], r[at + 5], r[at + 6], r[at + 7]);
          this.ctx.cluster?.replicas.onLocalAppend(e);
          if (e.waiters.size > 0) {
            const waiters = [...e.waiters];
            e.waiters.clear();
            for (const w of waiters) w();
          }
        }
      }
      // A replica append reports each batch it appended (mirrored above) with no tag, as does a
      // transaction marker: either may complete a transaction (aborted ones read again).
      if (r[at] === COMPLETION_NO_TAG) {
        logs.bySlot[r[at + 1]]?.reader.forgetAborted();
        continue;
      }
      tracker.complete(r[at], errorCode, r[at + 3]);
    }
  }

  private autoCreate(topic: string, budget: AutoCreateBudget): Promise<number> | null {
    if (!this.config.autoCreateTopics) return null;
    if (!validTopicName(topic) || isInternalTopic(topic))
      return Promise.resolve(ErrorCode.INVALID_TOPIC_EXCEPTION);
    const cluster = this.ctx.cluster;
    if (cluster !== null) return this.clusterAutoCreate(cluster, topic, budget);
    if (this.ctx.logs.topics.has(topic)) return Promise.resolve(ErrorCode.NONE);
    // Still being deleted: the client retries (UNKNOWN_TOPIC_OR_PARTITION is retriable).
    if (this.ctx.logs.deleting.has(topic)) return Promise.resolve(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    // Being created by a CreateTopics request: wait for it rather than create it twice.
    const inProgress = this.ctx.logs.creating.get(topic);
    if (inProgress !== undefined && !this.creating.has(topic)) {
      return inProgress.then(
        () => ErrorCode.NONE,
        () => ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      );
    }
    let p = this.creating.get(topic);
    if (p === undefined) {
      const n = this.config.numPartitions;
      if (budget.partitions < n) {
        this.logger.limited(
          "auto-creation refused",
          `not auto-creating topic ${topic}: the request already auto-created max.partitions.per.request (${this.config.maxPartitionsPerRequest}) partitions`,
        );
        return Promise.resolve(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
      }
      budget.partitions -= n;
      p = this.ctx.logs.createTopic(topic, n).then(
        () => {
          this.logger.limited("auto-created", `auto-created topic ${topic} with ${n} partition(s)`);
          return ErrorCode.NONE;
        },
        (e) => {
          this.logger.limited(
            "auto-creation failed",
            `auto-creating topic ${topic} failed: ${(e as Error).message}`,
          );
          return e instanceof PartitionLimitError
            ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
            : ErrorCode.UNKNOWN_SERVER_ERROR;
        },
      );
      this.creating.set(topic, p);
      void p.finally(() => this.creating.delete(topic)); // p never rejects (both outcomes handled)
    }
    return p;
  }

  /** Auto-creation in a cluster: through ZooKeeper and the controller, once per name at a time. */
  private clusterAutoCreate(cluster: ClusterNode, topic: string, budget: AutoCreateBudget): Promise<number> {
    if (cluster.cache.topics.has(topic)) return Promise.resolve(ErrorCode.NONE);
    let p = this.creating.get(topic);
    if (p === undefined) {
      const n = this.config.numPartitions;
      if (budget.partitions < n) return Promise.resolve(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
      budget.partitions -= n;
      const t = { name: topic, numPartitions: -1, replicationFactor: -1, assignments: [], configs: [] };
      p = clusterCreate(this.ctx, cluster, t, false, 30_000).then(
        async (r) => {
          if (!("errorCode" in r)) return ErrorCode.NONE;
          if (r.errorCode === ErrorCode.TOPIC_ALREADY_EXISTS) {
            // Created by another broker meanwhile: ready once its leaders are known here.
            const ready = await cluster.cache.waitFor(() => cluster.cache.topics.has(topic), 5000);
            return ready ? ErrorCode.NONE : ErrorCode.LEADER_NOT_AVAILABLE;
          }
          this.logger.limited("auto-creation failed", `auto-creating topic ${topic} failed: ${r.message}`);
          return r.errorCode === ErrorCode.REQUEST_TIMED_OUT ? ErrorCode.LEADER_NOT_AVAILABLE : r.errorCode;
        },
        (e) => {
          this.logger.limited(
            "auto-creation failed",
            `auto-creating topic ${topic} failed: ${(e as Error).message}`,
          );
          return ErrorCode.UNKNOWN_SERVER_ERROR;
        },
      );
      this.creating.set(topic, p);
      void p.finally(() => this.creating.delete(topic));
    }
    return p;
  }

  async start(): Promise<BoundPorts> {
    for (const w of this.config.warnings) this.logLine(`warning: ${w}`);
    // First, so /readyz can say what the start is waiting for (ZooKeeper, recovery).
    await this.startHttp();
    if (this.jwks !== null) {
      // No usable key at startup stops it, as Kafka (a typo in the URL is found now, not at the
      // first login).
      await this.jwks.load();
      this.logLine(
        `OAUTHBEARER: ${this.jwks.current().length} verification key(s) from ${this.config.oauthbearer!.jwksEndpointUrl}`,
      );
    }
    const cluster = this.ctx.cluster;
    // In a cluster the cluster id comes from ZooKeeper, and a broker id in use stops the start.
    this.phase = "connecting to ZooKeeper";
    if (cluster !== null) this.ctx.logs.clusterId = await cluster.connect();
    if (cluster !== null) this.checkInterBrokerPrincipal();
    this.phase = "opening logs";
    this.recovery = await this.ctx.logs.open();
    this.phase = "loading group offsets and transactions";
    const r = this.recovery;
    this.logLine(
      `opened ${r.partitions} partition(s) from ${this.config.logDirs.join(", ")} ` +
        `(${r.clean ? "clean" : "unclean"} start, recovery pool of ${r.poolThreads} thread(s), ${r.threadsUsed} used)`,
    );
    // In a cluster an offsets partition is loaded when this broker becomes its leader.
    const replayed = cluster === null ? await this.offsetsTopic.replay() : [];
    let records = 0;
    for (const part of replayed) {
      this.coordinator.replay(part);
      records += part.length;
    }
    if (replayed.length > 0)
      this.logLine(
        `replayed ${records} record(s) of ${OFFSETS_TOPIC}: ${this.coordinator.groups.size} group(s)`,
      );
    this.coordinator.start();
    if (cluster === null) {
      const txns = await this.txnTopic.replay();
      for (const [p, records] of txns.entries()) this.txnCoordinator.load(p, records);
      const ids = txns.reduce((n, r) => n + r.length, 0);
      if (ids > 0) this.logLine(`replayed ${ids} record(s) of ${TRANSACTION_STATE_TOPIC}`);
    }
    this.txnCoordinator.start();
    if (this.schemaRegistry !== null) {
      await this.schemaRegistry.start();
      this.ports.schemaRegistry = this.schemaRegistry.ports[0] ?? null;
    }
    this.cleaner.start();
    for (const n of r.notes) this.logLine(`recovery: ${n}`);
    for (const t of r.truncated) {
      this.logLine(
        `recovery cut ${t.partition} segment ${t.segmentBase} at byte ${t.atByte} (${t.lostBytes} bytes): ${t.reason}`,
      );
    }
    this.phase = "opening the listeners";
    const dispatcher: Dispatcher = {
      handlerFor: (k) => this.handlers[k],
      logger: this.logger,
      throttled: () => this.throttled,
      requests: this.requestMemory,
      responses: this.responseMemory,
      connectionResponseBytes: this.config.fetchMaxBytes,
      saslToken: (conn, token) => saslRawToken(this.ctx, this.sasl, conn, token),
      requestMetrics: this.requestMetrics,
    };
    const admission = {
      admit: (ip: string) => this.admit(ip),
      left: (ip: string) => this.left(ip),
    };
    const c = this.config;
    const ownHosts = [...c.listeners, ...c.advertised].map((l) => l.host);
    for (const l of this.config.listeners) {
      const sec = c.listenerSecurity.get(l.name)!;
      const ssl = usesTls(sec.protocol) ? c.ssl : null;
      const what = `${l.name} (${sec.protocol}${sec.websocket ? " over WebSocket" : ""})`;
      let port: number;
      if (!sec.websocket) {
        const server = await startTcpListener(
          l.host,
          l.port,
          this.config.socketRequestMaxBytes,
          dispatcher,
          this.connections,
          admission,
          {
            name: l.name,
            ssl,
            sasl: usesSasl(sec.protocol),
            saslMaxReceiveBytes: c.saslServerMaxReceiveSize,
            log: this.logLine,
          },
        );
        this.tcpServers.push(server);
        port = (server.address() as net.AddressInfo).port;
        if (this.ports.kafka === 0 || l.name === c.interBrokerListenerName) this.ports.kafka = port;
        this.logLine(`Kafka protocol listening on ${l.host}:${port}: ${what}`);
      } else {
        const ws = await startWebSocketListener(
          l.host,
          l.port,
          this.config.socketRequestMaxBytes,
          dispatcher,
          this.connections,
          { allowed: c.websocketAllowedOrigins, ownHosts },
          admission,
          {
            name: l.name,
            ssl,
            sasl: usesSasl(sec.protocol),
            saslMaxReceiveBytes: c.saslServerMaxReceiveSize,
            log: this.logLine,
          },
        );
        this.wsListeners.push(ws);
        port = ws.port;
        this.ports.websocket ??= port;
        this.logLine(`Kafka protocol over WebSocket listening on ${l.host}:${port}: ${what}`);
      }
      this.ports.listeners[l.name] = port;
    }
    // Advertise the ports actually bound (port 0 in tests) unless advertised.listeners is set.
    if (this.config.advertised === this.config.listeners) {
      this.config.advertised = this.config.listeners.map((l) => ({
        ...l,
        port: this.ports.listeners[l.name] ?? l.port,
      }));
    }
    this.startIdleSweep();
    this.phase = "registering in ZooKeeper";
    if (cluster !== null) await cluster.register();
    // A cluster's registry follows `_schemas` and publishes its URL once the broker is registered.
    this.schemaRegistry?.joinCluster();
    this.phase = null;
    return this.ports;
  }

  /** metrics.listener: the HTTP listener, its routes over this broker's state. */
  private async startHttp(): Promise<void> {
    const at = this.config.metricsListener;
    if (at === null || this.requestMetrics === null) return;
    const registry = brokerMetrics({
      brokerId: this.config.brokerId,
      logs: this.ctx.logs,
      writers: this.ctx.writers,
      requests: this.requestMetrics,
      purgatory: this.ctx.purgatory,
      connections: this.connections,
      listeners: this.config.listeners.map((l) => l.name),
      cluster: this.ctx.cluster,
      groups: this.coordinator,
      cleaner: this.cleaner,
      highWatermark: (e) =>
        this.ctx.cluster === null ? e.reader.logEndOffset : this.ctx.cluster.replicas.highWatermark(e),
    });
    const routes = brokerRoutes({ notReady: () => this.notReady(), registry, console: this.consoleRoute() });
    try {
      this.http = await startHttpListener(at.host, at.port, routes, (l) => this.logger.limited("http", l));
    } catch (e) {
      throw new Error(`metrics.listener: cannot listen on ${at.host}:${at.port}: ${(e as Error).message}`);
    }
    this.ports.metrics = this.http.port;
    this.logLine(`HTTP (metrics, health) listening on ${at.host}:${this.http.port}`);
  }

  /**
   * The web console at "/" (console.enabled): its page connects to console.websocket.listener at
   * its advertised address (the bound port once the listeners are up), asking for a SASL login
   * when that listener is SASL_*.
   */
  private consoleRoute(): HttpHandler | null {
    const name = this.config.consoleListener;
    if (name === null) return null;
    const sec = this.config.listenerSecurity.get(name)!;
    const sasl = usesSasl(sec.protocol) ? { mechanisms: this.config.saslEnabledMechanisms } : null;
    return consoleHandler({
      webSocketUrl: () => {
        const a = this.config.advertised.find((l) => l.name === name)!;
        const host = a.host.includes(":") && !a.host.startsWith("[") ? `[${a.host}]` : a.host;
        return `${usesTls(sec.protocol) ? "wss" : "ws"}://${host}:${a.port}`;
      },
      sasl,
    });
  }

  /** null when the broker serves, else why not (/readyz). */
  notReady(): string | null {
    if (this.stopping !== null) return "shutting down";
    if (this.phase === "opening logs") {
      const p = this.ctx.logs.recoveryProgress;
      return `starting: opening logs (${p.done} of ${p.total} partition(s) opened)`;
    }
    if (this.phase !== null) return `starting: ${this.phase}`;
    if (this.ctx.cluster !== null && !this.ctx.cluster.replicas.registered)
      return "not registered in ZooKeeper";
    return null;
  }

  /**
   * A cluster with the authorizer: the other brokers' requests arrive over the PLAINTEXT
   * inter-broker listener as User:ANONYMOUS and need CLUSTER_ACTION on the cluster. Said at the
   * start when the ACLs just read (and super.users) do not allow it from this broker's address.
   */
  private checkInterBrokerPrincipal(): void {
    const a = this.authorizer;
    const c = this.config;
    if (a === null || c.listenerSecurity.get(c.interBrokerListenerName)?.protocol !== "PLAINTEXT") return;
    const host = clientHost(c.advertised.find((l) => l.name === c.interBrokerListenerName)?.host ?? "");
    if (a.authorize("User:ANONYMOUS", host, AclOperation.CLUSTER_ACTION, ResourceType.CLUSTER, CLUSTER_NAME))
      return;
    this.logLine(
      `warning: the inter-broker listener ${c.interBrokerListenerName} is PLAINTEXT, so brokers reach each other as User:ANONYMOUS, ` +
        "which neither super.users nor an ACL allows CLUSTER_ACTION on the cluster: the brokers will refuse each other's " +
        "LeaderAndIsr, UpdateMetadata and replica fetches. Add User:ANONYMOUS to super.users (or grant it CLUSTER_ACTION).",
    );
  }

  /** max.connections and max.connections.per.ip: null admits, else the reason to refuse. */
  private admit(ip: string): string | null {
    const c = this.config;
    let open = 0;
    for (const n of this.perIp.values()) open += n;
    if (open >= c.maxConnections) return `max.connections (${c.maxConnections}) reached`;
    const mine = this.perIp.get(ip) ?? 0;
    if (mine >= c.maxConnectionsPerIp) return `max.connections.per.ip (${c.maxConnectionsPerIp}) reached`;
    this.perIp.set(ip, mine + 1);
    return null;
  }

  private left(ip: string): void {
    const n = (this.perIp.get(ip) ?? 1) - 1;
    if (n <= 0) this.perIp.delete(ip);
    else this.perIp.set(ip, n);
  }

  /** connections.max.idle.ms: close connections that sent nothing and wait for nothing. */
  private startIdleSweep(): void {
    const idleMs = this.config.connectionsMaxIdleMs;
    this.idleSweep = setInterval(
      () => {
        const now = Date.now();
        for (const conn of [...this.connections]) {
          const since = conn.idleSince();
          if (since >= 0 && now - since >= idleMs) {
            conn.fail(`idle for ${Math.round((now - since) / 1000)} s (connections.max.idle.ms=${idleMs})`);
          }
        }
      },
      Math.max(10, Math.min(30_000, Math.floor(idleMs / 4))),
    );
    this.idleSweep.unref();
  }

  /**
   * Process-level handlers: an error that escapes every request's own handling is logged with
   * the request that was running, and the broker keeps serving (each connection's state is its
   * own; the logs are owned by the writer threads, whose failures stop the broker through
   * onFatal).
   */
  installProcessHandlers(): void {
    const report = (what: string, e: unknown) => {
      const during = activeRequest.current === null ? "" : ` while handling ${activeRequest.current}`;
      this.logger.limited(what, `${what}${during}: ${(e as Error)?.stack ?? String(e)}`);
    };
    process.on("uncaughtException", (e) => report("uncaught error", e));
    process.on("unhandledRejection", (e) => report("unhandled rejection", e));
    // SIGUSR2: one line of where memory is (an operator's quick look; /metrics has the rest).
    process.on("SIGUSR2", () => this.logLine(this.memoryReport()));
  }

  /** Memory of the acceptor thread and what clients make it hold. */
  memoryReport(): string {
    const m = process.memoryUsage();
    const mb = (n: number) => `${Math.round(n / 1048576)} MB`;
    let held = 0;
    for (const c of this.connections) held += c.inFlight;
    return (
      `memory: rss ${mb(m.rss)}, heap ${mb(m.heapUsed)} of ${mb(m.heapTotal)}, external ${mb(m.external)} ` +
      `(array buffers ${mb(m.arrayBuffers)}); ${this.connections.size} connection(s) with ${held} reply(ies) ` +
      `waiting; request frames held ${mb(this.requestMemory.used)}, fetch data unsent ${mb(this.responseMemory.used)}; ` +
      `writer backlog ${mb(this.ctx.writers.backlogBytes)}; ${this.ctx.logs.partitionCount} partition(s), ` +
      `${this.coordinator.groups.size} group(s)`
    );
  }

  /** Clean shutdown: close listeners and connections, flush and close logs, mark clean. */
  stop(): Promise<void> {
    if (this.stopping === null) this.stopping = this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    // A cluster member first hands its leaderships to other brokers (controlled shutdown).
    await this.ctx.cluster?.controlledShutdown();
    if (this.idleSweep) clearInterval(this.idleSweep);
    await this.schemaRegistry?.stop();
    await this.http?.close();
    for (const ws of this.wsListeners) ws.close();
    const closed = Promise.all(
      this.tcpServers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))),
    );
    for (const c of [...this.connections]) {
      c.sink.close("broker shutting down");
      c.destroy();
    }
    this.connections.clear();
    await closed;
    this.coordinator.stop();
    await this.txnCoordinator.stop();
    this.markers.close();
    this.jwks?.close();
    await this.cleaner.stop();
    await this.ctx.cluster?.stop();
    await this.ctx.writers.shutdown();
    // Whatever the writers never answered (internal appends waiting) is answered now.
    this.ctx.tracker.failAll(ErrorCode.KAFKA_STORAGE_ERROR);
    await this.ctx.logs.close();
    this.logger.flush();
    this.logLine("shut down cleanly");
  }
}

/** The cluster membership of a broker with zookeeper.connect, over its log and writers. */
function createClusterNode(
  ctx: BrokerContext,
  groups: { onRoleChange(e: PartitionEntry, role: "leader" | "follower" | "none"): void },
  security: ClusterSecurity,
): ClusterNode {
  const { config, logs, writers, tracker } = ctx;
  return new ClusterNode({
    config,
    logs,
    replicaLog: {
      becomeLeader: async (e, leaderEpoch) => {
        await writers.becomeLeader(e.slot, leaderEpoch);
      },
      // The reader learns of the cut before any later completion is handled (no await between).
      truncate: async (e, offset) => {
        const r = await writers.truncate(e.slot, offset);
        e.reader.truncated(r);
        await logs.afterTruncation(e, r.logEndOffset, false);
        return r.logEndOffset;
      },
      truncateFully: async (e, offset) => {
        const r = await writers.truncateFully(e.slot, offset);
        e.reader.truncated(r);
        await logs.afterTruncation(e, r.logEndOffset, true);
        return r.logEndOffset;
      },
      epochEndOffset: (e, leaderEpoch) => writers.epochEndOffset(e.slot, leaderEpoch),
      latestEpoch: async (e) => {
        const r = await writers.epochs(e.slot);
        return { epoch: r.errorCode === 0 ? r.latestEpoch : -1, logEndOffset: r.logEndOffset };
      },
    },
    appendReplica: (e, records) =>
      new Promise((resolve) => {
        const tag = tracker.register((errorCode) =>
          resolve({ errorCode, logEndOffset: e.reader.logEndOffset }),
        );
        writers.appendReplica(e.slot, tag, records);
      }),
    log: ctx.log,
    limited: (kind, line) => ctx.logger.limited(kind, line),
    minInsync: (topic) => {
      const v = logs.topics.get(topic)?.overrides.get("min.insync.replicas");
      return v === undefined ? config.minInsyncReplicas : Number(v);
    },
    deleteLocalTopic: (topic) => logs.deleteTopic(topic, () => ctx.topicDeleted(topic)),
    onRoleChange: (e, role) => groups.onRoleChange(e, role),
    applyTopicConfig: (topic, overrides) => logs.setTopicConfig(topic, overrides),
    security,
  });
}
