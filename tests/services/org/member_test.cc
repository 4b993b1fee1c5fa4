// Members: create, get, list, update with masks and etags, bad input.

#include "tests/services/org/org_fixture.h"

namespace opsteam::org::testing {
namespace {

using ::testing::ElementsAre;
using Stub = v1::OrgService::Stub;

class MemberTest : public OrgTest {};

TEST_F(MemberTest, CreateGetUpdate) {
  v1::CreateMemberRequest create;
  create.set_member_id("m-zhang-wei");
  create.mutable_member()->set_display_name("张伟");
  create.mutable_member()->add_development_directions("sales");
  create.mutable_member()->add_development_directions("management");
  create.mutable_member()->set_employment_start_date("2025-03-01");
  v1::CreateMemberResponse created;
  ASSERT_THAT(Call(&Stub::CreateMember, create, &created), IsOk());
  EXPECT_EQ(created.member().name(), "members/m-zhang-wei");

  v1::UpdateMemberRequest update;
  update.mutable_member()->set_name("members/m-zhang-wei");
  update.mutable_member()->add_development_directions("video");
  update.mutable_member()->set_display_name("ignored");
  update.mutable_member()->set_etag(created.member().etag());
  update.mutable_update_mask()->add_paths("development_directions");
  v1::UpdateMemberResponse updated;
  ASSERT_THAT(Call(&Stub::UpdateMember, update, &updated), IsOk());
  EXPECT_THAT(updated.member().development_directions(), ElementsAre("video"));
  EXPECT_EQ(updated.member().display_name(), "张伟");
  EXPECT_THAT(Call(&Stub::UpdateMember, update, &updated),
              IsError(grpc::StatusCode::ABORTED, "ETAG_MISMATCH", ""));

  v1::GetMemberRequest get;
  get.set_name("members/m-zhang-wei");
  v1::GetMemberResponse got;
  ASSERT_THAT(Call(&Stub::GetMember, get, &got), IsOk());
  EXPECT_EQ(got.member().etag(), updated.member().etag());

  v1::UpdateMemberRequest end_before_start;
  end_before_start.mutable_member()->set_name("members/m-zhang-wei");
  end_before_start.mutable_member()->set_employment_end_date("2025-01-01");
  end_before_start.mutable_update_mask()->add_paths("employment_end_date");
  EXPECT_THAT(Call(&Stub::UpdateMember, end_before_start, &updated),
              IsError(grpc::StatusCode::INVALID_ARGUMENT, "", "member.employment_end_date"));
  get.set_name("members/ghost");
  EXPECT_THAT(Call(&Stub::GetMember, get, &got), IsError(grpc::StatusCode::NOT_FOUND, "", ""));
}

TEST_F(MemberTest, BadInput) {
  struct Case {
    std::function<void(v1::CreateMemberRequest&)> edit;
    std::string field;
  };
  const std::vector<Case> cases = {
      {[](auto& r) { r.mutable_member()->set_display_name(""); }, "member.display_name"},
      {[](auto& r) { r.mutable_member()->clear_employment_start_date(); }, "member.employment_start_date"},
      {[](auto& r) { r.mutable_member()->set_employment_start_date("01/03/2025"); }, "member.employment_start_date"},
      {[](auto& r) { r.mutable_member()->add_development_directions(""); }, "member.development_directions[0]"},
      {[](auto& r) { r.set_member_id("x_y"); }, "member_id"},
      {[](auto& r) { r.clear_member(); }, "member"},
  };
  for (const auto& c : cases) {
    v1::CreateMemberRequest req;
    req.set_member_id("m-a");
    req.mutable_member()->set_display_name("a");
    req.mutable_member()->set_employment_start_date("2025-01-01");
    c.edit(req);
    v1::CreateMemberResponse resp;
    EXPECT_THAT(Call(&Stub::CreateMember, req, &resp), IsError(grpc::StatusCode::INVALID_ARGUMENT, "", c.field))
        << c.field;
  }
  v1::ListMembersRequest list;
  v1::ListMembersResponse resp;
  ASSERT_THAT(Call(&Stub::ListMembers, list, &resp), IsOk());
  EXPECT_EQ(resp.members_size(), 0);
}

TEST_F(MemberTest, ListPagesToTheEnd) {
  for (int i = 0; i < 11; ++i) MakeMember(absl::StrCat("m-", i));
  v1::ListMembersRequest req;
  req.set_page_size(4);
  int total = 0, pages = 0;
  v1::ListMembersResponse resp;
  do {
    resp.Clear();
    ASSERT_THAT(Call(&Stub::ListMembers, req, &resp), IsOk());
    total += resp.members_size();
    req.set_page_token(resp.next_page_token());
    ++pages;
  } while (!resp.next_page_token().empty() && pages < 10);
  EXPECT_EQ(total, 11);
  EXPECT_EQ(pages, 3);
}

}  // namespace
}  // namespace opsteam::org::testing
