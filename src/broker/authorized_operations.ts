// The authorized_operations fields of Metadata (v8+), DescribeGroups (v3+) and DescribeCluster,
// answered as Kafka answers them without an authorizer: when the client asks, every operation the
// resource type supports (AclEntry.supportedOperations) as a bit field of AclOperation codes;
// when it does not ask, INT32_MIN ("not requested"). Security (issue 12) narrows this to what an
// authenticated principal may do.

/** AclOperation codes (org.apache.kafka.common.acl.AclOperation). */
const READ = 3;
const WRITE = 4;
const CREATE = 5;
const DELETE = 6;
const ALTER = 7;
const DESCRIBE = 8;
const CLUSTER_ACTION = 9;
const DESCRIBE_CONFIGS = 10;
const ALTER_CONFIGS = 11;
const IDEMPOTENT_WRITE = 12;

const SUPPORTED = {
  topic: [READ, WRITE, CREATE, DESCRIBE, DELETE, ALTER, DESCRIBE_CONFIGS, ALTER_CONFIGS],
  group: [READ, DESCRIBE, DELETE, DESCRIBE_CONFIGS, ALTER_CONFIGS],
  cluster: [CREATE, CLUSTER_ACTION, DESCRIBE_CONFIGS, ALTER_CONFIGS, IDEMPOTENT_WRITE, ALTER, DESCRIBE],
} as const;

/** Kafka's "authorized operations were not requested". */
export const NOT_REQUESTED = -2147483648;

export function authorizedOperations(resource: keyof typeof SUPPORTED, requested: boolean): number {
  if (!requested) return NOT_REQUESTED;
  let bits = 0;
  for (const op of SUPPORTED[resource]) bits |= 1 << op;
  return bits;
}
