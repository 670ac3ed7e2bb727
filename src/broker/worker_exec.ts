// Worker threads run TypeScript through tsx: make sure each worker gets the loader even when
// the parent was started some other way.

import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

export function workerExecArgv(): string[] {
  const argv = [...process.execArgv];
  const hasTsx = argv.some(
    (a, i) => a.includes("tsx") && (argv[i - 1] === "--import" || a.startsWith("--import")),
  );
  if (!hasTsx) argv.push("--import", require.resolve("tsx/esm"));
  return argv;
}
