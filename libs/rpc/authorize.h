#pragma once

// The call gate every opsteam RPC passes before any work: the caller's bearer token
// ("authorization: Bearer <jwt>" metadata) is verified, the RPC's access policy is checked,
// and the caller becomes the CallContext of the work. Unary handlers get all of it from
// RunUnary (unary.h). Streaming handlers call Authorize first and keep the context:
//
//   grpc::ServerWriteReactor<v1::WatchChangesResponse>* WatchChanges(
//       grpc::CallbackServerContext* ctx, const v1::WatchChangesRequest* req) override {
//     absl::StatusOr<rpc::CallContext> call =
//         rpc::Authorize(ctx, auth_, rpc::Access::kAdministratorOrService);
//     if (!call.ok()) return rpc::FinishedWriter<v1::WatchChangesResponse>(call.status());
//     ... start the stream; run its work under rpc::ScopedCallContext scoped(*call) ...
//   }
//
// gRPC 1.51's experimental server interceptors cannot fail a call with a status, so the gate
// is this shared handler entry rather than an interceptor. Health and reflection do not
// pass it: probes and tools call them without tokens.
//
// Errors (absl::Status, mapped at the edge):
//   UNAUTHENTICATED   TOKEN_MISSING (no authorization metadata), TOKEN_INVALID, TOKEN_EXPIRED
//   PERMISSION_DENIED PERMISSION_DENIED, metadata "required_role" names the role needed
// They come before the handler's work, so a caller without the right learns nothing about
// the resources it names (PERMISSION_DENIED before NOT_FOUND).

#include <optional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/server_callback.h"
#include "libs/auth/identity.h"
#include "libs/rpc/call_context.h"
#include "libs/status/status.h"

namespace opsteam::rpc {

// Who may call an RPC.
enum class Access {
  // Any caller with a valid token: reads of the organisation.
  kAuthenticated,
  // Callers with the administrator role: changes to the organisation.
  kAdministrator,
  // Administrators and services (the service role): the audit trail and the change feed.
  kAdministratorOrService,
};

// Verifies bearer tokens. One instance is shared by all calls of a server, from many
// threads at once; the JWT implementation is auth::JwtAuthenticator (libs/auth).
class Authenticator {
 public:
  virtual ~Authenticator() = default;
  // The identity `token` (the text after "Bearer ") proves, or UNAUTHENTICATED with the
  // reason TOKEN_INVALID or TOKEN_EXPIRED. Cheap enough to run on a gRPC thread.
  virtual absl::StatusOr<auth::Identity> Authenticate(absl::string_view token) const = 0;
};

inline constexpr char kAuthorizationMetadata[] = "authorization";

// The gate without gRPC: `authorization` is the value of the authorization metadata
// (nullopt when absent).
absl::StatusOr<CallContext> Authorize(std::optional<absl::string_view> authorization,
                                      const Authenticator& authenticator, Access access);

// The gate for a call: reads the call's authorization metadata.
absl::StatusOr<CallContext> Authorize(const grpc::ServerContextBase* ctx, const Authenticator& authenticator,
                                      Access access);

// A server-streaming reactor that only finishes with `status`: what a streaming handler
// returns when Authorize (or anything before the stream starts) fails.
template <typename Response>
class FinishedWriteReactor final : public grpc::ServerWriteReactor<Response> {
 public:
  explicit FinishedWriteReactor(const absl::Status& status) { this->Finish(ToGrpcStatus(status)); }
  void OnDone() override { delete this; }
};

template <typename Response>
grpc::ServerWriteReactor<Response>* FinishedWriter(const absl::Status& status) {
  return new FinishedWriteReactor<Response>(status);
}

}  // namespace opsteam::rpc
