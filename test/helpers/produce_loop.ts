// A producer for the partition test, run inside a broker's network namespace: sends one acks=all
// record at a time to `bootstrap` for `seconds`, each with a 2 s timeout, and prints one JSON
// line: the error code of every answer (-1 for no answer or a broken connection).
//   node --import tsx test/helpers/produce_loop.ts HOST:PORT TOPIC SECONDS

import { produceCodec } from "../../src/protocol/produce.ts";
import { encodeBatch } from "../../src/protocol/records.ts";
import { RawClient } from "../integration/raw_client.ts";

const [bootstrap, topic, seconds] = process.argv.slice(2);
const codes: number[] = [];
const until = Date.now() + Number(seconds) * 1000;
let client: RawClient | null = null;
while (Date.now() < until) {
  try {
    client ??= await RawClient.tcp(bootstrap);
    const res = await Promise.race([
      client.request(produceCodec, 7, {
        transactionalId: null,
        acks: -1,
        timeoutMs: 2000,
        topics: [
          {
            name: topic,
            partitions: [{ partitionIndex: 0, records: encodeBatch([{ key: null, value: "from-inside" }]) }],
          },
        ],
      }),
      new Promise<null>((r) => setTimeout(() => r(null), 3000)),
    ]);
    codes.push(res === null ? -1 : res.responses[0].partitions[0].errorCode);
    if (res === null) {
      client.close();
      client = null;
    }
  } catch {
    codes.push(-1);
    client?.close();
    client = null;
    await new Promise((r) => setTimeout(r, 200));
  }
}
client?.close();
process.stdout.write(`${JSON.stringify(codes)}\n`);
