// /healthz and /readyz on the HTTP listener. /healthz: 200 "ok" while the process runs (it
// answers at all). /readyz: 200 "ready" once the broker serves (listeners open, startup recovery
// done, in a cluster registered in ZooKeeper), else 503 with the reason (Broker.notReady()).

import { type HttpHandler, sendText } from "./handler.ts";

export function healthHandler(notReady: () => string | null): HttpHandler {
  return (_req, res, url) => {
    if (url.pathname === "/healthz") {
      sendText(res, 200, "ok\n");
      return true;
    }
    if (url.pathname === "/readyz") {
      const reason = notReady();
      sendText(res, reason === null ? 200 : 503, reason === null ? "ready\n" : `not ready: ${reason}\n`);
      return true;
    }
    return false;
  };
}
