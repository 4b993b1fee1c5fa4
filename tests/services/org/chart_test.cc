// Declarative org charts: ApplyOrgChart (plan, dry run, apply, re-apply, changed charts,
// all-or-nothing failures, validation) and ExportOrgChart (export -> apply round trips,
// including every demo chart of deploy/demo/).

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/message_differencer.h"
#include "libs/aip/aip.h"
#include "libs/testing/test_env.h"
#include "services/org/migrations.h"
#include "tests/services/org/org_fixture.h"

namespace opsteam::org::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAreArray;
using Stub = v1::OrgService::Stub;

// A small organisation: a head office with sales (and an east team below it) and operations
// (with a content team), two phases with staffing plans, seven members and a project group.
constexpr char kBaseChart[] = R"pb(
  title: "测试公司"
  effective_date: "2026-01-01"
  phases { id: "launch" display_name: "启动期" ordinal: 1 }
  phases { id: "growth" display_name: "成长期" ordinal: 2 description: "扩张" }
  departments {
    id: "hq"
    display_name: "总部"
    kind: DEPARTMENT_KIND_PROJECT_GROUP
    lead_position_id: "ceo"
    positions {
      id: "ceo"
      title: "总经理"
      grade: GRADE_GENERAL_MANAGER
      headcount: 1
      authorities { type: AUTHORITY_TYPE_ASSESS scope: AUTHORITY_SCOPE_SUBTREE }
      authorities {
        type: AUTHORITY_TYPE_SPEND_BUDGET
        scope: AUTHORITY_SCOPE_SUBTREE
        budget_limit { currency_code: "CNY" minor_units: 50000000 }
      }
    }
    children {
      id: "sales"
      display_name: "销售部"
      kind: DEPARTMENT_KIND_BUSINESS
      lead_position_id: "sales-director"
      positions {
        id: "sales-director"
        title: "销售总监"
        grade: GRADE_DIRECTOR
        headcount: 1
        reports_to_id: "ceo"
        responsibilities { kind: RESPONSIBILITY_KIND_MANAGERIAL text: "带领团队" }
      }
      positions {
        id: "sales-manager"
        title: "销售经理"
        grade: GRADE_MANAGER
        headcount: 2
        introduction_phase: "launch"
        staffing {
          phase_id: "launch"
          planned_seats: 2
          from_date: "2026-01-01"
          monthly_cost_per_seat { currency_code: "CNY" minor_units: 1000000 }
        }
        staffing {
          phase_id: "growth"
          planned_seats: 4
          from_date: "2026-06-01"
          monthly_cost_per_seat { currency_code: "CNY" minor_units: 1100000 }
        }
      }
      positions { id: "sales-assistant" title: "销售助理" grade: GRADE_ASSISTANT headcount: 1 }
      children {
        id: "sales-east"
        display_name: "华东销售"
        kind: DEPARTMENT_KIND_FUNCTIONAL_TEAM
        positions { id: "east-rep" title: "华东代表" grade: GRADE_SPECIALIST headcount: 2 }
      }
    }
    children {
      id: "ops"
      display_name: "运营部"
      kind: DEPARTMENT_KIND_SUPPORT
      lead_position_id: "ops-lead"
      positions { id: "ops-lead" title: "运营主管" grade: GRADE_GROUP_LEAD headcount: 1 reports_to_id: "ceo" }
      children {
        id: "ops-content"
        display_name: "内容组"
        kind: DEPARTMENT_KIND_FUNCTIONAL_TEAM
        positions { id: "editor" title: "编辑" grade: GRADE_SPECIALIST headcount: 2 reports_to_id: "ops-lead" }
      }
    }
  }
  members {
    id: "m-boss"
    display_name: "老板"
    employment_start_date: "2025-01-01"
    assignments { position_id: "ceo" kind: ASSIGNMENT_KIND_PRIMARY }
  }
  members {
    id: "m-sally"
    display_name: "莎莉"
    development_directions: "sales"
    employment_start_date: "2025-01-01"
    assignments { position_id: "sales-director" kind: ASSIGNMENT_KIND_PRIMARY }
  }
  members {
    id: "m-sam"
    display_name: "山姆"
    employment_start_date: "2025-03-01"
    assignments { position_id: "sales-manager" kind: ASSIGNMENT_KIND_PRIMARY }
    assignments { position_id: "east-rep" kind: ASSIGNMENT_KIND_SECONDARY }
  }
  members {
    id: "m-sue"
    display_name: "苏"
    employment_start_date: "2025-03-01"
    assignments { position_id: "sales-manager" kind: ASSIGNMENT_KIND_PRIMARY }
  }
  members {
    id: "m-ann"
    display_name: "安"
    employment_start_date: "2025-05-01"
    assignments { position_id: "sales-assistant" kind: ASSIGNMENT_KIND_PRIMARY }
  }
  members {
    id: "m-olga"
    display_name: "奥尔加"
    employment_start_date: "2025-05-01"
    assignments { position_id: "ops-lead" kind: ASSIGNMENT_KIND_PRIMARY }
  }
  members {
    id: "m-ed"
    display_name: "艾德"
    development_directions: "content"
    employment_start_date: "2026-02-01"
    assignments { position_id: "editor" kind: ASSIGNMENT_KIND_PRIMARY }
  }
  project_groups {
    id: "promo"
    display_name: "促销项目组"
    owner_member_id: "m-sally"
    members { member_id: "m-sam" role: "sales" }
    members { member_id: "m-olga" role: "operations" }
  }
)pb";

v1::OrgChart ParseChart(const std::string& text) {
  v1::OrgChart chart;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &chart));
  return chart;
}

v1::ChartDepartment* FindDepartment(google::protobuf::RepeatedPtrField<v1::ChartDepartment>* list,
                                    const std::string& id) {
  for (auto& d : *list) {
    if (d.id() == id) return &d;
    if (auto* found = FindDepartment(d.mutable_children(), id)) return found;
  }
  return nullptr;
}

v1::ChartMember* FindMember(v1::OrgChart& chart, const std::string& id) {
  for (auto& m : *chart.mutable_members()) {
    if (m.id() == id) return &m;
  }
  return nullptr;
}

// "ACTION resource [fields]" of each planned change.
std::vector<std::string> Summary(const v1::ApplyOrgChartResponse& resp) {
  std::vector<std::string> out;
  for (const auto& c : resp.changes()) {
    std::string line =
        absl::StrCat(absl::StripPrefix(v1::ChartAction_Name(c.action()), "CHART_ACTION_"), " ", c.resource());
    if (!c.fields().empty()) absl::StrAppend(&line, " [", absl::StrJoin(c.fields(), ","), "]");
    out.push_back(line);
  }
  return out;
}

int Count(const v1::ApplyOrgChartResponse& resp, v1::ChartAction action, const std::string& prefix) {
  return static_cast<int>(std::count_if(resp.changes().begin(), resp.changes().end(), [&](const auto& c) {
    return c.action() == action && c.resource().rfind(prefix, 0) == 0;
  }));
}

// Sorts every repeated field of a chart by id, so that charts compare by content.
void Normalise(v1::OrgChart& chart) {
  auto by_id = [](const auto& a, const auto& b) { return a.id() < b.id(); };
  std::function<void(google::protobuf::RepeatedPtrField<v1::ChartDepartment>*)> departments =
      [&](google::protobuf::RepeatedPtrField<v1::ChartDepartment>* list) {
        std::sort(list->begin(), list->end(), by_id);
        for (auto& d : *list) {
          std::sort(d.mutable_positions()->begin(), d.mutable_positions()->end(), by_id);
          for (auto& p : *d.mutable_positions()) {
            std::sort(p.mutable_staffing()->begin(), p.mutable_staffing()->end(),
                      [](const auto& a, const auto& b) { return a.phase_id() < b.phase_id(); });
          }
          departments(d.mutable_children());
        }
      };
  departments(chart.mutable_departments());
  std::sort(chart.mutable_phases()->begin(), chart.mutable_phases()->end(), by_id);
  std::sort(chart.mutable_members()->begin(), chart.mutable_members()->end(), by_id);
  for (auto& m : *chart.mutable_members()) {
    std::sort(m.mutable_assignments()->begin(), m.mutable_assignments()->end(),
              [](const auto& a, const auto& b) { return a.position_id() < b.position_id(); });
  }
  std::sort(chart.mutable_project_groups()->begin(), chart.mutable_project_groups()->end(), by_id);
  for (auto& g : *chart.mutable_project_groups()) {
    std::sort(g.mutable_members()->begin(), g.mutable_members()->end(),
              [](const auto& a, const auto& b) { return a.member_id() < b.member_id(); });
  }
}

// The ids of each kind in a chart, for comparing an export with its source.
std::map<std::string, std::set<std::string>> Ids(const v1::OrgChart& chart) {
  std::map<std::string, std::set<std::string>> out;
  std::function<void(const v1::ChartDepartment&)> walk = [&](const v1::ChartDepartment& d) {
    out["departments"].insert(d.id());
    for (const auto& p : d.positions()) {
      out["positions"].insert(p.id());
      for (const auto& s : p.staffing()) out["staffing"].insert(p.id() + "/" + s.phase_id());
    }
    for (const auto& c : d.children()) walk(c);
  };
  for (const auto& d : chart.departments()) walk(d);
  for (const auto& m : chart.members()) {
    out["members"].insert(m.id());
    for (const auto& a : m.assignments()) out["assignments"].insert(m.id() + "/" + a.position_id());
  }
  for (const auto& p : chart.phases()) out["phases"].insert(p.id());
  for (const auto& g : chart.project_groups()) {
    out["groups"].insert(g.id());
    for (const auto& m : g.members()) out["memberships"].insert(g.id() + "/" + m.member_id());
  }
  return out;
}

std::string Diff(const v1::OrgChart& a, const v1::OrgChart& b) {
  std::string out;
  google::protobuf::util::MessageDifferencer d;
  d.ReportDifferencesToString(&out);
  d.Compare(a, b);
  return out;
}

class ChartTest : public OrgTest {
 protected:
  grpc::Status Apply(const v1::OrgChart& chart, v1::ApplyOrgChartResponse* resp, bool dry_run = false,
                     const std::string& request_id = "") {
    v1::ApplyOrgChartRequest req;
    *req.mutable_chart() = chart;
    req.set_dry_run(dry_run);
    req.set_request_id(request_id);
    return Call(&Stub::ApplyOrgChart, req, resp);
  }

  v1::OrgChart Export(const std::string& root, const std::string& as_of) {
    v1::ExportOrgChartRequest req;
    req.set_root(root);
    req.set_as_of(as_of);
    v1::ExportOrgChartResponse resp;
    EXPECT_THAT(Call(&Stub::ExportOrgChart, req, &resp), IsOk());
    return resp.chart();
  }

  // Every row of every org table, digested: equal fingerprints = nothing was written.
  std::map<std::string, std::string> Fingerprint() {
    std::map<std::string, std::string> out;
    for (const char* table : {"departments", "department_versions", "positions", "position_versions", "members",
                              "assignments", "changes", "phases", "staffing_plans", "project_groups",
                              "project_group_versions", "group_memberships"}) {
      absl::Status s = pg::RunInTransaction(*pool_, {.read_only = true}, [&](pg::Tx& tx) -> absl::Status {
        auto r = tx.Exec(absl::StrCat("SELECT count(*)::text || ':' || coalesce(md5(string_agg(t::text, '|' ORDER BY "
                                      "t::text)), '') FROM ",
                                      table, " t"));
        if (!r.ok()) return r.status();
        out[table] = r->GetString(0, 0);
        return absl::OkStatus();
      });
      EXPECT_TRUE(s.ok()) << s;
    }
    return out;
  }

  // The etag of every department, position and member, and of every assignment.
  std::map<std::string, std::string> Etags(const std::string& as_of) {
    std::map<std::string, std::string> out;
    v1::ListDepartmentsRequest dreq;
    dreq.set_recursive(true);
    dreq.set_as_of(as_of);
    dreq.set_page_size(1000);
    v1::ListDepartmentsResponse dresp;
    EXPECT_THAT(Call(&Stub::ListDepartments, dreq, &dresp), IsOk());
    for (const auto& d : dresp.departments()) out[d.name()] = d.etag();
    v1::ListPositionsRequest preq;
    preq.set_as_of(as_of);
    preq.set_page_size(1000);
    v1::ListPositionsResponse presp;
    EXPECT_THAT(Call(&Stub::ListPositions, preq, &presp), IsOk());
    for (const auto& p : presp.positions()) out[p.name()] = p.etag();
    v1::ListMembersRequest mreq;
    mreq.set_page_size(1000);
    v1::ListMembersResponse mresp;
    EXPECT_THAT(Call(&Stub::ListMembers, mreq, &mresp), IsOk());
    for (const auto& m : mresp.members()) out[m.name()] = m.etag();
    v1::ListAssignmentsRequest areq;
    areq.set_include_history(true);
    areq.set_page_size(1000);
    v1::ListAssignmentsResponse aresp;
    EXPECT_THAT(Call(&Stub::ListAssignments, areq, &aresp), IsOk());
    for (const auto& a : aresp.assignments()) out[a.name()] = a.etag();
    return out;
  }

  v1::Department GetDepartment(const std::string& id, const std::string& as_of, grpc::Status* status = nullptr) {
    v1::GetDepartmentRequest req;
    req.set_name("departments/" + id);
    req.set_as_of(as_of);
    v1::GetDepartmentResponse resp;
    grpc::Status s = Call(&Stub::GetDepartment, req, &resp);
    if (status) {
      *status = s;
    } else {
      EXPECT_THAT(s, IsOk()) << id;
    }
    return resp.department();
  }

  v1::Position GetPosition(const std::string& id, const std::string& as_of, grpc::Status* status = nullptr) {
    v1::GetPositionRequest req;
    req.set_name("positions/" + id);
    req.set_as_of(as_of);
    v1::GetPositionResponse resp;
    grpc::Status s = Call(&Stub::GetPosition, req, &resp);
    if (status) {
      *status = s;
    } else {
      EXPECT_THAT(s, IsOk()) << id;
    }
    return resp.position();
  }

  std::vector<v1::Change> Changes(const std::string& resource, bool subtree = false) {
    v1::ListChangesRequest req;
    req.set_resource(resource);
    req.set_subtree(subtree);
    req.set_page_size(1000);
    v1::ListChangesResponse resp;
    EXPECT_THAT(Call(&Stub::ListChanges, req, &resp), IsOk());
    return {resp.changes().begin(), resp.changes().end()};
  }

  void ApplyBase() {
    v1::ApplyOrgChartResponse resp;
    ASSERT_THAT(Apply(ParseChart(kBaseChart), &resp), IsOk());
    ASSERT_TRUE(resp.applied());
  }
};

TEST_F(ChartTest, DryRunPlansEverythingButWritesNothing) {
  const auto before = Fingerprint();
  v1::ApplyOrgChartResponse resp;
  ASSERT_THAT(Apply(ParseChart(kBaseChart), &resp, /*dry_run=*/true), IsOk());
  EXPECT_FALSE(resp.applied());
  EXPECT_EQ(Count(resp, v1::CHART_ACTION_CREATE, "phases/"), 2);
  EXPECT_EQ(Count(resp, v1::CHART_ACTION_CREATE, "departments/"), 5);
  EXPECT_EQ(Count(resp, v1::CHART_ACTION_CREATE, "positions/"), 7);
  EXPECT_EQ(Count(resp, v1::CHART_ACTION_CREATE, "members/"), 7);
  EXPECT_EQ(Count(resp, v1::CHART_ACTION_CREATE, "assignments/"), 8);
  EXPECT_EQ(Count(resp, v1::CHART_ACTION_CREATE, "staffingPlans/"), 2);
  EXPECT_EQ(Count(resp, v1::CHART_ACTION_CREATE, "projectGroups/promo/memberships/"), 2);
  EXPECT_EQ(resp.changes_size(), 2 + 5 + 7 + 7 + 8 + 2 + 1 + 2);
  for (const auto& c : resp.changes()) {
    EXPECT_EQ(c.action(), v1::CHART_ACTION_CREATE) << c.resource();
    EXPECT_FALSE(c.description().empty()) << c.resource();
  }
  EXPECT_EQ(Fingerprint(), before);
  grpc::Status s;
  GetDepartment("hq", "2026-01-01", &s);
  EXPECT_THAT(s, IsError(grpc::StatusCode::NOT_FOUND, "", ""));

  // The dry run of what is applied next plans the same changes.
  v1::ApplyOrgChartResponse applied;
  ASSERT_THAT(Apply(ParseChart(kBaseChart), &applied), IsOk());
  EXPECT_TRUE(applied.applied());
  EXPECT_EQ(Summary(applied), Summary(resp));
}

TEST_F(ChartTest, ApplyCreatesTheChartAndReapplyingChangesNothing) {
  v1::ApplyOrgChartResponse resp;
  ASSERT_THAT(Apply(ParseChart(kBaseChart), &resp), IsOk());
  EXPECT_TRUE(resp.applied());

  const v1::Department hq = GetDepartment("hq", "2026-01-01");
  EXPECT_EQ(hq.display_name(), "总部");
  EXPECT_EQ(hq.lead_position(), "positions/ceo");
  EXPECT_EQ(hq.valid_from(), "2026-01-01");
  EXPECT_EQ(hq.parent(), "");
  const v1::Department east = GetDepartment("sales-east", "2026-01-01");
  EXPECT_THAT(east.ancestors(), ElementsAre("departments/hq", "departments/sales"));
  const v1::Position director = GetPosition("sales-director", "2026-01-01");
  EXPECT_EQ(director.reports_to(), "positions/ceo");
  EXPECT_EQ(director.department(), "departments/sales");
  EXPECT_EQ(director.filled(), 1);
  EXPECT_EQ(GetPosition("sales-manager", "2026-01-01").filled(), 2);
  EXPECT_EQ(GetPosition("ceo", "2026-01-01").authorities_size(), 2);
  // Hired after the chart's date: the post is taken from the first day of employment.
  EXPECT_EQ(GetPosition("editor", "2026-01-15").filled(), 0);
  EXPECT_EQ(GetPosition("editor", "2026-02-01").filled(), 1);
  v1::GetManagerRequest mreq;
  mreq.set_member("members/m-sam");
  mreq.set_as_of("2026-01-01");
  v1::GetManagerResponse manager;
  ASSERT_THAT(Call(&Stub::GetManager, mreq, &manager), IsOk());
  EXPECT_EQ(manager.manager().member(), "members/m-sally");
  EXPECT_EQ(manager.skip_level_manager().member(), "members/m-boss");

  // Applying the same chart again plans nothing and writes nothing.
  const auto etags = Etags("2026-01-01");
  const auto before = Fingerprint();
  v1::ApplyOrgChartResponse again;
  ASSERT_THAT(Apply(ParseChart(kBaseChart), &again), IsOk());
  EXPECT_THAT(again.changes(), IsEmpty());
  EXPECT_FALSE(again.applied());
  EXPECT_EQ(Etags("2026-01-01"), etags);
  EXPECT_EQ(Fingerprint(), before);
  // Also on a later day: the chart still describes the organisation.
  v1::OrgChart later = ParseChart(kBaseChart);
  later.set_effective_date("2026-04-01");
  ASSERT_THAT(Apply(later, &again, /*dry_run=*/true), IsOk());
  EXPECT_THAT(Summary(again), IsEmpty());
}

TEST_F(ChartTest, AChangedChartPlansExactlyItsChangesAndAppliesThem) {
  ApplyBase();
  v1::OrgChart chart = ParseChart(kBaseChart);
  chart.set_effective_date("2026-03-01");
  // Rename the east team.
  FindDepartment(chart.mutable_departments(), "sales-east")->set_display_name("华东大区");
  // Move the content team from operations to sales.
  auto* ops = FindDepartment(chart.mutable_departments(), "ops");
  auto* sales = FindDepartment(chart.mutable_departments(), "sales");
  *sales->add_children() = ops->children(0);
  ops->mutable_children()->Clear();
  // One more sales manager seat; no more sales assistant post (nor its holder's assignment).
  for (auto& p : *sales->mutable_positions()) {
    if (p.id() == "sales-manager") p.set_headcount(3);
  }
  sales->mutable_positions()->erase(std::remove_if(sales->mutable_positions()->begin(),
                                                   sales->mutable_positions()->end(),
                                                   [](const auto& p) { return p.id() == "sales-assistant"; }),
                                    sales->mutable_positions()->end());
  FindMember(chart, "m-ann")->clear_assignments();
  // Sam leaves the east team (his secondary post).
  FindMember(chart, "m-sam")->mutable_assignments()->RemoveLast();

  const std::vector<std::string> expected = {
      "MOVE departments/ops-content [parent]",
      "UPDATE departments/sales-east [display_name]",
      "END assignments/m-sam-east-rep",
      "END assignments/m-ann-sales-assistant",
      "UPDATE positions/sales-manager [headcount]",
      "END positions/sales-assistant",
  };
  const auto before = Fingerprint();
  v1::ApplyOrgChartResponse plan;
  ASSERT_THAT(Apply(chart, &plan, /*dry_run=*/true), IsOk());
  EXPECT_THAT(Summary(plan), UnorderedElementsAreArray(expected));
  EXPECT_FALSE(plan.applied());
  EXPECT_EQ(Fingerprint(), before);

  v1::ApplyOrgChartResponse resp;
  ASSERT_THAT(Apply(chart, &resp), IsOk());
  EXPECT_TRUE(resp.applied());
  EXPECT_THAT(Summary(resp), UnorderedElementsAreArray(expected));
  for (const auto& c : resp.changes()) {
    if (c.resource() == "departments/ops-content") {
      EXPECT_EQ(c.description(), "move departments/ops-content from departments/ops to departments/sales");
    }
  }

  // The changes hold from the chart's date; the day before shows the old organisation.
  EXPECT_EQ(GetDepartment("sales-east", "2026-03-01").display_name(), "华东大区");
  EXPECT_EQ(GetDepartment("sales-east", "2026-02-28").display_name(), "华东销售");
  EXPECT_EQ(GetDepartment("ops-content", "2026-03-01").parent(), "departments/sales");
  EXPECT_EQ(GetDepartment("ops-content", "2026-02-28").parent(), "departments/ops");
  EXPECT_EQ(GetPosition("sales-manager", "2026-03-01").headcount(), 3);
  EXPECT_EQ(GetPosition("sales-manager", "2026-02-28").headcount(), 2);
  grpc::Status gone;
  GetPosition("sales-assistant", "2026-03-01", &gone);
  EXPECT_THAT(gone, IsError(grpc::StatusCode::NOT_FOUND, "", ""));
  EXPECT_EQ(GetPosition("sales-assistant", "2026-02-28").filled(), 1);
  v1::GetAssignmentRequest areq;
  areq.set_name("assignments/m-sam-east-rep");
  v1::GetAssignmentResponse assignment;
  ASSERT_THAT(Call(&Stub::GetAssignment, areq, &assignment), IsOk());
  EXPECT_EQ(assignment.assignment().end_date(), "2026-03-01");
  // Members are never ended: Ann stays, without a post.
  v1::GetMemberRequest member;
  member.set_name("members/m-ann");
  v1::GetMemberResponse ann;
  EXPECT_THAT(Call(&Stub::GetMember, member, &ann), IsOk());
  EXPECT_EQ(ann.member().employment_end_date(), "");

  // Applied again, the changed chart is a no-op.
  v1::ApplyOrgChartResponse again;
  ASSERT_THAT(Apply(chart, &again), IsOk());
  EXPECT_THAT(Summary(again), IsEmpty());
}

TEST_F(ChartTest, RemovingADepartmentEndsItWithItsPositionsAndTheirAssignments) {
  ApplyBase();
  v1::OrgChart chart = ParseChart(kBaseChart);
  chart.set_effective_date("2026-04-01");
  FindDepartment(chart.mutable_departments(), "sales")->mutable_children()->Clear();
  v1::ApplyOrgChartResponse resp;
  // Sam's chart entry still names the east post: the chart cannot keep what it ends.
  EXPECT_THAT(Apply(chart, &resp), IsError(grpc::StatusCode::INVALID_ARGUMENT, "UNKNOWN_REFERENCE",
                                           "chart.members[2].assignments[1].position_id"));
  FindMember(chart, "m-sam")->mutable_assignments()->RemoveLast();
  ASSERT_THAT(Apply(chart, &resp), IsOk());
  EXPECT_THAT(Summary(resp), UnorderedElementsAreArray({"END departments/sales-east", "END positions/east-rep",
                                                        "END assignments/m-sam-east-rep"}));
  grpc::Status s;
  GetDepartment("sales-east", "2026-04-01", &s);
  EXPECT_THAT(s, IsError(grpc::StatusCode::NOT_FOUND, "", ""));
  GetDepartment("sales-east", "2026-03-31");

  // Before that day, the base chart still describes the organisation.
  ASSERT_THAT(Apply(ParseChart(kBaseChart), &resp, /*dry_run=*/true), IsOk());
  EXPECT_THAT(Summary(resp), IsEmpty());
  // Putting it back (on the same day) creates it again under the same name.
  v1::OrgChart back = ParseChart(kBaseChart);
  back.set_effective_date("2026-04-01");
  ASSERT_THAT(Apply(back, &resp), IsOk());
  EXPECT_THAT(Summary(resp), UnorderedElementsAreArray({"CREATE departments/sales-east", "CREATE positions/east-rep",
                                                        "CREATE assignments/m-sam-east-rep-2026-04-01"}));
  EXPECT_EQ(GetPosition("east-rep", "2026-04-01").filled(), 1);
  ASSERT_THAT(Apply(back, &resp), IsOk());
  EXPECT_THAT(Summary(resp), IsEmpty());
}

TEST_F(ChartTest, SwapsApplyInAnOrderTheRulesAccept) {
  ApplyBase();
  v1::OrgChart chart = ParseChart(kBaseChart);
  chart.set_effective_date("2026-03-01");
  // Sam's primary and secondary posts change places (a kind is changed by ending and
  // assigning again).
  auto* sam = FindMember(chart, "m-sam");
  sam->mutable_assignments(0)->set_kind(v1::ASSIGNMENT_KIND_SECONDARY);
  sam->mutable_assignments(1)->set_kind(v1::ASSIGNMENT_KIND_PRIMARY);
  // The phases change order.
  chart.mutable_phases(0)->set_ordinal(2);
  chart.mutable_phases(1)->set_ordinal(1);
  // Operations gets a new head post that leads it; the old lead post goes.
  auto* ops = FindDepartment(chart.mutable_departments(), "ops");
  ops->set_lead_position_id("ops-head");
  auto* head = ops->add_positions();
  head->set_id("ops-head");
  head->set_title("运营总监");
  head->set_grade(v1::GRADE_DIRECTOR);
  head->set_headcount(1);
  ops->mutable_positions()->erase(ops->mutable_positions()->begin());  // ops-lead
  FindDepartment(chart.mutable_departments(), "ops-content")->mutable_positions(0)->set_reports_to_id("ops-head");
  FindMember(chart, "m-olga")->mutable_assignments(0)->set_position_id("ops-head");
  // The project group: Sam's role changes, Olga leaves, Sue joins.
  auto* promo = chart.mutable_project_groups(0);
  promo->mutable_members(0)->set_role("key-accounts");
  promo->mutable_members()->RemoveLast();
  auto* sue = promo->add_members();
  sue->set_member_id("m-sue");
  sue->set_role("sales");

  v1::ApplyOrgChartResponse resp;
  ASSERT_THAT(Apply(chart, &resp), IsOk());
  EXPECT_THAT(Summary(resp),
              UnorderedElementsAreArray({
                  "UPDATE phases/launch [ordinal]",
                  "UPDATE phases/growth [ordinal]",
                  "UPDATE departments/ops [lead_position]",
                  "END assignments/m-sam-sales-manager",
                  "END assignments/m-sam-east-rep",
                  "END assignments/m-olga-ops-lead",
                  "CREATE positions/ops-head",
                  "UPDATE positions/editor [reports_to]",
                  "END positions/ops-lead",
                  "CREATE assignments/m-sam-sales-manager-2026-03-01",
                  "CREATE assignments/m-sam-east-rep-2026-03-01",
                  "CREATE assignments/m-olga-ops-head",
                  "UPDATE projectGroups/promo/memberships/m-sam [role]",
                  "END projectGroups/promo/memberships/m-olga",
                  "CREATE projectGroups/promo/memberships/m-sue",
              }));
  EXPECT_EQ(GetDepartment("ops", "2026-03-01").lead_position(), "positions/ops-head");
  EXPECT_EQ(GetPosition("editor", "2026-03-01").reports_to(), "positions/ops-head");
  v1::ListAssignmentsRequest areq;
  areq.set_member("members/m-sam");
  areq.set_as_of("2026-03-01");
  v1::ListAssignmentsResponse held;
  ASSERT_THAT(Call(&Stub::ListAssignments, areq, &held), IsOk());
  ASSERT_EQ(held.assignments_size(), 2);
  for (const auto& a : held.assignments()) {
    EXPECT_EQ(a.kind(), a.position() == "positions/east-rep" ? v1::ASSIGNMENT_KIND_PRIMARY
                                                              : v1::ASSIGNMENT_KIND_SECONDARY);
  }
  v1::OrgChart exported = Export("", "2026-03-01");
  ASSERT_EQ(exported.phases_size(), 2);
  EXPECT_EQ(exported.phases(0).id(), "growth");
  EXPECT_EQ(exported.project_groups(0).members_size(), 2);
  ASSERT_THAT(Apply(chart, &resp), IsOk());
  EXPECT_THAT(Summary(resp), IsEmpty());

  // A reporting line swap: the head now reports to the editor and the editor to the CEO.
  // Set in chart order, the head's new line would loop through the editor's old one.
  v1::OrgChart lines = chart;
  lines.set_effective_date("2026-04-01");
  FindDepartment(lines.mutable_departments(), "ops")->mutable_positions(0)->set_reports_to_id("editor");
  FindDepartment(lines.mutable_departments(), "ops-content")->mutable_positions(0)->set_reports_to_id("ceo");
  ASSERT_THAT(Apply(lines, &resp), IsOk());
  EXPECT_THAT(Summary(resp), UnorderedElementsAreArray({"UPDATE positions/ops-head [reports_to]",
                                                        "UPDATE positions/editor [reports_to]"}));
  EXPECT_EQ(GetPosition("ops-head", "2026-04-01").reports_to(), "positions/editor");
}

TEST_F(ChartTest, AnApplyThatFailsOnItsLastAssignmentWritesNothing) {
  // On an empty database: everything before the last assignment would be created.
  v1::OrgChart chart = ParseChart(kBaseChart);
  auto* extra = chart.add_members();
  extra->set_id("m-zed");
  extra->set_display_name("泽德");
  extra->set_employment_start_date("2025-01-01");
  auto* a = extra->add_assignments();
  a->set_position_id("sales-director");  // headcount 1, taken by Sally
  a->set_kind(v1::ASSIGNMENT_KIND_PRIMARY);
  const auto empty = Fingerprint();
  v1::ApplyOrgChartResponse resp;
  EXPECT_THAT(Apply(chart, &resp), IsError(grpc::StatusCode::FAILED_PRECONDITION, "HEADCOUNT_FULL", ""));
  EXPECT_EQ(Fingerprint(), empty);
  EXPECT_THAT(Apply(chart, &resp, /*dry_run=*/true),
              IsError(grpc::StatusCode::FAILED_PRECONDITION, "HEADCOUNT_FULL", ""));
  EXPECT_EQ(Fingerprint(), empty);

  // On an existing organisation: new departments, posts, members come before it.
  ApplyBase();
  const auto etags = Etags("2026-03-01");
  const auto before = Fingerprint();
  chart.set_effective_date("2026-03-01");
  auto* support = FindDepartment(chart.mutable_departments(), "hq")->add_children();
  support->set_id("support");
  support->set_display_name("支持部");
  support->set_kind(v1::DEPARTMENT_KIND_SUPPORT);
  auto* post = support->add_positions();
  post->set_id("support-agent");
  post->set_title("客服");
  post->set_grade(v1::GRADE_SPECIALIST);
  post->set_headcount(3);
  FindDepartment(chart.mutable_departments(), "sales-east")->set_display_name("华东大区");
  FindMember(chart, "m-ann")->mutable_assignments(0)->set_position_id("support-agent");
  grpc::Status s = Apply(chart, &resp);
  EXPECT_THAT(s, IsError(grpc::StatusCode::FAILED_PRECONDITION, "HEADCOUNT_FULL", ""));
  EXPECT_THAT(s.error_message(), ::testing::HasSubstr("positions/sales-director"));
  EXPECT_EQ(Fingerprint(), before);
  EXPECT_EQ(Etags("2026-03-01"), etags);
  grpc::Status missing;
  GetDepartment("support", "2026-03-01", &missing);
  EXPECT_THAT(missing, IsError(grpc::StatusCode::NOT_FOUND, "", ""));
}

TEST_F(ChartTest, AnApplyThatFailsOnADepartmentCycleWritesNothing) {
  ApplyBase();
  const auto before = Fingerprint();
  // A chart of the east team's subtree that puts sales below it: east keeps its place under
  // sales (a chart's top departments keep their parents), so sales would end up below itself.
  v1::OrgChart chart;
  chart.set_effective_date("2026-03-01");
  auto* newcomer = chart.add_departments();
  newcomer->set_id("marketing");
  newcomer->set_display_name("市场部");
  newcomer->set_kind(v1::DEPARTMENT_KIND_BUSINESS);
  auto* post = newcomer->add_positions();
  post->set_id("marketer");
  post->set_title("市场专员");
  post->set_grade(v1::GRADE_SPECIALIST);
  post->set_headcount(1);
  auto* east = chart.add_departments();
  *east = *FindDepartment(ParseChart(kBaseChart).mutable_departments(), "sales-east");
  v1::OrgChart base = ParseChart(kBaseChart);
  v1::ChartDepartment sales = *FindDepartment(base.mutable_departments(), "sales");
  sales.mutable_children()->Clear();
  *east->add_children() = sales;
  v1::ApplyOrgChartResponse resp;
  ASSERT_THAT(Apply(chart, &resp, /*dry_run=*/true),
              IsError(grpc::StatusCode::FAILED_PRECONDITION, "DEPARTMENT_CYCLE", ""));
  grpc::Status s = Apply(chart, &resp);
  EXPECT_THAT(s, IsError(grpc::StatusCode::FAILED_PRECONDITION, "DEPARTMENT_CYCLE", ""));
  EXPECT_THAT(s.error_message(), ::testing::HasSubstr("move"));
  EXPECT_EQ(Fingerprint(), before);
  grpc::Status missing;
  GetDepartment("marketing", "2026-03-01", &missing);
  EXPECT_THAT(missing, IsError(grpc::StatusCode::NOT_FOUND, "", ""));
}

TEST_F(ChartTest, BadChartsAreRejectedWithThePathOfTheField) {
  // Each case changes one field of the base chart; both a dry run and an apply name it.
  auto check = [&](const std::function<void(v1::OrgChart&)>& change, const std::string& field,
                   const std::string& reason) {
    v1::OrgChart chart = ParseChart(kBaseChart);
    change(chart);
    v1::ApplyOrgChartResponse resp;
    EXPECT_THAT(Apply(chart, &resp, /*dry_run=*/true), IsError(grpc::StatusCode::INVALID_ARGUMENT, reason, field));
    EXPECT_THAT(Apply(chart, &resp), IsError(grpc::StatusCode::INVALID_ARGUMENT, reason, field));
  };
  check([](v1::OrgChart& c) {
    FindDepartment(c.mutable_departments(), "sales")->mutable_positions(1)->set_headcount(-1);
  }, "chart.departments[0].children[0].positions[1].headcount", "");
  check([](v1::OrgChart& c) {
    FindDepartment(c.mutable_departments(), "sales-east")->mutable_positions(0)->set_id("ceo");
  }, "chart.departments[0].children[0].children[0].positions[0].id", "DUPLICATE_ID");
  check([](v1::OrgChart& c) { FindDepartment(c.mutable_departments(), "ops")->set_id("Ops!"); },
        "chart.departments[0].children[1].id", "");
  check([](v1::OrgChart& c) { FindDepartment(c.mutable_departments(), "ops")->set_lead_position_id("ceo"); },
        "chart.departments[0].children[1].lead_position_id", "LEAD_NOT_IN_DEPARTMENT");
  check([](v1::OrgChart& c) { FindDepartment(c.mutable_departments(), "ops")->set_display_name(""); },
        "chart.departments[0].children[1].display_name", "");
  check([](v1::OrgChart& c) {
    FindDepartment(c.mutable_departments(), "hq")->mutable_positions(0)->set_reports_to_id("editor");
  }, "chart.departments[0].positions[0].reports_to_id", "REPORTING_CYCLE");
  check([](v1::OrgChart& c) { FindMember(c, "m-sam")->mutable_assignments(1)->set_position_id("nowhere"); },
        "chart.members[2].assignments[1].position_id", "UNKNOWN_REFERENCE");
  check([](v1::OrgChart& c) { FindMember(c, "m-sam")->mutable_assignments(1)->set_kind(v1::ASSIGNMENT_KIND_PRIMARY); },
        "chart.members[2].assignments[1].kind", "");
  check([](v1::OrgChart& c) { FindMember(c, "m-ed")->set_employment_start_date("2026-02-30"); },
        "chart.members[6].employment_start_date", "");
  check([](v1::OrgChart& c) { c.mutable_project_groups(0)->set_owner_member_id("m-nobody"); },
        "chart.project_groups[0].owner_member_id", "UNKNOWN_REFERENCE");
  check([](v1::OrgChart& c) { c.mutable_project_groups(0)->mutable_members(1)->set_role(""); },
        "chart.project_groups[0].members[1].role", "");
  check([](v1::OrgChart& c) { c.mutable_phases(1)->set_ordinal(1); }, "chart.phases[1].ordinal", "");
  check([](v1::OrgChart& c) {
    FindDepartment(c.mutable_departments(), "sales")->mutable_positions(1)->mutable_staffing(1)->set_phase_id("later");
  }, "chart.departments[0].children[0].positions[1].staffing[1].phase_id", "UNKNOWN_REFERENCE");
  check([](v1::OrgChart& c) {
    FindDepartment(c.mutable_departments(), "sales")
        ->mutable_positions(1)
        ->mutable_staffing(1)
        ->mutable_monthly_cost_per_seat()
        ->set_currency_code("USD");
  }, "chart.departments[0].children[0].positions[1].staffing[1].monthly_cost_per_seat.currency_code", "");
  check([](v1::OrgChart& c) { c.set_effective_date("2026/01/01"); }, "chart.effective_date", "");

  v1::ApplyOrgChartRequest req;
  v1::ApplyOrgChartResponse resp;
  EXPECT_THAT(Call(&Stub::ApplyOrgChart, req, &resp), IsError(grpc::StatusCode::INVALID_ARGUMENT, "", "chart"));
}

TEST_F(ChartTest, AppliedChangesAreInTheAuditTrail) {
  ApplyBase();
  auto hq = Changes("departments/hq");
  ASSERT_FALSE(hq.empty());
  for (const auto& c : hq) {
    EXPECT_EQ(c.method(), "ApplyOrgChart");
    EXPECT_EQ(c.effective_date(), "2026-01-01");
  }
  // The whole subtree, positions and assignments included, is recorded.
  std::set<std::string> resources;
  for (const auto& c : Changes("departments/hq", /*subtree=*/true)) resources.insert(c.resource());
  for (const char* r : {"departments/sales", "departments/sales-east", "positions/ceo", "positions/editor",
                        "assignments/m-sam-sales-manager"}) {
    EXPECT_TRUE(resources.count(r)) << r;
  }
  for (const char* r : {"members/m-sam", "phases/growth", "projectGroups/promo",
                        "projectGroups/promo/memberships/m-olga"}) {
    auto changes = Changes(r);
    ASSERT_EQ(changes.size(), 1u) << r;
    EXPECT_EQ(changes[0].method(), "ApplyOrgChart") << r;
  }

  v1::OrgChart chart = ParseChart(kBaseChart);
  chart.set_effective_date("2026-05-01");
  FindDepartment(chart.mutable_departments(), "sales")->mutable_positions(1)->set_headcount(5);
  chart.mutable_project_groups(0)->set_owner_member_id("m-boss");
  chart.mutable_phases(1)->set_display_name("扩张期");
  v1::ApplyOrgChartResponse resp;
  ASSERT_THAT(Apply(chart, &resp), IsOk());
  EXPECT_THAT(Summary(resp), UnorderedElementsAreArray({"UPDATE phases/growth [display_name]",
                                                        "UPDATE positions/sales-manager [headcount]",
                                                        "UPDATE projectGroups/promo [owner]"}));
  auto manager = Changes("positions/sales-manager");
  ASSERT_EQ(manager.size(), 2u);
  EXPECT_EQ(manager[1].method(), "ApplyOrgChart");
  EXPECT_EQ(manager[1].effective_date(), "2026-05-01");
  ASSERT_EQ(manager[1].fields_size(), 1);
  EXPECT_EQ(manager[1].fields(0).field(), "headcount");
  EXPECT_EQ(manager[1].fields(0).before(), "2");
  EXPECT_EQ(manager[1].fields(0).after(), "5");
  auto group = Changes("projectGroups/promo");
  ASSERT_EQ(group.size(), 2u);
  EXPECT_EQ(group[1].effective_date(), "2026-05-01");
  ASSERT_EQ(group[1].fields_size(), 1);
  EXPECT_EQ(group[1].fields(0).field(), "owner");
}

TEST_F(ChartTest, ARequestIdRepeatsTheFirstAnswer) {
  v1::ApplyOrgChartResponse first, second;
  ASSERT_THAT(Apply(ParseChart(kBaseChart), &first, false, "chart-load-1"), IsOk());
  ASSERT_THAT(Apply(ParseChart(kBaseChart), &second, false, "chart-load-1"), IsOk());
  EXPECT_EQ(Summary(second), Summary(first));
  EXPECT_TRUE(second.applied());
  v1::OrgChart other = ParseChart(kBaseChart);
  other.set_title("另一个");
  EXPECT_THAT(Apply(other, &second, false, "chart-load-1"),
              IsError(grpc::StatusCode::INVALID_ARGUMENT, "REQUEST_ID_REUSED", "request_id"));
}

TEST_F(ChartTest, ExportOfTheWholeOrganisationAndOfASubtreeApplyInPlace) {
  ApplyBase();
  for (const std::string as_of : {"2026-01-01", "2026-03-15"}) {
    SCOPED_TRACE(as_of);
    v1::OrgChart all = Export("", as_of);
    EXPECT_EQ(all.effective_date(), as_of);
    EXPECT_EQ(all.title(), "总部");
    v1::OrgChart base = ParseChart(kBaseChart);
    EXPECT_EQ(Ids(all), Ids(base));
    v1::ApplyOrgChartResponse resp;
    ASSERT_THAT(Apply(all, &resp), IsOk());
    EXPECT_THAT(Summary(resp), IsEmpty());

    v1::OrgChart sales = Export("departments/sales", as_of);
    EXPECT_EQ(sales.title(), "销售部");
    ASSERT_EQ(sales.departments_size(), 1);
    EXPECT_EQ(sales.departments(0).id(), "sales");
    std::set<std::string> members;
    for (const auto& m : sales.members()) members.insert(m.id());
    EXPECT_EQ(members, (std::set<std::string>{"m-ann", "m-sally", "m-sam", "m-sue"}));
    ASSERT_THAT(Apply(sales, &resp), IsOk());
    EXPECT_THAT(Summary(resp), IsEmpty());
  }
  v1::ExportOrgChartRequest req;
  req.set_root("departments/nowhere");
  v1::ExportOrgChartResponse resp;
  EXPECT_THAT(Call(&Stub::ExportOrgChart, req, &resp), IsError(grpc::StatusCode::NOT_FOUND, "", ""));
  req.set_root("teams/x");
  EXPECT_THAT(Call(&Stub::ExportOrgChart, req, &resp), IsError(grpc::StatusCode::INVALID_ARGUMENT, "", "root"));
}

// Export -> apply into an empty database -> export gives the same chart, for the base chart
// and every demo chart, as of the chart's day and a later one.
TEST_F(ChartTest, ExportApplyRoundTripsThroughAnEmptyDatabase) {
  std::vector<std::pair<std::string, v1::OrgChart>> charts = {{"base", ParseChart(kBaseChart)}};
  for (const auto& path : DemoCharts(OPSTEAM_SOURCE_DIR)) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    charts.emplace_back(path, ParseChart(text.str()));
  }
  ASSERT_GT(charts.size(), 1u);
  for (const auto& [label, source] : charts) {
    SCOPED_TRACE(label);
    const std::string day = source.effective_date().empty() ? "" : source.effective_date();
    // A fresh database for the source.
    auto fresh = [] {
      const std::string conninfo = opsteam::testing::TestEnv::Get().NewDatabase("org", Migrations());
      return std::make_unique<pg::Pool>(pg::PoolOptions{.conninfo = conninfo, .size = 4});
    };
    auto source_pool = fresh();
    OrgLogic source_db(*source_pool);
    v1::ApplyOrgChartRequest apply;
    *apply.mutable_chart() = source;
    v1::ApplyOrgChartResponse applied;
    absl::Status s = source_db.ApplyOrgChart(apply, &applied);
    ASSERT_TRUE(s.ok()) << s;

    absl::CivilDay later_day;
    ASSERT_TRUE(absl::ParseCivilTime(day.empty() ? aip::FormatDate(aip::Today()) : day, &later_day));
    for (const std::string& as_of : {day, aip::FormatDate(later_day + 150)}) {
      SCOPED_TRACE(as_of);
      v1::ExportOrgChartRequest export_req;
      export_req.set_as_of(as_of);
      v1::ExportOrgChartResponse first;
      s = source_db.ExportOrgChart(export_req, &first);
      ASSERT_TRUE(s.ok()) << s;
      if (as_of == day) {
        // The export says what the chart says.
        EXPECT_EQ(Ids(first.chart()), Ids(source));
      }
      // In place, the export is a no-op.
      *apply.mutable_chart() = first.chart();
      s = source_db.ApplyOrgChart(apply, &applied);
      ASSERT_TRUE(s.ok()) << s;
      EXPECT_THAT(Summary(applied), IsEmpty());

      // Into an empty database and out again: the same chart.
      auto copy_pool = fresh();
      OrgLogic copy_db(*copy_pool);
      s = copy_db.ApplyOrgChart(apply, &applied);
      ASSERT_TRUE(s.ok()) << s;
      EXPECT_TRUE(applied.applied());
      v1::ExportOrgChartResponse second;
      s = copy_db.ExportOrgChart(export_req, &second);
      ASSERT_TRUE(s.ok()) << s;
      v1::OrgChart a = first.chart(), b = second.chart();
      Normalise(a);
      Normalise(b);
      EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(a, b)) << Diff(a, b);
      s = copy_db.ApplyOrgChart(apply, &applied);
      ASSERT_TRUE(s.ok()) << s;
      EXPECT_THAT(Summary(applied), IsEmpty());
    }
  }
}

}  // namespace
}  // namespace opsteam::org::testing
