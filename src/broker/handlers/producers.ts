// InitProducerId: a producer id and epoch for an idempotent producer. Each call gets a new id
// at epoch 0, as Kafka answers a producer without a transactional id (a KIP-360 bump asks with
// its old pair and gets a fresh one too). A transactional id is its transaction coordinator's
// (txn/coordinator.ts): an epoch bump fences the previous producer.

import { ErrorCode } from "../../protocol/error_codes.ts";
import type { InitProducerIdRequest, InitProducerIdResponse } from "../../protocol/init_producer_id.ts";
import type { BrokerContext } from "../context.ts";
import type { TransactionCoordinator } from "../txn/coordinator.ts";

export async function handleInitProducerId(
  ctx: BrokerContext,
  txn: TransactionCoordinator,
  req: InitProducerIdRequest,
  version: number,
): Promise<InitProducerIdResponse> {
  const answer = (errorCode: number, producerId = -1, producerEpoch = -1): InitProducerIdResponse => ({
    throttleTimeMs: 0,
    errorCode,
    producerId,
    producerEpoch,
  });
  if (req.transactionalId !== null) {
    // A transactional id: its coordinator's answer (txn/coordinator.ts).
    const r = await txn.initProducerId(
      {
        transactionalId: req.transactionalId,
        transactionTimeoutMs: req.transactionTimeoutMs,
        producerId: version >= 3 ? req.producerId : -1,
        producerEpoch: version >= 3 ? req.producerEpoch : -1,
      },
      version,
    );
    return answer(r.errorCode, r.producerId, r.producerEpoch);
  }
  try {
    return answer(ErrorCode.NONE, await ctx.producerIds.allocate(), 0);
  } catch (e) {
    ctx.logger.limited("producer ids", `cannot reserve producer ids: ${(e as Error).message}`);
    return answer(ErrorCode.KAFKA_STORAGE_ERROR);
  }
}
