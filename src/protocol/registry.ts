// The list of API codecs Milena serves, a lookup by api key, and the ApiVersions key list built
// from the codecs' declared ranges, so what is advertised cannot drift from what is implemented.
// A new API is served by adding its codec to CODECS.

import { alterConfigsCodec } from "./alter_configs.ts";
import type { ApiCodec } from "./api.ts";
import { type ApiVersionRange, apiVersionsCodec } from "./api_versions.ts";
import { createPartitionsCodec } from "./create_partitions.ts";
import { createTopicsCodec } from "./create_topics.ts";
import { deleteRecordsCodec } from "./delete_records.ts";
import { deleteTopicsCodec } from "./delete_topics.ts";
import { describeClusterCodec } from "./describe_cluster.ts";
import { describeConfigsCodec } from "./describe_configs.ts";
import { describeLogDirsCodec } from "./describe_log_dirs.ts";
import { describeProducersCodec } from "./describe_producers.ts";
import { fetchCodec } from "./fetch.ts";
import { findCoordinatorCodec } from "./find_coordinator.ts";
import { GROUP_CODECS } from "./group_registry.ts";
import { incrementalAlterConfigsCodec } from "./incremental_alter_configs.ts";
import { initProducerIdCodec } from "./init_producer_id.ts";
import {
  controlledShutdownCodec,
  leaderAndIsrCodec,
  stopReplicaCodec,
  updateMetadataCodec,
} from "./inter_broker.ts";
import { listOffsetsCodec } from "./list_offsets.ts";
import { metadataCodec } from "./metadata.ts";
import { offsetForLeaderEpochCodec } from "./offset_for_leader_epoch.ts";
import { produceCodec } from "./produce.ts";
import { alterPartitionReassignmentsCodec, listPartitionReassignmentsCodec } from "./reassignments.ts";
import { ACL_CODECS, SECURITY_CODECS } from "./security.ts";
import { TRANSACTION_CODECS } from "./transactions.ts";

/**
 * A codec of any API: requests decode to `unknown`. The broker dispatches on the api key to the
 * typed `*Codec` exports; this type serves lookups, version checks and the ApiVersions list.
 */
export type AnyApiCodec = ApiCodec<unknown, unknown>;

export const CODECS: readonly AnyApiCodec[] = [
  produceCodec,
  fetchCodec,
  listOffsetsCodec,
  metadataCodec,
  apiVersionsCodec,
  createTopicsCodec,
  deleteTopicsCodec,
  describeConfigsCodec,
  findCoordinatorCodec,
  alterConfigsCodec,
  incrementalAlterConfigsCodec,
  initProducerIdCodec,
  offsetForLeaderEpochCodec,
  createPartitionsCodec,
  describeClusterCodec,
  describeLogDirsCodec,
  deleteRecordsCodec,
  describeProducersCodec,
  ...TRANSACTION_CODECS,
  ...SECURITY_CODECS,
  ...ACL_CODECS,
  ...GROUP_CODECS,
  // Between the brokers of a cluster (advertised only with zookeeper.connect).
  leaderAndIsrCodec,
  stopReplicaCodec,
  updateMetadataCodec,
  controlledShutdownCodec,
  alterPartitionReassignmentsCodec,
  listPartitionReassignmentsCodec,
];

const BY_KEY: (AnyApiCodec | undefined)[] = [];
for (const c of CODECS) {
  if (BY_KEY[c.key] !== undefined) throw new Error(`two codecs for api key ${c.key}`);
  BY_KEY[c.key] = c;
}

/** The codec serving an api key, or undefined when Milena does not serve it. */
export function codecFor(apiKey: number): AnyApiCodec | undefined {
  return apiKey >= 0 ? BY_KEY[apiKey] : undefined;
}

/** True when the api key is served at this version (the advertised range). */
export function isSupported(apiKey: number, apiVersion: number): boolean {
  const c = codecFor(apiKey);
  return c !== undefined && apiVersion >= c.minVersion && apiVersion <= c.maxVersion;
}

/** The ApiVersions response key list, ordered by api key. */
export function apiVersionsKeys(codecs: readonly AnyApiCodec[] = CODECS): ApiVersionRange[] {
  return codecs
    .map((c) => ({ apiKey: c.key, minVersion: c.minVersion, maxVersion: c.maxVersion }))
    .sort((a, b) => a.apiKey - b.apiKey);
}
