#!/usr/bin/env node
// Entry point of the `milena` command: runs src/cli/main.ts under tsx (TypeScript, no build
// step), with tsx's loader in execArgv so worker threads load TypeScript too.
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);
const main = fileURLToPath(new URL("../src/cli/main.ts", import.meta.url));
const r = spawnSync(
  process.execPath,
  ["--import", require.resolve("tsx/esm"), main, ...process.argv.slice(2)],
  { stdio: "inherit" },
);
process.exit(r.status ?? 1);
