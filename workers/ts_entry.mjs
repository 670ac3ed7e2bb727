// Worker bootstrap: a plain-JS entry that registers tsx's loader in this thread, then imports
// the TypeScript worker named in workerData. In Node 20 neither the parent's loader hooks nor
// `--import tsx` in execArgv reach a worker's module loader, so each worker registers its own.
import { workerData } from "node:worker_threads";
import { register } from "tsx/esm/api";

register();
await import(workerData.entry);
