#pragma once

// The client side of every opsteam call: a channel under the TLS and plaintext rules of
// tls.h, and a ClientContext with a deadline and the caller's bearer token.
//
//   absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = rpc::MakeChannel(address, tls);
//   grpc::ClientContext ctx;
//   rpc::PrepareClientContext(&ctx, absl::Seconds(10), token);
//   stub->GetDepartment(&ctx, request, &response);

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"
#include "grpcpp/support/channel_arguments.h"
#include "libs/rpc/tls.h"

namespace opsteam::rpc {

// A channel to `address` ("host:port" or a gRPC target) with `args`: TLS per `tls`, else
// plaintext, which is refused (FAILED_PRECONDITION) to an address that is not loopback
// unless tls.allow_plaintext_remote. Certificate files are read now; errors name the flag.
absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeChannel(const std::string& address, const ClientTlsOptions& tls,
                                                           grpc::ChannelArguments args = grpc::ChannelArguments());

// Sets the deadline of `ctx` to now + `timeout` (finite: every call has a deadline) and,
// when `bearer_token` is not empty, the metadata "authorization: Bearer <bearer_token>".
void PrepareClientContext(grpc::ClientContext* ctx, absl::Duration timeout, absl::string_view bearer_token);

}  // namespace opsteam::rpc
