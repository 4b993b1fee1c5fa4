// Matrix organisation (seeds/002): cross-department project groups such as a 618 promotion
// group, with an effective-dated owner and dated memberships; a member is in a functional
// department and in several groups at once, and GetMatrixManagers answers both lines.

#include "tests/services/org/org_fixture.h"

namespace opsteam::org::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using Stub = v1::OrgService::Stub;

class GroupTest : public OrgTest {
 protected:
  void SetUp() override {
    OrgTest::SetUp();
    // Functional side: a company with marketing (digital operations) and operations.
    MakeDepartment("company", "", "互联网营销公司", v1::DEPARTMENT_KIND_BUSINESS);
    MakeDepartment("marketing", "company", "数字运营部");
    MakeDepartment("operations", "company", "用户增长与运营部");
    MakeDepartment("service", "company", "客户服务部");
    MakePosition("ceo", "company", 1);
    SetLead("company", "ceo");
    MakePosition("mkt-director", "marketing", 1);
    SetLead("marketing", "mkt-director");
    MakePosition("seo", "marketing", 3);
    MakePosition("ops-director", "operations", 1);
    SetLead("operations", "ops-director");
    MakePosition("ops-staff", "operations", 3);
    MakePosition("cs-agent", "service", 3);

    MakeMember("m-ceo", "总经理");
    MakeMember("m-mkt", "数字运营总监");
    MakeMember("m-seo", "SEO优化师");
    MakeMember("m-ops", "运营总监");
    MakeMember("m-ops2", "活动运营");
    MakeMember("m-cs", "在线客服");
    MakeMember("m-late", "新人", "2026-06-01");
    MakeMember("m-nopost", "待分配");
    EXPECT_THAT(Assign("m-ceo", "ceo"), IsOk());
    EXPECT_THAT(Assign("m-mkt", "mkt-director"), IsOk());
    EXPECT_THAT(Assign("m-seo", "seo"), IsOk());
    EXPECT_THAT(Assign("m-ops", "ops-director"), IsOk());
    EXPECT_THAT(Assign("m-ops2", "ops-staff"), IsOk());
    EXPECT_THAT(Assign("m-cs", "cs-agent"), IsOk());
  }

  grpc::Status CreateGroup(const std::string& id, const std::string& owner, const std::string& effective_date,
                           v1::ProjectGroup* out = nullptr, const std::string& request_id = "") {
    v1::CreateProjectGroupRequest req;
    req.set_project_group_id(id);
    req.set_effective_date(effective_date);
    req.set_request_id(request_id);
    req.mutable_project_group()->set_display_name(id == "g618" ? "618大促项目组" : id);
    req.mutable_project_group()->set_description("市场、运营、技术、客服");
    req.mutable_project_group()->set_owner("members/" + owner);
    v1::CreateProjectGroupResponse resp;
    grpc::Status s = Call(&Stub::CreateProjectGroup, req, &resp);
    if (out) *out = resp.project_group();
    return s;
  }

  grpc::Status AddMember(const std::string& group, const std::string& member, const std::string& role,
                         const std::string& start, const std::string& end = "", v1::GroupMembership* out = nullptr,
                         const std::string& id = "", const std::string& request_id = "") {
    v1::AddGroupMemberRequest req;
    req.set_project_group("projectGroups/" + group);
    req.set_member("members/" + member);
    req.set_role(role);
    req.set_start_date(start);
    req.set_end_date(end);
    req.set_membership_id(id);
    req.set_request_id(request_id);
    v1::AddGroupMemberResponse resp;
    grpc::Status s = Call(&Stub::AddGroupMember, req, &resp);
    if (out) *out = resp.membership();
    return s;
  }

  v1::ProjectGroup Get(const std::string& group, const std::string& as_of) {
    v1::GetProjectGroupRequest req;
    req.set_name("projectGroups/" + group);
    req.set_as_of(as_of);
    v1::GetProjectGroupResponse resp;
    EXPECT_THAT(Call(&Stub::GetProjectGroup, req, &resp), IsOk()) << group << " " << as_of;
    return resp.project_group();
  }

  std::vector<std::string> Memberships(const std::string& group, const std::string& member, const std::string& as_of) {
    v1::ListGroupMembershipsRequest req;
    if (!group.empty()) req.set_project_group("projectGroups/" + group);
    if (!member.empty()) req.set_member("members/" + member);
    req.set_as_of(as_of);
    v1::ListGroupMembershipsResponse resp;
    EXPECT_THAT(Call(&Stub::ListGroupMemberships, req, &resp), IsOk());
    std::vector<std::string> out;
    for (const auto& m : resp.memberships()) out.push_back(m.member() + "@" + m.name().substr(0, m.name().find("/memberships")));
    return out;
  }

  v1::GetMatrixManagersResponse Matrix(const std::string& member, const std::string& as_of) {
    v1::GetMatrixManagersRequest req;
    req.set_member("members/" + member);
    req.set_as_of(as_of);
    v1::GetMatrixManagersResponse resp;
    EXPECT_THAT(Call(&Stub::GetMatrixManagers, req, &resp), IsOk()) << member << " " << as_of;
    return resp;
  }

};

TEST_F(GroupTest, CreateGetAndIdempotency) {
  v1::ProjectGroup g;
  ASSERT_THAT(CreateGroup("g618", "m-ops", "2026-03-01", &g, "create-618"), IsOk());
  EXPECT_EQ(g.name(), "projectGroups/g618");
  EXPECT_EQ(g.display_name(), "618大促项目组");
  EXPECT_EQ(g.owner(), "members/m-ops");
  EXPECT_EQ(g.valid_from(), "2026-03-01");
  EXPECT_EQ(g.valid_to(), "");
  EXPECT_FALSE(g.etag().empty());
  EXPECT_TRUE(g.has_create_time());

  // The same request again answers as the first time and records nothing new.
  v1::ProjectGroup again;
  ASSERT_THAT(CreateGroup("g618", "m-ops", "2026-03-01", &again, "create-618"), IsOk());
  EXPECT_EQ(again.SerializeAsString(), g.SerializeAsString());
  EXPECT_THAT(ChangeMethods("projectGroups/g618"), ElementsAre("CreateProjectGroup"));
  // Without the request id, the id is taken.
  EXPECT_THAT(CreateGroup("g618", "m-ops", "2026-03-01"), IsError(grpc::StatusCode::ALREADY_EXISTS, "", ""));

  auto got = Get("g618", "2026-04-01");
  EXPECT_EQ(got.owner(), "members/m-ops");
  EXPECT_EQ(got.description(), "市场、运营、技术、客服");

  v1::GetProjectGroupRequest req;
  v1::GetProjectGroupResponse resp;
  req.set_name("projectGroups/g618");
  req.set_as_of("2026-02-28");  // before it starts
  EXPECT_THAT(Call(&Stub::GetProjectGroup, req, &resp), IsError(grpc::StatusCode::NOT_FOUND, "", ""));
  req.set_name("projectGroups/ghost");
  req.set_as_of("");
  EXPECT_THAT(Call(&Stub::GetProjectGroup, req, &resp), IsError(grpc::StatusCode::NOT_FOUND, "", ""));
  req.set_name("groups/g618");
  EXPECT_THAT(Call(&Stub::GetProjectGroup, req, &resp), IsError(grpc::StatusCode::INVALID_ARGUMENT, "", "name"));
  req.set_name("projectGroups/g618");
  req.set_as_of("2026-13-01");
  EXPECT_THAT(Call(&Stub::GetProjectGroup, req, &resp), IsError(grpc::StatusCode::INVALID_ARGUMENT, "", "as_of"));
}

TEST_F(GroupTest, CreateRejectsBadInput) {
  v1::CreateProjectGroupRequest req;
  v1::CreateProjectGroupResponse resp;
  EXPECT_THAT(Call(&Stub::CreateProjectGroup, req, &resp),
              IsError(grpc::StatusCode::INVALID_ARGUMENT, "", "project_group"));
  req.mutable_project_group()->set_owner("members/m-ops");
  EXPECT_THAT(Call(&Stub::CreateProjectGroup, req, &resp),
              IsError(grpc::StatusCode::INVALID_ARGUMENT, "", "project_group.display_name"));
  req.mutable_project_group()->set_display_name("618大促项目组");
  req.mutable_project_group()->set_owner("m-ops");
  EXPECT_THAT(Call(&Stub::CreateProjectGroup, req, &resp),
              IsError(grpc::StatusCode::INVALID_ARGUMENT, "", "project_group.owner"));
  req.mutable_project_group()->clear_owner();
  EXPECT_THAT(Call(&Stub::CreateProjectGroup, req, &resp),
              IsError(grpc::StatusCode::INVALID_ARGUMENT, "", "project_group.owner"));
  req.mutable_project_group()->set_owner("members/m-ops");
  req.mutable_project_group()->set_description(std::string(2001, 'x'));
  EXPECT_THAT(Call(&Stub::CreateProjectGroup, req, &resp),
              IsError(grpc::StatusCode::INVALID_ARGUMENT, "", "project_group.description"));
  req.mutable_project_group()->clear_description();
  req.set_project_group_id("G618");
  EXPECT_THAT(Call(&Stub::CreateProjectGroup, req, &resp),
              IsError(grpc::StatusCode::INVALID_ARGUMENT, "", "project_group_id"));
  req.set_project_group_id("g618");
  req.set_effective_date("2026/03/01");
  EXPECT_THAT(Call(&Stub::CreateProjectGroup, req, &resp),
              IsError(grpc::StatusCode::INVALID_ARGUMENT, "", "effective_date"));
  req.set_request_id("not valid!");
  req.set_effective_date("2026-03-01");
  EXPECT_THAT(Call(&Stub::CreateProjectGroup, req, &resp),
              IsError(grpc::StatusCode::INVALID_ARGUMENT, "", "request_id"));
  req.clear_request_id();

  // The owner must exist and be employed on the effective date.
  req.mutable_project_group()->set_owner("members/ghost");
  EXPECT_THAT(Call(&Stub::CreateProjectGroup, req, &resp),
              IsError(grpc::StatusCode::INVALID_ARGUMENT, "UNKNOWN_MEMBER", "project_group.owner"));
  req.mutable_project_group()->set_owner("members/m-late");
  EXPECT_THAT(Call(&Stub::CreateProjectGroup, req, &resp),
              IsError(grpc::StatusCode::FAILED_PRECONDITION, "OUTSIDE_EMPLOYMENT", ""));
  EXPECT_THAT(ChangeMethods("projectGroups/g618"), IsEmpty());
  req.set_effective_date("2026-06-01");
  EXPECT_THAT(Call(&Stub::CreateProjectGroup, req, &resp), IsOk());
}

TEST_F(GroupTest, OwnerIsEffectiveDated) {
  ASSERT_THAT(CreateGroup("g618", "m-ops", "2026-03-01"), IsOk());
  const std::string etag = Get("g618", "2026-03-01").etag();

  v1::UpdateProjectGroupRequest req;
  req.mutable_project_group()->set_name("projectGroups/g618");
  req.mutable_project_group()->set_owner("members/m-mkt");
  req.mutable_project_group()->set_etag(etag);
  req.mutable_update_mask()->add_paths("owner");
  req.set_effective_date("2026-07-01");
  v1::UpdateProjectGroupResponse resp;
  ASSERT_THAT(Call(&Stub::UpdateProjectGroup, req, &resp), IsOk());
  EXPECT_EQ(resp.project_group().owner(), "members/m-mkt");
  EXPECT_EQ(resp.project_group().valid_from(), "2026-07-01");
  EXPECT_NE(resp.project_group().etag(), etag);

  auto before = Get("g618", "2026-06-30");
  EXPECT_EQ(before.owner(), "members/m-ops");
  EXPECT_EQ(before.valid_from(), "2026-03-01");
  EXPECT_EQ(before.valid_to(), "2026-07-01");
  EXPECT_EQ(Get("g618", "2026-07-01").owner(), "members/m-mkt");
  EXPECT_EQ(Get("g618", "2027-01-01").owner(), "members/m-mkt");

  // A member's project line names the owner of the day asked about.
  ASSERT_THAT(AddMember("g618", "m-seo", "marketing", "2026-03-01"), IsOk());
  ASSERT_EQ(Matrix("m-seo", "2026-06-30").project_groups_size(), 1);
  EXPECT_EQ(Matrix("m-seo", "2026-06-30").project_groups(0).owner(), "members/m-ops");
  EXPECT_EQ(Matrix("m-seo", "2026-07-01").project_groups(0).owner(), "members/m-mkt");

  // A rename later on keeps the owner; the history has both changes.
  v1::UpdateProjectGroupRequest rename;
  rename.mutable_project_group()->set_name("projectGroups/g618");
  rename.mutable_project_group()->set_display_name("618全域营销项目组");
  rename.mutable_update_mask()->add_paths("display_name");
  rename.set_effective_date("2026-05-01");
  ASSERT_THAT(Call(&Stub::UpdateProjectGroup, rename, &resp), IsOk());
  EXPECT_EQ(Get("g618", "2026-05-01").owner(), "members/m-ops");
  EXPECT_EQ(Get("g618", "2026-08-01").display_name(), "618全域营销项目组");
  EXPECT_EQ(Get("g618", "2026-04-30").display_name(), "618大促项目组");
  EXPECT_THAT(ChangeMethods("projectGroups/g618"),
              ElementsAre("CreateProjectGroup", "UpdateProjectGroup", "UpdateProjectGroup"));

  // Errors: stale etag, bad mask, owner not employed, unknown group, before the group.
  EXPECT_THAT(Call(&Stub::UpdateProjectGroup, req, &resp),
              IsError(grpc::StatusCode::ABORTED, "ETAG_MISMATCH", ""));
  req.mutable_project_group()->clear_etag();
  req.mutable_update_mask()->set_paths(0, "valid_from");
  EXPECT_THAT(Call(&Stub::UpdateProjectGroup, req, &resp),
              IsError(grpc::StatusCode::INVALID_ARGUMENT, "", "update_mask"));
  req.mutable_update_mask()->Clear();
  EXPECT_THAT(Call(&Stub::UpdateProjectGroup, req, &resp),
              IsError(grpc::StatusCode::INVALID_ARGUMENT, "", "update_mask"));
  req.mutable_update_mask()->add_paths("owner");
  req.mutable_project_group()->set_owner("members/m-late");  // employed from 2026-06-01
  req.set_effective_date("2026-05-01");
  EXPECT_THAT(Call(&Stub::UpdateProjectGroup, req, &resp),
              IsError(grpc::StatusCode::FAILED_PRECONDITION, "OUTSIDE_EMPLOYMENT", ""));
  req.mutable_project_group()->set_owner("members/m-mkt");
  req.set_effective_date("2026-02-01");
  EXPECT_THAT(Call(&Stub::UpdateProjectGroup, req, &resp),
              IsError(grpc::StatusCode::FAILED_PRECONDITION, "NOT_IN_EFFECT", ""));
  req.mutable_project_group()->set_name("projectGroups/ghost");
  EXPECT_THAT(Call(&Stub::UpdateProjectGroup, req, &resp), IsError(grpc::StatusCode::NOT_FOUND, "", ""));
  req.mutable_project_group()->set_name("");
  EXPECT_THAT(Call(&Stub::UpdateProjectGroup, req, &resp),
              IsError(grpc::StatusCode::INVALID_ARGUMENT, "", "project_group.name"));
  EXPECT_EQ(ChangeMethods("projectGroups/g618").size(), 3u);
}

TEST_F(GroupTest, ListProjectGroupsPagesToTheEnd) {
  for (const char* id : {"g-a", "g-b", "g-c", "g-d"}) ASSERT_THAT(CreateGroup(id, "m-ops", "2026-01-01"), IsOk());
  ASSERT_THAT(CreateGroup("g-e", "m-ops", "2026-09-01"), IsOk());

  v1::ListProjectGroupsRequest req;
  req.set_as_of("2026-10-01");
  req.set_page_size(2);
  std::vector<std::string> names;
  int pages = 0;
  v1::ListProjectGroupsResponse resp;
  do {
    resp.Clear();
    ASSERT_THAT(Call(&Stub::ListProjectGroups, req, &resp), IsOk());
    EXPECT_LE(resp.project_groups_size(), 2);
    for (const auto& g : resp.project_groups()) names.push_back(g.name());
    req.set_page_token(resp.next_page_token());
    ++pages;
  } while (!resp.next_page_token().empty() && pages < 10);
  EXPECT_EQ(pages, 3);
  EXPECT_THAT(names, ElementsAre("projectGroups/g-a", "projectGroups/g-b", "projectGroups/g-c", "projectGroups/g-d",
                                 "projectGroups/g-e"));

  // As of an earlier day, the later group is not there yet.
  v1::ListProjectGroupsRequest early;
  early.set_as_of("2026-08-31");
  resp.Clear();
  ASSERT_THAT(Call(&Stub::ListProjectGroups, early, &resp), IsOk());
  EXPECT_EQ(resp.project_groups_size(), 4);
  EXPECT_TRUE(resp.next_page_token().empty());

  // A token only fits the request it came from.
  req.set_page_token("");
  resp.Clear();
  ASSERT_THAT(Call(&Stub::ListProjectGroups, req, &resp), IsOk());
  early.set_page_token(resp.next_page_token());
  EXPECT_THAT(Call(&Stub::ListProjectGroups, early, &resp),
              IsError(grpc::StatusCode::INVALID_ARGUMENT, "INVALID_PAGE_TOKEN", "page_token"));
  early.clear_page_token();
  early.set_page_size(-1);
  EXPECT_THAT(Call(&Stub::ListProjectGroups, early, &resp),
              IsError(grpc::StatusCode::INVALID_ARGUMENT, "", "page_size"));
}

TEST_F(GroupTest, MembershipsAreDated) {
  ASSERT_THAT(CreateGroup("g618", "m-ops", "2026-03-01"), IsOk());
  v1::GroupMembership m;
  ASSERT_THAT(AddMember("g618", "m-cs", "customer-service", "2026-04-01", "2026-07-01", &m, "cs", "add-cs"), IsOk());
  EXPECT_EQ(m.name(), "projectGroups/g618/memberships/cs");
  EXPECT_EQ(m.member(), "members/m-cs");
  EXPECT_EQ(m.role(), "customer-service");
  EXPECT_EQ(m.start_date(), "2026-04-01");
  EXPECT_EQ(m.end_date(), "2026-07-01");
  // Repeating the request returns the first result once.
  v1::GroupMembership again;
  ASSERT_THAT(AddMember("g618", "m-cs", "customer-service", "2026-04-01", "2026-07-01", &again, "cs", "add-cs"), IsOk());
  EXPECT_EQ(again.SerializeAsString(), m.SerializeAsString());

  EXPECT_THAT(Memberships("g618", "", "2026-03-31"), IsEmpty());
  EXPECT_THAT(Memberships("g618", "", "2026-04-01"), ElementsAre("members/m-cs@projectGroups/g618"));
  EXPECT_THAT(Memberships("g618", "", "2026-06-30"), ElementsAre("members/m-cs@projectGroups/g618"));
  EXPECT_THAT(Memberships("g618", "", "2026-07-01"), IsEmpty());

  // At most once in a group on any day; a later, separate stint is fine.
  EXPECT_THAT(AddMember("g618", "m-cs", "tech", "2026-06-01"), IsError(grpc::StatusCode::ALREADY_EXISTS, "", ""));
  EXPECT_THAT(AddMember("g618", "m-cs", "tech", "2026-03-15", "2026-04-02"),
              IsError(grpc::StatusCode::ALREADY_EXISTS, "", ""));
  EXPECT_THAT(AddMember("g618", "m-ops2", "operations", "2026-04-01", "", nullptr, "cs"),
              IsError(grpc::StatusCode::ALREADY_EXISTS, "", ""));
  ASSERT_THAT(AddMember("g618", "m-cs", "customer-service", "2026-09-01", "", nullptr, "cs-2"), IsOk());

  // Ending: before the end it already has, after its start, with a current etag.
  v1::EndGroupMembershipRequest end;
  end.set_name(m.name());
  end.set_end_date("2026-06-01");
  end.set_etag(m.etag());
  v1::EndGroupMembershipResponse ended;
  ASSERT_THAT(Call(&Stub::EndGroupMembership, end, &ended), IsOk());
  EXPECT_EQ(ended.membership().end_date(), "2026-06-01");
  EXPECT_THAT(Memberships("g618", "", "2026-06-01"), IsEmpty());
  EXPECT_THAT(Call(&Stub::EndGroupMembership, end, &ended), IsError(grpc::StatusCode::ABORTED, "ETAG_MISMATCH", ""));
  end.clear_etag();
  end.set_end_date("2026-06-15");
  EXPECT_THAT(Call(&Stub::EndGroupMembership, end, &ended),
              IsError(grpc::StatusCode::FAILED_PRECONDITION, "MEMBERSHIP_ALREADY_ENDS", ""));
  end.set_end_date("2026-04-01");
  EXPECT_THAT(Call(&Stub::EndGroupMembership, end, &ended),
              IsError(grpc::StatusCode::INVALID_ARGUMENT, "", "end_date"));
  end.set_name("projectGroups/g618/memberships/ghost");
  end.set_end_date("2026-06-01");
  EXPECT_THAT(Call(&Stub::EndGroupMembership, end, &ended), IsError(grpc::StatusCode::NOT_FOUND, "", ""));
  end.set_name("projectGroups/g618/cs");
  EXPECT_THAT(Call(&Stub::EndGroupMembership, end, &ended), IsError(grpc::StatusCode::INVALID_ARGUMENT, "", "name"));

  EXPECT_THAT(ChangeMethods("projectGroups/g618/memberships/cs"), ElementsAre("AddGroupMember", "EndGroupMembership"));
  EXPECT_THAT(ChangeMethods("projectGroups/g618/memberships/cs-2"), ElementsAre("AddGroupMember"));
}

TEST_F(GroupTest, AddGroupMemberRejectsBadInput) {
  ASSERT_THAT(CreateGroup("g618", "m-ops", "2026-03-01"), IsOk());
  EXPECT_THAT(AddMember("g618", "m-seo", "", "2026-03-01"), IsError(grpc::StatusCode::INVALID_ARGUMENT, "", "role"));
  EXPECT_THAT(AddMember("g618", "m-seo", "   ", "2026-03-01"), IsError(grpc::StatusCode::INVALID_ARGUMENT, "", "role"));
  EXPECT_THAT(AddMember("g618", "m-seo", std::string(51, 'r'), "2026-03-01"),
              IsError(grpc::StatusCode::INVALID_ARGUMENT, "", "role"));
  EXPECT_THAT(AddMember("g618", "m-seo", std::string(50, 'r'), "2026-03-01", "2026-03-02"), IsOk());
  EXPECT_THAT(AddMember("g618", "m-seo", "seo", "2026-03-10", "2026-03-10"),
              IsError(grpc::StatusCode::INVALID_ARGUMENT, "", "end_date"));
  EXPECT_THAT(AddMember("g618", "m-seo", "seo", "2026-02-30"),
              IsError(grpc::StatusCode::INVALID_ARGUMENT, "", "start_date"));
  EXPECT_THAT(AddMember("g618", "m-seo", "seo", "2026-03-10", "", nullptr, "Bad_Id"),
              IsError(grpc::StatusCode::INVALID_ARGUMENT, "", "membership_id"));
  EXPECT_THAT(AddMember("G618", "m-seo", "seo", "2026-03-10"),
              IsError(grpc::StatusCode::INVALID_ARGUMENT, "", "project_group"));
  EXPECT_THAT(AddMember("g618", "", "seo", "2026-03-10"), IsError(grpc::StatusCode::INVALID_ARGUMENT, "", "member"));
  EXPECT_THAT(AddMember("ghost", "m-seo", "seo", "2026-03-10"), IsError(grpc::StatusCode::NOT_FOUND, "", ""));
  EXPECT_THAT(AddMember("g618", "ghost", "seo", "2026-03-10"), IsError(grpc::StatusCode::NOT_FOUND, "", ""));
  // The group must exist on the start day; the member must be employed all along.
  EXPECT_THAT(AddMember("g618", "m-seo", "seo", "2026-02-01", "2026-03-01"),
              IsError(grpc::StatusCode::FAILED_PRECONDITION, "NOT_IN_EFFECT", ""));
  EXPECT_THAT(AddMember("g618", "m-late", "seo", "2026-05-01"),
              IsError(grpc::StatusCode::FAILED_PRECONDITION, "OUTSIDE_EMPLOYMENT", ""));
  EXPECT_THAT(AddMember("g618", "m-late", "seo", "2026-06-01"), IsOk());
}

TEST_F(GroupTest, MatrixMemberAnswersBothLines) {
  // m-seo works in 数字运营部 (functional manager: its director) and, at the same time, in
  // the 618 promotion group (owned by the operations director) and a brand group.
  ASSERT_THAT(CreateGroup("g618", "m-ops", "2026-03-01"), IsOk());
  ASSERT_THAT(CreateGroup("brand", "m-ceo", "2026-01-01"), IsOk());
  ASSERT_THAT(AddMember("g618", "m-seo", "marketing", "2026-03-01", "2026-07-01"), IsOk());
  ASSERT_THAT(AddMember("brand", "m-seo", "seo", "2026-02-01"), IsOk());
  ASSERT_THAT(AddMember("g618", "m-ops2", "operations", "2026-03-01"), IsOk());
  ASSERT_THAT(AddMember("g618", "m-cs", "customer-service", "2026-03-01"), IsOk());

  v1::GetManagerRequest mreq;
  mreq.set_member("members/m-seo");
  mreq.set_as_of("2026-04-01");
  v1::GetManagerResponse functional;
  ASSERT_THAT(Call(&Stub::GetManager, mreq, &functional), IsOk());

  auto both = Matrix("m-seo", "2026-04-01");
  EXPECT_EQ(both.functional_manager().SerializeAsString(), functional.manager().SerializeAsString());
  EXPECT_EQ(both.functional_manager().member(), "members/m-mkt");
  EXPECT_EQ(both.functional_manager().position(), "positions/mkt-director");
  ASSERT_EQ(both.project_groups_size(), 2);
  EXPECT_EQ(both.project_groups(0).project_group(), "projectGroups/brand");
  EXPECT_EQ(both.project_groups(0).role(), "seo");
  EXPECT_EQ(both.project_groups(0).owner(), "members/m-ceo");
  EXPECT_EQ(both.project_groups(1).project_group(), "projectGroups/g618");
  EXPECT_EQ(both.project_groups(1).role(), "marketing");
  EXPECT_EQ(both.project_groups(1).owner(), "members/m-ops");

  // Dated: before the 618 group, and after the member left it.
  auto early = Matrix("m-seo", "2026-02-15");
  ASSERT_EQ(early.project_groups_size(), 1);
  EXPECT_EQ(early.project_groups(0).project_group(), "projectGroups/brand");
  auto later = Matrix("m-seo", "2026-07-01");
  ASSERT_EQ(later.project_groups_size(), 1);
  EXPECT_EQ(later.project_groups(0).project_group(), "projectGroups/brand");
  EXPECT_EQ(Matrix("m-seo", "2026-01-15").project_groups_size(), 0);
  EXPECT_EQ(Matrix("m-seo", "2026-01-15").functional_manager().member(), "members/m-mkt");

  // The top of the organisation has no functional manager, but may own and join groups.
  ASSERT_THAT(AddMember("g618", "m-ceo", "sponsor", "2026-03-01"), IsOk());
  auto top = Matrix("m-ceo", "2026-04-01");
  EXPECT_FALSE(top.has_functional_manager());
  ASSERT_EQ(top.project_groups_size(), 1);
  EXPECT_EQ(top.project_groups(0).owner(), "members/m-ops");

  // One member's memberships across groups, and one group's, page by page to the end.
  EXPECT_THAT(Memberships("", "m-seo", "2026-04-01"),
              ElementsAre("members/m-seo@projectGroups/brand", "members/m-seo@projectGroups/g618"));
  EXPECT_THAT(Memberships("g618", "m-seo", "2026-04-01"), ElementsAre("members/m-seo@projectGroups/g618"));
  v1::ListGroupMembershipsRequest req;
  req.set_project_group("projectGroups/g618");
  req.set_as_of("2026-04-01");
  req.set_page_size(1);
  std::vector<std::string> members;
  v1::ListGroupMembershipsResponse resp;
  int pages = 0;
  do {
    resp.Clear();
    ASSERT_THAT(Call(&Stub::ListGroupMemberships, req, &resp), IsOk());
    for (const auto& m : resp.memberships()) members.push_back(m.member());
    req.set_page_token(resp.next_page_token());
    ++pages;
  } while (!resp.next_page_token().empty() && pages < 10);
  EXPECT_EQ(members.size(), 4u);
  EXPECT_THAT(members, ::testing::UnorderedElementsAre("members/m-seo", "members/m-ops2", "members/m-cs",
                                                       "members/m-ceo"));
  EXPECT_EQ(pages, 4);
}

TEST_F(GroupTest, ReadErrors) {
  ASSERT_THAT(CreateGroup("g618", "m-ops", "2026-03-01"), IsOk());
  v1::GetMatrixManagersRequest mreq;
  v1::GetMatrixManagersResponse mresp;
  mreq.set_member("m-seo");
  EXPECT_THAT(Call(&Stub::GetMatrixManagers, mreq, &mresp), IsError(grpc::StatusCode::INVALID_ARGUMENT, "", "member"));
  mreq.set_member("members/ghost");
  EXPECT_THAT(Call(&Stub::GetMatrixManagers, mreq, &mresp), IsError(grpc::StatusCode::NOT_FOUND, "", ""));
  mreq.set_member("members/m-nopost");  // as GetManager: no functional line without a post
  mreq.set_as_of("2026-04-01");
  EXPECT_THAT(Call(&Stub::GetMatrixManagers, mreq, &mresp),
              IsError(grpc::StatusCode::FAILED_PRECONDITION, "NO_POST", ""));
  mreq.set_as_of("yesterday");
  EXPECT_THAT(Call(&Stub::GetMatrixManagers, mreq, &mresp), IsError(grpc::StatusCode::INVALID_ARGUMENT, "", "as_of"));

  v1::ListGroupMembershipsRequest req;
  v1::ListGroupMembershipsResponse resp;
  EXPECT_THAT(Call(&Stub::ListGroupMemberships, req, &resp),
              IsError(grpc::StatusCode::INVALID_ARGUMENT, "", "project_group"));
  req.set_member("m-seo");
  EXPECT_THAT(Call(&Stub::ListGroupMemberships, req, &resp), IsError(grpc::StatusCode::INVALID_ARGUMENT, "", "member"));
  req.set_member("members/ghost");
  EXPECT_THAT(Call(&Stub::ListGroupMemberships, req, &resp), IsError(grpc::StatusCode::NOT_FOUND, "", ""));
  req.clear_member();
  req.set_project_group("projectGroups/ghost");
  EXPECT_THAT(Call(&Stub::ListGroupMemberships, req, &resp), IsError(grpc::StatusCode::NOT_FOUND, "", ""));
  req.set_project_group("projectGroups/g618");
  req.set_page_token("garbage");
  EXPECT_THAT(Call(&Stub::ListGroupMemberships, req, &resp),
              IsError(grpc::StatusCode::INVALID_ARGUMENT, "INVALID_PAGE_TOKEN", "page_token"));
}

}  // namespace
}  // namespace opsteam::org::testing
