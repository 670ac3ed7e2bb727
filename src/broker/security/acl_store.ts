// Where ACLs are kept: (a) ZooKeeper, in Kafka's own layout and JSON, so Milena and Kafka brokers
// of a ZooKeeper cluster share them; (b) a local JSON file for a single broker.
//
// (a) ZooKeeper (kafka.zk.ZkData: ZkAclStore, ResourceZNode, ZkAclChangeStore; AclEntry): encode
// and decode only; the wiring does the ZooKeeper calls.
//
//   /kafka-acl/<Type>/<name>                       LITERAL patterns ("*" = the wildcard)
//   /kafka-acl-extended/prefixed/<Type>/<name>     PREFIXED patterns
//     <Type> is SecurityUtils.resourceTypeName: Topic, Group, Cluster, TransactionalId,
//     DelegationToken, User. Data (Kafka 3.7's AclAuthorizer writes exactly these bytes):
//     {"version":1,"acls":[{"principal":"User:alice","permissionType":"Allow","operation":"Read","host":"*"}]}
//     A znode with no ACLs left is deleted by Kafka (the wiring should too).
//
//   Change notifications, created PERSISTENT_SEQUENTIAL after each znode write, read by every
//   broker (which then re-reads that one znode):
//   /kafka-acl-changes/acl_changes_<10-digit seq>          LITERAL: "<RESOURCE_TYPE>:<name>",
//     the enum name, e.g. "TOPIC:orders" (LiteralAclChangeStore: resourceType.toString)
//   /kafka-acl-extended-changes/acl_changes_<seq>          PREFIXED: JSON (ExtendedAclChangeEvent)
//     {"version":1,"resourceType":"TOPIC","name":"orders-","patternType":"PREFIXED"}
//   Kafka's change listener deletes notifications older than 15 minutes (changeExpirationMs).
//
// (b) The file: `acls.json` in the first log dir (or a path the wiring chooses):
//     {"version": 1, "acls": [{"resourceType": "Topic", "resourceName": "orders", "patternType":
//      "LITERAL", "principal": "User:alice", "host": "*", "operation": "Read", "permissionType": "Allow"}]}
//   Names are read in any case, as enum names or PascalCase. Saved whole: temp file, fsync,
//   rename, fsync of the directory. A missing file is no ACLs; a bad one is an AclFileError that
//   names the file, the entry and the field.

import * as fs from "node:fs";
import { basename, dirname, join } from "node:path";
import {
  type AccessControlEntry,
  type AclBinding,
  AclOperation,
  AclPermissionType,
  aclBindingKey,
  operationName,
  PatternType,
  parseOperation,
  parsePatternType,
  parsePermissionType,
  parsePrincipal,
  parseResourceType,
  patternTypeEnumName,
  permissionTypeName,
  principalFormatMessage,
  type ResourcePattern,
  ResourceType,
  resourceTypeEnumName,
  resourceTypeName,
  validateAclBinding,
} from "./acl.ts";

// ---- ZooKeeper ----

export const ZK_LITERAL_ACL_PATH = "/kafka-acl";
export const ZK_EXTENDED_ACL_PATH = "/kafka-acl-extended";
export const ZK_LITERAL_ACL_CHANGES_PATH = "/kafka-acl-changes";
export const ZK_EXTENDED_ACL_CHANGES_PATH = "/kafka-acl-extended-changes";
/** ZkAclChangeStore.SequenceNumberPrefix. */
export const ZK_ACL_CHANGE_PREFIX = "acl_changes_";
/** AclEntry.CURRENT_VERSION and ExtendedAclChangeEvent.currentVersion. */
export const ZK_ACL_VERSION = 1;

export class ZkAclFormatError extends Error {
  override name = "ZkAclFormatError";
}

/** ZkAclStore(patternType).aclPath: /kafka-acl (LITERAL), /kafka-acl-extended/prefixed (PREFIXED). */
export function zkAclRootPath(patternType: PatternType): string {
  if (patternType === PatternType.LITERAL) return ZK_LITERAL_ACL_PATH;
  if (patternType === PatternType.PREFIXED)
    return `${ZK_EXTENDED_ACL_PATH}/${patternTypeEnumName(patternType).toLowerCase()}`;
  throw new ZkAclFormatError(`Invalid pattern type: ${patternTypeEnumName(patternType)}`);
}

/** The roots to read at startup: list <root>/<Type>, then <root>/<Type>/<name> (AclAuthorizer.loadAllAcls). */
export const ZK_ACL_ROOTS: readonly { readonly patternType: PatternType; readonly path: string }[] = [
  { patternType: PatternType.LITERAL, path: zkAclRootPath(PatternType.LITERAL) },
  { patternType: PatternType.PREFIXED, path: zkAclRootPath(PatternType.PREFIXED) },
];

/** Every path Kafka creates for ACLs (ZkAclStore.securePaths), for the wiring to create at startup. */
export const ZK_ACL_PATHS: readonly string[] = [
  ZK_LITERAL_ACL_PATH,
  ZK_LITERAL_ACL_CHANGES_PATH,
  zkAclRootPath(PatternType.PREFIXED),
  ZK_EXTENDED_ACL_CHANGES_PATH,
];

/** ZkAclStore.path(resourceType): e.g. /kafka-acl/Topic. */
export function zkResourceTypePath(patternType: PatternType, resourceType: ResourceType): string {
  return `${zkAclRootPath(patternType)}/${resourceTypeName(resourceType)}`;
}

/** ResourceZNode.path: e.g. /kafka-acl/Topic/orders, /kafka-acl-extended/prefixed/Group/app-. */
export function zkResourcePath(pattern: ResourcePattern): string {
  const name = pattern.resourceName;
  // A znode name cannot hold "/" or NUL, nor be empty, "." or "..".
  if (name === "" || name === "." || name === ".." || name.includes("/") || name.includes("\u0000"))
    throw new ZkAclFormatError(`ACL binding contains invalid resource name: ${name}`);
  return `${zkResourceTypePath(pattern.patternType, pattern.resourceType)}/${pattern.resourceName}`;
}

/**
 * The resource type of a child of an ACL root ("Topic"), as AclAuthorizer.loadAllAcls reads it
 * (SecurityUtils.resourceType); UNKNOWN for one Kafka skips with a warning.
 */
export function zkResourceTypeFromName(segment: string): ResourceType {
  const t = parseResourceType(segment);
  return t === ResourceType.ANY ? ResourceType.UNKNOWN : t;
}

/** The pattern of an ACL znode path, or null when the path is not one. */
export function parseZkResourcePath(path: string): ResourcePattern | null {
  for (const root of ZK_ACL_ROOTS) {
    if (!path.startsWith(`${root.path}/`)) continue;
    const rest = path.slice(root.path.length + 1);
    const slash = rest.indexOf("/");
    if (slash <= 0 || slash === rest.length - 1) return null;
    const resourceType = zkResourceTypeFromName(rest.slice(0, slash));
    const resourceName = rest.slice(slash + 1);
    if (resourceType === ResourceType.UNKNOWN || resourceName.includes("/")) return null;
    return { resourceType, resourceName, patternType: root.patternType };
  }
  return null;
}

/**
 * An ACL znode's data (ResourceZNode.encode), byte for byte as Kafka 3.7's AclAuthorizer writes
 * it: {"version":1,"acls":[{"principal":…,"permissionType":"Allow","operation":"Read","host":"*"}]}.
 * (Kafka 3.8 builds the same JSON from Java HashMaps, which put "acls" first and "host" before
 * "operation"; readers do not care about key order.)
 */
export function encodeZkAcls(entries: Iterable<AccessControlEntry>): Buffer {
  const acls = [...entries].map((e) => ({
    principal: e.principal,
    permissionType: permissionTypeName(e.permissionType),
    operation: operationName(e.operation),
    host: e.host,
  }));
  return Buffer.from(JSON.stringify({ version: ZK_ACL_VERSION, acls }), "utf8");
}

/**
 * An ACL znode's data as AclEntry.fromBytes reads it: empty or null data is no ACLs; the version
 * must be 1; each entry's principal must be "Type:name"; an operation or permission type name
 * Kafka does not know becomes UNKNOWN (such an entry allows nothing). Duplicates are dropped (Kafka
 * reads into a set). ZkAclFormatError otherwise.
 */
export function decodeZkAcls(data: Uint8Array | null | undefined): AccessControlEntry[] {
  if (!data || data.length === 0) return [];
  let js: unknown;
  try {
    js = JSON.parse(Buffer.from(data).toString("utf8"));
  } catch (e) {
    throw new ZkAclFormatError(`ACL znode data is not JSON: ${(e as Error).message}`);
  }
  if (js === null) return [];
  if (!isObject(js)) throw new ZkAclFormatError("ACL znode data is not a JSON object");
  if (js.version !== ZK_ACL_VERSION)
    throw new ZkAclFormatError(`ACL znode version ${JSON.stringify(js.version)} is not ${ZK_ACL_VERSION}`);
  if (!Array.isArray(js.acls)) throw new ZkAclFormatError('ACL znode has no "acls" array');
  const out: AccessControlEntry[] = [];
  const seen = new Set<string>();
  js.acls.forEach((item: unknown, i: number) => {
    if (!isObject(item)) throw new ZkAclFormatError(`ACL znode entry ${i} is not an object`);
    const field = (name: string): string => {
      const v = item[name];
      if (typeof v !== "string")
        throw new ZkAclFormatError(`ACL znode entry ${i}: "${name}" is not a string`);
      return v;
    };
    const principal = field("principal");
    if (parsePrincipal(principal) === null)
      throw new ZkAclFormatError(`ACL znode entry ${i}: ${principalFormatMessage(principal)}`);
    const entry: AccessControlEntry = {
      principal,
      permissionType: parsePermissionType(field("permissionType")),
      host: field("host"),
      operation: parseOperation(field("operation")),
    };
    const key = JSON.stringify([entry.principal, entry.host, entry.operation, entry.permissionType]);
    if (seen.has(key)) return;
    seen.add(key);
    out.push(entry);
  });
  return out;
}

/** The bindings of one ACL znode: its pattern (from the path) with the entries of its data. */
export function zkAclBindings(pattern: ResourcePattern, data: Uint8Array | null | undefined): AclBinding[] {
  return decodeZkAcls(data).map((e) => ({
    resourceType: pattern.resourceType,
    resourceName: pattern.resourceName,
    patternType: pattern.patternType,
    ...e,
  }));
}

/**
 * The change notification for a pattern whose znode was written (ZkAclChangeStore.createChangeNode):
 * create `path` + a sequence number (PERSISTENT_SEQUENTIAL) with `data`.
 */
export function zkAclChangeNode(pattern: ResourcePattern): { path: string; data: Buffer } {
  if (pattern.patternType === PatternType.LITERAL)
    return {
      path: `${ZK_LITERAL_ACL_CHANGES_PATH}/${ZK_ACL_CHANGE_PREFIX}`,
      data: Buffer.from(`${resourceTypeEnumName(pattern.resourceType)}:${pattern.resourceName}`, "utf8"),
    };
  if (pattern.patternType !== PatternType.PREFIXED)
    throw new ZkAclFormatError(`Invalid pattern type: ${patternTypeEnumName(pattern.patternType)}`);
  const event = {
    version: ZK_ACL_VERSION,
    resourceType: resourceTypeEnumName(pattern.resourceType),
    name: pattern.resourceName,
    patternType: patternTypeEnumName(pattern.patternType),
  };
  return {
    path: `${ZK_EXTENDED_ACL_CHANGES_PATH}/${ZK_ACL_CHANGE_PREFIX}`,
    data: Buffer.from(JSON.stringify(event)),
  };
}

/**
 * A change notification's pattern, given the path it was read under (the change root or the
 * node's full path): LiteralAclChangeStore.decode ("TOPIC:name", split at the first colon) or
 * ExtendedAclChangeStore.decode (the JSON event; a version above 1 is refused). Names are read in
 * any case. ZkAclFormatError when the data is not a notification.
 */
export function decodeZkAclChange(path: string, data: Uint8Array): ResourcePattern {
  const text = Buffer.from(data).toString("utf8");
  if (path === ZK_LITERAL_ACL_CHANGES_PATH || path.startsWith(`${ZK_LITERAL_ACL_CHANGES_PATH}/`)) {
    const colon = text.indexOf(":");
    if (colon < 0)
      throw new ZkAclFormatError(`expected a string in format ResourceType:ResourceName but got ${text}`);
    const resourceType = parseResourceType(text.slice(0, colon));
    return { resourceType, resourceName: text.slice(colon + 1), patternType: PatternType.LITERAL };
  }
  if (path === ZK_EXTENDED_ACL_CHANGES_PATH || path.startsWith(`${ZK_EXTENDED_ACL_CHANGES_PATH}/`)) {
    let js: unknown;
    try {
      js = JSON.parse(text);
    } catch (e) {
      throw new ZkAclFormatError(`Failed to parse ACL change event: ${(e as Error).message}`);
    }
    if (!isObject(js)) throw new ZkAclFormatError("Failed to parse ACL change event: not an object");
    const { version, resourceType, name, patternType } = js;
    if (typeof version !== "number" || typeof resourceType !== "string" || typeof name !== "string")
      throw new ZkAclFormatError("Failed to parse ACL change event: missing fields");
    if (typeof patternType !== "string")
      throw new ZkAclFormatError("Failed to parse ACL change event: missing fields");
    if (version > ZK_ACL_VERSION)
      throw new ZkAclFormatError(`Acl change event received for unsupported version: ${version}`);
    return {
      resourceType: parseResourceType(resourceType),
      resourceName: name,
      patternType: parsePatternType(patternType),
    };
  }
  throw new ZkAclFormatError(`${path} is not under an ACL change path`);
}

/** The sequence number of a change node's name ("acl_changes_0000000042" -> 42), or null. */
export function zkAclChangeSequence(nodeName: string): number | null {
  const name = nodeName.slice(nodeName.lastIndexOf("/") + 1);
  if (!name.startsWith(ZK_ACL_CHANGE_PREFIX)) return null;
  const digits = name.slice(ZK_ACL_CHANGE_PREFIX.length);
  return /^\d+$/.test(digits) ? Number(digits) : null;
}

// ---- the local file ----

export const ACL_FILE_NAME = "acls.json";
export const ACL_FILE_VERSION = 1;

/** acls.json in the first log dir. */
export function defaultAclFilePath(logDirs: readonly string[]): string {
  if (logDirs.length === 0) throw new Error("no log dir for acls.json");
  return join(logDirs[0], ACL_FILE_NAME);
}

export class AclFileError extends Error {
  override name = "AclFileError";
}

const ORDER = (a: AclBinding, b: AclBinding): number =>
  a.resourceType - b.resourceType ||
  a.patternType - b.patternType ||
  cmp(a.resourceName, b.resourceName) ||
  cmp(a.principal, b.principal) ||
  cmp(a.host, b.host) ||
  a.operation - b.operation ||
  a.permissionType - b.permissionType;

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The file's text: one ACL per line, sorted (so a diff shows what changed). */
export function encodeAclFile(bindings: Iterable<AclBinding>): string {
  const lines = [...bindings].sort(ORDER).map((b) =>
    JSON.stringify({
      resourceType: resourceTypeName(b.resourceType),
      resourceName: b.resourceName,
      patternType: patternTypeEnumName(b.patternType),
      principal: b.principal,
      host: b.host,
      operation: operationName(b.operation),
      permissionType: permissionTypeName(b.permissionType),
    }),
  );
  const acls = lines.length === 0 ? "[]" : `[\n    ${lines.join(",\n    ")}\n  ]`;
  return `{\n  "version": ${ACL_FILE_VERSION},\n  "acls": ${acls}\n}\n`;
}

/**
 * The bindings of a file's text; AclFileError (naming `source`, the entry and the field) for
 * anything that is not a valid ACL as CreateAcls would accept it.
 */
export function decodeAclFile(text: string, source = ACL_FILE_NAME): AclBinding[] {
  let js: unknown;
  try {
    js = JSON.parse(text);
  } catch (e) {
    throw new AclFileError(`${source}: not valid JSON: ${(e as Error).message}`);
  }
  if (!isObject(js))
    throw new AclFileError(`${source}: expected a JSON object {"version": 1, "acls": [...]}`);
  if (js.version !== ACL_FILE_VERSION)
    throw new AclFileError(
      `${source}: "version" is ${JSON.stringify(js.version)}; this broker reads version ${ACL_FILE_VERSION}`,
    );
  if (!Array.isArray(js.acls)) throw new AclFileError(`${source}: "acls" must be an array`);
  const out: AclBinding[] = [];
  const seen = new Set<string>();
  js.acls.forEach((item: unknown, i: number) => {
    const where = `${source}: acls[${i}]`;
    if (!isObject(item)) throw new AclFileError(`${where}: expected an object`);
    const str = (name: string): string => {
      const v = item[name];
      if (typeof v !== "string") throw new AclFileError(`${where}: "${name}" must be a string`);
      return v;
    };
    const named = <T extends number>(name: string, parse: (s: string) => T, allowed: readonly T[]): T => {
      const raw = str(name);
      const v = parse(raw);
      if (!allowed.includes(v))
        throw new AclFileError(
          `${where}: "${name}" ${JSON.stringify(raw)} is not one of ${allowedNames(name)}`,
        );
      return v;
    };
    const b: AclBinding = {
      resourceType: named("resourceType", parseResourceType, CONCRETE_RESOURCE_TYPES),
      resourceName: str("resourceName"),
      patternType: named("patternType", parsePatternType, [PatternType.LITERAL, PatternType.PREFIXED]),
      principal: str("principal"),
      host: str("host"),
      operation: named("operation", parseOperation, CONCRETE_OPERATIONS),
      permissionType: named("permissionType", parsePermissionType, [
        AclPermissionType.ALLOW,
        AclPermissionType.DENY,
      ]),
    };
    const error = validateAclBinding(b);
    if (error !== null) throw new AclFileError(`${where}: ${error.errorMessage}`);
    const key = aclBindingKey(b);
    if (seen.has(key)) return;
    seen.add(key);
    out.push(b);
  });
  return out;
}

const CONCRETE_RESOURCE_TYPES: readonly ResourceType[] = Object.values(ResourceType).filter((t) => t > 1);
const CONCRETE_OPERATIONS: readonly AclOperation[] = Object.values(AclOperation).filter((o) => o > 1);

function allowedNames(field: string): string {
  switch (field) {
    case "resourceType":
      return CONCRETE_RESOURCE_TYPES.map(resourceTypeName).join(", ");
    case "patternType":
      return "LITERAL, PREFIXED";
    case "operation":
      return CONCRETE_OPERATIONS.map(operationName).join(", ");
    default:
      return "Allow, Deny";
  }
}

/** The file's ACLs; none when it does not exist. AclFileError when it cannot be read or is invalid. */
export function loadAclFile(path: string): AclBinding[] {
  let text: string;
  try {
    text = fs.readFileSync(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw new AclFileError(`${path}: cannot read: ${(e as Error).message}`);
  }
  return decodeAclFile(text, path);
}

/** Write the file whole and durably: a temp file in the same directory, fsync, rename, fsync the directory. */
export function saveAclFile(path: string, bindings: Iterable<AclBinding>): void {
  const dir = dirname(path);
  fs.mkdirSync(dir, { recursive: true });
  const tmp = join(dir, `.${basename(path)}.${process.pid}.tmp`);
  const fd = fs.openSync(tmp, "w", 0o600);
  try {
    fs.writeSync(fd, encodeAclFile(bindings));
    fs.fsyncSync(fd);
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  fs.closeSync(fd);
  fs.renameSync(tmp, path);
  let dfd: number | undefined;
  try {
    dfd = fs.openSync(dir, "r");
    fs.fsyncSync(dfd);
  } catch {
    // Some platforms cannot fsync a directory; the rename itself is atomic.
  } finally {
    if (dfd !== undefined) fs.closeSync(dfd);
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
