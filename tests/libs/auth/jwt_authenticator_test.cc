#include "libs/auth/jwt_authenticator.h"

#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/status/status.h"
#include "libs/testing/process.h"
#include "tests/libs/auth/test_keys.h"

namespace opsteam::auth {
namespace {

using ::testing::HasSubstr;

const absl::Time kNow = absl::FromUnixSeconds(1767225600);

class JwtAuthenticatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::string> dir = opsteam::testing::MakeTempDir("jwt-auth-test");
    ASSERT_TRUE(dir.ok()) << dir.status();
    dir_ = *dir;
  }
  void TearDown() override { opsteam::testing::RemoveTree(dir_); }

  std::string Write(const std::string& name, const std::string& content) {
    const std::string path = absl::StrCat(dir_, "/", name);
    std::ofstream(path, std::ios::binary) << content;
    return path;
  }

  JwtConfig Config() {
    JwtConfig config;
    config.clock = [] { return kNow; };
    return config;
  }

  static std::string Token(const JwtSigner& signer, const std::string& subject, std::vector<std::string> roles) {
    TokenClaims claims;
    claims.subject = subject;
    claims.roles = std::move(roles);
    claims.issued_at = kNow;
    claims.expires = kNow + absl::Hours(1);
    absl::StatusOr<std::string> token = signer.Sign(claims);
    EXPECT_TRUE(token.ok()) << token.status();
    return token.ok() ? *token : "";
  }

  std::string dir_;
};

TEST_F(JwtAuthenticatorTest, ASecretFileAuthenticatesMembersAndServices) {
  const std::string secret = testing::NewSecret();
  JwtConfig config = Config();
  // Written with a trailing newline, as `echo` or an editor would.
  config.hs256_secret_file = Write("jwt_secret", secret + "\n");
  auto authenticator = JwtAuthenticator::FromConfig(config);
  ASSERT_TRUE(authenticator.ok()) << authenticator.status();
  absl::StatusOr<std::string> read = ReadHs256Secret(config.hs256_secret_file);
  ASSERT_TRUE(read.ok()) << read.status();
  absl::StatusOr<JwtSigner> signer = JwtSigner::Hs256(*read);
  ASSERT_TRUE(signer.ok()) << signer.status();

  absl::StatusOr<Identity> admin = (*authenticator)->Authenticate(Token(*signer, "members/m-sun-haoran", {"administrator"}));
  ASSERT_TRUE(admin.ok()) << admin.status();
  EXPECT_EQ(admin->subject, "members/m-sun-haoran");
  EXPECT_EQ(admin->member_id, "m-sun-haoran");
  EXPECT_TRUE(admin->administrator);
  EXPECT_FALSE(admin->service);

  absl::StatusOr<Identity> service = (*authenticator)->Authenticate(Token(*signer, "services/tasks", {"service"}));
  ASSERT_TRUE(service.ok()) << service.status();
  EXPECT_TRUE(service->service);
  EXPECT_FALSE(service->administrator);
  EXPECT_EQ(service->member_id, "");
}

TEST_F(JwtAuthenticatorTest, ASignedTokenNamingNoKnownCallerIsInvalid) {
  JwtConfig config = Config();
  const std::string secret = testing::NewSecret();
  config.hs256_secret_file = Write("jwt_secret", secret);
  auto authenticator = JwtAuthenticator::FromConfig(config);
  ASSERT_TRUE(authenticator.ok()) << authenticator.status();
  absl::StatusOr<JwtSigner> signer = JwtSigner::Hs256(secret);
  ASSERT_TRUE(signer.ok());
  absl::StatusOr<Identity> user = (*authenticator)->Authenticate(Token(*signer, "user:zhang", {}));
  EXPECT_EQ(user.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(ErrorReason(user.status()), "TOKEN_INVALID");
  EXPECT_THAT(std::string(user.status().message()), HasSubstr("token claim sub: must be \"members/{member}\""));
  absl::StatusOr<Identity> member_service = (*authenticator)->Authenticate(Token(*signer, "members/m-li", {"service"}));
  EXPECT_THAT(std::string(member_service.status().message()), HasSubstr("roles"));
}

TEST_F(JwtAuthenticatorTest, PublicKeyFilesAreNamedByTheirStem) {
  const testing::KeyPair rsa = testing::NewRsaKey();
  const testing::KeyPair ec = testing::NewEcKey();
  JwtConfig config = Config();
  config.public_key_files = {Write("org-2026.pem", rsa.public_pem), Write("edge.pem", ec.public_pem)};
  auto authenticator = JwtAuthenticator::FromConfig(config);
  ASSERT_TRUE(authenticator.ok()) << authenticator.status();
  absl::StatusOr<JwtSigner> rsa_signer = JwtSigner::FromPrivateKeyPem(rsa.private_pem, "org-2026");
  absl::StatusOr<JwtSigner> ec_signer = JwtSigner::FromPrivateKeyPem(ec.private_pem, "edge");
  ASSERT_TRUE(rsa_signer.ok() && ec_signer.ok());
  EXPECT_TRUE((*authenticator)->Authenticate(Token(*rsa_signer, "services/kpi", {"service"})).ok());
  EXPECT_TRUE((*authenticator)->Authenticate(Token(*ec_signer, "members/m-li", {})).ok());
  // The EC key's kid on an RSA-signed token: refused.
  absl::StatusOr<JwtSigner> confused = JwtSigner::FromPrivateKeyPem(rsa.private_pem, "edge");
  ASSERT_TRUE(confused.ok());
  absl::StatusOr<Identity> refused = (*authenticator)->Authenticate(Token(*confused, "members/m-li", {}));
  EXPECT_THAT(std::string(refused.status().message()), HasSubstr("does not match the ES256 key \"edge\""));
}

TEST_F(JwtAuthenticatorTest, ConfigurationMistakesNameTheFlagAndFile) {
  JwtConfig none = Config();
  auto no_keys = JwtAuthenticator::FromConfig(none);
  EXPECT_EQ(no_keys.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(no_keys.status().message()),
              HasSubstr("no token key configured: every call is authenticated, so set --jwt_hs256_secret_file"));

  JwtConfig missing = Config();
  missing.hs256_secret_file = dir_ + "/absent";
  EXPECT_THAT(std::string(JwtAuthenticator::FromConfig(missing).status().message()),
              HasSubstr(absl::StrCat("--jwt_hs256_secret_file ", dir_, "/absent: cannot read")));

  JwtConfig short_secret = Config();
  short_secret.hs256_secret_file = Write("short", "secret\n");
  EXPECT_THAT(std::string(JwtAuthenticator::FromConfig(short_secret).status().message()),
              HasSubstr("short: HS256 secret has 6 bytes; at least 32 are needed"));

  JwtConfig bad_pem = Config();
  bad_pem.public_key_files = {Write("broken.pem", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")};
  EXPECT_THAT(std::string(JwtAuthenticator::FromConfig(bad_pem).status().message()),
              HasSubstr("--jwt_public_keys " + dir_ + "/broken.pem: not a \"PUBLIC KEY\" PEM"));

  JwtConfig same_stem = Config();
  const testing::KeyPair ec = testing::NewEcKey();
  same_stem.public_key_files = {Write("k.pem", ec.public_pem), Write("k.pub", ec.public_pem)};
  EXPECT_THAT(std::string(JwtAuthenticator::FromConfig(same_stem).status().message()),
              HasSubstr("two keys have the key id \"k\""));
}

}  // namespace
}  // namespace opsteam::auth
