// The security APIs, from Kafka's specs (spec_codec.ts):
//   SaslHandshake (17) v0-1           the mechanism a SASL listener's client will use (v1: the
//                                     exchange then travels in SaslAuthenticate; v0: as raw
//                                     size-prefixed tokens, without request headers)
//   SaslAuthenticate (36) v0-2        one step of the SASL exchange (v1+: session_lifetime_ms)
//   DescribeAcls (29), CreateAcls (30), DeleteAcls (31) v0-3   Kafka's ACLs (v2+ flexible)
//   DescribeUserScramCredentials (50) v0, AlterUserScramCredentials (51) v0   SCRAM users

import { ApiKey } from "./api_keys.ts";
import type {
  AlterUserScramCredentialsRequest,
  AlterUserScramCredentialsResponse,
  CreateAclsRequest,
  CreateAclsResponse,
  DeleteAclsRequest,
  DeleteAclsResponse,
  DescribeAclsRequest,
  DescribeAclsResponse,
  DescribeUserScramCredentialsRequest,
  DescribeUserScramCredentialsResponse,
  SaslAuthenticateRequest,
  SaslAuthenticateResponse,
  SaslHandshakeRequest,
  SaslHandshakeResponse,
} from "./generated/types.ts";
import { specCodec } from "./spec_codec.ts";

export type {
  AlterUserScramCredentialsRequest,
  AlterUserScramCredentialsResponse,
  CreateAclsRequest,
  CreateAclsResponse,
  DeleteAclsRequest,
  DeleteAclsResponse,
  DescribeAclsRequest,
  DescribeAclsResponse,
  DescribeUserScramCredentialsRequest,
  DescribeUserScramCredentialsResponse,
  SaslAuthenticateRequest,
  SaslAuthenticateResponse,
  SaslHandshakeRequest,
  SaslHandshakeResponse,
};

export const saslHandshakeCodec = specCodec<SaslHandshakeRequest, SaslHandshakeResponse>(
  ApiKey.SaslHandshake,
  "SaslHandshake",
  0,
  1,
);
export const saslAuthenticateCodec = specCodec<SaslAuthenticateRequest, SaslAuthenticateResponse>(
  ApiKey.SaslAuthenticate,
  "SaslAuthenticate",
  0,
  2,
);
export const describeAclsCodec = specCodec<DescribeAclsRequest, DescribeAclsResponse>(
  ApiKey.DescribeAcls,
  "DescribeAcls",
  0,
  3,
);
export const createAclsCodec = specCodec<CreateAclsRequest, CreateAclsResponse>(
  ApiKey.CreateAcls,
  "CreateAcls",
  0,
  3,
);
export const deleteAclsCodec = specCodec<DeleteAclsRequest, DeleteAclsResponse>(
  ApiKey.DeleteAcls,
  "DeleteAcls",
  0,
  3,
);
export const describeUserScramCredentialsCodec = specCodec<
  DescribeUserScramCredentialsRequest,
  DescribeUserScramCredentialsResponse
>(ApiKey.DescribeUserScramCredentials, "DescribeUserScramCredentials", 0, 0);
export const alterUserScramCredentialsCodec = specCodec<
  AlterUserScramCredentialsRequest,
  AlterUserScramCredentialsResponse
>(ApiKey.AlterUserScramCredentials, "AlterUserScramCredentials", 0, 0);

export const SECURITY_CODECS = [
  saslHandshakeCodec,
  saslAuthenticateCodec,
  describeUserScramCredentialsCodec,
  alterUserScramCredentialsCodec,
];

/** The ACL APIs: served (listed in registry.ts) once the authorizer is wired in. */
export const ACL_CODECS = [describeAclsCodec, createAclsCodec, deleteAclsCodec];
