#include "tools/opsteam/client.h"

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"

namespace opsteam::cli {

Client::Client(ClientOptions options) : options_(std::move(options)) {
  grpc::ChannelArguments args;
  // gRPC's default reconnect backoff grows to minutes; `health --wait_seconds` polls a
  // server that is just starting, so keep reconnects quick.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  // A chart's plan or export of a large organisation runs to megabytes.
  args.SetMaxReceiveMessageSize(options_.max_message_bytes);
  args.SetMaxSendMessageSize(options_.max_message_bytes);
  channel_ = grpc::CreateCustomChannel(options_.address, grpc::InsecureChannelCredentials(), args);
  org_ = org::v1::OrgService::NewStub(channel_);
  health_ = grpc::health::v1::Health::NewStub(channel_);
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
}

}  // namespace opsteam::cli
