#pragma once

// rpc::Authenticator for bearer JWTs: a verified token's "sub" and "roles" become the
// caller's auth::Identity. Built from the settings every opsteam service takes as flags
// (--jwt_issuer, --jwt_audience, --jwt_hs256_secret_file, --jwt_public_keys,
// --jwt_leeway_seconds).

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "libs/auth/identity.h"
#include "libs/auth/jwt.h"
#include "libs/rpc/authorize.h"

namespace opsteam::auth {

struct JwtConfig {
  std::string issuer = "opsteam";
  std::string audience = "opsteam";
  // A file holding the HS256 secret (local runs); empty = none.
  std::string hs256_secret_file;
  // PEM public keys (RS256 or ES256); each file's stem is its key id ("org-2026.pem" is
  // kid "org-2026").
  std::vector<std::string> public_key_files;
  absl::Duration leeway = absl::Seconds(60);
  // The current time; absl::Now when empty.
  std::function<absl::Time()> clock;
};

// The secret of an HS256 secret file: its content without trailing whitespace (so a file
// written with `echo` works), at least 32 bytes. Errors name `flag` and the file.
absl::StatusOr<std::string> ReadHs256Secret(const std::string& path, absl::string_view flag = "--jwt_hs256_secret_file");

class JwtAuthenticator final : public rpc::Authenticator {
 public:
  explicit JwtAuthenticator(JwtVerifier verifier) : verifier_(std::move(verifier)) {}

  // Reads the key files of `config`; at least one key must be configured. Errors are
  // INVALID_ARGUMENT naming the flag and the file.
  static absl::StatusOr<std::unique_ptr<JwtAuthenticator>> FromConfig(const JwtConfig& config);

  absl::StatusOr<Identity> Authenticate(absl::string_view token) const override;

 private:
  JwtVerifier verifier_;
};

}  // namespace opsteam::auth
