// A request of any API and version built from Kafka's spec alone (src/protocol/generated): the
// spec's defaults, each topic list naming one topic and each partition list partition 0, and the
// few fields that would otherwise make the broker send no answer (acks 0) or wait set. The spec
// conformance test sends one per advertised version; the fuzzer's corpus starts from them too.

import type { FieldSpec, MessageSpec } from "../../src/protocol/schema.ts";
import { defaultValue, type Struct } from "../../src/protocol/schema_codec.ts";

/**
 * A struct of defaults, where each topic list holds `topic` and each partition list partition 0:
 * the answers then carry their per-topic and per-partition fields too.
 */
function structOf(fields: readonly FieldSpec[], version: number, topic: string): Struct {
  const value: Struct = {};
  for (const f of fields) {
    value[f.name] = defaultValue(f, version);
    const sub = f.fields;
    if (!f.type.startsWith("[]") || sub === undefined) continue;
    const named = sub.find((x) => x.type === "string" && (x.name === "name" || x.name === "topic"));
    const indexed = sub.find(
      (x) =>
        x.type === "int32" && (x.name === "partition" || x.name === "partitionIndex" || x.name === "index"),
    );
    if (named === undefined && indexed === undefined) continue;
    const one = structOf(sub, version, topic);
    if (named) one[named.name] = topic;
    if (indexed) one[indexed.name] = 0;
    value[f.name] = [one];
  }
  return value;
}

/** What the spec gives when nothing is said, with the fields that would make no answer set. */
export function specRequest(spec: MessageSpec, version: number, topic: string, group: string): Struct {
  const value = structOf(spec.fields, version, topic);
  const set = (name: string, v: unknown) => {
    if (name in value) value[name] = v;
  };
  set("acks", 1); // Produce: acks=0 gets no response
  set("timeoutMs", 5000);
  set("replicaId", -1); // Fetch, ListOffsets: a consumer, not a follower
  set("maxWaitMs", 0);
  set("maxBytes", 1024 * 1024);
  set("sessionEpoch", -1);
  set("clientSoftwareName", "milena-spec-test");
  set("clientSoftwareVersion", "1");
  set("groupId", group);
  set("key", group); // FindCoordinator
  set("sessionTimeoutMs", 10_000);
  set("rebalanceTimeoutMs", 1000);
  set("protocolType", "consumer");
  return value;
}
