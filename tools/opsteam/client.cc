#include "tools/opsteam/client.h"

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "grpcpp/support/channel_arguments.h"

namespace opsteam::cli {

absl::StatusOr<Client> Client::Create(ClientOptions options) {
  Client client(std::move(options));
  grpc::ChannelArguments args;
  // gRPC's default reconnect backoff grows to minutes; `health --wait_seconds` polls a
  // server that is just starting, so keep reconnects quick.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  // A chart's plan or export of a large organisation runs to megabytes.
  args.SetMaxReceiveMessageSize(client.options_.max_message_bytes);
  args.SetMaxSendMessageSize(client.options_.max_message_bytes);
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
      rpc::MakeChannel(client.options_.address, client.options_.tls, args);
  if (!channel.ok()) return channel.status();
  client.channel_ = *std::move(channel);
  client.org_ = org::v1::OrgService::NewStub(client.channel_);
  client.health_ = grpc::health::v1::Health::NewStub(client.channel_);
  return client;
}

std::string FormatError(const absl::Status& status) {
  std::string out = absl::StrCat(absl::StatusCodeToString(status.code()), ": ", status.message());
  const std::string reason = ErrorReason(status);
  const std::string field = ErrorField(status);
  if (!reason.empty() || !field.empty()) {
    absl::StrAppend(&out, " (");
    if (!reason.empty()) absl::StrAppend(&out, "reason ", reason);
    if (!reason.empty() && !field.empty()) absl::StrAppend(&out, ", ");
    if (!field.empty()) absl::StrAppend(&out, "field ", field);
    absl::StrAppend(&out, ")");
  }
  return out;
}

void PrintError(absl::string_view what, const absl::Status& status) {
  std::fprintf(stderr, "opsteam: %s: %s\n", std::string(what).c_str(), FormatError(status).c_str());
  if (status.code() == absl::StatusCode::kUnauthenticated) {
    std::fprintf(stderr, "opsteam: pass a bearer token with --token or OPSTEAM_TOKEN "
                         "(`opsteam token` mints one for a local org-service)\n");
  }
}

}  // namespace opsteam::cli
