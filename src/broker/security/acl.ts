// Kafka's ACL model, with Kafka's numeric codes and names, for the authorizer (authorizer.ts), its
// storage (acl_store.ts) and the CreateAcls/DescribeAcls/DeleteAcls mapping (acl_apis.ts):
//
//   - the enums ResourceType, PatternType, AclOperation, AclPermissionType
//     (clients/src/main/java/org/apache/kafka/common/{resource,acl}/*.java), their wire codes, their
//     enum names ("TRANSACTIONAL_ID") and the PascalCase names ZooKeeper and kafka-acls.sh use
//     ("TransactionalId", SecurityUtils.resourceTypeName/operationName/permissionTypeName);
//   - AclBinding (a resource pattern plus an access control entry) and AclBindingFilter, with
//     matching exactly as Kafka's AclBindingFilter.matches (ResourcePatternFilter.matches,
//     AccessControlEntryFilter.matches): ANY matches any pattern type but the exact name; MATCH
//     finds the literal, wildcard ("*" LITERAL) and prefixed ACLs that apply to a name;
//   - validation of a binding for CreateAcls with Kafka's error codes and messages (AclApis,
//     AclControlManager.validateNewAcl, SecurityUtils.parseKafkaPrincipal, AclAuthorizer);
//   - which operations each resource type supports (AclEntry.supportedOperations, what
//     authorized_operations bit fields answer) and the error each resource type's denial answers.
//
// Error codes not yet in src/protocol/error_codes.ts are in AclErrorCode (to move there).

import { AclOperation, AclPermissionType, PatternType, ResourceType } from "../../protocol/acl_codes.ts";
import { ErrorCode } from "../../protocol/error_codes.ts";

/** Error codes the ACL code answers that src/protocol/error_codes.ts does not have yet (Errors.java). */
export const AclErrorCode = {
  /** No authorizer configured (SecurityDisabledException). */
  SECURITY_DISABLED: 54,
  DELEGATION_TOKEN_AUTHORIZATION_FAILED: 65,
} as const;

// The four enums are the protocol's (src/protocol/acl_codes.ts, shared with the client's admin).
export { AclOperation, AclPermissionType, PatternType, ResourceType } from "../../protocol/acl_codes.ts";

/** A LITERAL resource name matching every resource of its type (ResourcePattern.WILDCARD_RESOURCE). */
export const WILDCARD_RESOURCE = "*";
/** An ACL host matching every client address (AclEntry.WILDCARD_HOST). */
export const WILDCARD_HOST = "*";
/** An ACL principal matching every principal, whatever its type (StandardAuthorizerData.WILDCARD_PRINCIPAL). */
export const WILDCARD_PRINCIPAL = "User:*";
/** The one name of the CLUSTER resource (Resource.CLUSTER_NAME). */
export const CLUSTER_NAME = "kafka-cluster";

/** What an ACL applies to: a literal name ("*" = all), or a name prefix. */
export interface ResourcePattern {
  readonly resourceType: ResourceType;
  readonly resourceName: string;
  readonly patternType: PatternType;
}

/** Who may (ALLOW) or may not (DENY) do what from where. */
export interface AccessControlEntry {
  /** "User:alice"; "User:*" for everyone. */
  readonly principal: string;
  /** A client IP address as Java prints it (see clientHost in authorizer.ts), or "*". */
  readonly host: string;
  readonly operation: AclOperation;
  readonly permissionType: AclPermissionType;
}

/** One ACL (Kafka's AclBinding). */
export interface AclBinding extends ResourcePattern, AccessControlEntry {}

/** Kafka's AclBindingFilter: null strings and ANY codes match anything. */
export interface AclBindingFilter {
  readonly resourceType: ResourceType;
  readonly resourceName: string | null;
  readonly patternType: PatternType;
  readonly principal: string | null;
  readonly host: string | null;
  readonly operation: AclOperation;
  readonly permissionType: AclPermissionType;
}

/** AclBindingFilter.ANY. */
export const ANY_ACL_FILTER: AclBindingFilter = Object.freeze({
  resourceType: ResourceType.ANY,
  resourceName: null,
  patternType: PatternType.ANY,
  principal: null,
  host: null,
  operation: AclOperation.ANY,
  permissionType: AclPermissionType.ANY,
});

/** An error code and message as CreateAcls/DeleteAcls answer them; errorCode 0 = success. */
export interface AclError {
  readonly errorCode: number;
  readonly errorMessage: string;
}

// ---- codes and names ----

type EnumObject = Readonly<Record<string, number>>;

function namesOf<T extends EnumObject>(e: T): Map<number, string> {
  return new Map(Object.entries(e).map(([name, code]) => [code, name]));
}

const RESOURCE_TYPE_ENUM_NAMES = namesOf(ResourceType);
const PATTERN_TYPE_ENUM_NAMES = namesOf(PatternType);
const OPERATION_ENUM_NAMES = namesOf(AclOperation);
const PERMISSION_TYPE_ENUM_NAMES = namesOf(AclPermissionType);

function fromCode<T extends number>(names: Map<number, string>, code: number): T {
  return (names.has(code) ? code : 0) as T;
}

/** ResourceType.fromCode: UNKNOWN for a code Kafka does not know. */
export const resourceTypeFromCode = (code: number): ResourceType => fromCode(RESOURCE_TYPE_ENUM_NAMES, code);
export const patternTypeFromCode = (code: number): PatternType => fromCode(PATTERN_TYPE_ENUM_NAMES, code);
export const operationFromCode = (code: number): AclOperation => fromCode(OPERATION_ENUM_NAMES, code);
export const permissionTypeFromCode = (code: number): AclPermissionType =>
  fromCode(PERMISSION_TYPE_ENUM_NAMES, code);

/** Java's enum name: "TRANSACTIONAL_ID", "LITERAL", "DESCRIBE_CONFIGS", "ALLOW" (toString, name()). */
export const resourceTypeEnumName = (t: ResourceType): string => RESOURCE_TYPE_ENUM_NAMES.get(t) ?? "UNKNOWN";
export const patternTypeEnumName = (t: PatternType): string => PATTERN_TYPE_ENUM_NAMES.get(t) ?? "UNKNOWN";
export const operationEnumName = (op: AclOperation): string => OPERATION_ENUM_NAMES.get(op) ?? "UNKNOWN";
export const permissionTypeEnumName = (p: AclPermissionType): string =>
  PERMISSION_TYPE_ENUM_NAMES.get(p) ?? "UNKNOWN";

/** SecurityUtils.toPascalCase: "TRANSACTIONAL_ID" -> "TransactionalId". */
function pascalCase(enumName: string): string {
  return enumName
    .toLowerCase()
    .split("_")
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join("");
}

/** SecurityUtils.resourceTypeName: "Topic", "TransactionalId" (ZooKeeper paths). */
export const resourceTypeName = (t: ResourceType): string => pascalCase(resourceTypeEnumName(t));
/** SecurityUtils.operationName: "Read", "DescribeConfigs" (ZooKeeper ACL JSON). */
export const operationName = (op: AclOperation): string => pascalCase(operationEnumName(op));
/** SecurityUtils.permissionTypeName: "Allow", "Deny" (ZooKeeper ACL JSON). */
export const permissionTypeName = (p: AclPermissionType): string => pascalCase(permissionTypeEnumName(p));

function fromName<T extends number>(names: Map<number, string>, name: string): T {
  const wanted = name.replaceAll("_", "").toUpperCase();
  for (const [code, enumName] of names) if (enumName.replaceAll("_", "") === wanted) return code as T;
  return 0 as T;
}

/**
 * A name as Kafka writes one (enum name "TRANSACTIONAL_ID" or PascalCase "TransactionalId"), in
 * any case; UNKNOWN when it is none (SecurityUtils.resourceType, ResourceType.fromString).
 */
export const parseResourceType = (name: string): ResourceType => fromName(RESOURCE_TYPE_ENUM_NAMES, name);
export const parsePatternType = (name: string): PatternType => fromName(PATTERN_TYPE_ENUM_NAMES, name);
export const parseOperation = (name: string): AclOperation => fromName(OPERATION_ENUM_NAMES, name);
export const parsePermissionType = (name: string): AclPermissionType =>
  fromName(PERMISSION_TYPE_ENUM_NAMES, name);

// ---- principals ----

/**
 * SecurityUtils.parseKafkaPrincipal: "Type:name", split at the first colon; null when there is
 * no colon (Kafka's IllegalArgumentException).
 */
export function parsePrincipal(principal: string): { type: string; name: string } | null {
  const colon = principal.indexOf(":");
  if (colon < 0) return null;
  return { type: principal.slice(0, colon), name: principal.slice(colon + 1) };
}

/** SecurityUtils.parseKafkaPrincipal's message. */
export function principalFormatMessage(principal: string): string {
  return `expected a string in format principalType:principalName but got ${principal}`;
}

// ---- identity and display ----

/** A string equal for two bindings exactly when Kafka's AclBinding.equals says they are equal. */
export function aclBindingKey(b: AclBinding): string {
  return JSON.stringify([
    b.resourceType,
    b.patternType,
    b.resourceName,
    b.principal,
    b.host,
    b.operation,
    b.permissionType,
  ]);
}

/** The pattern part of a binding, for grouping by resource (DescribeAcls, ZooKeeper znodes). */
export function resourcePatternKey(p: ResourcePattern): string {
  return JSON.stringify([p.resourceType, p.patternType, p.resourceName]);
}

/** A binding as a plain object with exactly the binding's fields (safe to store or compare). */
export function aclBinding(b: AclBinding): AclBinding {
  return {
    resourceType: b.resourceType,
    resourceName: b.resourceName,
    patternType: b.patternType,
    principal: b.principal,
    host: b.host,
    operation: b.operation,
    permissionType: b.permissionType,
  };
}

/** AclBinding.toString. */
export function formatAclBinding(b: AclBinding | AclBindingFilter): string {
  const s = (v: string | null) => (v === null ? "<any>" : v);
  return (
    `(pattern=ResourcePattern(resourceType=${resourceTypeEnumName(b.resourceType)}, name=${s(b.resourceName)}, ` +
    `patternType=${patternTypeEnumName(b.patternType)}), entry=(principal=${s(b.principal)}, host=${s(b.host)}, ` +
    `operation=${operationEnumName(b.operation)}, permissionType=${permissionTypeEnumName(b.permissionType)}))`
  );
}

/** AclBinding.toFilter: the filter matching exactly this binding. */
export function aclBindingToFilter(b: AclBinding): AclBindingFilter {
  return aclBinding(b);
}

// ---- filters ----

/** ResourcePatternFilter.matches. */
export function patternFilterMatches(
  filter: Pick<AclBindingFilter, "resourceType" | "resourceName" | "patternType">,
  pattern: ResourcePattern,
): boolean {
  if (filter.resourceType !== ResourceType.ANY && filter.resourceType !== pattern.resourceType) return false;
  if (
    filter.patternType !== PatternType.ANY &&
    filter.patternType !== PatternType.MATCH &&
    filter.patternType !== pattern.patternType
  )
    return false;
  if (filter.resourceName === null) return true;
  if (filter.patternType === PatternType.ANY || filter.patternType === pattern.patternType)
    return filter.resourceName === pattern.resourceName;
  // MATCH: the patterns that apply to the name.
  switch (pattern.patternType) {
    case PatternType.LITERAL:
      return filter.resourceName === pattern.resourceName || pattern.resourceName === WILDCARD_RESOURCE;
    case PatternType.PREFIXED:
      return filter.resourceName.startsWith(pattern.resourceName);
    default:
      // Kafka throws IllegalArgumentException("Unsupported PatternType"): no stored ACL has another.
      return false;
  }
}

/** AccessControlEntryFilter.matches. */
export function entryFilterMatches(
  filter: Pick<AclBindingFilter, "principal" | "host" | "operation" | "permissionType">,
  entry: AccessControlEntry,
): boolean {
  if (filter.principal !== null && filter.principal !== entry.principal) return false;
  if (filter.host !== null && filter.host !== entry.host) return false;
  if (filter.operation !== AclOperation.ANY && filter.operation !== entry.operation) return false;
  if (filter.permissionType !== AclPermissionType.ANY && filter.permissionType !== entry.permissionType)
    return false;
  return true;
}

/** AclBindingFilter.matches. */
export function aclFilterMatches(filter: AclBindingFilter, binding: AclBinding): boolean {
  return patternFilterMatches(filter, binding) && entryFilterMatches(filter, binding);
}

/** ResourcePatternFilter.isUnknown: an UNKNOWN resource type or pattern type. */
export function patternFilterIsUnknown(f: Pick<AclBindingFilter, "resourceType" | "patternType">): boolean {
  return f.resourceType === ResourceType.UNKNOWN || f.patternType === PatternType.UNKNOWN;
}

/** AccessControlEntryFilter.isUnknown: an UNKNOWN operation or permission type. */
export function entryFilterIsUnknown(f: Pick<AclBindingFilter, "operation" | "permissionType">): boolean {
  return f.operation === AclOperation.UNKNOWN || f.permissionType === AclPermissionType.UNKNOWN;
}

/** AclBindingFilter.isUnknown (also AclBinding.isUnknown: a binding is its own filter). */
export function aclFilterIsUnknown(f: AclBindingFilter): boolean {
  return patternFilterIsUnknown(f) || entryFilterIsUnknown(f);
}

/** AclBindingFilter.findIndefiniteField: what makes the filter match more than one ACL, or null. */
export function findIndefiniteField(f: AclBindingFilter): string | null {
  if (f.resourceType === ResourceType.ANY) return "Resource type is ANY.";
  if (f.resourceType === ResourceType.UNKNOWN) return "Resource type is UNKNOWN.";
  if (f.resourceName === null) return "Resource name is NULL.";
  if (f.patternType === PatternType.MATCH) return "Resource pattern type is MATCH.";
  if (f.patternType === PatternType.UNKNOWN) return "Resource pattern type is UNKNOWN.";
  if (f.principal === null) return "Principal is NULL";
  if (f.host === null) return "Host is NULL";
  if (f.operation === AclOperation.ANY) return "Operation is ANY";
  if (f.operation === AclOperation.UNKNOWN) return "Operation is UNKNOWN";
  if (f.permissionType === AclPermissionType.ANY) return "Permission type is ANY";
  if (f.permissionType === AclPermissionType.UNKNOWN) return "Permission type is UNKNOWN";
  return null;
}

/** AclBindingFilter.matchesAtMostOne. */
export function aclFilterMatchesAtMostOne(f: AclBindingFilter): boolean {
  return findIndefiniteField(f) === null;
}

// ---- validation ----

export interface ValidateOptions {
  /**
   * ACLs kept in ZooKeeper: a resource name containing "/" is refused, since it would be a znode
   * path (AclAuthorizer.validateAclBinding). KRaft and the local file accept it.
   */
  readonly zooKeeper?: boolean;
}

function invalid(errorMessage: string): AclError {
  return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage };
}

/**
 * Whether CreateAcls may create this binding: null when it may, else INVALID_REQUEST with Kafka's
 * message, checked in Kafka's order (AclApis.handleCreateAcls, then the authorizer:
 * AclControlManager.validateNewAcl). A prefixed "*" is accepted, as Kafka does: it is not the
 * wildcard (only LITERAL "*" is) but the prefix of names starting with "*".
 *
 * Two checks are Milena's where Kafka's KRaft controller has none: the principal must be
 * "Type:name" (Kafka's ZooKeeper authorizer refused it when it parsed the principal; KRaft stores
 * it and fails at authorization), and (with zooKeeper) no "/" in the name.
 */
export function validateAclBinding(b: AclBinding, options: ValidateOptions = {}): AclError | null {
  if (b.resourceType === ResourceType.CLUSTER && b.resourceName !== CLUSTER_NAME)
    return invalid(`The only valid name for the CLUSTER resource is ${CLUSTER_NAME}`);
  if (b.resourceName === "") return invalid("Invalid empty resource name");
  if (b.resourceType === ResourceType.UNKNOWN || b.resourceType === ResourceType.ANY)
    return invalid(`Invalid resourceType ${resourceTypeEnumName(b.resourceType)}`);
  if (b.patternType !== PatternType.LITERAL && b.patternType !== PatternType.PREFIXED)
    return invalid(`Invalid patternType ${patternTypeEnumName(b.patternType)}`);
  if (b.operation === AclOperation.UNKNOWN || b.operation === AclOperation.ANY)
    return invalid(`Invalid operation ${operationEnumName(b.operation)}`);
  if (b.permissionType !== AclPermissionType.ALLOW && b.permissionType !== AclPermissionType.DENY)
    return invalid(`Invalid permissionType ${permissionTypeEnumName(b.permissionType)}`);
  if (parsePrincipal(b.principal) === null) return invalid(principalFormatMessage(b.principal));
  if (options.zooKeeper && b.resourceName.includes("/"))
    return invalid(`ACL binding contains invalid resource name: ${b.resourceName}`);
  return null;
}

// ---- per resource type ----

const { READ, WRITE, CREATE, DELETE, ALTER, DESCRIBE, CLUSTER_ACTION, DESCRIBE_CONFIGS, ALTER_CONFIGS } =
  AclOperation;

const SUPPORTED_OPERATIONS: Readonly<Partial<Record<ResourceType, readonly AclOperation[]>>> = {
  [ResourceType.TOPIC]: [READ, WRITE, CREATE, DESCRIBE, DELETE, ALTER, DESCRIBE_CONFIGS, ALTER_CONFIGS],
  [ResourceType.GROUP]: [READ, DESCRIBE, DELETE, DESCRIBE_CONFIGS, ALTER_CONFIGS],
  [ResourceType.CLUSTER]: [
    CREATE,
    CLUSTER_ACTION,
    DESCRIBE_CONFIGS,
    ALTER_CONFIGS,
    AclOperation.IDEMPOTENT_WRITE,
    ALTER,
    DESCRIBE,
  ],
  [ResourceType.TRANSACTIONAL_ID]: [DESCRIBE, WRITE],
  [ResourceType.DELEGATION_TOKEN]: [DESCRIBE],
  [ResourceType.USER]: [AclOperation.CREATE_TOKENS, AclOperation.DESCRIBE_TOKENS],
};

/**
 * AclEntry.supportedOperations: the operations an authorized_operations bit field reports for a
 * resource type. Throws for UNKNOWN and ANY ("Not a concrete resource type").
 */
export function supportedOperations(resourceType: ResourceType): readonly AclOperation[] {
  const ops = SUPPORTED_OPERATIONS[resourceType];
  if (ops === undefined) throw new Error("Not a concrete resource type");
  return ops;
}

/** Utils.to32BitField: bit i set for each operation code i. */
export function toBitField(operations: Iterable<AclOperation>): number {
  let bits = 0;
  for (const op of operations) {
    if (op < 0 || op > 31) throw new RangeError(`out of range: ${op}`);
    bits |= 1 << op;
  }
  return bits;
}

/** Utils.from32BitField: the operation codes set in a bit field. */
export function fromBitField(bits: number): AclOperation[] {
  const out: AclOperation[] = [];
  for (let i = 0; i < 32; i++) if ((bits >>> i) & 1) out.push(i as AclOperation);
  return out;
}

/** AclEntry.authorizationError: what a denial on a resource type answers. */
export function authorizationErrorCode(resourceType: ResourceType): number {
  switch (resourceType) {
    case ResourceType.TOPIC:
      return ErrorCode.TOPIC_AUTHORIZATION_FAILED;
    case ResourceType.GROUP:
      return ErrorCode.GROUP_AUTHORIZATION_FAILED;
    case ResourceType.CLUSTER:
      return ErrorCode.CLUSTER_AUTHORIZATION_FAILED;
    case ResourceType.TRANSACTIONAL_ID:
      return ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
    case ResourceType.DELEGATION_TOKEN:
      return AclErrorCode.DELEGATION_TOKEN_AUTHORIZATION_FAILED;
    default:
      throw new Error("Authorization error type not known");
  }
}
