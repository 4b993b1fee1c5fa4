#pragma once

// What every `opsteam` command shares: one channel to the org service (TLS or, on loopback,
// plaintext), its stubs, and the rules that no call goes out without a deadline and every
// call carries the caller's bearer token.

#include <algorithm>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"
#include "libs/rpc/channel.h"
#include "libs/status/status.h"
#include "opsteam/org/v1/org_service.grpc.pb.h"

namespace opsteam::cli {

struct ClientOptions {
  // host:port of the org service.
  std::string address = "127.0.0.1:50051";
  // Deadline of each call.
  absl::Duration deadline = absl::Seconds(10);
  // Day the organisation is read as of ("YYYY-MM-DD"); empty = today.
  std::string as_of;
  // page_size of List calls; 0 = the server's default.
  int page_size = 0;
  // Largest message sent or received (charts and their plans can be large).
  int max_message_bytes = 256 << 20;
  // Bearer token sent with every call (health needs none); empty = none.
  std::string token;
  // TLS to the server; plaintext (loopback only, unless allowed) when not set.
  rpc::ClientTlsOptions tls;
};

class Client {
 public:
  // Fails when the channel cannot be made (TLS files, plaintext to a remote address).
  static absl::StatusOr<Client> Create(ClientOptions options);

  const ClientOptions& options() const { return options_; }
  org::v1::OrgService::Stub& org() { return *org_; }
  grpc::health::v1::Health::Stub& health() { return *health_; }

  // Runs `call(grpc::ClientContext*) -> grpc::Status` with the configured deadline (or
  // `deadline` when given) and maps the result back to an absl::Status with its details.
  template <typename Call>
  absl::Status Run(Call&& call, absl::Duration deadline = absl::InfiniteDuration()) {
    grpc::ClientContext ctx;
    rpc::PrepareClientContext(&ctx, std::min(deadline, options_.deadline), options_.token);
    return FromGrpcStatus(std::forward<Call>(call)(&ctx));
  }

 private:
  explicit Client(ClientOptions options) : options_(std::move(options)) {}

  ClientOptions options_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<org::v1::OrgService::Stub> org_;
  std::unique_ptr<grpc::health::v1::Health::Stub> health_;
};

// "NOT_FOUND: departments/x not found (reason RESOURCE_NOT_FOUND, field name)".
std::string FormatError(const absl::Status& status);
// Prints "opsteam: <what>: <FormatError>" to stderr.
void PrintError(absl::string_view what, const absl::Status& status);

}  // namespace opsteam::cli
