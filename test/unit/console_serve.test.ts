// The web console's HTTP handler (src/console/serve.ts) behind a node:http server, with a bundle
// directory of known files: content types, cache headers and ETags (304), HEAD without a body,
// only GET/HEAD (405), config.json from the options, 404 for unknown console paths and for every
// traversal attempt, paths outside the console left to the listener, 503 when the bundle is missing.

import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { consoleHandler, type HttpHandler } from "../../src/console/serve.ts";

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function serve(handler: HttpHandler): Promise<http.Server> {
  const server = http.createServer(async (req, res) => {
    const handled = await handler(req, res, new URL(req.url ?? "/", "http://127.0.0.1"));
    if (!handled) res.writeHead(404, { "x-outside": "1" }).end("not the console's");
  });
  return new Promise((r) => server.listen(0, "127.0.0.1", () => r(server)));
}

function request(
  server: http.Server,
  path: string,
  method = "GET",
  headers: Record<string, string> = {},
): Promise<Reply> {
  const { port } = server.address() as AddressInfo;
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, path, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString(),
        }),
      );
    });
    req.on("error", reject);
    req.end();
  });
}

describe("consoleHandler", () => {
  let dir: string;
  let server: http.Server;
  let bare: http.Server;
  const js = "console.log('the console');\n";
  const css = "body { color: red }\n";

  before(async () => {
    dir = fs.mkdtempSync(join(tmpdir(), "milena-console-"));
    fs.writeFileSync(join(dir, "app.js"), js);
    fs.writeFileSync(join(dir, "app.js.map"), "{}");
    fs.writeFileSync(join(dir, "console.css"), css);
    fs.writeFileSync(join(dir, "secret.txt"), "not to be served");
    server = await serve(
      consoleHandler({
        webSocketUrl: "ws://broker.example:9094",
        sasl: { mechanisms: ["scram-sha-512"] },
        bundleDir: dir,
      }),
    );
    bare = await serve(consoleHandler({ bundleDir: join(dir, "missing") }));
  });
  after(() => {
    server?.close();
    bare?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("serves the page at / and /console/ as HTML, not cached without revalidation, with a CSP", async () => {
    for (const path of ["/", "/console", "/console/", "/console/index.html"]) {
      const r = await request(server, path);
      assert.equal(r.status, 200, path);
      assert.equal(r.headers["content-type"], "text/html; charset=utf-8");
      assert.equal(r.headers["cache-control"], "no-cache");
      assert.match(String(r.headers["content-security-policy"]), /script-src 'self'/);
      assert.equal(r.headers["x-content-type-options"], "nosniff");
      assert.match(r.body, /<script type="module" src="\/console\/app\.js\?v=[\w-]+"><\/script>/);
      assert.match(r.body, /<link rel="stylesheet" href="\/console\/console\.css\?v=[\w-]+">/);
    }
  });

  it("serves the bundle with its content types; the page's versioned URLs are immutable; ETags give 304", async () => {
    const page = await request(server, "/");
    const jsUrl = /src="([^"]+)"/.exec(page.body)![1];
    const cssUrl = /href="(\/console\/console\.css[^"]+)"/.exec(page.body)![1];
    const a = await request(server, jsUrl);
    assert.equal(a.status, 200);
    assert.equal(a.headers["content-type"], "text/javascript; charset=utf-8");
    assert.equal(a.body, js);
    assert.equal(a.headers["cache-control"], "public, max-age=31536000, immutable");
    const unversioned = await request(server, "/console/app.js");
    assert.equal(unversioned.headers["cache-control"], "no-cache");
    const again = await request(server, "/console/app.js", "GET", {
      "if-none-match": String(a.headers.etag),
    });
    assert.equal(again.status, 304);
    assert.equal(again.body, "");
    const c = await request(server, cssUrl);
    assert.equal(c.headers["content-type"], "text/css; charset=utf-8");
    assert.equal(c.body, css);
    const map = await request(server, "/console/app.js.map");
    assert.equal(map.headers["content-type"], "application/json; charset=utf-8");
  });

  it("a rebuilt bundle is served with a new version", async () => {
    const before = /src="([^"]+)"/.exec((await request(server, "/")).body)![1];
    fs.writeFileSync(join(dir, "app.js"), `${js}// rebuilt\n`);
    const after = /src="([^"]+)"/.exec((await request(server, "/")).body)![1];
    assert.notEqual(after, before);
    assert.equal((await request(server, "/console/app.js")).body, `${js}// rebuilt\n`);
    fs.writeFileSync(join(dir, "app.js"), js);
  });

  it("config.json carries the WebSocket URL and the SASL mechanisms", async () => {
    const r = await request(server, "/console/config.json");
    assert.equal(r.status, 200);
    assert.equal(r.headers["content-type"], "application/json; charset=utf-8");
    assert.equal(r.headers["cache-control"], "no-cache");
    assert.deepEqual(JSON.parse(r.body), {
      webSocketUrl: "ws://broker.example:9094",
      sasl: { mechanisms: ["SCRAM-SHA-512"] },
    });
    assert.deepEqual(JSON.parse((await request(bare, "/console/config.json")).body), {
      webSocketUrl: "",
      sasl: null,
    });
  });

  it("HEAD has the headers and no body", async () => {
    const get = await request(server, "/console/app.js");
    const head = await request(server, "/console/app.js", "HEAD");
    assert.equal(head.status, 200);
    assert.equal(head.body, "");
    assert.equal(head.headers["content-length"], String(Buffer.byteLength(get.body)));
    assert.equal(head.headers["content-type"], "text/javascript; charset=utf-8");
  });

  it("only GET and HEAD", async () => {
    for (const method of ["POST", "PUT", "DELETE", "OPTIONS"]) {
      const r = await request(server, "/console/app.js", method);
      assert.equal(r.status, 405, method);
      assert.equal(r.headers.allow, "GET, HEAD");
    }
  });

  it("unknown console paths are 404; traversal never reaches a file", async () => {
    for (const path of [
      "/console/secret.txt",
      "/console/nope.js",
      "/console/../package.json",
      "/console/..%2f..%2fpackage.json",
      "/console/%2e%2e/%2e%2e/package.json",
      "/console/..\\..\\package.json",
      "/console//etc/passwd",
      "/console/app.js%00.css",
      `/console/${"a".repeat(5000)}`,
    ]) {
      const r = await request(server, path);
      assert.equal(r.status, 404, path);
      assert.doesNotMatch(r.body, /not to be served|"name": "milena"|root:/, path);
    }
  });

  it("paths outside the console are left to the listener", async () => {
    for (const path of ["/metrics", "/healthz", "/favicon.ico", "/consoleX"]) {
      const r = await request(server, path);
      assert.equal(r.headers["x-outside"], "1", path);
    }
  });

  it("without a built bundle the page says how to build it (503)", async () => {
    const r = await request(bare, "/");
    assert.equal(r.status, 503);
    assert.match(r.body, /make console/);
    assert.equal((await request(bare, "/console/app.js")).status, 404);
  });
});
