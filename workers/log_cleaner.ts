// Log cleaner pool task (piscina, log.cleaner.threads threads beside the recovery pool): clean
// one partition's cleanable segments into .cleaned files (src/log/cleaner.ts). Only reads the
// segments and writes new files: the partition's writer swaps them in afterwards, so appends and
// fetches never wait for a clean.

import { type CleanRequest, type CleanResult, cleanLog } from "../src/log/cleaner.ts";

export default function run(req: CleanRequest): CleanResult {
  return cleanLog(req);
}
