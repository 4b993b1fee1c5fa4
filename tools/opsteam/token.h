#pragma once

// `opsteam token`: mints an HS256 bearer token from the shared secret a local org-service
// verifies with (--jwt_hs256_secret_file). Production tokens come from the identity
// provider; this is for local runs and scripts.

#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace opsteam::cli {

struct TokenOptions {
  std::string secret_file;
  // "members/{member}" or "services/{service}".
  std::string subject;
  // Any of "administrator", "service".
  std::vector<std::string> roles;
  absl::Duration ttl = absl::Hours(12);
  std::string issuer = "opsteam";
  std::string audience = "opsteam";
};

// The token; INVALID_ARGUMENT naming the flag (--secret_file, --subject, --roles,
// --ttl_hours) for bad input.
absl::StatusOr<std::string> MintToken(const TokenOptions& options, absl::Time now);

// Prints the token and a newline; returns the exit code (2 for bad input, printed to stderr).
int Token(const TokenOptions& options, std::ostream& out);

}  // namespace opsteam::cli
