// The request side of authorization: the calling connection's principal (its SASL user or
// client certificate, else User:ANONYMOUS) and host, asked of the broker's authorizer
// (authorizer.ts; ALLOW_ALL when authorizer.class.name is empty).

import type { RequestContext } from "../../transport/connection.ts";
import type { BrokerContext } from "../context.ts";
import { AclOperation, CLUSTER_NAME, ResourceType } from "./acl.ts";
import { clientHost } from "./authorizer.ts";

export { AclOperation, ResourceType };

/** The client's address as Kafka's authorizer sees it (a TCP remote is "address:port"). */
export function requestHost(rc: Pick<RequestContext, "connection">): string {
  const { remote, listener } = rc.connection.sink;
  const colon = remote.lastIndexOf(":");
  const address = !listener.startsWith("WEBSOCKET") && colon > 0 ? remote.slice(0, colon) : remote;
  return clientHost(address.replace(/^\[|\]$/g, ""));
}

/** Whether the request's principal may do `operation` on the resource. */
export function allowed(
  ctx: BrokerContext,
  rc: Pick<RequestContext, "connection">,
  operation: AclOperation,
  resourceType: ResourceType,
  name: string,
): boolean {
  const a = ctx.authorizer;
  if (!a.enabled) return true;
  return a.authorize(rc.connection.principal, requestHost(rc), operation, resourceType, name);
}

/** allowed() on the cluster resource (kafka-cluster). */
export function allowedOnCluster(
  ctx: BrokerContext,
  rc: Pick<RequestContext, "connection">,
  operation: AclOperation,
): boolean {
  return allowed(ctx, rc, operation, ResourceType.CLUSTER, CLUSTER_NAME);
}

/**
 * CLUSTER_ACTION on the cluster, which Kafka asks of every request between brokers (LeaderAndIsr,
 * UpdateMetadata, StopReplica, ControlledShutdown, a follower's Fetch and OffsetForLeaderEpoch,
 * WriteTxnMarkers, AddPartitionsToTxn v4+). A refusal is logged (rate-limited) with the remedy:
 * brokers reach each other over a PLAINTEXT inter-broker listener as User:ANONYMOUS, which an
 * operator makes a super user (or grants CLUSTER_ACTION); a cluster that forgot it would
 * otherwise stall without a word. `orAlter`: ALTER on the cluster passes too (WriteTxnMarkers).
 */
export function allowedBetweenBrokers(
  ctx: BrokerContext,
  rc: Pick<RequestContext, "connection">,
  api: string,
  orAlter = false,
): boolean {
  if (!ctx.authorizer.enabled) return true;
  if (allowedOnCluster(ctx, rc, AclOperation.CLUSTER_ACTION)) return true;
  if (orAlter && allowedOnCluster(ctx, rc, AclOperation.ALTER)) return true;
  ctx.logger.limited(
    "inter-broker authorization",
    `${api} from ${rc.connection.principal} at ${requestHost(rc)} refused: CLUSTER_ACTION on the cluster is not allowed. ` +
      "Brokers send their requests as the principal of the inter-broker listener (User:ANONYMOUS over PLAINTEXT): " +
      "add it to super.users (super.users=User:admin;User:ANONYMOUS) or grant it CLUSTER_ACTION on the cluster, " +
      "else replication and leader changes stop",
  );
  return false;
}
