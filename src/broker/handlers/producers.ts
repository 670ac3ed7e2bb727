// InitProducerId: a producer id and epoch for an idempotent producer. Each call gets a new id
// at epoch 0, as Kafka answers a producer without a transactional id (a KIP-360 bump asks with
// its old pair and gets a fresh one too). Transactional ids need the transaction coordinator
// (issue 11): refused with INVALID_REQUEST and a log line.

import { ErrorCode } from "../../protocol/error_codes.ts";
import type { InitProducerIdRequest, InitProducerIdResponse } from "../../protocol/init_producer_id.ts";
import type { BrokerContext } from "../context.ts";

export async function handleInitProducerId(
  ctx: BrokerContext,
  req: InitProducerIdRequest,
): Promise<InitProducerIdResponse> {
  const answer = (errorCode: number, producerId = -1, producerEpoch = -1): InitProducerIdResponse => ({
    throttleTimeMs: 0,
    errorCode,
    producerId,
    producerEpoch,
  });
  if (req.transactionalId !== null) {
    ctx.logger.limited(
      "transactions",
      `InitProducerId for transactional id ${JSON.stringify(req.transactionalId.slice(0, 200))}: transactions are not supported yet`,
    );
    return answer(ErrorCode.INVALID_REQUEST);
  }
  try {
    return answer(ErrorCode.NONE, await ctx.producerIds.allocate(), 0);
  } catch (e) {
    ctx.logger.limited("producer ids", `cannot reserve producer ids: ${(e as Error).message}`);
    return answer(ErrorCode.KAFKA_STORAGE_ERROR);
  }
}
