// Authority queries: grants through primary and secondary posts, own-department and
// subtree scopes, budget limits, effective dates.

#include "tests/services/org/org_fixture.h"

namespace opsteam::org::testing {
namespace {

using Stub = v1::OrgService::Stub;

void Grant(v1::Position& p, v1::AuthorityType type, v1::AuthorityScope scope, int64_t cny_fen = 0) {
  auto* a = p.add_authorities();
  a->set_type(type);
  a->set_scope(scope);
  if (cny_fen > 0) {
    a->mutable_budget_limit()->set_currency_code("CNY");
    a->mutable_budget_limit()->set_minor_units(cny_fen);
  }
}

class AuthorityTest : public OrgTest {
 protected:
  void SetUp() override {
    OrgTest::SetUp();
    MakeDepartment("kuaishou", "", "快手项目组", v1::DEPARTMENT_KIND_PROJECT_GROUP);
    MakeDepartment("monetisation", "kuaishou", "商业变现部", v1::DEPARTMENT_KIND_BUSINESS);
    MakeDepartment("sales", "monetisation", "销售部");
    MakeDepartment("sales-1", "sales", "销售一部");
    MakeDepartment("operations", "kuaishou", "运营部", v1::DEPARTMENT_KIND_SUPPORT);

    v1::Position director;
    director.set_department("departments/monetisation");
    director.set_title("商业变现部总监");
    director.set_grade(v1::GRADE_DIRECTOR);
    director.set_headcount(1);
    Grant(director, v1::AUTHORITY_TYPE_ASSESS, v1::AUTHORITY_SCOPE_SUBTREE);
    Grant(director, v1::AUTHORITY_TYPE_SPEND_BUDGET, v1::AUTHORITY_SCOPE_SUBTREE, 5'000'000);
    Create("mon-director", director);

    v1::Position s1;
    s1.set_department("departments/sales-1");
    s1.set_title("销售总监");
    s1.set_grade(v1::GRADE_DIRECTOR);
    s1.set_headcount(1);
    Grant(s1, v1::AUTHORITY_TYPE_ASSIGN_WORK, v1::AUTHORITY_SCOPE_OWN_DEPARTMENT);
    Grant(s1, v1::AUTHORITY_TYPE_SPEND_BUDGET, v1::AUTHORITY_SCOPE_OWN_DEPARTMENT, 2'000'000);
    Create("s1-director", s1);

    v1::Position events;
    events.set_department("departments/operations");
    events.set_title("活动运营经理");
    events.set_grade(v1::GRADE_MANAGER);
    events.set_headcount(1);
    Grant(events, v1::AUTHORITY_TYPE_COORDINATE_EVENTS, v1::AUTHORITY_SCOPE_OWN_DEPARTMENT);
    Create("events-manager", events);

    MakeMember("m-li", "李明");
    MakeMember("m-zhang", "张伟");
    EXPECT_THAT(Assign("m-li", "mon-director"), IsOk());
    EXPECT_THAT(Assign("m-zhang", "s1-director"), IsOk());
    EXPECT_THAT(Assign("m-zhang", "events-manager", v1::ASSIGNMENT_KIND_SECONDARY, "2026-03-01"), IsOk());
  }

  void Create(const std::string& id, const v1::Position& p) {
    v1::CreatePositionRequest req;
    req.set_position_id(id);
    req.set_effective_date("2026-01-01");
    *req.mutable_position() = p;
    v1::CreatePositionResponse resp;
    ASSERT_THAT(Call(&Stub::CreatePosition, req, &resp), IsOk());
  }

  v1::CheckAuthorityResponse Check(const std::string& member, v1::AuthorityType type,
                                   const std::string& department, int64_t cny_fen = -1,
                                   const std::string& as_of = "2026-04-01",
                                   const std::string& currency = "CNY") {
    v1::CheckAuthorityRequest req;
    req.set_member("members/" + member);
    req.set_authority(type);
    req.set_department("departments/" + department);
    req.set_as_of(as_of);
    if (cny_fen >= 0) {
      req.mutable_amount()->set_currency_code(currency);
      req.mutable_amount()->set_minor_units(cny_fen);
    }
    v1::CheckAuthorityResponse resp;
    EXPECT_THAT(Call(&Stub::CheckAuthority, req, &resp), IsOk());
    return resp;
  }
};

TEST_F(AuthorityTest, SubtreeScopeReachesEveryDepartmentBelow) {
  auto deep = Check("m-li", v1::AUTHORITY_TYPE_ASSESS, "sales-1");
  EXPECT_TRUE(deep.allowed());
  EXPECT_EQ(deep.granted_by().position(), "positions/mon-director");
  EXPECT_EQ(deep.granted_by().department(), "departments/monetisation");
  EXPECT_EQ(deep.granted_by().scope(), v1::AUTHORITY_SCOPE_SUBTREE);
  EXPECT_TRUE(Check("m-li", v1::AUTHORITY_TYPE_ASSESS, "monetisation").allowed());
  auto outside = Check("m-li", v1::AUTHORITY_TYPE_ASSESS, "operations");
  EXPECT_FALSE(outside.allowed());
  EXPECT_THAT(outside.denial_reason(), ::testing::HasSubstr("no post of members/m-li grants AUTHORITY_TYPE_ASSESS"));
  EXPECT_FALSE(Check("m-li", v1::AUTHORITY_TYPE_ASSESS, "kuaishou").allowed());
}

TEST_F(AuthorityTest, OwnDepartmentScopeStopsAtTheDepartment) {
  EXPECT_TRUE(Check("m-zhang", v1::AUTHORITY_TYPE_ASSIGN_WORK, "sales-1").allowed());
  EXPECT_FALSE(Check("m-zhang", v1::AUTHORITY_TYPE_ASSIGN_WORK, "sales").allowed());
  EXPECT_FALSE(Check("m-zhang", v1::AUTHORITY_TYPE_ASSIGN_WORK, "monetisation").allowed());
  EXPECT_FALSE(Check("m-zhang", v1::AUTHORITY_TYPE_ASSESS, "sales-1").allowed());
}

TEST_F(AuthorityTest, SecondaryPostsGrantFromTheirStartDate) {
  auto before = Check("m-zhang", v1::AUTHORITY_TYPE_COORDINATE_EVENTS, "operations", -1, "2026-02-28");
  EXPECT_FALSE(before.allowed());
  auto after = Check("m-zhang", v1::AUTHORITY_TYPE_COORDINATE_EVENTS, "operations", -1, "2026-03-01");
  EXPECT_TRUE(after.allowed());
  EXPECT_EQ(after.granted_by().position(), "positions/events-manager");
  EXPECT_EQ(after.granted_by().assignment_kind(), v1::ASSIGNMENT_KIND_SECONDARY);
}

TEST_F(AuthorityTest, BudgetLimitsAreHonoured) {
  auto within = Check("m-zhang", v1::AUTHORITY_TYPE_SPEND_BUDGET, "sales-1", 1'500'000);
  EXPECT_TRUE(within.allowed());
  EXPECT_EQ(within.granted_by().budget_limit().minor_units(), 2'000'000);
  EXPECT_TRUE(Check("m-zhang", v1::AUTHORITY_TYPE_SPEND_BUDGET, "sales-1", 2'000'000).allowed());
  auto over = Check("m-zhang", v1::AUTHORITY_TYPE_SPEND_BUDGET, "sales-1", 2'000'001);
  EXPECT_FALSE(over.allowed());
  EXPECT_THAT(over.denial_reason(), ::testing::HasSubstr("2000000 CNY"));
  EXPECT_FALSE(Check("m-zhang", v1::AUTHORITY_TYPE_SPEND_BUDGET, "sales-1", 100, "2026-04-01", "USD").allowed());
  // The director above spends more anywhere below monetisation.
  auto big = Check("m-li", v1::AUTHORITY_TYPE_SPEND_BUDGET, "sales-1", 4'000'000);
  EXPECT_TRUE(big.allowed());
  EXPECT_EQ(big.granted_by().position(), "positions/mon-director");
}

TEST_F(AuthorityTest, DatedChangesOfAPostChangeTheAnswerFromTheirDate) {
  v1::UpdatePositionRequest req;
  req.mutable_position()->set_name("positions/mon-director");
  Grant(*req.mutable_position(), v1::AUTHORITY_TYPE_SPEND_BUDGET, v1::AUTHORITY_SCOPE_SUBTREE, 5'000'000);
  req.mutable_update_mask()->add_paths("authorities");
  req.set_effective_date("2026-06-01");
  v1::UpdatePositionResponse resp;
  ASSERT_THAT(Call(&Stub::UpdatePosition, req, &resp), IsOk());
  EXPECT_TRUE(Check("m-li", v1::AUTHORITY_TYPE_ASSESS, "sales-1", -1, "2026-05-31").allowed());
  EXPECT_FALSE(Check("m-li", v1::AUTHORITY_TYPE_ASSESS, "sales-1", -1, "2026-06-01").allowed());
  // And an ended assignment grants nothing after its end.
  v1::ListAssignmentsRequest list;
  list.set_member("members/m-li");
  list.set_as_of("2026-04-01");
  v1::ListAssignmentsResponse held;
  ASSERT_THAT(Call(&Stub::ListAssignments, list, &held), IsOk());
  ASSERT_EQ(held.assignments_size(), 1);
  v1::EndAssignmentRequest end;
  end.set_name(held.assignments(0).name());
  end.set_end_date("2026-05-01");
  v1::EndAssignmentResponse ended;
  ASSERT_THAT(Call(&Stub::EndAssignment, end, &ended), IsOk());
  EXPECT_FALSE(Check("m-li", v1::AUTHORITY_TYPE_SPEND_BUDGET, "sales-1", 1, "2026-05-01").allowed());
  EXPECT_TRUE(Check("m-li", v1::AUTHORITY_TYPE_SPEND_BUDGET, "sales-1", 1, "2026-04-30").allowed());
}

TEST_F(AuthorityTest, ListAuthoritiesSaysWhichPostGrantsWhat) {
  v1::ListAuthoritiesRequest req;
  req.set_member("members/m-zhang");
  req.set_as_of("2026-04-01");
  v1::ListAuthoritiesResponse resp;
  ASSERT_THAT(Call(&Stub::ListAuthorities, req, &resp), IsOk());
  ASSERT_EQ(resp.authorities_size(), 3);
  EXPECT_EQ(resp.authorities(0).assignment_kind(), v1::ASSIGNMENT_KIND_PRIMARY);
  EXPECT_EQ(resp.authorities(0).position(), "positions/s1-director");
  EXPECT_EQ(resp.authorities(2).type(), v1::AUTHORITY_TYPE_COORDINATE_EVENTS);
  EXPECT_EQ(resp.authorities(2).department(), "departments/operations");
  req.set_as_of("2026-02-01");
  resp.Clear();
  ASSERT_THAT(Call(&Stub::ListAuthorities, req, &resp), IsOk());
  EXPECT_EQ(resp.authorities_size(), 2);
}

TEST_F(AuthorityTest, BadInput) {
  v1::CheckAuthorityRequest req;
  req.set_member("members/m-zhang");
  req.set_department("departments/sales-1");
  req.set_authority(v1::AUTHORITY_TYPE_SPEND_BUDGET);
  v1::CheckAuthorityResponse resp;
  EXPECT_THAT(Call(&Stub::CheckAuthority, req, &resp), IsError(grpc::StatusCode::INVALID_ARGUMENT, "", "amount"));
  req.set_authority(v1::AUTHORITY_TYPE_ASSESS);
  req.mutable_amount()->set_currency_code("CNY");
  EXPECT_THAT(Call(&Stub::CheckAuthority, req, &resp), IsError(grpc::StatusCode::INVALID_ARGUMENT, "", "amount"));
  req.clear_amount();
  req.set_authority(static_cast<v1::AuthorityType>(55));
  EXPECT_THAT(Call(&Stub::CheckAuthority, req, &resp), IsError(grpc::StatusCode::INVALID_ARGUMENT, "", "authority"));
  req.set_authority(v1::AUTHORITY_TYPE_UNSPECIFIED);
  EXPECT_THAT(Call(&Stub::CheckAuthority, req, &resp), IsError(grpc::StatusCode::INVALID_ARGUMENT, "", "authority"));
  req.set_authority(v1::AUTHORITY_TYPE_ASSESS);
  req.set_department("sales-1");
  EXPECT_THAT(Call(&Stub::CheckAuthority, req, &resp), IsError(grpc::StatusCode::INVALID_ARGUMENT, "", "department"));
  req.set_department("departments/ghost");
  EXPECT_THAT(Call(&Stub::CheckAuthority, req, &resp), IsError(grpc::StatusCode::NOT_FOUND, "", ""));
  req.set_department("departments/sales-1");
  req.set_member("members/ghost");
  EXPECT_THAT(Call(&Stub::CheckAuthority, req, &resp), IsError(grpc::StatusCode::NOT_FOUND, "", ""));
}

}  // namespace
}  // namespace opsteam::org::testing
