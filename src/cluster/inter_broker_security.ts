// How this broker's own connections to the other brokers (the controller's requests, a
// follower's fetches, transaction markers, controlled shutdown) are secured: the security
// protocol of inter.broker.listener.name, as Kafka's inter-broker client does it.
//   SSL, SASL_SSL        TLS, the peer's certificate checked against ssl.ca.location and, with
//                        ssl.endpoint.identification.algorithm=https (Kafka's default), its name
//                        against the host connected to; this broker presents its own certificate
//                        (ssl.certificate.location, ssl.key.location) so a listener with
//                        ssl.client.auth=required lets it in as User:<its subject>. The PEM files
//                        are read at each connection, so a renewed certificate is used without a
//                        restart.
//   SASL_PLAINTEXT/_SSL  SASL with sasl.mechanism.inter.broker.protocol and the JAAS credentials
//                        (config.ts, interBrokerSasl), re-authenticating as the listener asks.

import * as fs from "node:fs";
import type { BrokerConfig } from "../broker/config.ts";
import { usesSasl, usesTls } from "../broker/config.ts";
import type { SaslOptions, TlsOptions } from "../client/security.ts";

export interface ChannelSecurity {
  /** TLS settings for a new connection (files read now), or null for plaintext. */
  tls(): TlsOptions | null;
  sasl: SaslOptions | null;
}

export const PLAINTEXT_CHANNEL: ChannelSecurity = { tls: () => null, sasl: null };

const memo = new WeakMap<BrokerConfig, ChannelSecurity>();

export function interBrokerSecurity(config: BrokerConfig): ChannelSecurity {
  let s = memo.get(config);
  if (s === undefined) {
    s = securityOf(config);
    memo.set(config, s);
  }
  return s;
}

function securityOf(config: BrokerConfig): ChannelSecurity {
  const protocol = config.interBrokerProtocol;
  const ssl = config.ssl;
  const read = (path: string | null) => (path === null ? undefined : fs.readFileSync(path));
  const tls = usesTls(protocol)
    ? (): TlsOptions => ({
        ca: read(ssl.caLocation),
        cert: read(ssl.certificateLocation),
        key: read(ssl.keyLocation),
        passphrase: ssl.keyPassword ?? undefined,
        rejectUnauthorized: true,
        checkServerName: ssl.endpointIdentificationAlgorithm === "https",
      })
    : () => null;
  const c = config.interBrokerSasl;
  const sasl: SaslOptions | null =
    usesSasl(protocol) && c !== null
      ? {
          mechanism: c.mechanism.toLowerCase() as "plain" | "scram-sha-256" | "scram-sha-512",
          username: c.username,
          password: c.password,
        }
      : null;
  return { tls, sasl };
}
