// The transaction APIs (Kafka's exactly-once protocol, KIP-98), from Kafka's specs (spec_codec.ts):
//   AddPartitionsToTxn (24) v0-5   a producer names the partitions its transaction writes to;
//                                  v4+ (KIP-890) batch several transactions (broker to broker)
//   AddOffsetsToTxn (25) v0-4      ... and the group whose offsets it commits in it
//   EndTxn (26) v0-4               commit or abort (v5's per-transaction epoch bump, transaction
//                                  version 2, is not offered: clients then use v4's protocol)
//   WriteTxnMarkers (27) v0-1      the coordinator has a partition's leader write the marker
//   TxnOffsetCommit (28) v0-4      offsets committed inside the transaction
//   DescribeTransactions (65) v0   kafka-transactions.sh describe
//   ListTransactions (66) v0-1     kafka-transactions.sh list (v1: duration filter)

import { ApiKey } from "./api_keys.ts";
import type {
  AddOffsetsToTxnRequest,
  AddOffsetsToTxnResponse,
  AddPartitionsToTxnRequest,
  AddPartitionsToTxnResponse,
  DescribeTransactionsRequest,
  DescribeTransactionsResponse,
  EndTxnRequest,
  EndTxnResponse,
  ListTransactionsRequest,
  ListTransactionsResponse,
  TxnOffsetCommitRequest,
  TxnOffsetCommitResponse,
  WriteTxnMarkersRequest,
  WriteTxnMarkersResponse,
} from "./generated/types.ts";
import { specCodec } from "./spec_codec.ts";

export type {
  AddOffsetsToTxnRequest,
  AddOffsetsToTxnResponse,
  AddPartitionsToTxnRequest,
  AddPartitionsToTxnResponse,
  DescribeTransactionsRequest,
  DescribeTransactionsResponse,
  EndTxnRequest,
  EndTxnResponse,
  ListTransactionsRequest,
  ListTransactionsResponse,
  TxnOffsetCommitRequest,
  TxnOffsetCommitResponse,
  WriteTxnMarkersRequest,
  WriteTxnMarkersResponse,
};

export const addPartitionsToTxnCodec = specCodec<AddPartitionsToTxnRequest, AddPartitionsToTxnResponse>(
  ApiKey.AddPartitionsToTxn,
  "AddPartitionsToTxn",
  0,
  5,
);
export const addOffsetsToTxnCodec = specCodec<AddOffsetsToTxnRequest, AddOffsetsToTxnResponse>(
  ApiKey.AddOffsetsToTxn,
  "AddOffsetsToTxn",
  0,
  4,
);
export const endTxnCodec = specCodec<EndTxnRequest, EndTxnResponse>(ApiKey.EndTxn, "EndTxn", 0, 4);
export const writeTxnMarkersCodec = specCodec<WriteTxnMarkersRequest, WriteTxnMarkersResponse>(
  ApiKey.WriteTxnMarkers,
  "WriteTxnMarkers",
  0,
  1,
);
export const txnOffsetCommitCodec = specCodec<TxnOffsetCommitRequest, TxnOffsetCommitResponse>(
  ApiKey.TxnOffsetCommit,
  "TxnOffsetCommit",
  0,
  4,
);
export const describeTransactionsCodec = specCodec<DescribeTransactionsRequest, DescribeTransactionsResponse>(
  ApiKey.DescribeTransactions,
  "DescribeTransactions",
  0,
  0,
);
export const listTransactionsCodec = specCodec<ListTransactionsRequest, ListTransactionsResponse>(
  ApiKey.ListTransactions,
  "ListTransactions",
  0,
  1,
);

export const TRANSACTION_CODECS = [
  addPartitionsToTxnCodec,
  addOffsetsToTxnCodec,
  endTxnCodec,
  writeTxnMarkersCodec,
  txnOffsetCommitCodec,
  describeTransactionsCodec,
  listTransactionsCodec,
];
