// `milena acls add|remove|list`: Kafka's ACLs through CreateAcls, DeleteAcls and DescribeAcls, as
// kafka-acls.sh (AclCommand) takes them: principals and hosts to allow or deny, operations
// (default All), resources (--topic, --group, --cluster, --transactional-id) with a pattern type
// (literal, prefixed; list and remove also take any and match), and the shortcuts --producer
// (Write, Describe, Create on the topics; Write, Describe on the transactional ids; with
// --idempotent IdempotentWrite on the cluster) and --consumer (Read, Describe on the topics, Read
// on the groups). Output as kafka-acls.sh prints it.

import {
  type AclBinding,
  type AclBindingFilter,
  AclOperation,
  AclPermissionType,
  CLUSTER_NAME,
  operationEnumName,
  PatternType,
  parseOperation,
  parsePatternType,
  parsePrincipal,
  patternTypeEnumName,
  permissionTypeEnumName,
  ResourceType,
  resourceTypeEnumName,
  supportedOperations,
} from "../broker/security/acl.ts";
import type { Admin } from "../client/node.ts";
import { all, flag, parseArgs, str, UsageError } from "./args.ts";
import { COMMON_OPTIONS, client, out } from "./common.ts";

export const ACLS_USAGE = `usage:
  milena acls add    (--allow-principal P | --deny-principal P) ... [--allow-host H | --deny-host H] ...
                     [--operation OP ...] RESOURCE ... [--resource-pattern-type literal|prefixed]
  milena acls add    --allow-principal P --producer --topic T [--transactional-id ID] [--idempotent]
  milena acls add    --allow-principal P --consumer --topic T --group G
  milena acls remove [principals, hosts, operations as add] RESOURCE ... [--resource-pattern-type T]
  milena acls list   [RESOURCE ...] [--principal P] [--resource-pattern-type literal|prefixed|any|match]
RESOURCE: --topic NAME, --group NAME, --cluster, --transactional-id ID (each repeatable; "*" is every one)
OP: All, Read, Write, Create, Delete, Alter, Describe, ClusterAction, DescribeConfigs, AlterConfigs,
  IdempotentWrite (any case). P: User:NAME ("User:*" everyone). Hosts default to "*".
options: --bootstrap host:port | ws://host:port (default 127.0.0.1:9092), --timeout-ms N,
  --command-config FILE (TLS and SASL: security.protocol, sasl.mechanism, sasl.username, ssl.ca.location ...)`;

const SPEC = {
  ...COMMON_OPTIONS,
  "allow-principal": { type: "string" as const, repeat: true },
  "deny-principal": { type: "string" as const, repeat: true },
  "allow-host": { type: "string" as const, repeat: true },
  "deny-host": { type: "string" as const, repeat: true },
  principal: { type: "string" as const, repeat: true },
  operation: { type: "string" as const, repeat: true },
  topic: { type: "string" as const, repeat: true },
  group: { type: "string" as const, repeat: true },
  cluster: { type: "boolean" as const },
  "transactional-id": { type: "string" as const, repeat: true },
  "resource-pattern-type": { type: "string" as const },
  producer: { type: "boolean" as const },
  consumer: { type: "boolean" as const },
  idempotent: { type: "boolean" as const },
};

type Parsed = ReturnType<typeof parseArgs>;

interface Resource {
  resourceType: ResourceType;
  resourceName: string;
}

function resources(p: Parsed): Resource[] {
  return [
    ...all(p, "topic").map((n) => ({ resourceType: ResourceType.TOPIC, resourceName: n })),
    ...all(p, "group").map((n) => ({ resourceType: ResourceType.GROUP, resourceName: n })),
    ...(flag(p, "cluster") ? [{ resourceType: ResourceType.CLUSTER, resourceName: CLUSTER_NAME }] : []),
    ...all(p, "transactional-id").map((n) => ({
      resourceType: ResourceType.TRANSACTIONAL_ID,
      resourceName: n,
    })),
  ];
}

function patternType(p: Parsed, allowed: readonly PatternType[], dflt: PatternType): PatternType {
  const s = str(p, "resource-pattern-type");
  if (s === undefined) return dflt;
  const t = parsePatternType(s);
  if (!allowed.includes(t))
    throw new UsageError(
      `--resource-pattern-type ${s}: one of ${allowed.map((a) => patternTypeEnumName(a).toLowerCase()).join(", ")}`,
    );
  return t;
}

function principals(option: string, values: string[]): string[] {
  for (const v of values)
    if (parsePrincipal(v) === null)
      throw new UsageError(`--${option} ${v}: expected Type:name, e.g. User:alice`);
  return values;
}

function operations(p: Parsed): AclOperation[] {
  return all(p, "operation").map((o) => {
    const op = parseOperation(o);
    if (op === AclOperation.UNKNOWN || op === AclOperation.ANY)
      throw new UsageError(`--operation ${o}: not one of Kafka's operations`);
    return op;
  });
}

/** Who gets which permission from where: every (principal, host) pair of --allow-* and --deny-*. */
function entries(p: Parsed): { principal: string; host: string; permissionType: AclPermissionType }[] {
  const pairs = (kind: "allow" | "deny", permissionType: AclPermissionType) => {
    const ps = principals(`${kind}-principal`, all(p, `${kind}-principal`));
    const hosts = all(p, `${kind}-host`);
    if (ps.length === 0 && hosts.length > 0) throw new UsageError(`--${kind}-host needs --${kind}-principal`);
    return ps.flatMap((principal) =>
      (hosts.length > 0 ? hosts : ["*"]).map((host) => ({ principal, host, permissionType })),
    );
  };
  return [...pairs("allow", AclPermissionType.ALLOW), ...pairs("deny", AclPermissionType.DENY)];
}

/** The operations each resource gets: --producer / --consumer, else --operation, else All. */
function operationsByResource(p: Parsed, rs: Resource[]): Map<Resource, AclOperation[]> {
  const producer = flag(p, "producer");
  const consumer = flag(p, "consumer");
  const ops = operations(p);
  const byResource = new Map<Resource, AclOperation[]>();
  if (!producer && !consumer) {
    if (flag(p, "idempotent")) throw new UsageError("--idempotent goes with --producer");
    for (const r of rs) {
      const wanted = ops.length > 0 ? ops : [AclOperation.ALL];
      const supported = supportedOperations(r.resourceType);
      for (const op of wanted)
        if (!supported.includes(op))
          throw new UsageError(
            `--operation ${operationEnumName(op)} does not apply to a ${resourceTypeEnumName(r.resourceType)} (${supported.map(operationEnumName).join(", ")})`,
          );
      byResource.set(r, wanted);
    }
    return byResource;
  }
  if (ops.length > 0) throw new UsageError("--operation does not go with --producer or --consumer");
  const topics = rs.filter((r) => r.resourceType === ResourceType.TOPIC);
  if (topics.length === 0) throw new UsageError("--producer and --consumer need --topic");
  if (consumer && !rs.some((r) => r.resourceType === ResourceType.GROUP))
    throw new UsageError("--consumer needs --group");
  const add = (r: Resource, more: AclOperation[]) =>
    byResource.set(r, [...new Set([...(byResource.get(r) ?? []), ...more])]);
  for (const r of rs) {
    if (r.resourceType === ResourceType.TOPIC) {
      if (producer) add(r, [AclOperation.WRITE, AclOperation.DESCRIBE, AclOperation.CREATE]);
      if (consumer) add(r, [AclOperation.READ, AclOperation.DESCRIBE]);
    } else if (r.resourceType === ResourceType.TRANSACTIONAL_ID && producer)
      add(r, [AclOperation.WRITE, AclOperation.DESCRIBE]);
    else if (r.resourceType === ResourceType.GROUP && consumer) add(r, [AclOperation.READ]);
    else if (!(r.resourceType === ResourceType.CLUSTER && producer && flag(p, "idempotent")))
      throw new UsageError(
        `--${producer ? "producer" : "consumer"} does not take a ${resourceTypeEnumName(r.resourceType)}`,
      );
  }
  if (producer && flag(p, "idempotent")) {
    const cluster = rs.find((r) => r.resourceType === ResourceType.CLUSTER) ?? {
      resourceType: ResourceType.CLUSTER,
      resourceName: CLUSTER_NAME,
    };
    add(cluster, [AclOperation.IDEMPOTENT_WRITE]);
  }
  return byResource;
}

/** An ACL as the commands print it (codes as numbers, from the broker or from the options). */
interface Printed {
  resourceType: number;
  resourceName: string;
  patternType: number;
  principal: string;
  host: string;
  operation: number;
  permissionType: number;
}

const patternText = (b: Printed) =>
  `ResourcePattern(resourceType=${resourceTypeEnumName(b.resourceType as ResourceType)}, name=${b.resourceName}, patternType=${patternTypeEnumName(b.patternType as PatternType)})`;

const entryText = (e: Printed) =>
  `\t(principal=${e.principal}, host=${e.host}, operation=${operationEnumName(e.operation as AclOperation)}, permissionType=${permissionTypeEnumName(e.permissionType as AclPermissionType)})`;

export async function acls(argv: string[]): Promise<number> {
  const [action, ...rest] = argv;
  const p = parseArgs(rest, SPEC);
  if (p.positionals.length > 0) throw new UsageError(`unexpected ${JSON.stringify(p.positionals[0])}`);
  switch (action) {
    case "add": {
      const rs = resources(p);
      const who = entries(p);
      if (who.length === 0) throw new UsageError("acls add needs --allow-principal or --deny-principal");
      if (rs.length === 0 && !flag(p, "idempotent"))
        throw new UsageError("acls add needs a resource: --topic, --group, --cluster or --transactional-id");
      const pattern = patternType(p, [PatternType.LITERAL, PatternType.PREFIXED], PatternType.LITERAL);
      const bindings: AclBinding[] = [];
      for (const [r, ops] of operationsByResource(p, rs))
        for (const e of who)
          for (const operation of ops)
            bindings.push({
              resourceType: r.resourceType,
              resourceName: r.resourceName,
              patternType: r.resourceType === ResourceType.CLUSTER ? PatternType.LITERAL : pattern,
              operation,
              ...e,
            });
      return withAdmin(p, async (admin) => {
        await admin.createAcls({
          acl: bindings.map((b) => ({ ...b, resourcePatternType: b.patternType })),
        });
        printGrouped("Adding ACLs for resource", bindings);
        return 0;
      });
    }
    case "remove": {
      const rs = resources(p);
      if (rs.length === 0)
        throw new UsageError(
          "acls remove needs a resource: --topic, --group, --cluster or --transactional-id",
        );
      const pattern = patternType(
        p,
        [PatternType.LITERAL, PatternType.PREFIXED, PatternType.ANY, PatternType.MATCH],
        PatternType.LITERAL,
      );
      const who = entries(p);
      const ops = operations(p);
      const filters: AclBindingFilter[] = [];
      for (const r of rs)
        for (const e of who.length > 0 ? who : [null])
          for (const operation of ops.length > 0 ? ops : [AclOperation.ANY])
            filters.push({
              resourceType: r.resourceType,
              resourceName: r.resourceName,
              patternType: r.resourceType === ResourceType.CLUSTER ? PatternType.LITERAL : pattern,
              principal: e?.principal ?? null,
              host: e?.host ?? null,
              operation,
              permissionType: e?.permissionType ?? AclPermissionType.ANY,
            });
      return withAdmin(p, async (admin) => {
        const res = await admin.deleteAcls({
          filters: filters.map((f) => ({ ...f, resourcePatternType: f.patternType })),
        });
        const removed = res.filterResponses.flatMap((r) =>
          r.matchingAcls.map((m) => ({ ...m, patternType: m.resourcePatternType })),
        );
        if (removed.length === 0) {
          out("No ACLs matched.");
          return 1;
        }
        printGrouped("Removed ACLs for resource", removed);
        return 0;
      });
    }
    case "list": {
      const rs = resources(p);
      const pattern = patternType(
        p,
        [PatternType.LITERAL, PatternType.PREFIXED, PatternType.ANY, PatternType.MATCH],
        rs.length > 0 ? PatternType.LITERAL : PatternType.ANY,
      );
      const ps = principals("principal", all(p, "principal"));
      const filters = (rs.length > 0 ? rs : [null]).flatMap((r) =>
        (ps.length > 0 ? ps : [null]).map((principal) => ({
          resourceType: r?.resourceType ?? ResourceType.ANY,
          resourceName: r?.resourceName ?? null,
          resourcePatternType: r?.resourceType === ResourceType.CLUSTER ? PatternType.LITERAL : pattern,
          principal,
          host: null,
          operation: AclOperation.ANY,
          permissionType: AclPermissionType.ANY,
        })),
      );
      return withAdmin(p, async (admin) => {
        const found: Printed[] = [];
        for (const f of filters) {
          const res = await admin.describeAcls(f);
          for (const r of res.resources)
            for (const a of r.acls)
              found.push({
                ...a,
                resourceType: r.resourceType,
                resourceName: r.resourceName,
                patternType: r.resourcePatternType,
              });
        }
        printGrouped("Current ACLs for resource", found);
        return 0;
      });
    }
    default:
      throw new UsageError(`unknown acls action ${JSON.stringify(action ?? "")}`);
  }
}

async function withAdmin(p: Parsed, f: (admin: Admin) => Promise<number>): Promise<number> {
  const admin = client(p).admin();
  await admin.connect();
  try {
    return await f(admin);
  } finally {
    await admin.disconnect();
  }
}

/** kafka-acls.sh's layout: a header per resource pattern, then its entries, sorted. */
function printGrouped(header: string, bindings: readonly Printed[]): void {
  const groups = new Map<string, string[]>();
  for (const b of bindings) {
    const key = patternText(b);
    const list = groups.get(key) ?? [];
    const line = entryText(b);
    if (!list.includes(line)) list.push(line);
    groups.set(key, list);
  }
  for (const [pattern, lines] of [...groups].sort(([a], [b]) => (a < b ? -1 : 1))) {
    out(`${header} \`${pattern}\`:`);
    for (const l of lines.sort()) out(l);
    out("");
  }
}
