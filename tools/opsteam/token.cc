#include "tools/opsteam/token.h"

#include <algorithm>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "libs/auth/identity.h"
#include "libs/auth/jwt.h"
#include "libs/auth/jwt_authenticator.h"
#include "libs/status/status.h"

namespace opsteam::cli {

absl::StatusOr<std::string> MintToken(const TokenOptions& options, absl::Time now) {
  if (options.secret_file.empty()) {
    return absl::InvalidArgumentError("--secret_file is required: the file org-service reads with --jwt_hs256_secret_file");
  }
  if (options.subject.empty()) {
    return absl::InvalidArgumentError("--subject is required: members/{member} or services/{service}");
  }
  for (const std::string& role : options.roles) {
    if (role != auth::kRoleAdministrator && role != auth::kRoleService) {
      return absl::InvalidArgumentError(absl::StrCat("--roles: unknown role \"", role, "\"; roles are ",
                                                     auth::kRoleAdministrator, " and ", auth::kRoleService));
    }
  }
  if (absl::StatusOr<auth::Identity> identity = auth::MakeIdentity(options.subject, options.roles); !identity.ok()) {
    // "sub: must be ..." becomes "--subject: must be ...".
    const std::string field = ErrorField(identity.status());
    return absl::InvalidArgumentError(absl::StrCat(field == "sub" ? "--subject" : "--roles",
                                                   absl::StripPrefix(identity.status().message(), field)));
  }
  if (options.ttl <= absl::ZeroDuration() || options.ttl > absl::Hours(24 * 365)) {
    return absl::InvalidArgumentError("--ttl_hours must be between 1 and 8760");
  }
  absl::StatusOr<std::string> secret = auth::ReadHs256Secret(options.secret_file, "--secret_file");
  if (!secret.ok()) return secret.status();
  absl::StatusOr<auth::JwtSigner> signer = auth::JwtSigner::Hs256(*secret);
  if (!signer.ok()) return signer.status();
  auth::TokenClaims claims;
  claims.issuer = options.issuer;
  claims.audiences = {options.audience};
  claims.subject = options.subject;
  claims.roles = options.roles;
  claims.issued_at = now;
  claims.expires = now + options.ttl;
  return signer->Sign(claims);
}

int Token(const TokenOptions& options, std::ostream& out) {
  absl::StatusOr<std::string> token = MintToken(options, absl::Now());
  if (!token.ok()) {
    std::fprintf(stderr, "opsteam: token: %s\n", std::string(token.status().message()).c_str());
    return 2;
  }
  out << *token << "\n";
  return 0;
}

}  // namespace opsteam::cli
