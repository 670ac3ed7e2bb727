// The web console's HTTP handler, for the broker's HTTP listener (mounted at "/"): the page at
// / and /console/, the bundle (/console/app.js, its source map, /console/console.css with uPlot's
// CSS, all built by build.ts into dist/console/) and /console/config.json (the WebSocket URL and
// SASL need, from the broker's config). Only GET and HEAD; only these fixed paths (nothing is
// looked up on disk by a request's path, so no traversal); other /console/ paths are 404, paths
// outside the console are left to the listener (false).

import { createHash } from "node:crypto";
import * as fs from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { HttpHandler } from "../broker/http/handler.ts";
import type { ConsoleConfig } from "./config.ts";
import { consolePage } from "./page.ts";

export type { HttpHandler };

export interface ConsoleHandlerOptions {
  /**
   * The broker's WebSocket listener as browsers reach it ("ws://broker.example:9094"). Default ""
   * (the page's own host, port 9094); a wildcard host (0.0.0.0) is replaced by the page's host. A
   * function is asked at each request for /console/config.json (the broker binds its listeners
   * after the HTTP one, so their ports are known only later).
   */
  webSocketUrl?: string | (() => string);
  /** SASL mechanisms that listener requires (Kafka's names, e.g. ["SCRAM-SHA-512"]); none: no SASL. */
  sasl?: { mechanisms: string[] } | null;
  /** Where the bundle is (default dist/console/ of this package). */
  bundleDir?: string;
}

/** Files of the bundle by URL path, with their content types. */
const ASSETS: Record<string, { file: string; type: string }> = {
  "/console/app.js": { file: "app.js", type: "text/javascript; charset=utf-8" },
  "/console/app.js.map": { file: "app.js.map", type: "application/json; charset=utf-8" },
  "/console/console.css": { file: "console.css", type: "text/css; charset=utf-8" },
  "/console/console.css.map": { file: "console.css.map", type: "application/json; charset=utf-8" },
};

const PAGE_PATHS = new Set(["/", "/console", "/console/", "/console/index.html"]);

const SECURITY_HEADERS = {
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
};

/** The page may run only its own script and reach only its own origin and WebSocket brokers. */
const PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self' ws: wss:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

interface Loaded {
  body: Buffer;
  etag: string;
  version: string;
  mtimeMs: number;
  size: number;
}

/** Where build.ts writes the bundle and the handler reads it by default. */
export const CONSOLE_BUNDLE_DIR = fileURLToPath(new URL("../../dist/console/", import.meta.url));

function digest(body: Buffer | string): string {
  return createHash("sha256").update(body).digest("base64url").slice(0, 16);
}

export function consoleHandler(opts: ConsoleHandlerOptions = {}): HttpHandler {
  const dir = opts.bundleDir ?? CONSOLE_BUNDLE_DIR;
  const sasl =
    opts.sasl && opts.sasl.mechanisms.length > 0
      ? { mechanisms: opts.sasl.mechanisms.map((m) => m.toUpperCase()) }
      : null;
  const wsUrl = opts.webSocketUrl ?? "";
  let configCache: { url: string; body: Buffer; etag: string } | null = null;
  /** /console/config.json's body and ETag, rebuilt only when the WebSocket URL changes. */
  function configFile(): { body: Buffer; etag: string } {
    const url = typeof wsUrl === "string" ? wsUrl : wsUrl();
    if (configCache === null || configCache.url !== url) {
      const config: ConsoleConfig = { webSocketUrl: url, sasl };
      const body = Buffer.from(`${JSON.stringify(config)}\n`);
      configCache = { url, body, etag: `"${digest(body)}"` };
    }
    return configCache;
  }
  const cache = new Map<string, Loaded>();

  /** A bundle file, re-read when it changes on disk (a rebuild); null when it is not there. */
  function load(file: string): Loaded | null {
    const path = join(dir, file);
    let st: fs.Stats;
    try {
      st = fs.statSync(path);
    } catch {
      return null;
    }
    const hit = cache.get(file);
    if (hit !== undefined && hit.mtimeMs === st.mtimeMs && hit.size === st.size) return hit;
    const body = fs.readFileSync(path);
    const version = digest(body);
    const loaded = { body, etag: `"${version}"`, version, mtimeMs: st.mtimeMs, size: st.size };
    cache.set(file, loaded);
    return loaded;
  }

  function send(
    req: IncomingMessage,
    res: ServerResponse,
    status: number,
    headers: Record<string, string>,
    body: Buffer | string,
  ): true {
    const bytes = typeof body === "string" ? Buffer.from(body) : body;
    const etag = headers.etag;
    if (status === 200 && etag !== undefined && req.headers["if-none-match"] === etag) {
      res.writeHead(304, {
        ...SECURITY_HEADERS,
        etag,
        "cache-control": headers["cache-control"] ?? "no-cache",
      });
      res.end();
      return true;
    }
    res.writeHead(status, { ...SECURITY_HEADERS, ...headers, "content-length": String(bytes.length) });
    res.end(req.method === "HEAD" ? undefined : bytes);
    return true;
  }

  const text = (req: IncomingMessage, res: ServerResponse, status: number, msg: string, extra = {}) =>
    send(
      req,
      res,
      status,
      { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store", ...extra },
      msg,
    );

  return (req, res, url) => {
    const path = url.pathname;
    if (!PAGE_PATHS.has(path) && !path.startsWith("/console/")) return false;
    if (req.method !== "GET" && req.method !== "HEAD")
      return text(req, res, 405, "method not allowed\n", { allow: "GET, HEAD" });
    if (path.length > 256) return text(req, res, 404, "not found\n");
    if (PAGE_PATHS.has(path)) {
      const js = load("app.js");
      const css = load("console.css");
      if (js === null || css === null)
        return text(req, res, 503, `the console is not built: run \`make console\` (looked in ${dir})\n`);
      const html = consolePage(js.version, css.version);
      return send(
        req,
        res,
        200,
        {
          "content-type": "text/html; charset=utf-8",
          "cache-control": "no-cache",
          etag: `"${digest(html)}"`,
          "content-security-policy": PAGE_CSP,
        },
        html,
      );
    }
    if (path === "/console/config.json") {
      const config = configFile();
      return send(
        req,
        res,
        200,
        { "content-type": "application/json; charset=utf-8", "cache-control": "no-cache", etag: config.etag },
        config.body,
      );
    }
    const asset = Object.hasOwn(ASSETS, path) ? ASSETS[path] : undefined;
    if (asset === undefined) return text(req, res, 404, "not found\n");
    const f = load(asset.file);
    if (f === null) return text(req, res, 404, "not found (the console is not built: run `make console`)\n");
    // A URL naming this very build (?v=<hash>, as the page writes them) may be kept for good.
    const pinned = url.searchParams.get("v") === f.version;
    return send(
      req,
      res,
      200,
      {
        "content-type": asset.type,
        "cache-control": pinned ? "public, max-age=31536000, immutable" : "no-cache",
        etag: f.etag,
      },
      f.body,
    );
  };
}
