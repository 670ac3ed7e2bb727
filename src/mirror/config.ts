// `milena mirror config.properties`: the mirror's configuration, in MirrorMaker 2's names
// (connect-mirror-maker.properties), so an MM2 file reads the same here:
//
//   clusters = A, B
//   A.bootstrap.servers = 127.0.0.1:9092
//   B.bootstrap.servers = 127.0.0.1:9093
//   A->B.enabled = true
//   A->B.topics = orders.*, payments
//   A->B.topics.exclude = .*\.tmp
//   B->A.enabled = true
//
// Keys:
//   clusters                               the cluster aliases (comma separated; required)
//   <alias>.bootstrap.servers              each cluster's brokers (required for every alias in a flow)
//   <alias>.security.protocol, <alias>.sasl.mechanism, <alias>.sasl.jaas.config (PlainLoginModule /
//   ScramLoginModule with username="..." password="..."), <alias>.sasl.username, <alias>.sasl.password,
//   <alias>.ssl.ca.location, <alias>.ssl.certificate.location, <alias>.ssl.key.location,
//   <alias>.ssl.key.password, <alias>.enable.ssl.certificate.verification
//                                          the client security settings of --command-config
//                                          (src/cli/command_config.ts), per cluster
//   <src>-><dst>.enabled                   run the flow (default false)
//   replication.policy.class               DefaultReplicationPolicy (remote topics named
//                                          <source>.<topic>) or IdentityReplicationPolicy (same
//                                          name); Kafka's full class names are accepted
//   replication.policy.separator           default "."
//   and, at top level or per flow as <src>-><dst>.<key> (the flow's value wins):
//   topics, topics.exclude                 comma-separated regular expressions, each matching a
//                                          whole topic name (default .* / .*[\-\.]internal, .*\.replica, __.*)
//   groups, groups.exclude                 the same for consumer groups whose offsets are
//                                          checkpointed (default .* / console-consumer-.*, connect-.*, __.*)
//   sync.topic.configs.enabled             copy topic configs (default true), every
//   sync.topic.configs.interval.seconds    (default 600)
//   config.properties.exclude              configs never copied (regex list; MM2's default)
//   refresh.topics.interval.seconds        look for new topics (default 600)
//   refresh.groups.interval.seconds        look for new groups (default 600)
//   emit.heartbeats.enabled, emit.heartbeats.interval.seconds      (true, 1)
//   emit.checkpoints.enabled, emit.checkpoints.interval.seconds    (true, 60)
//   sync.group.offsets.enabled, sync.group.offsets.interval.seconds (false, 60)
//   offset.lag.max                         an offset sync at least every this many records (100)
//   replication.factor                     of the remote topics (default -1: the target's default)
//   exactly.once.source.support            enabled: each copied batch and the flow's position in one
//                                          transaction on the target (transactional.ts); default
//                                          disabled (at least once, the position on the source)
//   progress.log.interval.seconds          Milena's: the per-flow progress line (default 10; 0: off)
//   metrics.listener                       Milena's: host:port serving GET /metrics (Prometheus,
//                                          metrics.ts); default none
//
// Lines are key=value or key: value (spaces around either are dropped), # and ! start comments.
// Anything wrong (an unknown key, a bad value, a key twice, a flow naming an unknown cluster, a
// bad regular expression) is a MirrorConfigError naming the file and line.

import * as fs from "node:fs";
import { CommandConfigError, type CommandSecurity, securityOf } from "../cli/command_config.ts";

export class MirrorConfigError extends Error {
  override name = "MirrorConfigError";
}

export type PolicyKind = "default" | "identity";

export interface ClusterConfig {
  alias: string;
  bootstrap: string[];
  security: CommandSecurity;
}

export interface FlowConfig {
  source: string;
  target: string;
  topics: RegExp[];
  topicsExclude: RegExp[];
  groups: RegExp[];
  groupsExclude: RegExp[];
  syncTopicConfigs: boolean;
  syncTopicConfigsIntervalMs: number;
  configPropertiesExclude: RegExp[];
  refreshTopicsIntervalMs: number;
  refreshGroupsIntervalMs: number;
  emitHeartbeats: boolean;
  emitHeartbeatsIntervalMs: number;
  emitCheckpoints: boolean;
  emitCheckpointsIntervalMs: number;
  syncGroupOffsets: boolean;
  syncGroupOffsetsIntervalMs: number;
  offsetLagMax: number;
  replicationFactor: number;
  progressLogIntervalMs: number;
  /** exactly.once.source.support = enabled: records and position in one target transaction. */
  exactlyOnce: boolean;
}

export interface MirrorConfig {
  /** metrics.listener: where GET /metrics is served (null: nowhere, the default). */
  metricsListener: { host: string; port: number } | null;
  policy: PolicyKind;
  separator: string;
  clusters: Map<string, ClusterConfig>;
  flows: FlowConfig[];
}

interface Entry {
  value: string;
  line: number;
}

const SECURITY_KEYS = [
  "security.protocol",
  "sasl.mechanism",
  "sasl.mechanisms",
  "sasl.username",
  "sasl.password",
  "sasl.jaas.config",
  "ssl.ca.location",
  "ssl.certificate.location",
  "ssl.key.location",
  "ssl.key.password",
  "enable.ssl.certificate.verification",
];
const CLUSTER_KEYS = ["bootstrap.servers", ...SECURITY_KEYS];

type Kind = "bool" | "seconds" | "int" | "regexes" | "eos";
/** Flow settings: a top-level default, overridden by <src>-><dst>.<key>. */
const FLOW_KEYS: { [key: string]: { kind: Kind; default: string } } = {
  topics: { kind: "regexes", default: ".*" },
  "topics.exclude": { kind: "regexes", default: ".*[\\-\\.]internal, .*\\.replica, __.*" },
  groups: { kind: "regexes", default: ".*" },
  "groups.exclude": { kind: "regexes", default: "console-consumer-.*, connect-.*, __.*" },
  "sync.topic.configs.enabled": { kind: "bool", default: "true" },
  "sync.topic.configs.interval.seconds": { kind: "seconds", default: "600" },
  "config.properties.exclude": {
    kind: "regexes",
    default:
      "follower\\.replication\\.throttled\\.replicas, leader\\.replication\\.throttled\\.replicas, message\\.timestamp\\.difference\\.max\\.ms, message\\.timestamp\\.type, unclean\\.leader\\.election\\.enable, min\\.insync\\.replicas",
  },
  "refresh.topics.interval.seconds": { kind: "seconds", default: "600" },
  "refresh.groups.interval.seconds": { kind: "seconds", default: "600" },
  "emit.heartbeats.enabled": { kind: "bool", default: "true" },
  "emit.heartbeats.interval.seconds": { kind: "seconds", default: "1" },
  "emit.checkpoints.enabled": { kind: "bool", default: "true" },
  "emit.checkpoints.interval.seconds": { kind: "seconds", default: "60" },
  "sync.group.offsets.enabled": { kind: "bool", default: "false" },
  "sync.group.offsets.interval.seconds": { kind: "seconds", default: "60" },
  "offset.lag.max": { kind: "int", default: "100" },
  "replication.factor": { kind: "int", default: "-1" },
  "exactly.once.source.support": { kind: "eos", default: "disabled" },
  "progress.log.interval.seconds": { kind: "seconds", default: "10" },
};
const GLOBAL_KEYS = [
  "clusters",
  "replication.policy.class",
  "replication.policy.separator",
  "metrics.listener",
];
const ALIAS = /^[A-Za-z0-9_-]+$/;

/** key -> value and line of a properties file; a key twice or a line without = is an error. */
export function parseLines(text: string, where: string): Map<string, Entry> {
  const out = new Map<string, Entry>();
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith("!")) return;
    // The key ends at the first = or : (a flow's "->" holds neither).
    const eq = line.indexOf("=");
    const colon = line.indexOf(":");
    const at = eq < 0 ? colon : colon < 0 ? eq : Math.min(eq, colon);
    const key = at < 0 ? "" : line.slice(0, at).trim();
    if (key === "" || /\s/.test(key))
      throw new MirrorConfigError(`${where} line ${i + 1}: expected key=value, got "${line}"`);
    const value = line.slice(at + 1);
    if (out.has(key))
      throw new MirrorConfigError(
        `${where} line ${i + 1}: ${key} given twice (first on line ${out.get(key)!.line})`,
      );
    out.set(key, { value: value.trim(), line: i + 1 });
  });
  return out;
}

/** A comma-separated list of regular expressions, each anchored to match a whole name. */
export function parseRegexes(text: string): RegExp[] {
  return text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "")
    .map((s) => new RegExp(`^(?:${s})$`));
}

export function matchesAny(name: string, res: RegExp[]): boolean {
  return res.some((r) => r.test(name));
}

/** The configuration in a properties text (`where` names the file in errors). */
export function parseMirrorConfig(text: string, where: string): MirrorConfig {
  const lines = parseLines(text, where);
  const fail = (key: string, msg: string): never => {
    const e = lines.get(key);
    throw new MirrorConfigError(`${where}${e !== undefined ? ` line ${e.line}` : ""}: ${key}: ${msg}`);
  };
  const clustersEntry = lines.get("clusters");
  if (clustersEntry === undefined)
    throw new MirrorConfigError(`${where}: clusters: required (e.g. clusters = A, B)`);
  const aliases = clustersEntry.value
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  if (aliases.length === 0) fail("clusters", "names no cluster");
  for (const a of aliases)
    if (!ALIAS.test(a)) fail("clusters", `"${a}" is not an alias (letters, digits, _ and - only)`);
  if (new Set(aliases).size !== aliases.length) fail("clusters", "names a cluster twice");

  // Every key must be known: global, <alias>.<cluster key>, <src>-><dst>.<flow key>, or a flow default.
  const flowNames = new Set<string>();
  for (const key of lines.keys()) {
    if (GLOBAL_KEYS.includes(key) || key in FLOW_KEYS) continue;
    const flow = /^([^.]+)->([^.]+)\.(.+)$/.exec(key);
    if (flow !== null) {
      const [, s, t, rest] = flow;
      if (!aliases.includes(s)) fail(key, `"${s}" is not in clusters (${aliases.join(", ")})`);
      if (!aliases.includes(t)) fail(key, `"${t}" is not in clusters (${aliases.join(", ")})`);
      if (s === t) fail(key, "a flow from a cluster to itself");
      if (rest !== "enabled" && !(rest in FLOW_KEYS))
        fail(key, `unknown flow setting "${rest}" (known: enabled, ${Object.keys(FLOW_KEYS).join(", ")})`);
      flowNames.add(`${s}->${t}`);
      continue;
    }
    const dot = key.indexOf(".");
    const alias = dot > 0 ? key.slice(0, dot) : "";
    if (aliases.includes(alias)) {
      if (!CLUSTER_KEYS.includes(key.slice(dot + 1)))
        fail(key, `unknown cluster setting "${key.slice(dot + 1)}" (known: ${CLUSTER_KEYS.join(", ")})`);
      continue;
    }
    fail(key, "unknown key");
  }

  const boolOf = (key: string, v: string): boolean => {
    const l = v.toLowerCase();
    if (l !== "true" && l !== "false") fail(key, `"${v}" is not true or false`);
    return l === "true";
  };

  const policyText = lines.get("replication.policy.class")?.value ?? "DefaultReplicationPolicy";
  const policyName = policyText.replace(/^org\.apache\.kafka\.connect\.mirror\./, "");
  let policy: PolicyKind = "default";
  if (policyName === "DefaultReplicationPolicy") policy = "default";
  else if (policyName === "IdentityReplicationPolicy") policy = "identity";
  else
    fail(
      "replication.policy.class",
      `"${policyText}" is not DefaultReplicationPolicy or IdentityReplicationPolicy`,
    );
  const separator = lines.get("replication.policy.separator")?.value ?? ".";
  if (separator === "") fail("replication.policy.separator", "empty");

  const flows: FlowConfig[] = [];
  for (const name of [...flowNames].sort()) {
    const enabled = lines.get(`${name}.enabled`);
    if (enabled === undefined || !boolOf(`${name}.enabled`, enabled.value)) continue;
    const [source, target] = name.split("->");
    const get = (k: string): { key: string; value: string } => {
      const own = lines.get(`${name}.${k}`);
      if (own !== undefined) return { key: `${name}.${k}`, value: own.value };
      const top = lines.get(k);
      return { key: k, value: top?.value ?? FLOW_KEYS[k].default };
    };
    const val = (k: string, kind: Kind): unknown => {
      const { key, value } = get(k);
      switch (kind) {
        case "bool":
          return boolOf(key, value);
        case "seconds": {
          const n = Number(value);
          if (value === "" || !Number.isFinite(n) || n < 0)
            fail(key, `"${value}" is not a number of seconds`);
          return Math.round(n * 1000);
        }
        case "int": {
          const n = Number(value);
          if (!Number.isSafeInteger(n)) fail(key, `"${value}" is not an integer`);
          return n;
        }
        case "regexes":
          try {
            return parseRegexes(value);
          } catch (e) {
            return fail(key, `bad regular expression: ${(e as Error).message}`);
          }
        case "eos": {
          const l = value.toLowerCase();
          if (l !== "disabled" && l !== "enabled") fail(key, `"${value}" is not enabled or disabled`);
          return l === "enabled";
        }
      }
    };
    const f: FlowConfig = {
      source,
      target,
      topics: val("topics", "regexes") as RegExp[],
      topicsExclude: val("topics.exclude", "regexes") as RegExp[],
      groups: val("groups", "regexes") as RegExp[],
      groupsExclude: val("groups.exclude", "regexes") as RegExp[],
      syncTopicConfigs: val("sync.topic.configs.enabled", "bool") as boolean,
      syncTopicConfigsIntervalMs: val("sync.topic.configs.interval.seconds", "seconds") as number,
      configPropertiesExclude: val("config.properties.exclude", "regexes") as RegExp[],
      refreshTopicsIntervalMs: val("refresh.topics.interval.seconds", "seconds") as number,
      refreshGroupsIntervalMs: val("refresh.groups.interval.seconds", "seconds") as number,
      emitHeartbeats: val("emit.heartbeats.enabled", "bool") as boolean,
      emitHeartbeatsIntervalMs: val("emit.heartbeats.interval.seconds", "seconds") as number,
      emitCheckpoints: val("emit.checkpoints.enabled", "bool") as boolean,
      emitCheckpointsIntervalMs: val("emit.checkpoints.interval.seconds", "seconds") as number,
      syncGroupOffsets: val("sync.group.offsets.enabled", "bool") as boolean,
      syncGroupOffsetsIntervalMs: val("sync.group.offsets.interval.seconds", "seconds") as number,
      offsetLagMax: val("offset.lag.max", "int") as number,
      replicationFactor: val("replication.factor", "int") as number,
      progressLogIntervalMs: val("progress.log.interval.seconds", "seconds") as number,
      exactlyOnce: val("exactly.once.source.support", "eos") as boolean,
    };
    if (f.offsetLagMax < 1) fail(get("offset.lag.max").key, "must be at least 1");
    if (f.replicationFactor === 0 || f.replicationFactor < -1)
      fail(get("replication.factor").key, "must be -1 (the target's default) or at least 1");
    for (const k of [
      "refresh.topics.interval.seconds",
      "emit.heartbeats.interval.seconds",
      "emit.checkpoints.interval.seconds",
      "sync.group.offsets.interval.seconds",
      "sync.topic.configs.interval.seconds",
      "refresh.groups.interval.seconds",
    ])
      if ((val(k, "seconds") as number) < 100) fail(get(k).key, "must be at least 0.1 s");
    flows.push(f);
  }
  if (flows.length === 0)
    throw new MirrorConfigError(`${where}: no flow is enabled (e.g. A->B.enabled = true)`);

  // Identity names cannot tell a mirrored topic from a local one, so two flows that form a
  // cycle would copy each other's records forever.
  if (policy === "identity")
    for (const f of flows)
      if (flows.some((g) => g.source === f.target && g.target === f.source))
        fail(
          "replication.policy.class",
          `IdentityReplicationPolicy with both ${f.source}->${f.target} and ${f.target}->${f.source} enabled would loop (remote topics keep their names, so nothing tells them apart): use DefaultReplicationPolicy`,
        );

  const clusters = new Map<string, ClusterConfig>();
  for (const alias of new Set(flows.flatMap((f) => [f.source, f.target]))) {
    const bs = lines.get(`${alias}.bootstrap.servers`);
    if (bs === undefined || bs.value === "")
      throw new MirrorConfigError(
        `${where}: ${alias}.bootstrap.servers: required (cluster ${alias} is in a flow)`,
      );
    const bootstrap = bs.value
      .split(",")
      .map((s) => s.trim())
      .filter((s) => s !== "");
    for (const b of bootstrap)
      if (!/^(wss?:\/\/.+|[^\s:/]+:\d+)$/.test(b))
        fail(`${alias}.bootstrap.servers`, `"${b}" is not host:port or ws://host:port`);
    clusters.set(alias, { alias, bootstrap, security: securityFor(alias, lines, where) });
  }
  let metricsListener: { host: string; port: number } | null = null;
  const ml = lines.get("metrics.listener")?.value ?? "";
  if (ml !== "" && ml.toLowerCase() !== "off") {
    const m = /^(.+):(\d+)$/.exec(ml);
    if (m === null || Number(m[2]) > 65535) fail("metrics.listener", `"${ml}" is not host:port (or off)`);
    metricsListener = { host: m![1], port: Number(m![2]) };
  }
  return { metricsListener, policy, separator, clusters, flows };
}

/** A cluster's <alias>.security.* / sasl.* / ssl.* keys as the client's ssl / sasl options. */
function securityFor(alias: string, lines: Map<string, Entry>, where: string): CommandSecurity {
  const props = new Map<string, string>();
  const lineOf = new Map<string, number>();
  for (const k of SECURITY_KEYS) {
    const e = lines.get(`${alias}.${k}`);
    if (e === undefined) continue;
    lineOf.set(k, e.line);
    if (k === "sasl.jaas.config") {
      // Kafka's JAAS line: <LoginModule> required username="..." password="...";
      const user = /\busername\s*=\s*"([^"]*)"/.exec(e.value);
      const pass = /\bpassword\s*=\s*"([^"]*)"/.exec(e.value);
      if (user === null || pass === null)
        throw new MirrorConfigError(
          `${where} line ${e.line}: ${alias}.sasl.jaas.config: needs username="..." and password="..."`,
        );
      for (const [key, v] of [
        ["sasl.username", user[1]],
        ["sasl.password", pass[1]],
      ]) {
        if (props.has(key))
          throw new MirrorConfigError(
            `${where} line ${e.line}: ${alias}.sasl.jaas.config: gives ${key} beside ${alias}.${key}`,
          );
        props.set(key, v);
        lineOf.set(key, e.line);
      }
      continue;
    }
    if (props.has(k))
      throw new MirrorConfigError(
        `${where} line ${e.line}: ${alias}.${k}: also given by ${alias}.sasl.jaas.config`,
      );
    props.set(k, e.value);
  }
  try {
    return securityOf(props, where);
  } catch (e) {
    if (!(e instanceof CommandConfigError)) throw e;
    // securityOf says "<where>: <key>: <message>": name the line and the cluster's key instead.
    const m = /^.*?: ([a-z.]+): (.*)$/s.exec(e.message);
    if (m === null) throw new MirrorConfigError(e.message);
    const line = lineOf.get(m[1]);
    throw new MirrorConfigError(
      `${where}${line !== undefined ? ` line ${line}` : ""}: ${alias}.${m[1]}: ${m[2]}`,
    );
  }
}

/** Read and check a mirror configuration file. */
export function loadMirrorConfig(path: string): MirrorConfig {
  let text: string;
  try {
    text = fs.readFileSync(path, "utf8");
  } catch (e) {
    throw new MirrorConfigError(`${path}: cannot read it: ${(e as Error).message}`);
  }
  return parseMirrorConfig(text, path);
}
