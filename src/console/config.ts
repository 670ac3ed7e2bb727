// What the console page is told about the broker (/console/config.json, written by serve.ts from
// the broker's config, read by app.ts): the WebSocket listener to reach and whether it asks for
// SASL. Shared by the server and the page, so it imports nothing.

export interface ConsoleConfig {
  /**
   * The broker's WebSocket listener as a browser reaches it ("ws://broker.example:9094"); "" means
   * the page's own host on port 9094. A wildcard host (0.0.0.0, ::) is replaced by the page's host.
   */
  webSocketUrl: string;
  /** SASL on that listener: the mechanisms offered (upper case, Kafka's names); null: none. */
  sasl: { mechanisms: string[] } | null;
}

/** The mechanisms the console's login form offers (OAUTHBEARER needs a token source it lacks). */
export const LOGIN_MECHANISMS = ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] as const;

const WILDCARD = new Set(["", "0.0.0.0", "[::]", "::"]);

/** The WebSocket URL the page connects to, from the configured one and the page's location. */
export function resolveWebSocketUrl(
  configured: string,
  page: { protocol: string; hostname: string },
): string {
  const host =
    page.hostname.includes(":") && !page.hostname.startsWith("[") ? `[${page.hostname}]` : page.hostname;
  const scheme = page.protocol === "https:" ? "wss:" : "ws:";
  if (configured === "") return `${scheme}//${host}:9094`;
  const m = /^(wss?:)\/\/(\[[^\]]*\]|[^/:]*)(.*)$/.exec(configured);
  if (m === null) return configured;
  return WILDCARD.has(m[2]) ? `${m[1]}//${host}${m[3]}` : configured;
}
