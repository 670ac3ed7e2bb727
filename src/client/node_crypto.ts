// SaslCrypto (src/client/web_crypto.ts) over node:crypto, for the Node entry: PBKDF2 on libuv's
// thread pool, HMAC and digests synchronously (they are small).

import { createHash, createHmac, pbkdf2, randomBytes } from "node:crypto";
import type { HashName, SaslCrypto } from "./web_crypto.ts";

const NODE_HASH: Record<HashName, string> = { "SHA-256": "sha256", "SHA-512": "sha512" };

export const nodeCrypto: SaslCrypto = {
  randomBytes: (n) => randomBytes(n),
  pbkdf2: (hash, password, salt, iterations, length) =>
    new Promise((resolve, reject) =>
      pbkdf2(password, salt, iterations, length, NODE_HASH[hash], (e, key) => (e ? reject(e) : resolve(key))),
    ),
  hmac: async (hash, key, data) => createHmac(NODE_HASH[hash], key).update(data).digest(),
  digest: async (hash, data) => createHash(NODE_HASH[hash]).update(data).digest(),
};
