#include "libs/rpc/channel.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "grpcpp/create_channel.h"
#include "libs/rpc/authorize.h"

namespace opsteam::rpc {

absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeChannel(const std::string& address, const ClientTlsOptions& tls,
                                                           grpc::ChannelArguments args) {
  if (address.empty()) return absl::InvalidArgumentError("the server address is empty");
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials = MakeChannelCredentials(tls, address);
  if (!credentials.ok()) return credentials.status();
  if (!tls.server_name.empty()) args.SetSslTargetNameOverride(tls.server_name);
  return grpc::CreateCustomChannel(address, *credentials, args);
}

void PrepareClientContext(grpc::ClientContext* ctx, absl::Duration timeout, absl::string_view bearer_token) {
  ctx->set_deadline(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(timeout));
  if (!bearer_token.empty()) ctx->AddMetadata(kAuthorizationMetadata, absl::StrCat("Bearer ", bearer_token));
}

}  // namespace opsteam::rpc
