#include "libs/auth/base64url.h"

#include "gtest/gtest.h"

namespace opsteam::auth {
namespace {

TEST(Base64UrlTest, RoundTripsWithoutPadding) {
  const std::string bytes("\xfb\xff\x00\x01?", 5);
  const std::string text = Base64UrlEncode(bytes);
  EXPECT_EQ(text, "-_8AAT8");
  EXPECT_EQ(Base64UrlDecode(text), bytes);
  EXPECT_EQ(Base64UrlDecode(""), "");
  EXPECT_EQ(Base64UrlDecode(Base64UrlEncode("{\"alg\":\"HS256\"}")), "{\"alg\":\"HS256\"}");
}

TEST(Base64UrlTest, RejectsPaddingTheStandardAlphabetAndImpossibleLengths) {
  EXPECT_EQ(Base64UrlDecode("-_8AAT8="), std::nullopt);  // padding
  EXPECT_EQ(Base64UrlDecode("+/8AAT8"), std::nullopt);   // standard alphabet
  EXPECT_EQ(Base64UrlDecode("ab cd"), std::nullopt);
  EXPECT_EQ(Base64UrlDecode("abcde"), std::nullopt);     // 5 characters encode nothing
}

}  // namespace
}  // namespace opsteam::auth
