#include "libs/auth/jwt.h"

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/auth/base64url.h"
#include "libs/status/status.h"
#include "tests/libs/auth/test_keys.h"

namespace opsteam::auth {
namespace {

using ::opsteam::auth::testing::KeyPair;
using ::testing::HasSubstr;

const absl::Time kNow = absl::FromUnixSeconds(1767225600);  // 2026-01-01T00:00:00Z

// Generated once per program: RSA key generation takes a while.
const KeyPair& Rsa() {
  static const KeyPair* key = new KeyPair(testing::NewRsaKey());
  return *key;
}
const KeyPair& OtherRsa() {
  static const KeyPair* key = new KeyPair(testing::NewRsaKey());
  return *key;
}
const KeyPair& Ec() {
  static const KeyPair* key = new KeyPair(testing::NewEcKey());
  return *key;
}
const KeyPair& OtherEc() {
  static const KeyPair* key = new KeyPair(testing::NewEcKey());
  return *key;
}

TokenClaims Claims(const std::string& subject = "members/m-zhang-wei") {
  TokenClaims c;
  c.subject = subject;
  c.roles = {"administrator"};
  c.issued_at = kNow - absl::Minutes(1);
  c.expires = kNow + absl::Hours(1);
  return c;
}

VerifierOptions Options() {
  VerifierOptions o;
  o.clock = [] { return kNow; };
  return o;
}

JwtVerifier Verifier(std::vector<VerificationKey> keys, VerifierOptions options = Options()) {
  absl::StatusOr<JwtVerifier> v = JwtVerifier::Create(std::move(options), std::move(keys));
  EXPECT_TRUE(v.ok()) << v.status();
  return *std::move(v);
}

VerificationKey Key(absl::StatusOr<VerificationKey> key) {
  EXPECT_TRUE(key.ok()) << key.status();
  return *std::move(key);
}

JwtSigner Signer(absl::StatusOr<JwtSigner> signer) {
  EXPECT_TRUE(signer.ok()) << signer.status();
  return *std::move(signer);
}

std::string Sign(const JwtSigner& signer, const TokenClaims& claims) {
  absl::StatusOr<std::string> token = signer.Sign(claims);
  EXPECT_TRUE(token.ok()) << token.status();
  return token.ok() ? *token : "";
}

const std::string& Secret() {
  static const std::string* secret = new std::string(testing::NewSecret());
  return *secret;
}

// Expects `token` to be refused as UNAUTHENTICATED with `reason` and a message containing
// `says`, which never quotes the token.
void ExpectRefused(const JwtVerifier& verifier, const std::string& token, const std::string& reason,
                   const std::string& says) {
  absl::StatusOr<auth::Claims> claims = verifier.Verify(token);
  ASSERT_FALSE(claims.ok()) << "accepted: " << token;
  EXPECT_EQ(claims.status().code(), absl::StatusCode::kUnauthenticated) << claims.status();
  EXPECT_EQ(ErrorReason(claims.status()), reason) << claims.status();
  EXPECT_THAT(std::string(claims.status().message()), HasSubstr(says));
  if (token.size() > 8) {
    EXPECT_FALSE(absl::StrContains(claims.status().message(), token));
  }
  for (absl::string_view part : absl::StrSplit(token, '.')) {
    if (part.size() > 16) {
      EXPECT_FALSE(absl::StrContains(claims.status().message(), part)) << part;
    }
  }
}

// "header.payload.signature" with each part as given (already encoded).
std::string Join(absl::string_view header, absl::string_view payload, absl::string_view signature) {
  return absl::StrCat(header, ".", payload, ".", signature);
}

std::vector<std::string> Parts(const std::string& token) { return absl::StrSplit(token, '.'); }

TEST(JwtTest, Hs256TokensVerifyAndCarryTheirClaims) {
  JwtVerifier verifier = Verifier({Key(VerificationKey::Hs256(Secret()))});
  TokenClaims claims = Claims();
  claims.roles = {"administrator", "hr"};
  const std::string token = Sign(Signer(JwtSigner::Hs256(Secret())), claims);
  absl::StatusOr<auth::Claims> got = verifier.Verify(token);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->subject, "members/m-zhang-wei");
  EXPECT_EQ(got->issuer, "opsteam");
  EXPECT_EQ(got->audiences, std::vector<std::string>{"opsteam"});
  EXPECT_EQ(got->roles, (std::vector<std::string>{"administrator", "hr"}));
  EXPECT_EQ(got->expires, kNow + absl::Hours(1));
  EXPECT_EQ(got->issued_at, kNow - absl::Minutes(1));
  EXPECT_FALSE(got->not_before.has_value());
  EXPECT_EQ(got->all.fields().at("sub").string_value(), "members/m-zhang-wei");
  // The header says what signed it.
  EXPECT_THAT(*Base64UrlDecode(Parts(token)[0]), HasSubstr("\"alg\":\"HS256\""));
}

TEST(JwtTest, Rs256TokensVerifyWithThePublicKey) {
  JwtVerifier verifier = Verifier({Key(VerificationKey::FromPublicKeyPem(Rsa().public_pem))});
  JwtSigner signer = Signer(JwtSigner::FromPrivateKeyPem(Rsa().private_pem));
  EXPECT_EQ(signer.algorithm(), Algorithm::kRs256);
  absl::StatusOr<auth::Claims> got = verifier.Verify(Sign(signer, Claims("services/tasks")));
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->subject, "services/tasks");
}

TEST(JwtTest, Es256TokensCarryRawSignaturesAndVerify) {
  JwtVerifier verifier = Verifier({Key(VerificationKey::FromPublicKeyPem(Ec().public_pem))});
  JwtSigner signer = Signer(JwtSigner::FromPrivateKeyPem(Ec().private_pem));
  EXPECT_EQ(signer.algorithm(), Algorithm::kEs256);
  const std::string token = Sign(signer, Claims());
  // R||S, 32 bytes each (not DER).
  EXPECT_EQ(Base64UrlDecode(Parts(token)[2])->size(), 64u);
  absl::StatusOr<auth::Claims> got = verifier.Verify(token);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->subject, "members/m-zhang-wei");
}

TEST(JwtTest, ExpiryAndNotBeforeHonourTheLeeway) {
  JwtSigner signer = Signer(JwtSigner::Hs256(Secret()));
  JwtVerifier verifier = Verifier({Key(VerificationKey::Hs256(Secret()))});

  TokenClaims expired = Claims();
  expired.issued_at = kNow - absl::Hours(2);
  expired.expires = kNow - absl::Seconds(61);
  ExpectRefused(verifier, Sign(signer, expired), "TOKEN_EXPIRED", "token expired at 2025-12-31T23:58:59Z");
  expired.expires = kNow - absl::Seconds(59);  // within the default 60 s
  EXPECT_TRUE(verifier.Verify(Sign(signer, expired)).ok());

  TokenClaims early = Claims();
  early.not_before = kNow + absl::Minutes(5);
  ExpectRefused(verifier, Sign(signer, early), "TOKEN_INVALID", "not valid before 2026-01-01T00:05:00Z");
  early.not_before = kNow + absl::Seconds(30);
  EXPECT_TRUE(verifier.Verify(Sign(signer, early)).ok());

  VerifierOptions strict = Options();
  strict.leeway = absl::ZeroDuration();
  JwtVerifier strict_verifier = Verifier({Key(VerificationKey::Hs256(Secret()))}, strict);
  ExpectRefused(strict_verifier, Sign(signer, expired), "TOKEN_EXPIRED", "expired");
}

TEST(JwtTest, IssuerAndAudienceMustMatch) {
  JwtSigner signer = Signer(JwtSigner::Hs256(Secret()));
  JwtVerifier verifier = Verifier({Key(VerificationKey::Hs256(Secret()))});

  TokenClaims other_issuer = Claims();
  other_issuer.issuer = "someone-else";
  ExpectRefused(verifier, Sign(signer, other_issuer), "TOKEN_INVALID", "claim \"iss\" is not the accepted issuer \"opsteam\"");

  TokenClaims other_audience = Claims();
  other_audience.audiences = {"kpi"};
  ExpectRefused(verifier, Sign(signer, other_audience), "TOKEN_INVALID", "claim \"aud\" does not name this audience");

  TokenClaims several = Claims();
  several.audiences = {"kpi", "opsteam"};  // sent as an array
  const std::string token = Sign(signer, several);
  EXPECT_THAT(*Base64UrlDecode(Parts(token)[1]), HasSubstr("\"aud\":[\"kpi\",\"opsteam\"]"));
  absl::StatusOr<auth::Claims> got = verifier.Verify(token);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->audiences, (std::vector<std::string>{"kpi", "opsteam"}));
  several.audiences = {"kpi", "tasks"};
  ExpectRefused(verifier, Sign(signer, several), "TOKEN_INVALID", "\"aud\"");
}

TEST(JwtTest, MissingOrMistypedClaimsAreNamed) {
  JwtSigner signer = Signer(JwtSigner::Hs256(Secret()));
  JwtVerifier verifier = Verifier({Key(VerificationKey::Hs256(Secret()))});
  auto token = [&](const std::string& json) {
    absl::StatusOr<std::string> t = signer.SignPayload(json);
    EXPECT_TRUE(t.ok()) << t.status();
    return *t;
  };
  const std::string base = R"("iss":"opsteam","aud":"opsteam","sub":"members/m-li")";
  EXPECT_TRUE(verifier.Verify(token(absl::StrCat("{", base, R"(,"exp":1767229200})"))).ok());
  ExpectRefused(verifier, token(absl::StrCat("{", base, "}")), "TOKEN_INVALID", "\"exp\" is missing");
  ExpectRefused(verifier, token(absl::StrCat("{", base, R"(,"exp":"tomorrow"})")), "TOKEN_INVALID",
                "\"exp\" must be a number");
  ExpectRefused(verifier, token(R"({"iss":"opsteam","aud":"opsteam","exp":1767229200})"), "TOKEN_INVALID",
                "\"sub\" is missing");
  ExpectRefused(verifier, token(absl::StrCat("{", base, R"(,"exp":1767229200,"roles":"administrator"})")),
                "TOKEN_INVALID", "\"roles\" must be an array of strings");
  ExpectRefused(verifier, token(R"({"aud":"opsteam","sub":"members/m-li","exp":1767229200})"), "TOKEN_INVALID",
                "\"iss\"");
  ExpectRefused(verifier, token(R"({"iss":"opsteam","aud":7,"sub":"members/m-li","exp":1767229200})"),
                "TOKEN_INVALID", "\"aud\" must be a string or an array of strings");
}

TEST(JwtTest, TamperedTokensDoNotVerify) {
  JwtSigner signer = Signer(JwtSigner::Hs256(Secret()));
  JwtVerifier verifier = Verifier({Key(VerificationKey::Hs256(Secret()))});
  TokenClaims plain = Claims("members/m-li");
  plain.roles = {};
  std::vector<std::string> parts = Parts(Sign(signer, plain));
  // The payload of another token (one naming an administrator), under the first signature.
  const std::string admin_payload = Parts(Sign(signer, Claims("members/m-li")))[1];
  ASSERT_NE(admin_payload, parts[1]);
  ExpectRefused(verifier, Join(parts[0], admin_payload, parts[2]), "TOKEN_INVALID", "signature does not verify");
  // One flipped signature byte.
  std::string signature = *Base64UrlDecode(parts[2]);
  signature[5] = static_cast<char>(signature[5] ^ 0x01);
  ExpectRefused(verifier, Join(parts[0], parts[1], Base64UrlEncode(signature)), "TOKEN_INVALID",
                "signature does not verify");
  ExpectRefused(verifier, Join(parts[0], parts[1], ""), "TOKEN_INVALID", "signature does not verify");
}

TEST(JwtTest, TokensOfAnotherKeyDoNotVerify) {
  const TokenClaims claims = Claims();
  JwtVerifier hs = Verifier({Key(VerificationKey::Hs256(Secret()))});
  ExpectRefused(hs, Sign(Signer(JwtSigner::Hs256(testing::NewSecret())), claims), "TOKEN_INVALID",
                "signature does not verify");
  JwtVerifier rs = Verifier({Key(VerificationKey::FromPublicKeyPem(Rsa().public_pem))});
  ExpectRefused(rs, Sign(Signer(JwtSigner::FromPrivateKeyPem(OtherRsa().private_pem)), claims), "TOKEN_INVALID",
                "signature does not verify");
  JwtVerifier es = Verifier({Key(VerificationKey::FromPublicKeyPem(Ec().public_pem))});
  ExpectRefused(es, Sign(Signer(JwtSigner::FromPrivateKeyPem(OtherEc().private_pem)), claims), "TOKEN_INVALID",
                "signature does not verify");
  // An ES256 token where only an RS256 key is configured.
  ExpectRefused(rs, Sign(Signer(JwtSigner::FromPrivateKeyPem(Ec().private_pem)), claims), "TOKEN_INVALID",
                "alg \"ES256\" is not accepted; accepted: RS256");
}

TEST(JwtTest, UnsignedTokensAreRefused) {
  JwtVerifier verifier = Verifier({Key(VerificationKey::Hs256(Secret()))});
  const std::string payload = Parts(Sign(Signer(JwtSigner::Hs256(Secret())), Claims()))[1];
  for (const char* header : {R"({"alg":"none","typ":"JWT"})", R"({"alg":"none"})"}) {
    ExpectRefused(verifier, Join(Base64UrlEncode(header), payload, ""), "TOKEN_INVALID", "unsigned (alg \"none\")");
  }
  ExpectRefused(verifier, Join(Base64UrlEncode(R"({"alg":"NONE"})"), payload, ""), "TOKEN_INVALID",
                "alg \"NONE\" is not accepted");
  ExpectRefused(verifier, Join(Base64UrlEncode(R"({"typ":"JWT"})"), payload, ""), "TOKEN_INVALID",
                "header has no \"alg\"");
}

TEST(JwtTest, AnHmacTokenOverTheRsaPublicKeyIsRefused) {
  // The classic confusion: a verifier that fed its RSA public key to HMAC would accept this.
  JwtVerifier verifier = Verifier({Key(VerificationKey::FromPublicKeyPem(Rsa().public_pem))});
  JwtSigner forger = Signer(JwtSigner::Hs256(Rsa().public_pem));
  ExpectRefused(verifier, Sign(forger, Claims()), "TOKEN_INVALID", "alg \"HS256\" is not accepted; accepted: RS256");
  // Also when the token names the RSA key by its kid.
  JwtVerifier with_kid = Verifier({Key(VerificationKey::FromPublicKeyPem(Rsa().public_pem, "org-2026"))});
  JwtSigner kid_forger = Signer(JwtSigner::Hs256(Rsa().public_pem, "org-2026"));
  ExpectRefused(with_kid, Sign(kid_forger, Claims()), "TOKEN_INVALID",
                "alg \"HS256\" does not match the RS256 key \"org-2026\"");
}

TEST(JwtTest, MalformedTokensSayWhatIsWrong) {
  JwtSigner signer = Signer(JwtSigner::Hs256(Secret()));
  JwtVerifier verifier = Verifier({Key(VerificationKey::Hs256(Secret()))});
  const std::vector<std::string> parts = Parts(Sign(signer, Claims()));
  ExpectRefused(verifier, "", "TOKEN_INVALID", "token is empty");
  ExpectRefused(verifier, "not-a-jwt", "TOKEN_INVALID", "three base64url parts");
  ExpectRefused(verifier, absl::StrCat(parts[0], ".", parts[1]), "TOKEN_INVALID", "three base64url parts");
  ExpectRefused(verifier, Join(parts[0], parts[1], parts[2]) + ".x", "TOKEN_INVALID", "three base64url parts");
  ExpectRefused(verifier, Join(parts[0] + "=", parts[1], parts[2]), "TOKEN_INVALID", "header is not base64url");
  ExpectRefused(verifier, Join("e30*", parts[1], parts[2]), "TOKEN_INVALID", "header is not base64url");
  ExpectRefused(verifier, Join(Base64UrlEncode("{\"alg\":"), parts[1], parts[2]), "TOKEN_INVALID",
                "header is not a JSON object");
  ExpectRefused(verifier, Join(Base64UrlEncode("[\"HS256\"]"), parts[1], parts[2]), "TOKEN_INVALID",
                "header is not a JSON object");
  ExpectRefused(verifier, Join(parts[0], parts[1], parts[2] + "!"), "TOKEN_INVALID", "signature is not base64url");
  ExpectRefused(verifier, Join(Base64UrlEncode(R"({"alg":"HS256","crit":["exp"]})"), parts[1], parts[2]),
                "TOKEN_INVALID", "critical parameters");
  ExpectRefused(verifier, std::string(9000, 'a'), "TOKEN_INVALID", "longer than 8192 bytes");
  // Correctly signed, but the claims are no JSON object.
  for (const char* payload : {"not json", "[1,2]", ""}) {
    absl::StatusOr<std::string> token = signer.SignPayload(payload);
    ASSERT_TRUE(token.ok()) << token.status();
    ExpectRefused(verifier, *token, "TOKEN_INVALID", "claims are not a JSON object");
  }
}

TEST(JwtTest, TheKidSelectsAmongRotatedKeys) {
  JwtVerifier verifier = Verifier({Key(VerificationKey::FromPublicKeyPem(Rsa().public_pem, "2025")),
                                   Key(VerificationKey::FromPublicKeyPem(OtherRsa().public_pem, "2026")),
                                   Key(VerificationKey::FromPublicKeyPem(Ec().public_pem, "ec"))});
  JwtSigner old_key = Signer(JwtSigner::FromPrivateKeyPem(Rsa().private_pem, "2025"));
  JwtSigner new_key = Signer(JwtSigner::FromPrivateKeyPem(OtherRsa().private_pem, "2026"));
  EXPECT_TRUE(verifier.Verify(Sign(old_key, Claims())).ok());
  EXPECT_TRUE(verifier.Verify(Sign(new_key, Claims())).ok());
  EXPECT_TRUE(verifier.Verify(Sign(Signer(JwtSigner::FromPrivateKeyPem(Ec().private_pem, "ec")), Claims())).ok());
  // Signed with the 2026 key but naming the 2025 one: that key does not verify it.
  JwtSigner mislabelled = Signer(JwtSigner::FromPrivateKeyPem(OtherRsa().private_pem, "2025"));
  ExpectRefused(verifier, Sign(mislabelled, Claims()), "TOKEN_INVALID", "signature does not verify");
  JwtSigner unknown = Signer(JwtSigner::FromPrivateKeyPem(OtherRsa().private_pem, "2027"));
  ExpectRefused(verifier, Sign(unknown, Claims()), "TOKEN_INVALID",
                "key id \"2027\" with alg \"RS256\" matches no configured key");
  // Without a kid every key of the algorithm is tried.
  EXPECT_TRUE(verifier.Verify(Sign(Signer(JwtSigner::FromPrivateKeyPem(OtherRsa().private_pem)), Claims())).ok());
}

TEST(JwtTest, TheSharedSecretAnswersTokensWhateverTheirKid) {
  // A secret has no kid; issuers that always send one still verify against it.
  JwtVerifier verifier = Verifier({Key(VerificationKey::Hs256(Secret())),
                                   Key(VerificationKey::FromPublicKeyPem(Rsa().public_pem, "rsa"))});
  EXPECT_TRUE(verifier.Verify(Sign(Signer(JwtSigner::Hs256(Secret(), "local")), Claims())).ok());
  EXPECT_TRUE(verifier.Verify(Sign(Signer(JwtSigner::Hs256(Secret())), Claims())).ok());
}

TEST(JwtTest, KeysAreChecked) {
  EXPECT_THAT(std::string(VerificationKey::Hs256("short").status().message()),
              HasSubstr("HS256 secret has 5 bytes; at least 32 are needed"));
  EXPECT_THAT(std::string(JwtSigner::Hs256("short").status().message()), HasSubstr("at least 32"));
  EXPECT_THAT(std::string(VerificationKey::FromPublicKeyPem("garbage").status().message()),
              HasSubstr("not a \"PUBLIC KEY\" PEM"));
  // A private key where the public one belongs.
  EXPECT_FALSE(VerificationKey::FromPublicKeyPem(Rsa().private_pem).ok());
  const KeyPair small = testing::NewRsaKey(1024);
  EXPECT_THAT(std::string(VerificationKey::FromPublicKeyPem(small.public_pem).status().message()),
              HasSubstr("RSA key has 1024 bits; RS256 needs at least 2048"));
  EXPECT_FALSE(JwtSigner::FromPrivateKeyPem(small.private_pem).ok());
  const KeyPair p384 = testing::NewEcKey("P-384");
  EXPECT_THAT(std::string(VerificationKey::FromPublicKeyPem(p384.public_pem).status().message()),
              HasSubstr("ES256 needs P-256"));
  EXPECT_THAT(std::string(JwtSigner::FromPrivateKeyPem("garbage").status().message()),
              HasSubstr("not a private-key PEM"));

  EXPECT_FALSE(JwtVerifier::Create(Options(), {}).ok());
  absl::StatusOr<JwtVerifier> twice =
      JwtVerifier::Create(Options(), {Key(VerificationKey::FromPublicKeyPem(Rsa().public_pem, "k")),
                                      Key(VerificationKey::FromPublicKeyPem(Ec().public_pem, "k"))});
  EXPECT_THAT(std::string(twice.status().message()), HasSubstr("two keys have the key id \"k\""));
}

}  // namespace
}  // namespace opsteam::auth
