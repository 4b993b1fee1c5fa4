// The demo organisations of deploy/demo/ load (one ApplyOrgChart each) exactly as described,
// load again without planning or changing anything, and can be walked by a client that knows
// only the .proto files.

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "tests/services/org/org_fixture.h"
#include "tools/opsteam/chart_loader.h"
#include "tools/opsteam/client.h"
#include "tools/opsteam/commands.h"

namespace opsteam::org::testing {
namespace {

using Stub = v1::OrgService::Stub;

struct ChartFacts {
  std::set<std::string> departments;
  std::map<std::string, int> headcount;  // position name -> seats
  std::map<std::string, int> assigned;   // position name -> assignments
  std::map<std::string, std::string> leads;
  std::set<std::string> members;
  std::map<std::string, int> children;  // department name -> direct children
  int assignments = 0;
};

void Collect(const v1::ChartDepartment& d, ChartFacts& facts) {
  const std::string name = "departments/" + d.id();
  facts.departments.insert(name);
  facts.children[name] = d.children_size();
  if (!d.lead_position_id().empty()) facts.leads[name] = "positions/" + d.lead_position_id();
  for (const auto& p : d.positions()) facts.headcount["positions/" + p.id()] = p.headcount();
  for (const auto& c : d.children()) Collect(c, facts);
}

ChartFacts Facts(const v1::OrgChart& chart) {
  ChartFacts facts;
  for (const auto& d : chart.departments()) Collect(d, facts);
  for (const auto& m : chart.members()) {
    facts.members.insert("members/" + m.id());
    for (const auto& a : m.assignments()) facts.assigned["positions/" + a.position_id()]++;
    facts.assignments += m.assignments_size();
  }
  return facts;
}

class DemoChartTest : public OrgTest {
 protected:
  // The etag of every department, position and member under the chart's roots.
  std::map<std::string, std::string> Etags(const v1::OrgChart& chart, const std::string& as_of) {
    std::map<std::string, std::string> out;
    for (const auto& root : chart.departments()) {
      v1::GetDepartmentRequest get;
      get.set_name("departments/" + root.id());
      get.set_as_of(as_of);
      v1::GetDepartmentResponse got;
      EXPECT_THAT(Call(&Stub::GetDepartment, get, &got), IsOk());
      out[got.department().name()] = got.department().etag();
      v1::ListDepartmentsRequest list;
      list.set_parent(get.name());
      list.set_recursive(true);
      list.set_as_of(as_of);
      list.set_page_size(1000);
      v1::ListDepartmentsResponse departments;
      EXPECT_THAT(Call(&Stub::ListDepartments, list, &departments), IsOk());
      for (const auto& d : departments.departments()) out[d.name()] = d.etag();
      v1::ListPositionsRequest positions_req;
      positions_req.set_department(get.name());
      positions_req.set_recursive(true);
      positions_req.set_as_of(as_of);
      positions_req.set_page_size(1000);
      v1::ListPositionsResponse positions;
      EXPECT_THAT(Call(&Stub::ListPositions, positions_req, &positions), IsOk());
      for (const auto& p : positions.positions()) out[p.name()] = p.etag();
    }
    v1::ListMembersRequest members_req;
    members_req.set_page_size(1000);
    v1::ListMembersResponse members;
    EXPECT_THAT(Call(&Stub::ListMembers, members_req, &members), IsOk());
    for (const auto& m : members.members()) out[m.name()] = m.etag();
    return out;
  }

  // The CLI's client, calling as the fixture's administrator.
  cli::Client MakeClient() {
    cli::ClientOptions options;
    options.address = address();
    options.deadline = absl::Seconds(30);
    options.token = admin_token();
    absl::StatusOr<cli::Client> client = cli::Client::Create(options);
    EXPECT_TRUE(client.ok()) << client.status();
    return *std::move(client);
  }
};

TEST_F(DemoChartTest, EveryChartLoadsAsDescribedAndReloadsAsANoOp) {
  const auto charts = DemoCharts(OPSTEAM_SOURCE_DIR);
  ASSERT_FALSE(charts.empty());
  for (const auto& path : charts) {
    SCOPED_TRACE(path);
    auto chart = cli::ReadChart(path);
    ASSERT_TRUE(chart.ok()) << chart.status();
    const ChartFacts facts = Facts(*chart);
    cli::Client client = MakeClient();
    cli::LoadSummary first;
    absl::Status loaded = cli::LoadChart(client, *chart, &first);
    ASSERT_TRUE(loaded.ok()) << loaded;
    // The first load creates exactly what the chart describes, and nothing else changes.
    EXPECT_TRUE(first.applied);
    EXPECT_EQ(first.departments.create, static_cast<int>(facts.departments.size()));
    EXPECT_EQ(first.departments.total(), first.departments.create);
    EXPECT_EQ(first.positions.create, static_cast<int>(facts.headcount.size()));
    EXPECT_EQ(first.positions.total(), first.positions.create);
    EXPECT_EQ(first.members.create, static_cast<int>(facts.members.size()));
    EXPECT_EQ(first.members.total(), first.members.create);
    EXPECT_EQ(first.assignments.create, facts.assignments);
    EXPECT_EQ(first.assignments.total(), first.assignments.create);

    const std::string as_of = chart->effective_date().empty() ? "" : "2026-06-01";
    // Every department, position and seat count is on the server.
    std::set<std::string> departments;
    std::map<std::string, std::string> leads;
    for (const auto& root : chart->departments()) {
      departments.insert("departments/" + root.id());
      v1::ListDepartmentsRequest req;
      req.set_parent("departments/" + root.id());
      req.set_recursive(true);
      req.set_as_of(as_of);
      req.set_page_size(1000);
      v1::ListDepartmentsResponse resp;
      ASSERT_THAT(Call(&Stub::ListDepartments, req, &resp), IsOk());
      for (const auto& d : resp.departments()) departments.insert(d.name());
    }
    EXPECT_EQ(departments, facts.departments);
    for (const auto& [dept, lead] : facts.leads) {
      v1::GetDepartmentRequest req;
      req.set_name(dept);
      req.set_as_of(as_of);
      v1::GetDepartmentResponse resp;
      ASSERT_THAT(Call(&Stub::GetDepartment, req, &resp), IsOk());
      EXPECT_EQ(resp.department().lead_position(), lead) << dept;
    }
    for (const auto& [position, seats] : facts.headcount) {
      v1::GetPositionRequest req;
      req.set_name(position);
      req.set_as_of(as_of);
      v1::GetPositionResponse resp;
      ASSERT_THAT(Call(&Stub::GetPosition, req, &resp), IsOk()) << position;
      EXPECT_EQ(resp.position().headcount(), seats) << position;
      const int expected_filled = facts.assigned.count(position) ? facts.assigned.at(position) : 0;
      EXPECT_EQ(resp.position().filled(), expected_filled) << position;
    }

    // Loading again plans nothing, writes nothing and changes no etag.
    const auto before = Etags(*chart, as_of);
    cli::LoadSummary second;
    loaded = cli::LoadChart(client, *chart, &second);
    ASSERT_TRUE(loaded.ok()) << loaded;
    EXPECT_THAT(second.changes, ::testing::IsEmpty());
    EXPECT_FALSE(second.applied);
    EXPECT_EQ(Etags(*chart, as_of), before);
    for (const auto& d : facts.departments) EXPECT_TRUE(before.count(d)) << d;
    for (const auto& [p, seats] : facts.headcount) EXPECT_TRUE(before.count(p)) << p;
    for (const auto& m : facts.members) EXPECT_TRUE(before.count(m)) << m;
  }
}

TEST_F(DemoChartTest, TheExportCommandWritesChartsTheApplyCommandAccepts) {
  cli::Client client = MakeClient();
  const auto charts = DemoCharts(OPSTEAM_SOURCE_DIR);
  for (const auto& path : charts) {
    auto chart = cli::ReadChart(path);
    ASSERT_TRUE(chart.ok()) << chart.status();
    cli::LoadSummary summary;
    absl::Status s = cli::LoadChart(client, *chart, &summary);
    ASSERT_TRUE(s.ok()) << path << ": " << s;
  }
  std::ostringstream dry;
  ASSERT_EQ(cli::Apply(client, charts.front(), /*dry_run=*/true, dry), 0);
  EXPECT_THAT(dry.str(), ::testing::HasSubstr(": 0 changes (dry run, nothing written)"));
  EXPECT_THAT(dry.str(), ::testing::HasSubstr("nothing to do"));

  // `opsteam export > file`, then `opsteam apply --dry_run file`: nothing to change.
  const std::string file = ::testing::TempDir() + "/demo_export.textproto";
  for (const std::string root : {"", "departments/kuaishou"}) {
    SCOPED_TRACE(root);
    std::ostringstream text;
    ASSERT_EQ(cli::Export(client, root, text), 0);
    {
      std::ofstream out(file);
      out << text.str();
    }
    auto exported = cli::ReadChart(file);
    ASSERT_TRUE(exported.ok()) << exported.status();
    EXPECT_FALSE(exported->departments().empty());
    cli::LoadSummary summary;
    absl::Status s = cli::ApplyChart(client, *exported, /*dry_run=*/true, &summary);
    ASSERT_TRUE(s.ok()) << s;
    EXPECT_THAT(summary.changes, ::testing::IsEmpty());
  }

  // A changed chart: the dry run lists the change and writes nothing.
  auto chart = cli::ReadChart(OPSTEAM_SOURCE_DIR "/deploy/demo/kuaishou.textproto");
  ASSERT_TRUE(chart.ok()) << chart.status();
  chart->mutable_departments(0)->set_display_name("快手项目组（新）");
  {
    std::ofstream out(file);
    out << chart->DebugString();
  }
  std::ostringstream plan;
  ASSERT_EQ(cli::Apply(client, file, /*dry_run=*/true, plan), 0);
  EXPECT_THAT(plan.str(), ::testing::HasSubstr("1 changes (dry run, nothing written)"));
  EXPECT_THAT(plan.str(), ::testing::HasSubstr("  update departments/kuaishou: display_name\n"));
  v1::GetDepartmentRequest get;
  get.set_name("departments/kuaishou");
  v1::GetDepartmentResponse got;
  ASSERT_THAT(Call(&Stub::GetDepartment, get, &got), IsOk());
  EXPECT_EQ(got.department().display_name(), "快手项目组");
  std::ostringstream applied;
  ASSERT_EQ(cli::Apply(client, file, /*dry_run=*/false, applied), 0);
  EXPECT_THAT(applied.str(), ::testing::HasSubstr("applied "));
  ASSERT_THAT(Call(&Stub::GetDepartment, get, &got), IsOk());
  EXPECT_EQ(got.department().display_name(), "快手项目组（新）");
}

TEST_F(DemoChartTest, KuaishouHasTheSeedsShape) {
  auto chart = cli::ReadChart(OPSTEAM_SOURCE_DIR "/deploy/demo/kuaishou.textproto");
  ASSERT_TRUE(chart.ok()) << chart.status();
  cli::Client client = MakeClient();
  cli::LoadSummary summary;
  ASSERT_TRUE(cli::LoadChart(client, *chart, &summary).ok());

  // seeds/000: one project group, 3 large departments, 12 small departments below them.
  v1::ListDepartmentsRequest large;
  large.set_parent("departments/kuaishou");
  large.set_as_of("2026-06-01");
  v1::ListDepartmentsResponse large_resp;
  ASSERT_THAT(Call(&Stub::ListDepartments, large, &large_resp), IsOk());
  ASSERT_EQ(large_resp.departments_size(), 3);
  int small = 0;
  for (const auto& d : large_resp.departments()) {
    v1::ListDepartmentsRequest req;
    req.set_parent(d.name());
    req.set_as_of("2026-06-01");
    v1::ListDepartmentsResponse resp;
    ASSERT_THAT(Call(&Stub::ListDepartments, req, &resp), IsOk());
    small += resp.departments_size();
  }
  EXPECT_EQ(small, 12);

  // 销售一部: 1 director + 5 sales managers (all seats filled) + 1 business support.
  v1::GetPositionRequest get;
  get.set_name("positions/sales-1-manager");
  get.set_as_of("2026-06-01");
  v1::GetPositionResponse managers;
  ASSERT_THAT(Call(&Stub::GetPosition, get, &managers), IsOk());
  EXPECT_EQ(managers.position().title(), "销售经理");
  EXPECT_EQ(managers.position().headcount(), 5);
  EXPECT_EQ(managers.position().filled(), 5);
  MakeMember("m-newcomer", "新人", "2026-01-01");
  EXPECT_THAT(Assign("m-newcomer", "sales-1-manager", v1::ASSIGNMENT_KIND_PRIMARY, "2026-06-01"),
              IsError(grpc::StatusCode::FAILED_PRECONDITION, "HEADCOUNT_FULL", ""));
}

TEST_F(DemoChartTest, AClientThatKnowsOnlyTheProtoFilesWalksTheWholeTree) {
  auto chart = cli::ReadChart(OPSTEAM_SOURCE_DIR "/deploy/demo/kuaishou.textproto");
  ASSERT_TRUE(chart.ok()) << chart.status();
  cli::Client client = MakeClient();
  cli::LoadSummary summary;
  ASSERT_TRUE(cli::LoadChart(client, *chart, &summary).ok());
  const ChartFacts facts = Facts(*chart);
  int seats = 0;
  for (const auto& [p, n] : facts.headcount) seats += n;

  // A reader's token (no role) in the environment, as `opsteam` takes it.
  const std::string command =
      absl::StrCat("OPSTEAM_TOKEN=", Token("members/m-zhang-wei"), " /usr/bin/python3 ", OPSTEAM_SOURCE_DIR,
                   "/tests/integration/walk_org.py ", OPSTEAM_SOURCE_DIR, "/proto ", address(), " 2026-06-01 2>&1");
  FILE* pipe = popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof(buf), pipe)) output.append(buf, n);
  ASSERT_EQ(pclose(pipe), 0) << output;
  EXPECT_THAT(output, ::testing::HasSubstr(absl::StrCat("\"departments\": ", facts.departments.size(),
                                                        ", \"unique_departments\": ", facts.departments.size())));
  EXPECT_THAT(output, ::testing::HasSubstr(absl::StrCat("\"positions\": ", facts.headcount.size(),
                                                        ", \"seats\": ", seats)));
}

}  // namespace
}  // namespace opsteam::org::testing
