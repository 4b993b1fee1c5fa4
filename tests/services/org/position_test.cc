// Positions: fields, masks and etags, listing, deletion rules, bad input.

#include "tests/services/org/org_fixture.h"

namespace opsteam::org::testing {
namespace {

using ::testing::ElementsAre;
using Stub = v1::OrgService::Stub;

v1::Position SalesManager() {
  // 销售经理 of seeds/000: five seats, managerial and professional duties.
  v1::Position p;
  p.set_department("departments/sales-1");
  p.set_title("销售经理");
  p.set_grade(v1::GRADE_MANAGER);
  p.set_headcount(5);
  auto* r1 = p.add_responsibilities();
  r1->set_kind(v1::RESPONSIBILITY_KIND_PROFESSIONAL);
  r1->set_text("涉及行业的客户开发及维护，达成个人业绩任务");
  auto* req = p.add_requirements();
  req->set_kind(v1::REQUIREMENT_KIND_EXPERIENCE);
  req->set_text("两年以上广告销售经验");
  p.add_work_standards("每日工作进度汇报");
  auto* a1 = p.add_authorities();
  a1->set_type(v1::AUTHORITY_TYPE_EXECUTE);
  a1->set_scope(v1::AUTHORITY_SCOPE_OWN_DEPARTMENT);
  auto* a2 = p.add_authorities();
  a2->set_type(v1::AUTHORITY_TYPE_SPEND_BUDGET);
  a2->set_scope(v1::AUTHORITY_SCOPE_OWN_DEPARTMENT);
  a2->mutable_budget_limit()->set_currency_code("CNY");
  a2->mutable_budget_limit()->set_minor_units(500000);
  p.set_introduction_phase("initial-user");
  return p;
}

class PositionTest : public OrgTest {
 protected:
  void SetUp() override {
    OrgTest::SetUp();
    MakeDepartment("monetisation", "", "商业变现部", v1::DEPARTMENT_KIND_BUSINESS);
    MakeDepartment("sales-1", "monetisation", "销售一部");
    MakeDepartment("sales-2", "monetisation", "销售二部");
  }
  v1::Position Get(const std::string& id, const std::string& as_of) {
    v1::GetPositionRequest req;
    req.set_name("positions/" + id);
    req.set_as_of(as_of);
    v1::GetPositionResponse resp;
    EXPECT_THAT(Call(&Stub::GetPosition, req, &resp), IsOk());
    return resp.position();
  }
};

TEST_F(PositionTest, CreateAndGetKeepEveryField) {
  v1::CreatePositionRequest req;
  req.set_position_id("sales-1-manager");
  req.set_effective_date("2026-01-01");
  *req.mutable_position() = SalesManager();
  v1::CreatePositionResponse resp;
  ASSERT_THAT(Call(&Stub::CreatePosition, req, &resp), IsOk());
  v1::Position got = Get("sales-1-manager", "2026-02-01");
  EXPECT_EQ(got.name(), "positions/sales-1-manager");
  EXPECT_EQ(got.title(), "销售经理");
  EXPECT_EQ(got.headcount(), 5);
  EXPECT_EQ(got.filled(), 0);
  ASSERT_EQ(got.authorities_size(), 2);
  EXPECT_EQ(got.authorities(1).budget_limit().minor_units(), 500000);
  EXPECT_EQ(got.responsibilities(0).text(), "涉及行业的客户开发及维护，达成个人业绩任务");
  EXPECT_EQ(got.work_standards(0), "每日工作进度汇报");
  EXPECT_EQ(got.introduction_phase(), "initial-user");
  EXPECT_EQ(got.etag(), resp.position().etag());
}

struct BadPosition {
  std::string label;
  std::function<void(v1::Position&)> edit;
  std::string field;
};

TEST_F(PositionTest, BadInputNamesTheFieldAndWritesNothing) {
  const std::vector<BadPosition> cases = {
      {"negative headcount", [](auto& p) { p.set_headcount(-1); }, "position.headcount"},
      {"empty title", [](auto& p) { p.set_title(""); }, "position.title"},
      {"no grade", [](auto& p) { p.set_grade(v1::GRADE_UNSPECIFIED); }, "position.grade"},
      {"unknown grade", [](auto& p) { p.set_grade(static_cast<v1::Grade>(77)); }, "position.grade"},
      {"budget without limit", [](auto& p) { p.mutable_authorities(1)->clear_budget_limit(); },
       "position.authorities[1].budget_limit"},
      {"limit on non-budget", [](auto& p) { *p.mutable_authorities(0)->mutable_budget_limit() = p.authorities(1).budget_limit(); },
       "position.authorities[0].budget_limit"},
      {"negative limit", [](auto& p) { p.mutable_authorities(1)->mutable_budget_limit()->set_minor_units(-5); },
       "position.authorities[1].budget_limit.minor_units"},
      {"bad currency", [](auto& p) { p.mutable_authorities(1)->mutable_budget_limit()->set_currency_code("rmb"); },
       "position.authorities[1].budget_limit.currency_code"},
      {"unknown authority", [](auto& p) { p.mutable_authorities(0)->set_type(static_cast<v1::AuthorityType>(99)); },
       "position.authorities[0].type"},
      {"no scope", [](auto& p) { p.mutable_authorities(0)->set_scope(v1::AUTHORITY_SCOPE_UNSPECIFIED); },
       "position.authorities[0].scope"},
      {"duplicate authority", [](auto& p) { *p.add_authorities() = p.authorities(0); },
       "position.authorities[2].type"},
      {"empty duty", [](auto& p) { p.mutable_responsibilities(0)->set_text(""); },
       "position.responsibilities[0].text"},
      {"duty kind", [](auto& p) { p.mutable_responsibilities(0)->set_kind(v1::RESPONSIBILITY_KIND_UNSPECIFIED); },
       "position.responsibilities[0].kind"},
      {"requirement kind", [](auto& p) { p.mutable_requirements(0)->set_kind(static_cast<v1::RequirementKind>(9)); },
       "position.requirements[0].kind"},
      {"empty standard", [](auto& p) { p.set_work_standards(0, ""); }, "position.work_standards[0]"},
      {"unknown department", [](auto& p) { p.set_department("departments/ghost"); }, "position.department"},
      {"malformed department", [](auto& p) { p.set_department("sales-1"); }, "position.department"},
      {"unknown reports_to", [](auto& p) { p.set_reports_to("positions/ghost"); }, "position.reports_to"},
      {"malformed reports_to", [](auto& p) { p.set_reports_to("positions/"); }, "position.reports_to"},
  };
  for (const auto& c : cases) {
    v1::CreatePositionRequest req;
    req.set_position_id("p");
    req.set_effective_date("2026-01-01");
    *req.mutable_position() = SalesManager();
    c.edit(*req.mutable_position());
    v1::CreatePositionResponse resp;
    EXPECT_THAT(Call(&Stub::CreatePosition, req, &resp),
                IsError(grpc::StatusCode::INVALID_ARGUMENT, "", c.field))
        << c.label;
  }
  v1::ListPositionsRequest list;
  v1::ListPositionsResponse resp;
  list.set_as_of("2026-02-01");
  ASSERT_THAT(Call(&Stub::ListPositions, list, &resp), IsOk());
  EXPECT_EQ(resp.positions_size(), 0);
}

TEST_F(PositionTest, UpdateMaskEtagAndDatedHistory) {
  v1::CreatePositionRequest create;
  create.set_position_id("sales-1-manager");
  create.set_effective_date("2026-01-01");
  *create.mutable_position() = SalesManager();
  v1::CreatePositionResponse created;
  ASSERT_THAT(Call(&Stub::CreatePosition, create, &created), IsOk());

  v1::UpdatePositionRequest req;
  req.mutable_position()->set_name("positions/sales-1-manager");
  req.mutable_position()->set_headcount(7);
  req.mutable_position()->set_title("不会写入");
  req.mutable_position()->add_work_standards("周报按时提交");
  req.mutable_position()->set_etag(created.position().etag());
  req.mutable_update_mask()->add_paths("headcount");
  req.mutable_update_mask()->add_paths("work_standards");
  req.set_effective_date("2026-04-01");
  v1::UpdatePositionResponse resp;
  ASSERT_THAT(Call(&Stub::UpdatePosition, req, &resp), IsOk());
  EXPECT_EQ(resp.position().headcount(), 7);
  EXPECT_EQ(resp.position().title(), "销售经理");
  EXPECT_THAT(resp.position().work_standards(), ElementsAre("周报按时提交"));
  EXPECT_EQ(Get("sales-1-manager", "2026-03-31").headcount(), 5);
  EXPECT_EQ(Get("sales-1-manager", "2026-04-01").headcount(), 7);

  EXPECT_THAT(Call(&Stub::UpdatePosition, req, &resp),
              IsError(grpc::StatusCode::ABORTED, "ETAG_MISMATCH", ""));
  v1::UpdatePositionRequest dept = req;
  dept.mutable_position()->clear_etag();
  dept.clear_update_mask();
  dept.mutable_update_mask()->add_paths("department");
  EXPECT_THAT(Call(&Stub::UpdatePosition, dept, &resp),
              IsError(grpc::StatusCode::INVALID_ARGUMENT, "", "update_mask"));
  v1::UpdatePositionRequest neg = dept;
  neg.mutable_update_mask()->set_paths(0, "headcount");
  neg.mutable_position()->set_headcount(-3);
  EXPECT_THAT(Call(&Stub::UpdatePosition, neg, &resp),
              IsError(grpc::StatusCode::INVALID_ARGUMENT, "", "position.headcount"));
  v1::UpdatePositionRequest self = dept;
  self.mutable_update_mask()->set_paths(0, "reports_to");
  self.mutable_position()->set_reports_to("positions/sales-1-manager");
  EXPECT_THAT(Call(&Stub::UpdatePosition, self, &resp),
              IsError(grpc::StatusCode::INVALID_ARGUMENT, "", "position.reports_to"));
}

TEST_F(PositionTest, ReportingCycleIsRejected) {
  MakePosition("director", "sales-1", 1);
  MakePosition("manager", "sales-1", 1, "director");
  MakePosition("specialist", "sales-1", 1, "manager");
  v1::UpdatePositionRequest req;
  req.mutable_position()->set_name("positions/director");
  req.mutable_position()->set_reports_to("positions/specialist");
  req.mutable_update_mask()->add_paths("reports_to");
  req.set_effective_date("2026-02-01");
  v1::UpdatePositionResponse resp;
  EXPECT_THAT(Call(&Stub::UpdatePosition, req, &resp),
              IsError(grpc::StatusCode::FAILED_PRECONDITION, "REPORTING_CYCLE", ""));
}

TEST_F(PositionTest, ListByDepartmentSubtreeAndPages) {
  for (int i = 0; i < 7; ++i) MakePosition(absl::StrCat("s1-", i), "sales-1", 1);
  for (int i = 0; i < 4; ++i) MakePosition(absl::StrCat("s2-", i), "sales-2", 1);
  MakePosition("director", "monetisation", 1);

  v1::ListPositionsRequest one;
  one.set_department("departments/sales-2");
  one.set_as_of("2026-02-01");
  v1::ListPositionsResponse resp;
  ASSERT_THAT(Call(&Stub::ListPositions, one, &resp), IsOk());
  EXPECT_EQ(resp.positions_size(), 4);

  v1::ListPositionsRequest sub;
  sub.set_department("departments/monetisation");
  sub.set_recursive(true);
  sub.set_as_of("2026-02-01");
  sub.set_page_size(5);
  int total = 0, pages = 0;
  do {
    resp.Clear();
    ASSERT_THAT(Call(&Stub::ListPositions, sub, &resp), IsOk());
    total += resp.positions_size();
    sub.set_page_token(resp.next_page_token());
    ++pages;
  } while (!resp.next_page_token().empty() && pages < 10);
  EXPECT_EQ(total, 12);
  EXPECT_EQ(pages, 3);

  v1::ListPositionsRequest ghost;
  ghost.set_department("departments/ghost");
  EXPECT_THAT(Call(&Stub::ListPositions, ghost, &resp), IsError(grpc::StatusCode::NOT_FOUND, "", ""));
}

TEST_F(PositionTest, DeleteRefusedWhileInUse) {
  MakePosition("director", "sales-1", 1);
  MakePosition("manager", "sales-1", 2, "director");
  SetLead("sales-1", "director");
  MakeMember("m-wang");
  ASSERT_THAT(Assign("m-wang", "manager"), IsOk());

  v1::DeletePositionRequest del;
  del.set_name("positions/director");
  del.set_effective_date("2026-05-01");
  v1::DeletePositionResponse resp;
  grpc::Status s = Call(&Stub::DeletePosition, del, &resp);
  EXPECT_THAT(s, IsError(grpc::StatusCode::FAILED_PRECONDITION, "POSITION_IN_USE", ""));
  EXPECT_THAT(s.error_message(), ::testing::HasSubstr("1 positions reporting to it and leads 1 departments"));
  del.set_name("positions/manager");
  EXPECT_THAT(Call(&Stub::DeletePosition, del, &resp),
              IsError(grpc::StatusCode::FAILED_PRECONDITION, "POSITION_IN_USE", ""));

  MakePosition("spare", "sales-1", 1);
  del.set_name("positions/spare");
  ASSERT_THAT(Call(&Stub::DeletePosition, del, &resp), IsOk());
  v1::GetPositionRequest get;
  get.set_name("positions/spare");
  get.set_as_of("2026-05-01");
  v1::GetPositionResponse got;
  EXPECT_THAT(Call(&Stub::GetPosition, get, &got), IsError(grpc::StatusCode::NOT_FOUND, "", ""));
  get.set_as_of("2026-04-30");
  EXPECT_THAT(Call(&Stub::GetPosition, get, &got), IsOk());
}

}  // namespace
}  // namespace opsteam::org::testing
