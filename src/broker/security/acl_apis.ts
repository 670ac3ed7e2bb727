// CreateAcls (30), DescribeAcls (29) and DeleteAcls (31): the generated request and response
// shapes (src/protocol/generated/types.ts) mapped to and from the ACL model, answered as Kafka's
// AclApis answers them (core/src/main/scala/kafka/server/AclApis.scala):
//
//   - the caller's ALTER (Create/Delete) or DESCRIBE (Describe) on the cluster is checked first
//     by the wiring (AuthHelper.authorizeClusterOperation); denied: the whole request answers
//     CLUSTER_AUTHORIZATION_FAILED (the *ErrorResponse helpers below);
//   - no authorizer configured: SECURITY_DISABLED (54) for every creation, for every filter, or for
//     the DescribeAcls response;
//   - CreateAcls: one result per creation, INVALID_REQUEST with Kafka's message for a creation
//     that cannot be an ACL (validateAclBinding); DeleteAcls: per filter, the ACLs it deleted
//     (each with error code 0), or INVALID_REQUEST for a filter with an UNKNOWN element;
//     DescribeAcls: the matching ACLs grouped by resource pattern.
//
// A request with an element whose code is 0 (UNKNOWN) is refused by Kafka while parsing it, which
// closes the connection; *RequestError say so, for the wiring to do the same. Version 0 has no
// pattern type field: it decodes as LITERAL (3), which is all v0 can mean, so no version is needed.

import type {
  CreateAclsRequest,
  CreateAclsRequestAclCreation,
  CreateAclsResponse,
  DeleteAclsRequest,
  DeleteAclsRequestFilter,
  DeleteAclsResponse,
  DeleteAclsResponseFilterResult,
  DeleteAclsResponseMatchingAcl,
  DescribeAclsRequest,
  DescribeAclsResponse,
  DescribeAclsResponseResource,
} from "../../protocol/generated/types.ts";
import {
  type AclBinding,
  type AclBindingFilter,
  AclErrorCode,
  operationFromCode,
  patternTypeFromCode,
  permissionTypeFromCode,
  resourcePatternKey,
  resourceTypeFromCode,
  type ValidateOptions,
} from "./acl.ts";
import type { AclCreateResult, AclDeleteResult, Authorizer } from "./authorizer.ts";

/**
 * What changes the ACLs: the Authorizer itself (a single broker: in memory, its onChange saves
 * acls.json) or ZkAcls (a cluster: the znodes first, src/cluster/zk_security.ts).
 */
export interface AclWriter {
  createAcls(
    bindings: readonly AclBinding[],
    options?: ValidateOptions,
  ): AclCreateResult[] | Promise<AclCreateResult[]>;
  deleteAcls(filters: readonly AclBindingFilter[]): AclDeleteResult[] | Promise<AclDeleteResult[]>;
}

/** CreateAclsRequest.getErrorResponse(SecurityDisabledException("No Authorizer is configured.")). */
export const NO_AUTHORIZER_MESSAGE = "No Authorizer is configured.";
/** AclApis.handleDescribeAcls's message. */
export const NO_AUTHORIZER_DESCRIBE_MESSAGE = "No Authorizer is configured on the broker";

// ---- requests to the model ----

/** CreateAclsRequest.aclBinding: codes Kafka does not know become UNKNOWN. */
export function aclBindingFromCreation(c: CreateAclsRequestAclCreation): AclBinding {
  return {
    resourceType: resourceTypeFromCode(c.resourceType),
    resourceName: c.resourceName,
    patternType: patternTypeFromCode(c.resourcePatternType),
    principal: c.principal,
    host: c.host,
    operation: operationFromCode(c.operation),
    permissionType: permissionTypeFromCode(c.permissionType),
  };
}

/** DescribeAclsRequest.filter. */
export function aclFilterFromDescribeRequest(r: DescribeAclsRequest): AclBindingFilter {
  return {
    resourceType: resourceTypeFromCode(r.resourceTypeFilter),
    resourceName: r.resourceNameFilter,
    patternType: patternTypeFromCode(r.patternTypeFilter),
    principal: r.principalFilter,
    host: r.hostFilter,
    operation: operationFromCode(r.operation),
    permissionType: permissionTypeFromCode(r.permissionType),
  };
}

/** DeleteAclsRequest.aclBindingFilter. */
export function aclFilterFromDeleteFilter(f: DeleteAclsRequestFilter): AclBindingFilter {
  return {
    resourceType: resourceTypeFromCode(f.resourceTypeFilter),
    resourceName: f.resourceNameFilter,
    patternType: patternTypeFromCode(f.patternTypeFilter),
    principal: f.principalFilter,
    host: f.hostFilter,
    operation: operationFromCode(f.operation),
    permissionType: permissionTypeFromCode(f.permissionType),
  };
}

/**
 * CreateAclsRequest.validate: Kafka refuses (closes the connection on) a request any of whose
 * creations has a 0 (UNKNOWN) pattern type, resource type, permission type or operation. The
 * reason, or null.
 */
export function createAclsRequestError(req: CreateAclsRequest): string | null {
  const unknown = req.creations.some(
    (c) => c.resourcePatternType === 0 || c.resourceType === 0 || c.permissionType === 0 || c.operation === 0,
  );
  return unknown ? "CreatableAcls contain unknown elements" : null;
}

/** DescribeAclsRequest.normalizeAndValidate: the reason Kafka refuses the request, or null. */
export function describeAclsRequestError(req: DescribeAclsRequest): string | null {
  const unknown =
    req.patternTypeFilter === 0 ||
    req.resourceTypeFilter === 0 ||
    req.permissionType === 0 ||
    req.operation === 0;
  return unknown ? "DescribeAclsRequest contains UNKNOWN elements" : null;
}

/** DeleteAclsRequest.normalizeAndValidate: the reason Kafka refuses the request, or null. */
export function deleteAclsRequestError(req: DeleteAclsRequest): string | null {
  const unknown = req.filters.some(
    (f) =>
      f.patternTypeFilter === 0 || f.resourceTypeFilter === 0 || f.operation === 0 || f.permissionType === 0,
  );
  return unknown ? "Filters contain UNKNOWN elements" : null;
}

// ---- the model to responses ----

export function createAclsResponse(results: readonly AclCreateResult[]): CreateAclsResponse {
  return {
    throttleTimeMs: 0,
    results: results.map((r) => ({ errorCode: r.errorCode, errorMessage: r.errorMessage })),
  };
}

/** Every creation answered with one error (CreateAclsRequest.getErrorResponse). */
export function createAclsErrorResponse(
  req: CreateAclsRequest,
  errorCode: number,
  errorMessage: string | null,
): CreateAclsResponse {
  return createAclsResponse(req.creations.map(() => ({ errorCode, errorMessage })));
}

/**
 * CreateAcls answered by the authorizer (null: none configured, SECURITY_DISABLED). Creations are
 * validated one by one and the valid ones added; the authorizer's onChange sees what was added.
 */
export function createAclsFromRequest(
  authorizer: Authorizer | null,
  req: CreateAclsRequest,
  options?: ValidateOptions,
): CreateAclsResponse;
export function createAclsFromRequest(
  writer: AclWriter | null,
  req: CreateAclsRequest,
  options?: ValidateOptions,
): CreateAclsResponse | Promise<CreateAclsResponse>;
export function createAclsFromRequest(
  writer: AclWriter | null,
  req: CreateAclsRequest,
  options: ValidateOptions = {},
): CreateAclsResponse | Promise<CreateAclsResponse> {
  if (writer === null)
    return createAclsErrorResponse(req, AclErrorCode.SECURITY_DISABLED, NO_AUTHORIZER_MESSAGE);
  const results = writer.createAcls(req.creations.map(aclBindingFromCreation), options);
  return results instanceof Promise ? results.then(createAclsResponse) : createAclsResponse(results);
}

/**
 * DescribeAclsResponse.aclsResources: bindings grouped by resource pattern, in order of first
 * appearance (Kafka's order is a HashMap's).
 */
export function describeAclsResources(bindings: Iterable<AclBinding>): DescribeAclsResponseResource[] {
  const byPattern = new Map<string, DescribeAclsResponseResource>();
  for (const b of bindings) {
    const key = resourcePatternKey(b);
    let resource = byPattern.get(key);
    if (resource === undefined) {
      resource = {
        resourceType: b.resourceType,
        resourceName: b.resourceName,
        patternType: b.patternType,
        acls: [],
      };
      byPattern.set(key, resource);
    }
    resource.acls.push({
      principal: b.principal,
      host: b.host,
      operation: b.operation,
      permissionType: b.permissionType,
    });
  }
  return [...byPattern.values()];
}

export function describeAclsErrorResponse(
  errorCode: number,
  errorMessage: string | null,
): DescribeAclsResponse {
  return { throttleTimeMs: 0, errorCode, errorMessage, resources: [] };
}

/** DescribeAcls answered by the authorizer (null: none configured, SECURITY_DISABLED). */
export function describeAclsResponse(
  authorizer: Authorizer | null,
  req: DescribeAclsRequest,
): DescribeAclsResponse {
  if (authorizer === null)
    return describeAclsErrorResponse(AclErrorCode.SECURITY_DISABLED, NO_AUTHORIZER_DESCRIBE_MESSAGE);
  const resources = describeAclsResources(authorizer.acls(aclFilterFromDescribeRequest(req)));
  return { throttleTimeMs: 0, errorCode: 0, errorMessage: null, resources };
}

/** DeleteAclsResponse.matchingAcl. */
export function deleteAclsMatchingAcl(
  b: AclBinding,
  errorCode = 0,
  errorMessage: string | null = null,
): DeleteAclsResponseMatchingAcl {
  return {
    errorCode,
    errorMessage,
    resourceType: b.resourceType,
    resourceName: b.resourceName,
    patternType: b.patternType,
    principal: b.principal,
    host: b.host,
    operation: b.operation,
    permissionType: b.permissionType,
  };
}

/** DeleteAclsResponse.filterResult for each filter's outcome. */
export function deleteAclsResponseOf(results: readonly AclDeleteResult[]): DeleteAclsResponse {
  return {
    throttleTimeMs: 0,
    filterResults: results.map(
      (r): DeleteAclsResponseFilterResult => ({
        errorCode: r.errorCode,
        errorMessage: r.errorMessage,
        matchingAcls: r.deleted.map((b) => deleteAclsMatchingAcl(b)),
      }),
    ),
  };
}

/** Every filter answered with one error (DeleteAclsRequest.getErrorResponse). */
export function deleteAclsErrorResponse(
  req: DeleteAclsRequest,
  errorCode: number,
  errorMessage: string | null,
): DeleteAclsResponse {
  return deleteAclsResponseOf(req.filters.map(() => ({ errorCode, errorMessage, deleted: [] })));
}

/** DeleteAcls answered by the authorizer (null: none configured, SECURITY_DISABLED). */
export function deleteAclsResponse(authorizer: Authorizer | null, req: DeleteAclsRequest): DeleteAclsResponse;
export function deleteAclsResponse(
  writer: AclWriter | null,
  req: DeleteAclsRequest,
): DeleteAclsResponse | Promise<DeleteAclsResponse>;
export function deleteAclsResponse(
  writer: AclWriter | null,
  req: DeleteAclsRequest,
): DeleteAclsResponse | Promise<DeleteAclsResponse> {
  if (writer === null)
    return deleteAclsErrorResponse(req, AclErrorCode.SECURITY_DISABLED, NO_AUTHORIZER_MESSAGE);
  const results = writer.deleteAcls(req.filters.map(aclFilterFromDeleteFilter));
  return results instanceof Promise ? results.then(deleteAclsResponseOf) : deleteAclsResponseOf(results);
}
