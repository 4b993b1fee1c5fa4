// Staffing plans by business phase (seeds/003): the new-media team 新媒体推广小组 built on
// the "1+1+2+1+1" principle, manager, copywriter and two specialists in the initial-user
// phase (初始用户期), a channel manager and a PR manager added in the brand-promotion phase
// (品牌推广期); reports of planned, filled and open seats with their monthly cost, and what
// moving from one phase to the next opens.

#include "tests/services/org/org_fixture.h"

namespace opsteam::org::testing {
namespace {

using ::testing::ElementsAre;
using Stub = v1::OrgService::Stub;

class StaffingTest : public OrgTest {
 protected:
  v1::Position MakeTitledPosition(const std::string& id, const std::string& department_id, const std::string& title,
                                  int headcount, v1::Grade grade, const std::string& phase,
                                  const std::string& effective_date = "2026-01-01") {
    v1::CreatePositionRequest req;
    req.set_position_id(id);
    req.set_effective_date(effective_date);
    auto* p = req.mutable_position();
    p->set_department("departments/" + department_id);
    p->set_title(title);
    p->set_grade(grade);
    p->set_headcount(headcount);
    p->set_introduction_phase(phase);
    v1::CreatePositionResponse resp;
    EXPECT_THAT(Call(&Stub::CreatePosition, req, &resp), IsOk()) << id;
    return resp.position();
  }

  grpc::Status MakePhase(const std::string& id, const std::string& display_name, int ordinal,
                         v1::Phase* out = nullptr, const std::string& request_id = "") {
    v1::CreatePhaseRequest req;
    req.set_phase_id(id);
    req.set_request_id(request_id);
    req.mutable_phase()->set_display_name(display_name);
    req.mutable_phase()->set_ordinal(ordinal);
    v1::CreatePhaseResponse resp;
    grpc::Status s = Call(&Stub::CreatePhase, req, &resp);
    if (out) *out = resp.phase();
    return s;
  }

  grpc::Status Plan(const std::string& position, const std::string& phase, int seats, const std::string& from,
                    int64_t minor_units, v1::StaffingPlan* out = nullptr, const std::string& currency = "CNY",
                    const std::string& etag = "", const std::string& request_id = "") {
    v1::SetStaffingPlanRequest req;
    auto* p = req.mutable_staffing_plan();
    p->set_position("positions/" + position);
    p->set_phase("phases/" + phase);
    p->set_planned_seats(seats);
    p->set_from_date(from);
    p->mutable_monthly_cost_per_seat()->set_currency_code(currency);
    p->mutable_monthly_cost_per_seat()->set_minor_units(minor_units);
    p->set_etag(etag);
    req.set_request_id(request_id);
    v1::SetStaffingPlanResponse resp;
    grpc::Status s = Call(&Stub::SetStaffingPlan, req, &resp);
    if (out) *out = resp.staffing_plan();
    return s;
  }

  v1::GetStaffingReportResponse Report(const std::string& department, const std::string& phase,
                                       const std::string& as_of) {
    v1::GetStaffingReportRequest req;
    req.set_department("departments/" + department);
    if (!phase.empty()) req.set_phase("phases/" + phase);
    req.set_as_of(as_of);
    v1::GetStaffingReportResponse resp;
    EXPECT_THAT(Call(&Stub::GetStaffingReport, req, &resp), IsOk()) << phase << " " << as_of;
    return resp;
  }

  v1::ComparePhasesResponse Compare(const std::string& department, const std::string& from, const std::string& to) {
    v1::ComparePhasesRequest req;
    req.set_department("departments/" + department);
    req.set_from_phase("phases/" + from);
    req.set_to_phase("phases/" + to);
    v1::ComparePhasesResponse resp;
    EXPECT_THAT(Call(&Stub::ComparePhases, req, &resp), IsOk()) << from << " -> " << to;
    return resp;
  }


  // The seed's team: 新媒体推广小组 with its five posts, two phases and their plans.
  void BuildNewMediaTeam() {
    MakeDepartment("new-media", "", "新媒体推广小组", v1::DEPARTMENT_KIND_FUNCTIONAL_TEAM);
    MakeTitledPosition("nm-manager", "new-media", "新媒体推广经理", 1, v1::GRADE_MANAGER, "初始用户期");
    MakeTitledPosition("nm-copywriter", "new-media", "文案策划", 1, v1::GRADE_SPECIALIST, "初始用户期");
    MakeTitledPosition("nm-specialist", "new-media", "新媒体运营专员", 2, v1::GRADE_SPECIALIST, "初始用户期");
    MakeTitledPosition("nm-channel", "new-media", "渠道经理 BD拓展", 1, v1::GRADE_MANAGER, "品牌推广期");
    MakeTitledPosition("nm-pr", "new-media", "PR 媒介经理", 1, v1::GRADE_MANAGER, "品牌推广期");
    ASSERT_THAT(MakePhase("initial-user", "初始用户期", 1), IsOk());
    ASSERT_THAT(MakePhase("brand-promotion", "品牌推广期", 2), IsOk());
    // Initial-user phase: 1 + 1 + 2, from the team's start.
    ASSERT_THAT(Plan("nm-manager", "initial-user", 1, "2026-01-01", 1200000), IsOk());     // 12000.00 CNY
    ASSERT_THAT(Plan("nm-copywriter", "initial-user", 1, "2026-01-01", 800000), IsOk());   //  8000.00 CNY
    ASSERT_THAT(Plan("nm-specialist", "initial-user", 2, "2026-01-01", 700000), IsOk());   //  7000.00 CNY
    // Brand-promotion phase adds + 1 + 1 (the others are kept: plans are cumulative).
    ASSERT_THAT(Plan("nm-channel", "brand-promotion", 1, "2026-07-01", 1000000), IsOk());  // 10000.00 CNY
    ASSERT_THAT(Plan("nm-pr", "brand-promotion", 1, "2026-07-01", 1100000), IsOk());       // 11000.00 CNY
  }
};

std::vector<std::string> RowPositions(const v1::GetStaffingReportResponse& r) {
  std::vector<std::string> out;
  for (const auto& row : r.rows()) out.push_back(row.position());
  return out;
}

TEST_F(StaffingTest, NewMediaTeamByPhase) {
  BuildNewMediaTeam();

  // Initial-user phase: 4 seats, 12000 + 8000 + 2 x 7000 = 34000.00 CNY a month.
  auto initial = Report("new-media", "initial-user", "2026-03-01");
  EXPECT_THAT(RowPositions(initial),
              ElementsAre("positions/nm-copywriter", "positions/nm-manager", "positions/nm-specialist"));
  EXPECT_EQ(initial.planned(), 4);
  EXPECT_EQ(initial.filled(), 0);
  EXPECT_EQ(initial.open(), 4);
  ASSERT_EQ(initial.planned_monthly_cost_size(), 1);
  EXPECT_EQ(initial.planned_monthly_cost(0).currency_code(), "CNY");
  EXPECT_EQ(initial.planned_monthly_cost(0).minor_units(), 3400000);
  const auto& specialists = initial.rows(2);
  EXPECT_EQ(specialists.title(), "新媒体运营专员");
  EXPECT_EQ(specialists.department(), "departments/new-media");
  EXPECT_EQ(specialists.planned(), 2);
  EXPECT_EQ(specialists.planned_monthly_cost().minor_units(), 1400000);
  EXPECT_EQ(specialists.phase(), "phases/initial-user");

  // Brand-promotion phase: 6 seats (1+1+2+1+1), 55000.00 CNY a month.
  auto brand = Report("new-media", "brand-promotion", "2026-03-01");
  EXPECT_EQ(brand.rows_size(), 5);
  EXPECT_EQ(brand.planned(), 6);
  EXPECT_EQ(brand.open(), 6);
  ASSERT_EQ(brand.planned_monthly_cost_size(), 1);
  EXPECT_EQ(brand.planned_monthly_cost(0).minor_units(), 5500000);
  EXPECT_EQ(brand.rows(0).position(), "positions/nm-channel");
  EXPECT_EQ(brand.rows(0).phase(), "phases/brand-promotion");
  EXPECT_EQ(brand.rows(2).position(), "positions/nm-manager");
  EXPECT_EQ(brand.rows(2).phase(), "phases/initial-user");  // kept from the earlier phase

  // Moving from the initial-user to the brand-promotion phase opens exactly the channel
  // manager and the PR manager: 2 seats, 21000.00 CNY a month.
  auto delta = Compare("new-media", "initial-user", "brand-promotion");
  ASSERT_EQ(delta.deltas_size(), 2);
  EXPECT_EQ(delta.deltas(0).position(), "positions/nm-channel");
  EXPECT_EQ(delta.deltas(0).title(), "渠道经理 BD拓展");
  EXPECT_EQ(delta.deltas(0).seats_before(), 0);
  EXPECT_EQ(delta.deltas(0).seats_after(), 1);
  EXPECT_EQ(delta.deltas(0).seats_added(), 1);
  EXPECT_EQ(delta.deltas(0).monthly_cost_added().minor_units(), 1000000);
  EXPECT_EQ(delta.deltas(0).from_date(), "2026-07-01");
  EXPECT_EQ(delta.deltas(1).position(), "positions/nm-pr");
  EXPECT_EQ(delta.deltas(1).title(), "PR 媒介经理");
  EXPECT_EQ(delta.deltas(1).seats_added(), 1);
  EXPECT_EQ(delta.deltas(1).monthly_cost_added().currency_code(), "CNY");
  EXPECT_EQ(delta.deltas(1).monthly_cost_added().minor_units(), 1100000);
  EXPECT_EQ(delta.deltas(1).from_date(), "2026-07-01");
  EXPECT_EQ(delta.seats_added(), 2);
  ASSERT_EQ(delta.monthly_cost_added_size(), 1);
  EXPECT_EQ(delta.monthly_cost_added(0).currency_code(), "CNY");
  EXPECT_EQ(delta.monthly_cost_added(0).minor_units(), 2100000);

  // Without a phase, plans count from their from_date.
  EXPECT_EQ(Report("new-media", "", "2026-03-01").planned(), 4);
  EXPECT_EQ(Report("new-media", "", "2026-06-30").planned(), 4);
  auto july = Report("new-media", "", "2026-07-01");
  EXPECT_EQ(july.planned(), 6);
  EXPECT_EQ(july.planned_monthly_cost(0).minor_units(), 5500000);

  // One specialist arrives: one seat fewer is open.
  MakeMember("m-spec-1", "运营专员甲");
  ASSERT_THAT(Assign("m-spec-1", "nm-specialist", v1::ASSIGNMENT_KIND_PRIMARY, "2026-02-01"), IsOk());
  auto staffed = Report("new-media", "brand-promotion", "2026-03-01");
  EXPECT_EQ(staffed.planned(), 6);
  EXPECT_EQ(staffed.filled(), 1);
  EXPECT_EQ(staffed.open(), 5);
  EXPECT_EQ(staffed.rows(4).position(), "positions/nm-specialist");
  EXPECT_EQ(staffed.rows(4).filled(), 1);
  EXPECT_EQ(staffed.rows(4).open(), 1);
  EXPECT_EQ(Report("new-media", "initial-user", "2026-03-01").open(), 3);
  EXPECT_EQ(Report("new-media", "initial-user", "2026-01-15").open(), 4);  // before the arrival
  // A phase without as_of reads today's organisation.
  auto today = Report("new-media", "brand-promotion", "");
  EXPECT_EQ(today.planned(), 6);
  EXPECT_EQ(today.filled(), 1);

  // Every write is in the audit trail of its resource.
  EXPECT_THAT(ChangeMethods("phases/initial-user"), ElementsAre("CreatePhase"));
  EXPECT_THAT(ChangeMethods("phases/brand-promotion"), ElementsAre("CreatePhase"));
  v1::ListStaffingPlansRequest list;
  list.set_department("departments/new-media");
  v1::ListStaffingPlansResponse plans;
  ASSERT_THAT(Call(&Stub::ListStaffingPlans, list, &plans), IsOk());
  ASSERT_EQ(plans.staffing_plans_size(), 5);
  for (const auto& p : plans.staffing_plans()) {
    EXPECT_THAT(ChangeMethods(p.name()), ElementsAre("SetStaffingPlan")) << p.name();
  }
}

TEST_F(StaffingTest, PositionsWithoutPlan) {
  BuildNewMediaTeam();
  // A sub-team below the new-media team counts in its subtree.
  MakeDepartment("nm-video", "new-media", "短视频组");
  MakeTitledPosition("nm-editor", "nm-video", "视频剪辑", 2, v1::GRADE_SPECIALIST, "");
  MakeTitledPosition("nm-intern", "nm-video", "实习生", 1, v1::GRADE_ASSISTANT, "");
  MakeMember("m-editor", "剪辑师");
  ASSERT_THAT(Assign("m-editor", "nm-editor", v1::ASSIGNMENT_KIND_PRIMARY, "2026-02-01"), IsOk());

  // The editor post has no plan but a holder: listed with planned 0; the empty intern post
  // is left out.
  auto r = Report("new-media", "initial-user", "2026-03-01");
  EXPECT_THAT(RowPositions(r), ElementsAre("positions/nm-copywriter", "positions/nm-editor", "positions/nm-manager",
                                           "positions/nm-specialist"));
  EXPECT_EQ(r.rows(1).planned(), 0);
  EXPECT_EQ(r.rows(1).filled(), 1);
  EXPECT_EQ(r.rows(1).open(), 0);
  EXPECT_EQ(r.rows(1).department(), "departments/nm-video");
  EXPECT_FALSE(r.rows(1).has_planned_monthly_cost());
  EXPECT_EQ(r.planned(), 4);
  EXPECT_EQ(r.filled(), 1);
  EXPECT_EQ(r.open(), 4);
  // Only the sub-team.
  auto sub = Report("nm-video", "initial-user", "2026-03-01");
  EXPECT_THAT(RowPositions(sub), ElementsAre("positions/nm-editor"));
  EXPECT_TRUE(sub.planned_monthly_cost().empty());

  // A later phase may shrink a plan: a negative delta and negative cost.
  ASSERT_THAT(MakePhase("mature", "成熟期", 3), IsOk());
  ASSERT_THAT(Plan("nm-specialist", "mature", 1, "2027-01-01", 700000), IsOk());
  auto shrink = Compare("new-media", "brand-promotion", "mature");
  ASSERT_EQ(shrink.deltas_size(), 1);
  EXPECT_EQ(shrink.deltas(0).position(), "positions/nm-specialist");
  EXPECT_EQ(shrink.deltas(0).seats_before(), 2);
  EXPECT_EQ(shrink.deltas(0).seats_after(), 1);
  EXPECT_EQ(shrink.deltas(0).seats_added(), -1);
  EXPECT_EQ(shrink.deltas(0).monthly_cost_added().minor_units(), -700000);
  EXPECT_EQ(shrink.seats_added(), -1);
  // Across two phases at once.
  auto both = Compare("new-media", "initial-user", "mature");
  EXPECT_EQ(both.seats_added(), 1);
  EXPECT_EQ(both.monthly_cost_added(0).minor_units(), 1400000);
}

TEST_F(StaffingTest, PhasesAreOrderedAndUnique) {
  v1::Phase first;
  ASSERT_THAT(MakePhase("brand-promotion", "品牌推广期", 2, &first, "phase-2"), IsOk());
  EXPECT_EQ(first.name(), "phases/brand-promotion");
  EXPECT_EQ(first.ordinal(), 2);
  EXPECT_FALSE(first.etag().empty());
  v1::Phase again;
  ASSERT_THAT(MakePhase("brand-promotion", "品牌推广期", 2, &again, "phase-2"), IsOk());
  EXPECT_EQ(again.SerializeAsString(), first.SerializeAsString());
  EXPECT_THAT(ChangeMethods("phases/brand-promotion"), ElementsAre("CreatePhase"));
  ASSERT_THAT(MakePhase("mature", "成熟期", 3), IsOk());
  ASSERT_THAT(MakePhase("initial-user", "初始用户期", 1), IsOk());

  EXPECT_THAT(MakePhase("growth", "成长期", 2), IsError(grpc::StatusCode::ALREADY_EXISTS, "", ""));
  EXPECT_THAT(MakePhase("mature", "成熟期", 4), IsError(grpc::StatusCode::ALREADY_EXISTS, "", ""));
  EXPECT_THAT(MakePhase("growth", "", 5), IsError(grpc::StatusCode::INVALID_ARGUMENT, "", "phase.display_name"));
  EXPECT_THAT(MakePhase("growth", "成长期", 0), IsError(grpc::StatusCode::INVALID_ARGUMENT, "", "phase.ordinal"));
  EXPECT_THAT(MakePhase("growth", "成长期", -1), IsError(grpc::StatusCode::INVALID_ARGUMENT, "", "phase.ordinal"));
  EXPECT_THAT(MakePhase("Growth", "成长期", 5), IsError(grpc::StatusCode::INVALID_ARGUMENT, "", "phase_id"));
  v1::CreatePhaseRequest empty;
  v1::CreatePhaseResponse created;
  EXPECT_THAT(Call(&Stub::CreatePhase, empty, &created), IsError(grpc::StatusCode::INVALID_ARGUMENT, "", "phase"));

  // In phase order, page by page to the end.
  v1::ListPhasesRequest req;
  req.set_page_size(2);
  std::vector<std::string> names;
  v1::ListPhasesResponse resp;
  int pages = 0;
  do {
    resp.Clear();
    ASSERT_THAT(Call(&Stub::ListPhases, req, &resp), IsOk());
    for (const auto& p : resp.phases()) names.push_back(p.name());
    req.set_page_token(resp.next_page_token());
    ++pages;
  } while (!resp.next_page_token().empty() && pages < 10);
  EXPECT_EQ(pages, 2);
  EXPECT_THAT(names, ElementsAre("phases/initial-user", "phases/brand-promotion", "phases/mature"));
  req.set_page_token("nonsense");
  EXPECT_THAT(Call(&Stub::ListPhases, req, &resp),
              IsError(grpc::StatusCode::INVALID_ARGUMENT, "INVALID_PAGE_TOKEN", "page_token"));
}

TEST_F(StaffingTest, SetStaffingPlanReplacesAndValidates) {
  MakeDepartment("new-media", "", "新媒体推广小组");
  MakeTitledPosition("nm-specialist", "new-media", "新媒体运营专员", 2, v1::GRADE_SPECIALIST, "初始用户期");
  MakeTitledPosition("nm-later", "new-media", "数据分析师", 1, v1::GRADE_SPECIALIST, "", "2026-06-01");
  ASSERT_THAT(MakePhase("initial-user", "初始用户期", 1), IsOk());

  v1::StaffingPlan plan;
  ASSERT_THAT(Plan("nm-specialist", "initial-user", 1, "2026-01-01", 700000, &plan, "CNY", "", "plan-1"), IsOk());
  EXPECT_EQ(plan.position(), "positions/nm-specialist");
  EXPECT_EQ(plan.phase(), "phases/initial-user");
  EXPECT_EQ(plan.planned_seats(), 1);
  EXPECT_EQ(plan.from_date(), "2026-01-01");
  EXPECT_EQ(plan.monthly_cost_per_seat().currency_code(), "CNY");
  EXPECT_EQ(plan.monthly_cost_per_seat().minor_units(), 700000);
  EXPECT_TRUE(plan.name().rfind("staffingPlans/", 0) == 0) << plan.name();
  v1::StaffingPlan repeated;
  ASSERT_THAT(Plan("nm-specialist", "initial-user", 1, "2026-01-01", 700000, &repeated, "CNY", "", "plan-1"), IsOk());
  EXPECT_EQ(repeated.SerializeAsString(), plan.SerializeAsString());

  // Replacing keeps the plan (name), changes content and etag.
  v1::StaffingPlan replaced;
  ASSERT_THAT(Plan("nm-specialist", "initial-user", 2, "2026-02-01", 750000, &replaced, "CNY", plan.etag()), IsOk());
  EXPECT_EQ(replaced.name(), plan.name());
  EXPECT_EQ(replaced.planned_seats(), 2);
  EXPECT_EQ(replaced.from_date(), "2026-02-01");
  EXPECT_NE(replaced.etag(), plan.etag());
  EXPECT_THAT(Plan("nm-specialist", "initial-user", 3, "2026-02-01", 750000, nullptr, "CNY", plan.etag()),
              IsError(grpc::StatusCode::ABORTED, "ETAG_MISMATCH", ""));
  EXPECT_THAT(ChangeMethods(plan.name()), ElementsAre("SetStaffingPlan", "SetStaffingPlan"));

  // Bad input names the field.
  EXPECT_THAT(Plan("NM", "initial-user", 1, "2026-01-01", 1),
              IsError(grpc::StatusCode::INVALID_ARGUMENT, "", "staffing_plan.position"));
  EXPECT_THAT(Plan("nm-specialist", "", 1, "2026-01-01", 1),
              IsError(grpc::StatusCode::INVALID_ARGUMENT, "", "staffing_plan.phase"));
  EXPECT_THAT(Plan("nm-specialist", "initial-user", -1, "2026-01-01", 1),
              IsError(grpc::StatusCode::INVALID_ARGUMENT, "", "staffing_plan.planned_seats"));
  EXPECT_THAT(Plan("nm-specialist", "initial-user", 1, "", 1),
              IsError(grpc::StatusCode::INVALID_ARGUMENT, "", "staffing_plan.from_date"));
  EXPECT_THAT(Plan("nm-specialist", "initial-user", 1, "2026-1-1", 1),
              IsError(grpc::StatusCode::INVALID_ARGUMENT, "", "staffing_plan.from_date"));
  EXPECT_THAT(Plan("nm-specialist", "initial-user", 1, "2026-01-01", 1, nullptr, "cny"),
              IsError(grpc::StatusCode::INVALID_ARGUMENT, "", "staffing_plan.monthly_cost_per_seat.currency_code"));
  EXPECT_THAT(Plan("nm-specialist", "initial-user", 1, "2026-01-01", 1, nullptr, "RMB1"),
              IsError(grpc::StatusCode::INVALID_ARGUMENT, "", "staffing_plan.monthly_cost_per_seat.currency_code"));
  EXPECT_THAT(Plan("nm-specialist", "initial-user", 1, "2026-01-01", -1),
              IsError(grpc::StatusCode::INVALID_ARGUMENT, "", "staffing_plan.monthly_cost_per_seat.minor_units"));
  v1::SetStaffingPlanRequest no_cost;
  no_cost.mutable_staffing_plan()->set_position("positions/nm-specialist");
  no_cost.mutable_staffing_plan()->set_phase("phases/initial-user");
  no_cost.mutable_staffing_plan()->set_from_date("2026-01-01");
  v1::SetStaffingPlanResponse resp;
  EXPECT_THAT(Call(&Stub::SetStaffingPlan, no_cost, &resp),
              IsError(grpc::StatusCode::INVALID_ARGUMENT, "", "staffing_plan.monthly_cost_per_seat"));
  v1::SetStaffingPlanRequest nothing;
  EXPECT_THAT(Call(&Stub::SetStaffingPlan, nothing, &resp),
              IsError(grpc::StatusCode::INVALID_ARGUMENT, "", "staffing_plan"));

  // Unknown position or phase; a position that does not exist yet on the from_date; a
  // second currency for one position.
  EXPECT_THAT(Plan("ghost", "initial-user", 1, "2026-01-01", 1), IsError(grpc::StatusCode::NOT_FOUND, "", ""));
  EXPECT_THAT(Plan("nm-specialist", "ghost", 1, "2026-01-01", 1), IsError(grpc::StatusCode::NOT_FOUND, "", ""));
  EXPECT_THAT(Plan("nm-later", "initial-user", 1, "2026-01-01", 1),
              IsError(grpc::StatusCode::FAILED_PRECONDITION, "NOT_IN_EFFECT", ""));
  EXPECT_THAT(Plan("nm-later", "initial-user", 1, "2026-06-01", 1), IsOk());
  ASSERT_THAT(MakePhase("brand-promotion", "品牌推广期", 2), IsOk());
  EXPECT_THAT(Plan("nm-specialist", "brand-promotion", 3, "2026-07-01", 10000, nullptr, "USD"),
              IsError(grpc::StatusCode::FAILED_PRECONDITION, "CURRENCY_MISMATCH", ""));
  // A zero-seat plan is a plan (the post is planned, no seat yet); free plans are allowed.
  EXPECT_THAT(Plan("nm-specialist", "brand-promotion", 0, "2026-07-01", 0), IsOk());
  EXPECT_THAT(ChangeMethods(plan.name()), ElementsAre("SetStaffingPlan", "SetStaffingPlan"));
}

TEST_F(StaffingTest, ListStaffingPlansFiltersAndPages) {
  BuildNewMediaTeam();
  MakeDepartment("other", "", "其他部门");
  MakeTitledPosition("other-post", "other", "专员", 1, v1::GRADE_SPECIALIST, "");
  ASSERT_THAT(Plan("other-post", "initial-user", 1, "2026-01-01", 500000), IsOk());

  auto list = [&](const std::string& department, const std::string& phase, int page_size, int* pages) {
    v1::ListStaffingPlansRequest req;
    if (!department.empty()) req.set_department("departments/" + department);
    if (!phase.empty()) req.set_phase("phases/" + phase);
    req.set_page_size(page_size);
    std::vector<std::string> out;
    v1::ListStaffingPlansResponse resp;
    *pages = 0;
    do {
      resp.Clear();
      EXPECT_THAT(Call(&Stub::ListStaffingPlans, req, &resp), IsOk());
      for (const auto& p : resp.staffing_plans()) out.push_back(p.position() + "@" + p.phase());
      req.set_page_token(resp.next_page_token());
      ++*pages;
    } while (!resp.next_page_token().empty() && *pages < 20);
    return out;
  };
  int pages = 0;
  EXPECT_THAT(list("new-media", "", 2, &pages),
              ElementsAre("positions/nm-channel@phases/brand-promotion", "positions/nm-copywriter@phases/initial-user",
                          "positions/nm-manager@phases/initial-user", "positions/nm-pr@phases/brand-promotion",
                          "positions/nm-specialist@phases/initial-user"));
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(list("", "", 1, &pages).size(), 6u);
  EXPECT_EQ(pages, 6);
  EXPECT_THAT(list("new-media", "brand-promotion", 0, &pages),
              ElementsAre("positions/nm-channel@phases/brand-promotion", "positions/nm-pr@phases/brand-promotion"));
  EXPECT_EQ(list("", "initial-user", 0, &pages).size(), 4u);

  v1::ListStaffingPlansRequest req;
  v1::ListStaffingPlansResponse resp;
  req.set_department("departments/ghost");
  EXPECT_THAT(Call(&Stub::ListStaffingPlans, req, &resp), IsError(grpc::StatusCode::NOT_FOUND, "", ""));
  req.set_department("new-media");
  EXPECT_THAT(Call(&Stub::ListStaffingPlans, req, &resp), IsError(grpc::StatusCode::INVALID_ARGUMENT, "", "department"));
  req.clear_department();
  req.set_phase("phases/ghost");
  EXPECT_THAT(Call(&Stub::ListStaffingPlans, req, &resp), IsError(grpc::StatusCode::NOT_FOUND, "", ""));
  req.set_phase("initial-user");
  EXPECT_THAT(Call(&Stub::ListStaffingPlans, req, &resp), IsError(grpc::StatusCode::INVALID_ARGUMENT, "", "phase"));
}

TEST_F(StaffingTest, ReportAndCompareErrors) {
  BuildNewMediaTeam();
  v1::GetStaffingReportRequest report;
  v1::GetStaffingReportResponse report_resp;
  EXPECT_THAT(Call(&Stub::GetStaffingReport, report, &report_resp),
              IsError(grpc::StatusCode::INVALID_ARGUMENT, "", "department"));
  report.set_department("departments/ghost");
  EXPECT_THAT(Call(&Stub::GetStaffingReport, report, &report_resp), IsError(grpc::StatusCode::NOT_FOUND, "", ""));
  report.set_department("departments/new-media");
  report.set_as_of("2025-06-01");  // before the team exists
  EXPECT_THAT(Call(&Stub::GetStaffingReport, report, &report_resp), IsError(grpc::StatusCode::NOT_FOUND, "", ""));
  report.set_as_of("2026-02-31");
  EXPECT_THAT(Call(&Stub::GetStaffingReport, report, &report_resp),
              IsError(grpc::StatusCode::INVALID_ARGUMENT, "", "as_of"));
  report.set_as_of("");
  report.set_phase("phases/ghost");
  EXPECT_THAT(Call(&Stub::GetStaffingReport, report, &report_resp), IsError(grpc::StatusCode::NOT_FOUND, "", ""));
  report.set_phase("ghost");
  EXPECT_THAT(Call(&Stub::GetStaffingReport, report, &report_resp),
              IsError(grpc::StatusCode::INVALID_ARGUMENT, "", "phase"));

  v1::ComparePhasesRequest cmp;
  v1::ComparePhasesResponse cmp_resp;
  cmp.set_department("departments/new-media");
  cmp.set_from_phase("phases/brand-promotion");
  cmp.set_to_phase("phases/initial-user");
  EXPECT_THAT(Call(&Stub::ComparePhases, cmp, &cmp_resp),
              IsError(grpc::StatusCode::INVALID_ARGUMENT, "PHASE_NOT_LATER", "to_phase"));
  cmp.set_to_phase("phases/brand-promotion");
  EXPECT_THAT(Call(&Stub::ComparePhases, cmp, &cmp_resp),
              IsError(grpc::StatusCode::INVALID_ARGUMENT, "PHASE_NOT_LATER", "to_phase"));
  cmp.set_to_phase("phases/ghost");
  EXPECT_THAT(Call(&Stub::ComparePhases, cmp, &cmp_resp), IsError(grpc::StatusCode::NOT_FOUND, "", ""));
  cmp.set_to_phase("");
  EXPECT_THAT(Call(&Stub::ComparePhases, cmp, &cmp_resp), IsError(grpc::StatusCode::INVALID_ARGUMENT, "", "to_phase"));
  cmp.set_to_phase("phases/brand-promotion");
  cmp.set_from_phase("");
  EXPECT_THAT(Call(&Stub::ComparePhases, cmp, &cmp_resp),
              IsError(grpc::StatusCode::INVALID_ARGUMENT, "", "from_phase"));
  cmp.set_from_phase("phases/initial-user");
  cmp.set_department("");
  EXPECT_THAT(Call(&Stub::ComparePhases, cmp, &cmp_resp),
              IsError(grpc::StatusCode::INVALID_ARGUMENT, "", "department"));
  cmp.set_department("departments/ghost");
  EXPECT_THAT(Call(&Stub::ComparePhases, cmp, &cmp_resp), IsError(grpc::StatusCode::NOT_FOUND, "", ""));
}

}  // namespace
}  // namespace opsteam::org::testing
