// Purging a change-notification directory (/config/changes, /kafka-acl-changes,
// /kafka-acl-extended-changes) as Kafka's ZkNodeChangeNotificationListener does: a notification
// older than 15 minutes (changeExpirationMs) has been read by every live broker, and one that
// starts later reads the current state anyway, so it is deleted. Without this every user, ACL
// or topic config change would leave a znode in ZooKeeper forever. Every broker purges; two
// deleting the same notification is fine (the second finds none).

import { ZK_NO_NODE, ZkError, type ZkSession } from "./zookeeper.ts";

/** Kafka's ZkNodeChangeNotificationListener changeExpirationMs. */
export const CHANGE_EXPIRATION_MS = 15 * 60_000;

/**
 * Delete the notifications of `dir` older than `expirationMs`. `names` are its children in
 * sequence order (oldest first): the scan stops at the first younger one, so a purge costs one
 * read when there is nothing to delete.
 */
export async function purgeObsoleteNotifications(
  zk: ZkSession,
  dir: string,
  names: readonly string[],
  now = Date.now(),
  expirationMs = CHANGE_EXPIRATION_MS,
): Promise<number> {
  let deleted = 0;
  for (const n of names) {
    const path = `${dir}/${n}`;
    const got = await zk.get(path);
    if (got === null) continue;
    if (got.stat.ctime + expirationMs >= now) break;
    try {
      await zk.delete(path, got.stat.version);
      deleted++;
    } catch (e) {
      if (!(e instanceof ZkError && e.code === ZK_NO_NODE)) throw e;
    }
  }
  return deleted;
}
