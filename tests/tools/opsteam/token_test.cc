// `opsteam token` mints what a local org-service accepts, and says which flag is wrong.

#include "tools/opsteam/token.h"

#include <fstream>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/auth/jwt_authenticator.h"
#include "libs/status/status.h"
#include "libs/testing/process.h"

namespace opsteam::cli {
namespace {

using ::testing::HasSubstr;

class TokenTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = opsteam::testing::MakeTempDir("opsteam-token-test");
    ASSERT_TRUE(dir.ok()) << dir.status();
    dir_ = *dir;
    secret_file_ = dir_ + "/jwt_secret";
    // As scripts/dev writes it: base64 text and a newline.
    std::ofstream(secret_file_) << "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldC1zZWNyZXQ=\n";
  }
  void TearDown() override { opsteam::testing::RemoveTree(dir_); }

  // What org-service --jwt_hs256_secret_file=<secret_file_> makes of `token`.
  absl::StatusOr<auth::Identity> Verify(const std::string& token) {
    auth::JwtConfig config;
    config.hs256_secret_file = secret_file_;
    auto authenticator = auth::JwtAuthenticator::FromConfig(config);
    if (!authenticator.ok()) return authenticator.status();
    return (*authenticator)->Authenticate(token);
  }

  TokenOptions Options() {
    TokenOptions o;
    o.secret_file = secret_file_;
    o.subject = "members/m-sun-haoran";
    return o;
  }

  std::string dir_;
  std::string secret_file_;
};

TEST_F(TokenTest, MintedTokensAreAcceptedWithTheirRoles) {
  TokenOptions options = Options();
  options.roles = {"administrator"};
  absl::StatusOr<std::string> token = MintToken(options, absl::Now());
  ASSERT_TRUE(token.ok()) << token.status();
  absl::StatusOr<auth::Identity> identity = Verify(*token);
  ASSERT_TRUE(identity.ok()) << identity.status();
  EXPECT_EQ(identity->subject, "members/m-sun-haoran");
  EXPECT_TRUE(identity->administrator);

  options.subject = "services/tasks";
  options.roles = {"service"};
  token = MintToken(options, absl::Now());
  ASSERT_TRUE(token.ok()) << token.status();
  identity = Verify(*token);
  ASSERT_TRUE(identity.ok()) << identity.status();
  EXPECT_TRUE(identity->service);
  EXPECT_FALSE(identity->administrator);
}

TEST_F(TokenTest, TokensExpireAfterTheirTtl) {
  TokenOptions options = Options();
  options.ttl = absl::Hours(1);
  absl::StatusOr<std::string> token = MintToken(options, absl::Now() - absl::Hours(2));
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_EQ(ErrorReason(Verify(*token).status()), "TOKEN_EXPIRED");
}

TEST_F(TokenTest, BadFlagsAreNamed) {
  auto message = [](const TokenOptions& o) { return std::string(MintToken(o, absl::Now()).status().message()); };
  TokenOptions o = Options();
  o.secret_file = "";
  EXPECT_THAT(message(o), HasSubstr("--secret_file is required"));
  o.secret_file = dir_ + "/absent";
  EXPECT_THAT(message(o), HasSubstr(absl::StrCat("--secret_file ", dir_, "/absent: cannot read")));
  o = Options();
  o.subject = "m-sun-haoran";
  EXPECT_THAT(message(o), HasSubstr("--subject: must be \"members/{member}\" or \"services/{service}\""));
  o = Options();
  o.roles = {"admin"};
  EXPECT_THAT(message(o), HasSubstr("--roles: unknown role \"admin\"; roles are administrator and service"));
  o.roles = {"service"};
  EXPECT_THAT(message(o), HasSubstr("--roles: the service role belongs to services/ subjects only"));
  o = Options();
  o.ttl = absl::ZeroDuration();
  EXPECT_THAT(message(o), HasSubstr("--ttl_hours must be between 1 and 8760"));
}

}  // namespace
}  // namespace opsteam::cli
