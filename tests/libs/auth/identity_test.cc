#include "libs/auth/identity.h"

#include "gtest/gtest.h"
#include "libs/status/status.h"

namespace opsteam::auth {
namespace {

TEST(IdentityTest, MembersAndServices) {
  absl::StatusOr<Identity> member = MakeIdentity("members/m-zhang-wei", {"administrator"});
  ASSERT_TRUE(member.ok()) << member.status();
  EXPECT_EQ(member->subject, "members/m-zhang-wei");
  EXPECT_EQ(member->member_id, "m-zhang-wei");
  EXPECT_TRUE(member->administrator);
  EXPECT_FALSE(member->service);

  absl::StatusOr<Identity> service = MakeIdentity("services/tasks", {"service", "kpi-reviewer"});
  ASSERT_TRUE(service.ok()) << service.status();
  EXPECT_EQ(service->subject, "services/tasks");
  EXPECT_EQ(service->member_id, "");
  EXPECT_TRUE(service->service);
  EXPECT_FALSE(service->administrator);

  absl::StatusOr<Identity> plain = MakeIdentity("members/m-li", {});
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_FALSE(plain->administrator);
  EXPECT_FALSE(plain->service);
}

TEST(IdentityTest, BadSubjectsAndRolesNameTheClaim) {
  for (const char* subject : {"", "m-zhang-wei", "members/", "members/M-Upper", "users/x", "services/a/b",
                              "members/m x"}) {
    absl::StatusOr<Identity> identity = MakeIdentity(subject, {});
    EXPECT_EQ(identity.status().code(), absl::StatusCode::kInvalidArgument) << subject;
    EXPECT_EQ(ErrorField(identity.status()), "sub") << subject;
  }
  absl::StatusOr<Identity> member_as_service = MakeIdentity("members/m-li", {"service"});
  EXPECT_EQ(ErrorField(member_as_service.status()), "roles");
}

}  // namespace
}  // namespace opsteam::auth
