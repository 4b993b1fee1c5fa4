// Reporting lines: managers through reports-to posts and department leads, vacancies
// passed over, skip-level managers, direct reports, dated answers.

#include "tests/services/org/org_fixture.h"

namespace opsteam::org::testing {
namespace {

using ::testing::ElementsAre;
using Stub = v1::OrgService::Stub;

class ReportingTest : public OrgTest {
 protected:
  void SetUp() override {
    OrgTest::SetUp();
    MakeDepartment("kuaishou", "", "快手项目组", v1::DEPARTMENT_KIND_PROJECT_GROUP);
    MakeDepartment("monetisation", "kuaishou", "商业变现部", v1::DEPARTMENT_KIND_BUSINESS);
    MakeDepartment("sales", "monetisation", "销售部");  // no lead of its own
    MakeDepartment("sales-1", "sales", "销售一部");
    MakeDepartment("production", "monetisation", "制作部");
    MakePosition("gm", "kuaishou", 1);
    SetLead("kuaishou", "gm");
    MakePosition("mon-director", "monetisation", 1);
    SetLead("monetisation", "mon-director");
    MakePosition("s1-director", "sales-1", 1);
    SetLead("sales-1", "s1-director");
    MakePosition("s1-manager", "sales-1", 5);
    MakePosition("s1-support", "sales-1", 1, "s1-director");
    MakePosition("prod-director", "production", 1);
    SetLead("production", "prod-director");
    MakePosition("prod-editor", "production", 3);

    MakeMember("m-gm", "总经理");
    MakeMember("m-mon", "变现总监");
    MakeMember("m-s1d", "销售一部总监");
    MakeMember("m-a", "销售经理甲");
    MakeMember("m-b", "销售经理乙");
    MakeMember("m-c", "业务支持");
    MakeMember("m-e", "视频剪辑");
    MakeMember("m-nopost", "待分配");
    EXPECT_THAT(Assign("m-gm", "gm"), IsOk());
    EXPECT_THAT(Assign("m-mon", "mon-director"), IsOk());
    EXPECT_THAT(Assign("m-s1d", "s1-director", v1::ASSIGNMENT_KIND_PRIMARY, "2026-03-01"), IsOk());
    EXPECT_THAT(Assign("m-a", "s1-manager"), IsOk());
    EXPECT_THAT(Assign("m-b", "s1-manager"), IsOk());
    EXPECT_THAT(Assign("m-c", "s1-support"), IsOk());
    EXPECT_THAT(Assign("m-e", "prod-editor"), IsOk());
  }

  v1::GetManagerResponse Manager(const std::string& member, const std::string& as_of = "2026-04-01") {
    v1::GetManagerRequest req;
    req.set_member("members/" + member);
    req.set_as_of(as_of);
    v1::GetManagerResponse resp;
    EXPECT_THAT(Call(&Stub::GetManager, req, &resp), IsOk()) << member;
    return resp;
  }

  std::vector<std::string> Reports(const std::string& member, const std::string& as_of = "2026-04-01") {
    v1::ListDirectReportsRequest req;
    req.set_member("members/" + member);
    req.set_as_of(as_of);
    v1::ListDirectReportsResponse resp;
    EXPECT_THAT(Call(&Stub::ListDirectReports, req, &resp), IsOk()) << member;
    std::vector<std::string> out;
    for (const auto& r : resp.direct_reports()) out.push_back(r.member());
    return out;
  }
};

TEST_F(ReportingTest, ManagerAndSkipLevelThroughLeadsAndReportsTo) {
  auto staff = Manager("m-a");
  EXPECT_EQ(staff.manager().member(), "members/m-s1d");
  EXPECT_EQ(staff.manager().position(), "positions/s1-director");
  EXPECT_EQ(staff.manager().display_name(), "销售一部总监");
  EXPECT_EQ(staff.skip_level_manager().member(), "members/m-mon");

  // A lead reports to the nearest lead above (销售部 has none: 商业变现部's).
  auto director = Manager("m-s1d");
  EXPECT_EQ(director.manager().member(), "members/m-mon");
  EXPECT_EQ(director.skip_level_manager().member(), "members/m-gm");

  EXPECT_EQ(Manager("m-c").manager().member(), "members/m-s1d");
  auto top = Manager("m-gm");
  EXPECT_FALSE(top.has_manager());
  EXPECT_FALSE(top.has_skip_level_manager());
}

TEST_F(ReportingTest, VacantPostsArePassedOver) {
  // 制作部's lead post is vacant: its staff report to the next person up.
  EXPECT_EQ(Manager("m-e").manager().member(), "members/m-mon");
  // Before the sales-1 director arrived, the same.
  EXPECT_EQ(Manager("m-a", "2026-02-01").manager().member(), "members/m-mon");
  EXPECT_EQ(Manager("m-a", "2026-03-01").manager().member(), "members/m-s1d");
}

TEST_F(ReportingTest, DirectReportsMirrorGetManager) {
  EXPECT_THAT(Reports("m-s1d"), ElementsAre("members/m-a", "members/m-b", "members/m-c"));
  EXPECT_THAT(Reports("m-mon"), ElementsAre("members/m-e", "members/m-s1d"));
  EXPECT_THAT(Reports("m-gm"), ElementsAre("members/m-mon"));
  EXPECT_THAT(Reports("m-mon", "2026-02-01"),
              ElementsAre("members/m-a", "members/m-b", "members/m-c", "members/m-e"));
  EXPECT_THAT(Reports("m-a"), ElementsAre());

  v1::ListDirectReportsRequest req;
  req.set_member("members/m-s1d");
  req.set_as_of("2026-04-01");
  req.set_page_size(2);
  v1::ListDirectReportsResponse page1, page2;
  ASSERT_THAT(Call(&Stub::ListDirectReports, req, &page1), IsOk());
  EXPECT_EQ(page1.direct_reports_size(), 2);
  ASSERT_FALSE(page1.next_page_token().empty());
  req.set_page_token(page1.next_page_token());
  ASSERT_THAT(Call(&Stub::ListDirectReports, req, &page2), IsOk());
  ASSERT_EQ(page2.direct_reports_size(), 1);
  EXPECT_EQ(page2.direct_reports(0).member(), "members/m-c");
  EXPECT_TRUE(page2.next_page_token().empty());
}

TEST_F(ReportingTest, Errors) {
  v1::GetManagerRequest req;
  req.set_member("members/m-nopost");
  req.set_as_of("2026-04-01");
  v1::GetManagerResponse resp;
  EXPECT_THAT(Call(&Stub::GetManager, req, &resp), IsError(grpc::StatusCode::FAILED_PRECONDITION, "NO_POST", ""));
  req.set_member("members/ghost");
  EXPECT_THAT(Call(&Stub::GetManager, req, &resp), IsError(grpc::StatusCode::NOT_FOUND, "", ""));
  req.set_member("m-a");
  EXPECT_THAT(Call(&Stub::GetManager, req, &resp), IsError(grpc::StatusCode::INVALID_ARGUMENT, "", "member"));
}

}  // namespace
}  // namespace opsteam::org::testing
