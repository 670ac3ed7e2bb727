// Log cleaner pool entry (piscina's `filename`): a plain-JS module that registers tsx's loader in
// this worker thread, then exposes the TypeScript task (log_cleaner.ts). Node 20 does not carry
// the parent's loader hooks into worker threads (see ts_entry.mjs).
import { register } from "tsx/esm/api";

register();
const task = await import("./log_cleaner.ts");
export default task.default;
