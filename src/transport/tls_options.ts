// TLS for the SSL and SASL_SSL listeners (node:tls): the PEM files named by ssl.key.location,
// ssl.certificate.location and ssl.ca.location (librdkafka's names; Kafka's JKS keystores map to
// them: the keystore's key and certificate chain, the truststore's CA certificates), the client
// certificate policy of ssl.client.auth, and the principal a client certificate gives: Kafka's
// default principal builder, "User:" + the subject's distinguished name in RFC 2253 order
// (CN=alice,OU=eng,O=example). The files are watched: a renewed certificate is used for new
// connections without a restart.

import { X509Certificate } from "node:crypto";
import * as fs from "node:fs";
import type * as tls from "node:tls";
import type { SslConfig } from "../broker/config.ts";

export const ANONYMOUS = "User:ANONYMOUS";

/** The secure context options of the PEM files (read now). Throws with the file's name. */
export function secureContextOptions(ssl: SslConfig): tls.SecureContextOptions {
  const read = (key: string, path: string | null): Buffer | undefined => {
    if (path === null) return undefined;
    try {
      return fs.readFileSync(path);
    } catch (e) {
      throw new Error(`${key}: cannot read ${path}: ${(e as Error).message}`);
    }
  };
  const opts: tls.SecureContextOptions = {
    key: read("ssl.key.location", ssl.keyLocation),
    cert: read("ssl.certificate.location", ssl.certificateLocation),
    ca: read("ssl.ca.location", ssl.caLocation),
    passphrase: ssl.keyPassword ?? undefined,
    minVersion: ssl.enabledProtocols.includes("TLSv1.2") ? "TLSv1.2" : "TLSv1.3",
    maxVersion: ssl.enabledProtocols.includes("TLSv1.3") ? "TLSv1.3" : "TLSv1.2",
  };
  if (ssl.cipherSuites.length > 0) opts.ciphers = ssl.cipherSuites.join(":");
  return opts;
}

/** Server options for node:tls.createServer: the context plus ssl.client.auth. */
export function tlsServerOptions(ssl: SslConfig): tls.TlsOptions {
  return {
    ...secureContextOptions(ssl),
    requestCert: ssl.clientAuth !== "none",
    // "requested": a certificate given must be valid (checked in principalOf); none is fine.
    rejectUnauthorized: ssl.clientAuth === "required",
  };
}

/**
 * Watch the PEM files; `reload` gets fresh options after a change (a half-written file that
 * does not parse is reported and the old context kept). Returns a stop function.
 */
export function watchTlsFiles(
  ssl: SslConfig,
  reload: (opts: tls.SecureContextOptions) => void,
  log: (line: string) => void,
): () => void {
  const files = [ssl.keyLocation, ssl.certificateLocation, ssl.caLocation].filter(
    (f): f is string => f !== null,
  );
  let timer: NodeJS.Timeout | null = null;
  const changed = () => {
    // Renewals write two files: wait for both.
    if (timer !== null) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      try {
        reload(secureContextOptions(ssl));
        log(`TLS: certificates reloaded from ${files.join(", ")}`);
      } catch (e) {
        log(`TLS: keeping the current certificates: ${(e as Error).message}`);
      }
    }, 500);
    timer.unref();
  };
  for (const f of files) fs.watchFile(f, { interval: 2000, persistent: false }, changed);
  return () => {
    for (const f of files) fs.unwatchFile(f, changed);
    if (timer !== null) clearTimeout(timer);
  };
}

/** The subject of a DER certificate as Kafka's default principal names it: User:CN=..,O=.. */
export function certificatePrincipal(der: Buffer): string {
  const subject = new X509Certificate(der).subject; // one RDN per line, most significant first
  const rdns = subject.split("\n").filter((l) => l !== "");
  return `User:${rdns.reverse().join(",")}`;
}

/**
 * The principal of a TLS connection, or null when it must be refused: with ssl.client.auth
 * requested, a certificate that was given but did not verify.
 */
export function principalOf(socket: tls.TLSSocket, ssl: SslConfig): string | null {
  const cert = socket.getPeerCertificate(false);
  const given = cert !== undefined && cert !== null && Object.keys(cert).length > 0;
  if (!given) return ANONYMOUS;
  if (!socket.authorized) return ssl.clientAuth === "none" ? ANONYMOUS : null;
  return certificatePrincipal(cert.raw);
}
