#!/usr/bin/env node
// Entry point of the `milena` command: registers tsx's loader in this process (TypeScript, no
// build step) and runs src/cli/main.ts. Worker threads register the loader themselves
// (workers/ts_entry.mjs, workers/log_recovery_entry.mjs).
import { register } from "tsx/esm/api";

register();
await import("./main.ts");
