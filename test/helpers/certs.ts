// Test certificates made with openssl (Debian's): a CA, a server certificate for 127.0.0.1 /
// localhost signed by it, client certificates signed by it, and a stranger's self-signed one.

import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface TestCerts {
  dir: string;
  ca: string;
  serverKey: string;
  serverCert: string;
  /** Client key and certificate signed by the CA, subject "CN=<name>,O=milena-test". */
  client(name: string): { key: string; cert: string };
  /** A self-signed client certificate the CA never saw. */
  stranger: { key: string; cert: string };
}

function openssl(args: string[], cwd: string): void {
  execFileSync("openssl", args, { cwd, stdio: ["ignore", "ignore", "pipe"] });
}

export function makeCerts(): TestCerts {
  const dir = fs.mkdtempSync(join(tmpdir(), "milena-certs-"));
  openssl(
    [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      "ca.key",
      "-out",
      "ca.pem",
      "-days",
      "2",
      "-subj",
      "/CN=milena-test-ca",
    ],
    dir,
  );
  const signed = (name: string, subject: string, ext: string | null) => {
    openssl(
      [
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        `${name}.key`,
        "-out",
        `${name}.csr`,
        "-subj",
        subject,
      ],
      dir,
    );
    const args = [
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-out",
      `${name}.pem`,
      "-days",
      "2",
    ];
    if (ext !== null) {
      fs.writeFileSync(join(dir, `${name}.ext`), ext);
      args.push("-extfile", `${name}.ext`);
    }
    openssl(args, dir);
    return { key: join(dir, `${name}.key`), cert: join(dir, `${name}.pem`) };
  };
  const server = signed("server", "/CN=localhost", "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
  openssl(
    [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      "stranger.key",
      "-out",
      "stranger.pem",
      "-days",
      "2",
      "-subj",
      "/CN=stranger",
    ],
    dir,
  );
  return {
    dir,
    ca: join(dir, "ca.pem"),
    serverKey: server.key,
    serverCert: server.cert,
    client: (name) => signed(`client-${name}`, `/O=milena-test/CN=${name}`, null),
    stranger: { key: join(dir, "stranger.key"), cert: join(dir, "stranger.pem") },
  };
}
