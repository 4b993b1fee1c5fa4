#pragma once

// JSON Web Tokens (RFC 7519) in JWS compact form, signed with HS256 (a shared secret, for
// local runs), RS256 or ES256 (public keys, for production). Verification accepts a token
// only when its "alg" is the algorithm of a configured key: "none" and a token signed with
// HMAC over an RSA public key (algorithm confusion) never verify. The optional "kid" header
// picks one of several keys, so keys can be rotated.
//
// Errors are UNAUTHENTICATED with the ErrorInfo reason TOKEN_INVALID or TOKEN_EXPIRED and a
// message saying what is wrong; they never contain the token.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/struct.pb.h"
#include "openssl/types.h"

namespace opsteam::auth {

enum class Algorithm { kHs256, kRs256, kEs256 };
// "HS256", "RS256", "ES256".
absl::string_view AlgorithmName(Algorithm algorithm);

inline constexpr char kTokenInvalid[] = "TOKEN_INVALID";
inline constexpr char kTokenExpired[] = "TOKEN_EXPIRED";

// A key that checks signatures of one algorithm. Cheap to copy (the key is shared).
class VerificationKey {
 public:
  // HS256 with a shared secret of at least 32 bytes.
  static absl::StatusOr<VerificationKey> Hs256(absl::string_view secret, std::string kid = "");
  // RS256 (an RSA key of at least 2048 bits) or ES256 (an EC key on P-256), from a
  // "-----BEGIN PUBLIC KEY-----" PEM (`openssl pkey -pubout`).
  static absl::StatusOr<VerificationKey> FromPublicKeyPem(absl::string_view pem, std::string kid = "");

  Algorithm algorithm() const { return algorithm_; }
  const std::string& kid() const { return kid_; }
  // Whether `signature` (as carried in a JWS: raw R||S for ES256) signs `input`.
  bool Verify(absl::string_view input, absl::string_view signature) const;

 private:
  VerificationKey(Algorithm algorithm, std::string kid) : algorithm_(algorithm), kid_(std::move(kid)) {}

  Algorithm algorithm_;
  std::string kid_;
  std::string secret_;              // HS256
  std::shared_ptr<EVP_PKEY> key_;   // RS256, ES256
};

struct VerifierOptions {
  // Required "iss" claim.
  std::string issuer = "opsteam";
  // The "aud" claim (a string or an array) must contain this.
  std::string audience = "opsteam";
  // Allowed clock difference with the issuer, for "exp" and "nbf".
  absl::Duration leeway = absl::Seconds(60);
  // The current time; absl::Now when empty (tests inject a fixed clock).
  std::function<absl::Time()> clock;
};

// The claims of a verified token.
struct Claims {
  std::string issuer;
  std::string subject;
  std::vector<std::string> audiences;
  // The "roles" claim; empty when absent.
  std::vector<std::string> roles;
  absl::Time expires;
  std::optional<absl::Time> not_before;
  std::optional<absl::Time> issued_at;
  // Every claim as sent, including those above.
  google::protobuf::Struct all;
};

class JwtVerifier {
 public:
  // At least one key; kids, where given, are unique.
  static absl::StatusOr<JwtVerifier> Create(VerifierOptions options, std::vector<VerificationKey> keys);

  // The claims of `token` when it is well formed, signed by a configured key, issued by the
  // issuer for the audience, not expired and already valid ("sub" present and non-empty).
  absl::StatusOr<Claims> Verify(absl::string_view token) const;

 private:
  JwtVerifier(VerifierOptions options, std::vector<VerificationKey> keys)
      : options_(std::move(options)), keys_(std::move(keys)) {}

  VerifierOptions options_;
  std::vector<VerificationKey> keys_;
};

// What a minted token says.
struct TokenClaims {
  std::string issuer = "opsteam";
  std::string subject;
  // Sent as a string when there is one, else as an array.
  std::vector<std::string> audiences = {"opsteam"};
  std::vector<std::string> roles;
  absl::Time issued_at;
  absl::Time expires;
  std::optional<absl::Time> not_before;
};

// Signs tokens: HS256 with a shared secret, RS256 or ES256 with a private key. Used by the
// tests, `opsteam token` and `scripts/dev up`; production tokens come from the identity
// provider.
class JwtSigner {
 public:
  static absl::StatusOr<JwtSigner> Hs256(absl::string_view secret, std::string kid = "");
  // RS256 for an RSA key (2048 bits or more), ES256 for an EC P-256 key, from a PKCS#8 or
  // traditional private-key PEM.
  static absl::StatusOr<JwtSigner> FromPrivateKeyPem(absl::string_view pem, std::string kid = "");

  Algorithm algorithm() const { return algorithm_; }
  absl::StatusOr<std::string> Sign(const TokenClaims& claims) const;
  // A token whose payload is exactly `payload` (normally JSON text), with the header
  // {"alg", "typ": "JWT", "kid" when set}.
  absl::StatusOr<std::string> SignPayload(absl::string_view payload) const;
  // The signature over `input` as a JWS carries it (raw R||S for ES256).
  absl::StatusOr<std::string> Signature(absl::string_view input) const;

 private:
  JwtSigner(Algorithm algorithm, std::string kid) : algorithm_(algorithm), kid_(std::move(kid)) {}

  Algorithm algorithm_;
  std::string kid_;
  std::string secret_;
  std::shared_ptr<EVP_PKEY> key_;
};

}  // namespace opsteam::auth
