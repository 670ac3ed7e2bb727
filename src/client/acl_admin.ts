// The admin client's ACL operations (Admin's createAcls, describeAcls, deleteAcls delegate here),
// shaped like kafkajs's, with kafkajs's enum names (AclResourceTypes, ResourcePatternTypes,
// AclOperationTypes, AclPermissionTypes; the codes are the protocol's, src/protocol/acl_codes.ts).
// Any broker answers the ACL APIs: a single broker from its acls.json, a cluster from ZooKeeper.
// A request-level error (SECURITY_DISABLED without an authorizer, CLUSTER_AUTHORIZATION_FAILED)
// and every failed creation or filter are thrown as typed errors (several: MilenaAggregateError).

import { AclOperation, AclPermissionType, PatternType, ResourceType } from "../protocol/acl_codes.ts";
import { ErrorCode } from "../protocol/error_codes.ts";
import { createAclsCodec, deleteAclsCodec, describeAclsCodec } from "../protocol/security.ts";
import type { Cluster } from "./cluster.ts";
import { MilenaAggregateError, type MilenaError, protocolError } from "./errors.ts";

/** kafkajs's AclResourceTypes. */
export const AclResourceTypes = ResourceType;
/** kafkajs's ResourcePatternTypes. */
export const ResourcePatternTypes = PatternType;
/** kafkajs's AclOperationTypes. */
export const AclOperationTypes = AclOperation;
/** kafkajs's AclPermissionTypes. */
export const AclPermissionTypes = AclPermissionType;

/** One ACL: a resource pattern and who may (or may not) do what from where. */
export interface AclEntry {
  resourceType: number;
  resourceName: string;
  resourcePatternType: number;
  /** "User:alice"; "User:*" for everyone. */
  principal: string;
  /** A client address, or "*". */
  host: string;
  operation: number;
  permissionType: number;
}

/** Which ACLs: null (or absent) strings and ANY codes match anything. */
export interface AclFilter {
  resourceType: number;
  resourceName?: string | null;
  resourcePatternType: number;
  principal?: string | null;
  host?: string | null;
  operation: number;
  permissionType: number;
}

export interface DescribeAclsResult {
  throttleTime: number;
  errorCode: number;
  errorMessage: string | null;
  resources: {
    resourceType: number;
    resourceName: string;
    resourcePatternType: number;
    acls: { principal: string; host: string; operation: number; permissionType: number }[];
  }[];
}

export interface DeleteAclsResult {
  filterResponses: {
    errorCode: number;
    errorMessage: string | null;
    matchingAcls: (AclEntry & { errorCode: number; errorMessage: string | null })[];
  }[];
}

function throwAll(errors: MilenaError[], what: string): void {
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1)
    throw new MilenaAggregateError(
      `${what}: ${errors.length} errors: ${errors.map((e) => e.message).join("; ")}`,
      errors,
    );
}

const failed = (r: { errorCode: number; errorMessage: string | null }) =>
  r.errorCode !== ErrorCode.NONE ? [protocolError(r.errorCode, r.errorMessage)] : [];

export async function createAcls(cluster: Cluster, acl: readonly AclEntry[]): Promise<void> {
  if (acl.length === 0) return;
  const res = await cluster.withRetry(async () =>
    (await cluster.anyConnection()).request(createAclsCodec, {
      creations: acl.map((a) => ({
        resourceType: a.resourceType,
        resourceName: a.resourceName,
        resourcePatternType: a.resourcePatternType,
        principal: a.principal,
        host: a.host,
        operation: a.operation,
        permissionType: a.permissionType,
      })),
    }),
  );
  throwAll(res.results.flatMap(failed), "createAcls");
}

export async function describeAcls(cluster: Cluster, filter: AclFilter): Promise<DescribeAclsResult> {
  const res = await cluster.withRetry(async () =>
    (await cluster.anyConnection()).request(describeAclsCodec, {
      resourceTypeFilter: filter.resourceType,
      resourceNameFilter: filter.resourceName ?? null,
      patternTypeFilter: filter.resourcePatternType,
      principalFilter: filter.principal ?? null,
      hostFilter: filter.host ?? null,
      operation: filter.operation,
      permissionType: filter.permissionType,
    }),
  );
  throwAll(failed(res), "describeAcls");
  return {
    throttleTime: res.throttleTimeMs,
    errorCode: res.errorCode,
    errorMessage: res.errorMessage,
    resources: res.resources.map((r) => ({
      resourceType: r.resourceType,
      resourceName: r.resourceName,
      resourcePatternType: r.patternType,
      acls: r.acls.map((a) => ({
        principal: a.principal,
        host: a.host,
        operation: a.operation,
        permissionType: a.permissionType,
      })),
    })),
  };
}

export async function deleteAcls(cluster: Cluster, filters: readonly AclFilter[]): Promise<DeleteAclsResult> {
  if (filters.length === 0) return { filterResponses: [] };
  const res = await cluster.withRetry(async () =>
    (await cluster.anyConnection()).request(deleteAclsCodec, {
      filters: filters.map((f) => ({
        resourceTypeFilter: f.resourceType,
        resourceNameFilter: f.resourceName ?? null,
        patternTypeFilter: f.resourcePatternType,
        principalFilter: f.principal ?? null,
        hostFilter: f.host ?? null,
        operation: f.operation,
        permissionType: f.permissionType,
      })),
    }),
  );
  throwAll(res.filterResults.flatMap(failed), "deleteAcls");
  return {
    filterResponses: res.filterResults.map((r) => ({
      errorCode: r.errorCode,
      errorMessage: r.errorMessage,
      matchingAcls: r.matchingAcls.map((m) => ({
        errorCode: m.errorCode,
        errorMessage: m.errorMessage,
        resourceType: m.resourceType,
        resourceName: m.resourceName,
        resourcePatternType: m.patternType,
        principal: m.principal,
        host: m.host,
        operation: m.operation,
        permissionType: m.permissionType,
      })),
    })),
  };
}
