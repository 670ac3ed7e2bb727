// The config APIs: DescribeConfigs (broker and topic resources, with Kafka's config sources and
// synonyms), AlterConfigs (replace a topic's overrides) and IncrementalAlterConfigs (set or
// delete single overrides). Broker configs are static (server.properties): altering them is
// refused with a message.

import type {
  AlterConfigsRequest,
  AlterConfigsResourceResponse,
  AlterConfigsResponse,
} from "../../protocol/alter_configs.ts";
import type {
  DescribeConfigsRequest,
  DescribeConfigsResourceResult,
  DescribeConfigsResponse,
  DescribeConfigsResult,
} from "../../protocol/describe_configs.ts";
import { clipMessage, ErrorCode } from "../../protocol/error_codes.ts";
import {
  ConfigOperation,
  type IncrementalAlterConfigsRequest,
  type IncrementalAlterConfigsResponse,
} from "../../protocol/incremental_alter_configs.ts";
import { type BrokerConfig, KEYS } from "../config.ts";
import type { BrokerContext } from "../context.ts";
import { checkOverrides, TOPIC_CONFIGS, TopicConfigError } from "../topic_configs.ts";

// Kafka's ConfigResource.Type and DescribeConfigsResponse ConfigSource values.
const RESOURCE_TOPIC = 2;
const RESOURCE_BROKER = 4;
const SOURCE_DYNAMIC_TOPIC = 1;
const SOURCE_STATIC_BROKER = 4;
const SOURCE_DEFAULT = 5;

/** Kafka's DescribeConfigsResponse ConfigType of a broker key's kind (v3+ config_type). */
function configType(kind: string | undefined): number {
  switch (kind) {
    case "bool":
      return 1;
    case "int":
      return 3;
    case "long":
      return 5;
    case "double":
      return 6;
    case "list":
      return 7;
    case undefined:
      return 0;
    default:
      return 2;
  }
}

/**
 * A topic's configs as DescribeConfigs (and CreateTopics v5+) give them: each topic config, its
 * value in force and where it comes from; synonyms, most specific first (Kafka's order): the
 * topic override, the broker's static setting, the default.
 */
export function topicConfigEntries(
  c: BrokerConfig,
  overrides: ReadonlyMap<string, string>,
  wanted: readonly string[] | null,
  withSynonyms: boolean,
  withDocumentation = false,
): DescribeConfigsResourceResult[] {
  const out: DescribeConfigsResourceResult[] = [];
  for (const d of TOPIC_CONFIGS) {
    if (wanted !== null && !wanted.includes(d.name)) continue;
    const synonyms: DescribeConfigsResourceResult["synonyms"] = [];
    const override = overrides.get(d.name);
    if (override !== undefined)
      synonyms.push({ name: d.name, value: override, source: SOURCE_DYNAMIC_TOPIC });
    if (d.brokerKey !== null) {
      const e = c.effective.get(d.brokerKey);
      if (e?.source === "static")
        synonyms.push({ name: d.brokerKey, value: d.value(c), source: SOURCE_STATIC_BROKER });
      else synonyms.push({ name: d.brokerKey, value: d.value(c), source: SOURCE_DEFAULT });
    }
    const top = synonyms[0] ?? { name: d.name, value: d.value(c), source: SOURCE_DEFAULT };
    const key = d.brokerKey !== null ? KEYS[d.brokerKey as keyof typeof KEYS] : undefined;
    out.push({
      name: d.name,
      value: top.value,
      readOnly: false,
      isDefault: top.source === SOURCE_DEFAULT,
      configSource: top.source,
      isSensitive: false,
      synonyms: withSynonyms ? synonyms : [],
      configType: configType(key?.kind),
      documentation: withDocumentation ? (key?.doc ?? null) : null,
    });
  }
  return out;
}

export async function handleDescribeConfigs(
  ctx: BrokerContext,
  req: DescribeConfigsRequest,
  version: number,
): Promise<DescribeConfigsResponse> {
  const c = ctx.config;
  const results: DescribeConfigsResult[] = [];
  const withSynonyms = req.includeSynonyms && version >= 1;
  const withDocumentation = req.includeDocumentation && version >= 3;
  for (const r of req.resources) {
    const result: DescribeConfigsResult = {
      errorCode: 0,
      errorMessage: null,
      resourceType: r.resourceType,
      resourceName: r.resourceName,
      configs: [],
    };
    results.push(result);
    const wanted = (name: string) => r.configurationKeys === null || r.configurationKeys.includes(name);
    if (r.resourceType === RESOURCE_BROKER) {
      if (r.resourceName !== "" && r.resourceName !== String(c.brokerId)) {
        result.errorCode = ErrorCode.INVALID_REQUEST;
        result.errorMessage = clipMessage(`broker ${r.resourceName} is not this broker (${c.brokerId})`);
        continue;
      }
      for (const name of Object.keys(KEYS)) {
        if (!wanted(name)) continue;
        const e = c.effective.get(name)!;
        const source = e.source === "static" ? SOURCE_STATIC_BROKER : SOURCE_DEFAULT;
        const key = KEYS[name as keyof typeof KEYS];
        // A secret (ssl.key.password, sasl.jaas.config) is never sent: null, is_sensitive (Kafka).
        const value = key.sensitive === true ? null : e.value;
        const entry: DescribeConfigsResourceResult = {
          name,
          value,
          readOnly: true,
          isDefault: e.source === "default",
          configSource: source,
          isSensitive: key.sensitive === true,
          synonyms: withSynonyms ? [{ name, value, source }] : [],
          configType: configType(key.kind),
          documentation: withDocumentation ? key.doc : null,
        };
        result.configs.push(entry);
      }
    } else if (r.resourceType === RESOURCE_TOPIC) {
      // In a cluster a topic's overrides live in ZooKeeper (this broker may hold none of it).
      const t =
        ctx.cluster === null
          ? ctx.logs.topics.get(r.resourceName)
          : await ctx.cluster
              .topicConfig(r.resourceName)
              .then((o) => (o === null ? undefined : { overrides: o }));
      if (t === undefined) {
        result.errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
        result.errorMessage = clipMessage(`Topic ${r.resourceName} does not exist`);
        continue;
      }
      result.configs.push(
        ...topicConfigEntries(c, t.overrides, r.configurationKeys, withSynonyms, withDocumentation),
      );
    } else {
      result.errorCode = ErrorCode.INVALID_REQUEST;
      result.errorMessage = `resource type ${r.resourceType} is not supported (2 topic, 4 broker)`;
    }
  }
  return { throttleTimeMs: 0, results };
}

type Change = (current: Map<string, string>) => Map<string, string>;

/** Check and apply one resource's change; the answer for that resource. */
async function alterResource(
  ctx: BrokerContext,
  resourceType: number,
  resourceName: string,
  validateOnly: boolean,
  change: Change,
): Promise<AlterConfigsResourceResponse> {
  const answer = (errorCode: number, errorMessage: string | null): AlterConfigsResourceResponse => ({
    errorCode,
    errorMessage: errorMessage === null ? null : clipMessage(errorMessage),
    resourceType,
    resourceName,
  });
  if (resourceType === RESOURCE_BROKER) {
    return answer(
      ErrorCode.INVALID_REQUEST,
      "broker configs are static in Milena: edit server.properties (or --override) and restart",
    );
  }
  if (resourceType !== RESOURCE_TOPIC)
    return answer(ErrorCode.INVALID_REQUEST, `resource type ${resourceType} is not supported`);
  const cluster = ctx.cluster;
  const t =
    cluster === null
      ? ctx.logs.topics.get(resourceName)
      : await cluster.topicConfig(resourceName).then((o) => (o === null ? undefined : { overrides: o }));
  if (t === undefined)
    return answer(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic ${resourceName} does not exist`);
  let next: Map<string, string>;
  try {
    next = checkOverrides(change(new Map(t.overrides)));
  } catch (e) {
    if (!(e instanceof TopicConfigError)) throw e;
    return answer(ErrorCode.INVALID_CONFIG, e.message);
  }
  if (!validateOnly) {
    // A cluster's brokers each apply it on the change notification (this one too).
    if (cluster !== null) await cluster.setTopicConfig(resourceName, next);
    else await ctx.logs.setTopicConfig(resourceName, next);
    ctx.logger.limited(
      "topic config",
      `topic ${resourceName} config overrides now: ${[...next].map(([k, v]) => `${k}=${v}`).join(", ") || "(none)"}`,
    );
  }
  return answer(0, null);
}

/** AlterConfigs: the given set replaces the topic's overrides (Kafka's semantics). */
export async function handleAlterConfigs(
  ctx: BrokerContext,
  req: AlterConfigsRequest,
): Promise<AlterConfigsResponse> {
  const responses: AlterConfigsResourceResponse[] = [];
  for (const r of req.resources) {
    const change: Change = () => {
      const m = new Map<string, string>();
      for (const c of r.configs) {
        if (c.value === null) throw new TopicConfigError(`${c.name}: a value is required`);
        m.set(c.name, c.value);
      }
      return m;
    };
    responses.push(await alterResource(ctx, r.resourceType, r.resourceName, req.validateOnly, change));
  }
  return { throttleTimeMs: 0, responses };
}

/** IncrementalAlterConfigs: SET or DELETE single overrides (APPEND/SUBTRACT are for list configs; none here). */
export async function handleIncrementalAlterConfigs(
  ctx: BrokerContext,
  req: IncrementalAlterConfigsRequest,
): Promise<IncrementalAlterConfigsResponse> {
  const responses: AlterConfigsResourceResponse[] = [];
  for (const r of req.resources) {
    const change: Change = (current) => {
      for (const c of r.configs) {
        if (c.configOperation === ConfigOperation.Set) {
          if (c.value === null) throw new TopicConfigError(`${c.name}: SET needs a value`);
          current.set(c.name, c.value);
        } else if (c.configOperation === ConfigOperation.Delete) current.delete(c.name);
        else
          throw new TopicConfigError(
            `${c.name}: operation ${c.configOperation} applies to list configs only`,
          );
      }
      return current;
    };
    responses.push(await alterResource(ctx, r.resourceType, r.resourceName, req.validateOnly, change));
  }
  return { throttleTimeMs: 0, responses };
}
