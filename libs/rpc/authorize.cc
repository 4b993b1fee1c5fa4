#include "libs/rpc/authorize.h"

#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace opsteam::rpc {
namespace {

constexpr char kBearerFormat[] = "send the metadata \"authorization: Bearer <token>\"";

// The token of "Bearer <token>" (the scheme is case-insensitive, RFC 6750).
absl::StatusOr<absl::string_view> BearerToken(absl::string_view authorization) {
  constexpr absl::string_view kScheme = "bearer ";
  if (authorization.size() < kScheme.size() ||
      !absl::EqualsIgnoreCase(authorization.substr(0, kScheme.size()), kScheme)) {
    return Unauthenticated("TOKEN_INVALID",
                           absl::StrCat("authorization metadata is not a bearer token; ", kBearerFormat));
  }
  absl::string_view token = absl::StripAsciiWhitespace(authorization.substr(kScheme.size()));
  if (token.empty()) {
    return Unauthenticated("TOKEN_MISSING", absl::StrCat("authorization metadata has no token; ", kBearerFormat));
  }
  return token;
}

bool Allowed(const auth::Identity& identity, Access access) {
  switch (access) {
    case Access::kAuthenticated:
      return true;
    case Access::kAdministrator:
      return identity.administrator;
    case Access::kAdministratorOrService:
      return identity.administrator || identity.service;
  }
  return false;
}

const char* RequiredRole(Access access) {
  switch (access) {
    case Access::kAuthenticated:
      return "";
    case Access::kAdministrator:
      return auth::kRoleAdministrator;
    case Access::kAdministratorOrService:
      return "administrator or service";
  }
  return "";
}

}  // namespace

absl::StatusOr<CallContext> Authorize(std::optional<absl::string_view> authorization,
                                      const Authenticator& authenticator, Access access) {
  if (!authorization) {
    return Unauthenticated("TOKEN_MISSING", absl::StrCat("this call needs a bearer token; ", kBearerFormat));
  }
  absl::StatusOr<absl::string_view> token = BearerToken(*authorization);
  if (!token.ok()) return token.status();
  absl::StatusOr<auth::Identity> identity = authenticator.Authenticate(*token);
  if (!identity.ok()) return identity.status();
  if (!Allowed(*identity, access)) {
    const char* role = RequiredRole(access);
    return PermissionDenied("PERMISSION_DENIED",
                            absl::StrCat(identity->subject, " may not make this call: it needs the ", role,
                                         " role"),
                            {{"required_role", role}, {"caller", identity->subject}});
  }
  CallContext call;
  call.actor = identity->subject;
  call.member_id = identity->member_id;
  call.administrator = identity->administrator;
  call.service = identity->service;
  return call;
}

absl::StatusOr<CallContext> Authorize(const grpc::ServerContextBase* ctx, const Authenticator& authenticator,
                                      Access access) {
  const auto& metadata = ctx->client_metadata();
  auto [first, last] = metadata.equal_range(kAuthorizationMetadata);
  if (first == last) return Authorize(std::nullopt, authenticator, access);
  if (std::next(first) != last) {
    return Unauthenticated("TOKEN_INVALID", "the call has more than one authorization metadata entry");
  }
  return Authorize(absl::string_view(first->second.data(), first->second.size()), authenticator, access);
}

}  // namespace opsteam::rpc
