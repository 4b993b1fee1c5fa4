#include "libs/auth/jwt.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "google/protobuf/util/json_util.h"
#include "libs/auth/base64url.h"
#include "libs/status/status.h"
#include "openssl/bio.h"
#include "openssl/bn.h"
#include "openssl/crypto.h"
#include "openssl/ec.h"
#include "openssl/err.h"
#include "openssl/evp.h"
#include "openssl/hmac.h"
#include "openssl/pem.h"

namespace opsteam::auth {
namespace {

using google::protobuf::Struct;
using google::protobuf::Value;

// Longer than any token an identity provider issues; gRPC's metadata limit is 8 KiB too.
constexpr size_t kMaxTokenBytes = 8192;
constexpr size_t kMinSecretBytes = 32;
constexpr int kMinRsaBits = 2048;
constexpr size_t kEs256CoordinateBytes = 32;

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
struct EcdsaSigFree {
  void operator()(ECDSA_SIG* s) const { ECDSA_SIG_free(s); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, EcdsaSigFree>;

std::shared_ptr<EVP_PKEY> Share(EVP_PKEY* key) { return std::shared_ptr<EVP_PKEY>(key, EVP_PKEY_free); }

// The reason of the last OpenSSL error, for messages about configured keys (never tokens).
std::string OpenSslError() {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(code, buf, sizeof(buf));
  return buf;
}

BioPtr MemoryBio(absl::string_view data) {
  return BioPtr(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
}

// The algorithm a public or private key signs with, or an error naming what is wrong with it.
absl::StatusOr<Algorithm> AlgorithmOfKey(EVP_PKEY* key) {
  switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_RSA:
      if (EVP_PKEY_get_bits(key) < kMinRsaBits) {
        return absl::InvalidArgumentError(absl::StrCat("RSA key has ", EVP_PKEY_get_bits(key),
                                                       " bits; RS256 needs at least ", kMinRsaBits));
      }
      return Algorithm::kRs256;
    case EVP_PKEY_EC: {
      char group[64] = {0};
      size_t len = 0;
      if (EVP_PKEY_get_group_name(key, group, sizeof(group), &len) != 1 ||
          (std::strcmp(group, "prime256v1") != 0 && std::strcmp(group, "P-256") != 0)) {
        return absl::InvalidArgumentError(
            absl::StrCat("EC key is on curve \"", group, "\"; ES256 needs P-256 (prime256v1)"));
      }
      return Algorithm::kEs256;
    }
    default:
      return absl::InvalidArgumentError("key is neither RSA (RS256) nor EC P-256 (ES256)");
  }
}

std::string Sha256Hmac(absl::string_view secret, absl::string_view input) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len);
  return std::string(reinterpret_cast<const char*>(mac), len);
}

// JWS carries an ES256 signature as the two 32-byte coordinates; OpenSSL wants DER.
std::optional<std::string> RawEcdsaToDer(absl::string_view raw) {
  if (raw.size() != 2 * kEs256CoordinateBytes) return std::nullopt;
  EcdsaSigPtr sig(ECDSA_SIG_new());
  BIGNUM* r = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()), kEs256CoordinateBytes, nullptr);
  BIGNUM* s = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()) + kEs256CoordinateBytes,
                        kEs256CoordinateBytes, nullptr);
  if (!sig || !r || !s || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return std::nullopt;
  }
  const int len = i2d_ECDSA_SIG(sig.get(), nullptr);
  if (len <= 0) return std::nullopt;
  std::string der(static_cast<size_t>(len), '\0');
  unsigned char* out = reinterpret_cast<unsigned char*>(der.data());
  i2d_ECDSA_SIG(sig.get(), &out);
  return der;
}

std::optional<std::string> DerEcdsaToRaw(absl::string_view der) {
  const unsigned char* in = reinterpret_cast<const unsigned char*>(der.data());
  EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &in, static_cast<long>(der.size())));
  if (!sig) return std::nullopt;
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig.get(), &r, &s);
  std::string raw(2 * kEs256CoordinateBytes, '\0');
  unsigned char* out = reinterpret_cast<unsigned char*>(raw.data());
  if (BN_bn2binpad(r, out, kEs256CoordinateBytes) < 0 ||
      BN_bn2binpad(s, out + kEs256CoordinateBytes, kEs256CoordinateBytes) < 0) {
    return std::nullopt;
  }
  return raw;
}

absl::Status Invalid(absl::string_view description, Metadata metadata = {}) {
  return Unauthenticated(kTokenInvalid, description, std::move(metadata));
}

absl::Status InvalidClaim(absl::string_view claim, absl::string_view description) {
  return Invalid(absl::StrCat("token claim \"", claim, "\" ", description), {{"claim", std::string(claim)}});
}

// A header value quoted for a message: short and printable, whatever the sender put there.
std::string Quoted(absl::string_view text) {
  constexpr size_t kMax = 32;
  std::string out = absl::CHexEscape(text.substr(0, kMax));
  return absl::StrCat("\"", out, text.size() > kMax ? "...\"" : "\"");
}

std::optional<Struct> ParseJsonObject(absl::string_view json) {
  Struct out;
  if (!google::protobuf::util::JsonStringToMessage(std::string(json), &out).ok()) return std::nullopt;
  return out;
}

const Value* Field(const Struct& s, absl::string_view name) {
  auto it = s.fields().find(std::string(name));
  return it == s.fields().end() ? nullptr : &it->second;
}

// A NumericDate claim (seconds since the epoch, possibly fractional).
absl::StatusOr<std::optional<absl::Time>> TimeClaim(const Struct& claims, absl::string_view name) {
  const Value* v = Field(claims, name);
  if (v == nullptr) return std::optional<absl::Time>();
  // Within ±3000 years: anything else is not a date, and would overflow below.
  if (v->kind_case() != Value::kNumberValue || !std::isfinite(v->number_value()) ||
      std::fabs(v->number_value()) > 1e11) {
    return InvalidClaim(name, "must be a number of seconds since 1970-01-01T00:00:00Z");
  }
  return std::optional<absl::Time>(absl::FromUnixMicros(static_cast<int64_t>(v->number_value() * 1e6)));
}

absl::StatusOr<std::vector<std::string>> StringOrArrayClaim(const Struct& claims, absl::string_view name,
                                                            bool string_allowed) {
  std::vector<std::string> out;
  const Value* v = Field(claims, name);
  if (v == nullptr) return out;
  if (string_allowed && v->kind_case() == Value::kStringValue) {
    out.push_back(v->string_value());
    return out;
  }
  const char* want = string_allowed ? "must be a string or an array of strings" : "must be an array of strings";
  if (v->kind_case() != Value::kListValue) return InvalidClaim(name, want);
  for (const auto& item : v->list_value().values()) {
    if (item.kind_case() != Value::kStringValue) return InvalidClaim(name, want);
    out.push_back(item.string_value());
  }
  return out;
}

std::string Rfc3339(absl::Time t) { return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone()); }

std::optional<Algorithm> ParseAlgorithm(absl::string_view name) {
  if (name == "HS256") return Algorithm::kHs256;
  if (name == "RS256") return Algorithm::kRs256;
  if (name == "ES256") return Algorithm::kEs256;
  return std::nullopt;
}

}  // namespace

absl::string_view AlgorithmName(Algorithm algorithm) {
  switch (algorithm) {
    case Algorithm::kHs256:
      return "HS256";
    case Algorithm::kRs256:
      return "RS256";
    case Algorithm::kEs256:
      return "ES256";
  }
  return "?";
}

// ---- VerificationKey ---------------------------------------------------------------------

absl::StatusOr<VerificationKey> VerificationKey::Hs256(absl::string_view secret, std::string kid) {
  if (secret.size() < kMinSecretBytes) {
    return absl::InvalidArgumentError(absl::StrCat("HS256 secret has ", secret.size(), " bytes; at least ",
                                                   kMinSecretBytes, " are needed"));
  }
  VerificationKey key(Algorithm::kHs256, std::move(kid));
  key.secret_ = std::string(secret);
  return key;
}

absl::StatusOr<VerificationKey> VerificationKey::FromPublicKeyPem(absl::string_view pem, std::string kid) {
  BioPtr bio = MemoryBio(pem);
  EVP_PKEY* raw = bio ? PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr) : nullptr;
  if (raw == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("not a \"PUBLIC KEY\" PEM (", OpenSslError(), "); `openssl pkey -pubout` writes one"));
  }
  std::shared_ptr<EVP_PKEY> shared = Share(raw);
  absl::StatusOr<Algorithm> algorithm = AlgorithmOfKey(raw);
  if (!algorithm.ok()) return algorithm.status();
  VerificationKey key(*algorithm, std::move(kid));
  key.key_ = std::move(shared);
  return key;
}

bool VerificationKey::Verify(absl::string_view input, absl::string_view signature) const {
  if (algorithm_ == Algorithm::kHs256) {
    const std::string mac = Sha256Hmac(secret_, input);
    return signature.size() == mac.size() && CRYPTO_memcmp(signature.data(), mac.data(), mac.size()) == 0;
  }
  std::string der;
  if (algorithm_ == Algorithm::kEs256) {
    std::optional<std::string> converted = RawEcdsaToDer(signature);
    if (!converted) return false;
    der = std::move(*converted);
    signature = der;
  }
  MdCtxPtr ctx(EVP_MD_CTX_new());
  const bool ok = ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key_.get()) == 1 &&
                  EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                                   signature.size(), reinterpret_cast<const unsigned char*>(input.data()),
                                   input.size()) == 1;
  // A failed verification leaves errors queued on this thread; they mean nothing later.
  if (!ok) ERR_clear_error();
  return ok;
}

// ---- JwtVerifier ---------------------------------------------------------------------------

absl::StatusOr<JwtVerifier> JwtVerifier::Create(VerifierOptions options, std::vector<VerificationKey> keys) {
  if (keys.empty()) return absl::InvalidArgumentError("no verification key configured");
  if (options.issuer.empty()) return absl::InvalidArgumentError("issuer must not be empty");
  if (options.audience.empty()) return absl::InvalidArgumentError("audience must not be empty");
  if (options.leeway < absl::ZeroDuration()) return absl::InvalidArgumentError("leeway must not be negative");
  absl::flat_hash_set<std::string> kids;
  for (const auto& key : keys) {
    if (!key.kid().empty() && !kids.insert(key.kid()).second) {
      return absl::InvalidArgumentError(absl::StrCat("two keys have the key id \"", key.kid(), "\""));
    }
  }
  if (!options.clock) options.clock = [] { return absl::Now(); };
  return JwtVerifier(std::move(options), std::move(keys));
}

absl::StatusOr<Claims> JwtVerifier::Verify(absl::string_view token) const {
  if (token.empty()) return Invalid("token is empty");
  if (token.size() > kMaxTokenBytes) {
    return Invalid(absl::StrCat("token is longer than ", kMaxTokenBytes, " bytes"));
  }
  std::vector<absl::string_view> parts = absl::StrSplit(token, '.');
  if (parts.size() != 3) return Invalid("token is not a JWS: it must be three base64url parts joined by '.'");

  // The header: which algorithm and key.
  std::optional<std::string> header_json = Base64UrlDecode(parts[0]);
  if (!header_json) return Invalid("token header is not base64url");
  std::optional<Struct> header = ParseJsonObject(*header_json);
  if (!header) return Invalid("token header is not a JSON object");
  if (Field(*header, "crit") != nullptr) {
    return Invalid("token header has critical parameters (\"crit\") this server does not understand");
  }
  const Value* alg_value = Field(*header, "alg");
  if (alg_value == nullptr || alg_value->kind_case() != Value::kStringValue) {
    return Invalid("token header has no \"alg\" string");
  }
  const std::string& alg_name = alg_value->string_value();
  if (alg_name == "none") return Invalid("token is unsigned (alg \"none\"); only signed tokens are accepted");
  std::string kid;
  if (const Value* kid_value = Field(*header, "kid"); kid_value != nullptr) {
    if (kid_value->kind_case() != Value::kStringValue) return Invalid("token header \"kid\" is not a string");
    kid = kid_value->string_value();
  }
  // The key the kid names; without a kid, every key of the token's algorithm; a kid no key
  // has falls back to the keys configured without one (a shared secret has none).
  std::vector<const VerificationKey*> candidates;
  if (!kid.empty()) {
    for (const auto& key : keys_) {
      if (key.kid() == kid) candidates.push_back(&key);
    }
  }
  const std::optional<Algorithm> alg = ParseAlgorithm(alg_name);
  if (candidates.empty()) {
    for (const auto& key : keys_) {
      if ((kid.empty() || key.kid().empty()) && alg && key.algorithm() == *alg) candidates.push_back(&key);
    }
  }
  if (candidates.empty()) {
    std::vector<std::string> accepted;
    for (const auto& key : keys_) {
      accepted.push_back(key.kid().empty() ? std::string(AlgorithmName(key.algorithm()))
                                           : absl::StrCat(AlgorithmName(key.algorithm()), " (kid \"", key.kid(), "\")"));
    }
    if (!kid.empty()) {
      return Invalid(absl::StrCat("token key id ", Quoted(kid), " with alg ", Quoted(alg_name),
                                  " matches no configured key; accepted: ", absl::StrJoin(accepted, ", ")));
    }
    return Invalid(absl::StrCat("token alg ", Quoted(alg_name), " is not accepted; accepted: ",
                                absl::StrJoin(accepted, ", ")));
  }
  if (!alg || candidates.front()->algorithm() != *alg) {
    // The kid names a key of another algorithm: never verify with it (algorithm confusion).
    return Invalid(absl::StrCat("token alg ", Quoted(alg_name), " does not match the ",
                                AlgorithmName(candidates.front()->algorithm()), " key \"", kid, "\""));
  }

  // The signature, over the first two parts as sent.
  std::optional<std::string> signature = Base64UrlDecode(parts[2]);
  if (!signature) return Invalid("token signature is not base64url");
  const absl::string_view signing_input = token.substr(0, parts[0].size() + 1 + parts[1].size());
  bool verified = false;
  for (const VerificationKey* key : candidates) {
    if (key->Verify(signing_input, *signature)) {
      verified = true;
      break;
    }
  }
  if (!verified) return Invalid("token signature does not verify with the configured keys");

  // The claims: only now are they trustworthy enough to look at.
  std::optional<std::string> payload_json = Base64UrlDecode(parts[1]);
  if (!payload_json) return Invalid("token payload is not base64url");
  std::optional<Struct> payload = ParseJsonObject(*payload_json);
  if (!payload) return Invalid("token claims are not a JSON object");
  Claims claims;
  const Value* iss = Field(*payload, "iss");
  if (iss == nullptr || iss->kind_case() != Value::kStringValue || iss->string_value() != options_.issuer) {
    return InvalidClaim("iss", absl::StrCat("is not the accepted issuer \"", options_.issuer, "\""));
  }
  claims.issuer = iss->string_value();
  absl::StatusOr<std::vector<std::string>> audiences = StringOrArrayClaim(*payload, "aud", true);
  if (!audiences.ok()) return audiences.status();
  if (std::find(audiences->begin(), audiences->end(), options_.audience) == audiences->end()) {
    return InvalidClaim("aud", absl::StrCat("does not name this audience \"", options_.audience, "\""));
  }
  claims.audiences = std::move(*audiences);

  const absl::Time now = options_.clock();
  absl::StatusOr<std::optional<absl::Time>> exp = TimeClaim(*payload, "exp");
  if (!exp.ok()) return exp.status();
  if (!exp->has_value()) return InvalidClaim("exp", "is missing; tokens must expire");
  claims.expires = **exp;
  if (now > claims.expires + options_.leeway) {
    return Unauthenticated(kTokenExpired, absl::StrCat("token expired at ", Rfc3339(claims.expires)),
                           {{"expired", Rfc3339(claims.expires)}});
  }
  absl::StatusOr<std::optional<absl::Time>> nbf = TimeClaim(*payload, "nbf");
  if (!nbf.ok()) return nbf.status();
  claims.not_before = *nbf;
  if (claims.not_before && now + options_.leeway < *claims.not_before) {
    return InvalidClaim("nbf", absl::StrCat("says the token is not valid before ", Rfc3339(*claims.not_before)));
  }
  absl::StatusOr<std::optional<absl::Time>> iat = TimeClaim(*payload, "iat");
  if (!iat.ok()) return iat.status();
  claims.issued_at = *iat;

  const Value* sub = Field(*payload, "sub");
  if (sub == nullptr || sub->kind_case() != Value::kStringValue || sub->string_value().empty()) {
    return InvalidClaim("sub", "is missing; it names the caller");
  }
  claims.subject = sub->string_value();
  absl::StatusOr<std::vector<std::string>> roles = StringOrArrayClaim(*payload, "roles", false);
  if (!roles.ok()) return roles.status();
  claims.roles = std::move(*roles);
  claims.all = std::move(*payload);
  return claims;
}

// ---- JwtSigner -----------------------------------------------------------------------------

absl::StatusOr<JwtSigner> JwtSigner::Hs256(absl::string_view secret, std::string kid) {
  if (secret.size() < kMinSecretBytes) {
    return absl::InvalidArgumentError(absl::StrCat("HS256 secret has ", secret.size(), " bytes; at least ",
                                                   kMinSecretBytes, " are needed"));
  }
  JwtSigner signer(Algorithm::kHs256, std::move(kid));
  signer.secret_ = std::string(secret);
  return signer;
}

absl::StatusOr<JwtSigner> JwtSigner::FromPrivateKeyPem(absl::string_view pem, std::string kid) {
  BioPtr bio = MemoryBio(pem);
  EVP_PKEY* raw = bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr;
  if (raw == nullptr) return absl::InvalidArgumentError(absl::StrCat("not a private-key PEM (", OpenSslError(), ")"));
  std::shared_ptr<EVP_PKEY> shared = Share(raw);
  absl::StatusOr<Algorithm> algorithm = AlgorithmOfKey(raw);
  if (!algorithm.ok()) return algorithm.status();
  JwtSigner signer(*algorithm, std::move(kid));
  signer.key_ = std::move(shared);
  return signer;
}

absl::StatusOr<std::string> JwtSigner::Signature(absl::string_view input) const {
  if (algorithm_ == Algorithm::kHs256) return Sha256Hmac(secret_, input);
  MdCtxPtr ctx(EVP_MD_CTX_new());
  size_t len = 0;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key_.get()) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()),
                     input.size()) != 1) {
    return absl::InternalError(absl::StrCat("signing failed: ", OpenSslError()));
  }
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                     reinterpret_cast<const unsigned char*>(input.data()), input.size()) != 1) {
    return absl::InternalError(absl::StrCat("signing failed: ", OpenSslError()));
  }
  sig.resize(len);
  if (algorithm_ != Algorithm::kEs256) return sig;
  std::optional<std::string> raw = DerEcdsaToRaw(sig);
  if (!raw) return absl::InternalError("signing failed: OpenSSL returned a malformed ECDSA signature");
  return *raw;
}

absl::StatusOr<std::string> JwtSigner::SignPayload(absl::string_view payload) const {
  Struct header;
  (*header.mutable_fields())["alg"].set_string_value(std::string(AlgorithmName(algorithm_)));
  (*header.mutable_fields())["typ"].set_string_value("JWT");
  if (!kid_.empty()) (*header.mutable_fields())["kid"].set_string_value(kid_);
  std::string header_json;
  if (!google::protobuf::util::MessageToJsonString(header, &header_json).ok()) {
    return absl::InternalError("cannot write the token header");
  }
  std::string token = absl::StrCat(Base64UrlEncode(header_json), ".", Base64UrlEncode(payload));
  absl::StatusOr<std::string> signature = Signature(token);
  if (!signature.ok()) return signature.status();
  absl::StrAppend(&token, ".", Base64UrlEncode(*signature));
  return token;
}

absl::StatusOr<std::string> JwtSigner::Sign(const TokenClaims& claims) const {
  if (claims.subject.empty()) return absl::InvalidArgumentError("sub: is required");
  if (claims.expires <= claims.issued_at) return absl::InvalidArgumentError("exp: must be after iat");
  Struct payload;
  auto& fields = *payload.mutable_fields();
  fields["iss"].set_string_value(claims.issuer);
  fields["sub"].set_string_value(claims.subject);
  if (claims.audiences.size() == 1) {
    fields["aud"].set_string_value(claims.audiences.front());
  } else {
    auto* list = fields["aud"].mutable_list_value();
    for (const auto& a : claims.audiences) list->add_values()->set_string_value(a);
  }
  if (!claims.roles.empty()) {
    auto* list = fields["roles"].mutable_list_value();
    for (const auto& r : claims.roles) list->add_values()->set_string_value(r);
  }
  fields["iat"].set_number_value(static_cast<double>(absl::ToUnixSeconds(claims.issued_at)));
  fields["exp"].set_number_value(static_cast<double>(absl::ToUnixSeconds(claims.expires)));
  if (claims.not_before) {
    fields["nbf"].set_number_value(static_cast<double>(absl::ToUnixSeconds(*claims.not_before)));
  }
  std::string json;
  if (!google::protobuf::util::MessageToJsonString(payload, &json).ok()) {
    return absl::InternalError("cannot write the token claims");
  }
  return SignPayload(json);
}

}  // namespace opsteam::auth
