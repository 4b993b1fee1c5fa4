#include "libs/auth/jwt_authenticator.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "libs/rpc/flag_file.h"
#include "libs/status/status.h"

namespace opsteam::auth {

absl::StatusOr<std::string> ReadHs256Secret(const std::string& path, absl::string_view flag) {
  absl::StatusOr<std::string> text = rpc::ReadFlagFile(flag, path);
  if (!text.ok()) return text.status();
  std::string secret(absl::StripTrailingAsciiWhitespace(*text));
  if (absl::StatusOr<VerificationKey> key = VerificationKey::Hs256(secret); !key.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(flag, " ", path, ": ", key.status().message()));
  }
  return secret;
}

absl::StatusOr<std::unique_ptr<JwtAuthenticator>> JwtAuthenticator::FromConfig(const JwtConfig& config) {
  std::vector<VerificationKey> keys;
  if (!config.hs256_secret_file.empty()) {
    absl::StatusOr<std::string> secret = ReadHs256Secret(config.hs256_secret_file);
    if (!secret.ok()) return secret.status();
    absl::StatusOr<VerificationKey> key = VerificationKey::Hs256(*secret);
    if (!key.ok()) return key.status();
    keys.push_back(*std::move(key));
  }
  for (const std::string& path : config.public_key_files) {
    absl::StatusOr<std::string> pem = rpc::ReadFlagFile("--jwt_public_keys", path);
    if (!pem.ok()) return pem.status();
    absl::StatusOr<VerificationKey> key =
        VerificationKey::FromPublicKeyPem(*pem, std::filesystem::path(path).stem().string());
    if (!key.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("--jwt_public_keys ", path, ": ", key.status().message()));
    }
    keys.push_back(*std::move(key));
  }
  if (keys.empty()) {
    return absl::InvalidArgumentError(
        "no token key configured: every call is authenticated, so set --jwt_hs256_secret_file (a shared "
        "secret, for local runs) or --jwt_public_keys (PEM public keys of the token issuer)");
  }
  VerifierOptions options;
  options.issuer = config.issuer;
  options.audience = config.audience;
  options.leeway = config.leeway;
  options.clock = config.clock;
  absl::StatusOr<JwtVerifier> verifier = JwtVerifier::Create(std::move(options), std::move(keys));
  if (!verifier.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("token verification: ", verifier.status().message()));
  }
  return std::make_unique<JwtAuthenticator>(*std::move(verifier));
}

absl::StatusOr<Identity> JwtAuthenticator::Authenticate(absl::string_view token) const {
  absl::StatusOr<Claims> claims = verifier_.Verify(token);
  if (!claims.ok()) return claims.status();
  absl::StatusOr<Identity> identity = MakeIdentity(claims->subject, claims->roles);
  if (!identity.ok()) {
    // A signed token naming no caller opsteam knows how to treat.
    const std::string field = ErrorField(identity.status());
    return Unauthenticated(kTokenInvalid, absl::StrCat("token claim ", identity.status().message()),
                           {{"claim", field}});
  }
  return identity;
}

}  // namespace opsteam::auth
