// DescribeLogDirs (key 35), v0-4, from Kafka's spec (spec_codec.ts): each log dir of the broker,
// its partitions and their sizes (kafka-log-dirs.sh, admin clients' describeLogDirs). v1 only
// changes throttling, v2 is flexible, v3 adds a top-level error_code, v4 the dir's total and
// usable bytes. topics null asks for every partition.

import { ApiKey } from "./api_keys.ts";
import type { DescribeLogDirsRequest, DescribeLogDirsResponse } from "./generated/types.ts";
import { specCodec } from "./spec_codec.ts";

export type { DescribeLogDirsRequest, DescribeLogDirsResponse };

export const describeLogDirsCodec = specCodec<DescribeLogDirsRequest, DescribeLogDirsResponse>(
  ApiKey.DescribeLogDirs,
  "DescribeLogDirs",
  0,
  4,
);
