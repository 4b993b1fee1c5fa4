// org_scale_bench: builds a synthetic organisation of 10,000 departments, 50,000 positions
// and 100,000 members through ApplyOrgChart, and measures reads before and after it is
// loaded (the baseline: the same reads on the small demo organisation, same run).
//
// Prints: load throughput; Get/List/CheckAuthority p50/p99 with the small org and with
// the large one, as ratios; recursive subtree listing time per department at several
// subtree sizes (flat when the cost follows the subtree, not the whole organisation);
// resident memory of the process (server and driver together).

#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tools/bench/bench_util.h"
#include "tools/opsteam/chart_loader.h"
#include "tools/opsteam/client.h"

ABSL_FLAG(int, departments, 10000, "departments to generate");
ABSL_FLAG(int, positions_per_department, 5, "positions per department");
ABSL_FLAG(int, members_per_department, 10, "members per department");
ABSL_FLAG(int, chunk, 10000, "members per ApplyOrgChart call");
ABSL_FLAG(double, seconds, 2.0, "duration of each latency measurement");
ABSL_FLAG(int, concurrency, 4, "client threads in latency measurements");

namespace v1 = opsteam::org::v1;
using opsteam::bench::FormatMs;
using opsteam::bench::LoadResult;

namespace {

constexpr const char* kDay = "2026-01-01";

// A tree of `n` departments, fan-out `fanout`, breadth first: department i's parent is
// (i - 1) / fanout. Each has `positions` posts: a lead (headcount 1, authorities over its
// subtree) and staff posts sharing the rest of the seats.
struct Synthetic {
  int n;
  int fanout;
  int positions;
  int members;

  static std::string Dept(int i) { return absl::StrCat("d", i); }
  static std::string Post(int i, int k) { return absl::StrCat("d", i, "-p", k); }
  static std::string Member(int i, int k) { return absl::StrCat("m", i, "-", k); }

  v1::ChartDepartment Department(int i) const {
    v1::ChartDepartment d;
    d.set_id(Dept(i));
    d.set_display_name(absl::StrCat("部门", i));
    d.set_kind(i == 0 ? v1::DEPARTMENT_KIND_PROJECT_GROUP : v1::DEPARTMENT_KIND_FUNCTIONAL_TEAM);
    d.set_lead_position_id(Post(i, 0));
    const int staff_seats = members - 1;
    for (int k = 0; k < positions; ++k) {
      auto* p = d.add_positions();
      p->set_id(Post(i, k));
      p->set_title(k == 0 ? "负责人" : absl::StrCat("专员", k));
      p->set_grade(k == 0 ? v1::GRADE_DIRECTOR : v1::GRADE_SPECIALIST);
      const int share = staff_seats / (positions - 1) + (k <= staff_seats % (positions - 1) ? 1 : 0);
      p->set_headcount(k == 0 ? 1 : share);
      auto* a = p->add_authorities();
      if (k == 0) {
        a->set_type(v1::AUTHORITY_TYPE_ASSESS);
        a->set_scope(v1::AUTHORITY_SCOPE_SUBTREE);
        auto* b = p->add_authorities();
        b->set_type(v1::AUTHORITY_TYPE_ASSIGN_WORK);
        b->set_scope(v1::AUTHORITY_SCOPE_SUBTREE);
      } else {
        a->set_type(v1::AUTHORITY_TYPE_EXECUTE);
        a->set_scope(v1::AUTHORITY_SCOPE_OWN_DEPARTMENT);
      }
    }
    return d;
  }

  // The departments as a nested chart (children under parents).
  v1::OrgChart Departments() const {
    std::vector<v1::ChartDepartment> all;
    all.reserve(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) all.push_back(Department(i));
    // Attach deepest first so each child is complete when it is copied into its parent.
    for (int i = n - 1; i > 0; --i) *all[static_cast<size_t>((i - 1) / fanout)].add_children() = std::move(all[static_cast<size_t>(i)]);
    v1::OrgChart chart;
    chart.set_title("synthetic");
    chart.set_effective_date(kDay);
    *chart.add_departments() = std::move(all[0]);
    return chart;
  }

  // Members of departments [from, to) with one primary post each.
  v1::OrgChart Members(int from, int to) const {
    v1::OrgChart chart;
    chart.set_title("synthetic members");
    chart.set_effective_date(kDay);
    for (int i = from; i < to; ++i) {
      int k = 0;
      for (int post = 0; post < positions && k < members; ++post) {
        const int seats = post == 0 ? 1 : Department(i).positions(post).headcount();
        for (int s = 0; s < seats && k < members; ++s, ++k) {
          auto* m = chart.add_members();
          m->set_id(Member(i, k));
          m->set_display_name(absl::StrCat("员工", i, "-", k));
          m->set_employment_start_date("2025-06-01");
          auto* a = m->add_assignments();
          a->set_position_id(Post(i, post));
          a->set_kind(v1::ASSIGNMENT_KIND_PRIMARY);
        }
      }
    }
    return chart;
  }

  // Size of the subtree of department i.
  int SubtreeSize(int i) const {
    int size = 0;
    std::vector<int> stack = {i};
    while (!stack.empty()) {
      int d = stack.back();
      stack.pop_back();
      ++size;
      for (int c = d * fanout + 1; c <= d * fanout + fanout && c < n; ++c) stack.push_back(c);
    }
    return size;
  }
};

bool Apply(opsteam::cli::Client& client, const v1::OrgChart& chart, const char* what) {
  v1::ApplyOrgChartRequest req;
  *req.mutable_chart() = chart;
  v1::ApplyOrgChartResponse resp;
  auto s = client.Run([&](grpc::ClientContext* ctx) { return client.org().ApplyOrgChart(ctx, req, &resp); });
  if (!s.ok()) {
    std::fprintf(stderr, "org_scale_bench: applying %s: %s\n", what, opsteam::cli::FormatError(s).c_str());
    return false;
  }
  return true;
}

struct Reads {
  LoadResult get, list, check;
};

Reads MeasureReads(opsteam::cli::Client& client, const std::vector<std::string>& departments,
                   const std::vector<std::string>& members) {
  const auto duration = absl::Seconds(absl::GetFlag(FLAGS_seconds));
  const int conc = absl::GetFlag(FLAGS_concurrency);
  Reads r;
  r.get = opsteam::bench::RunLoad(conc, duration, 1'000'000, [&](int t, int64_t i) {
    v1::GetDepartmentRequest req;
    req.set_name(departments[static_cast<size_t>(t * 7919 + i) % departments.size()]);
    req.set_as_of("2026-06-01");
    v1::GetDepartmentResponse resp;
    return client.Run([&](grpc::ClientContext* ctx) { return client.org().GetDepartment(ctx, req, &resp); }).ok();
  });
  r.list = opsteam::bench::RunLoad(conc, duration, 1'000'000, [&](int t, int64_t i) {
    v1::ListPositionsRequest req;
    req.set_department(departments[static_cast<size_t>(t * 7919 + i) % departments.size()]);
    req.set_as_of("2026-06-01");
    v1::ListPositionsResponse resp;
    return client.Run([&](grpc::ClientContext* ctx) { return client.org().ListPositions(ctx, req, &resp); }).ok();
  });
  r.check = opsteam::bench::RunLoad(conc, duration, 1'000'000, [&](int t, int64_t i) {
    const size_t k = static_cast<size_t>(t * 7919 + i);
    v1::CheckAuthorityRequest req;
    req.set_member(members[k % members.size()]);
    req.set_department(departments[(k / 7) % departments.size()]);
    req.set_authority(v1::AUTHORITY_TYPE_ASSESS);
    req.set_as_of("2026-06-01");
    v1::CheckAuthorityResponse resp;
    return client.Run([&](grpc::ClientContext* ctx) { return client.org().CheckAuthority(ctx, req, &resp); }).ok();
  });
  return r;
}

void Compare(const char* op, const LoadResult& small, const LoadResult& large) {
  std::printf("%-16s %9s %9s %9s %9s %8.2f %8.2f %7lld\n", op, FormatMs(small.p50).c_str(),
              FormatMs(small.p99).c_str(), FormatMs(large.p50).c_str(), FormatMs(large.p99).c_str(),
              absl::ToDoubleMicroseconds(large.p50) / std::max(1.0, absl::ToDoubleMicroseconds(small.p50)),
              absl::ToDoubleMicroseconds(large.p99) / std::max(1.0, absl::ToDoubleMicroseconds(small.p99)),
              static_cast<long long>(small.errors + large.errors));
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  auto org = opsteam::bench::OrgUnderTest::Start(16, 16);
  if (!org.ok()) {
    std::fprintf(stderr, "org_scale_bench: %s\n", std::string(org.status().message()).c_str());
    return 1;
  }
  opsteam::cli::ClientOptions options;
  options.address = (*org)->address();
  options.deadline = absl::Minutes(30);
  options.token = (*org)->token();
  auto connected = opsteam::cli::Client::Create(options);
  if (!connected.ok()) {
    std::fprintf(stderr, "org_scale_bench: %s\n", std::string(connected.status().message()).c_str());
    return 1;
  }
  opsteam::cli::Client& client = *connected;
  const int64_t rss_empty = opsteam::bench::OrgUnderTest::RssKib();

  // Baseline: a small organisation of the same shape (100 departments).
  Synthetic small{100, 10, absl::GetFlag(FLAGS_positions_per_department),
                  absl::GetFlag(FLAGS_members_per_department)};
  if (!Apply(client, small.Departments(), "small departments") ||
      !Apply(client, small.Members(0, small.n), "small members")) {
    return 1;
  }
  std::vector<std::string> depts, members;
  for (int i = 0; i < small.n; ++i) {
    depts.push_back("departments/" + Synthetic::Dept(i));
    members.push_back("members/" + Synthetic::Member(i, 0));
  }
  const Reads before = MeasureReads(client, depts, members);

  // The large organisation, in a separate tree so the small one stays as it was.
  Synthetic large{absl::GetFlag(FLAGS_departments), 10, absl::GetFlag(FLAGS_positions_per_department),
                  absl::GetFlag(FLAGS_members_per_department)};
  // Build the large org under a different id prefix by generating it with a shifted index.
  Synthetic shifted = large;
  const absl::Time t0 = absl::Now();
  v1::OrgChart departments_chart = shifted.Departments();
  // Prefix to keep ids apart from the small org.
  std::function<void(v1::ChartDepartment&)> prefix = [&](v1::ChartDepartment& d) {
    d.set_id("x" + d.id());
    d.set_lead_position_id("x" + d.lead_position_id());
    for (auto& p : *d.mutable_positions()) p.set_id("x" + p.id());
    for (auto& c : *d.mutable_children()) prefix(c);
  };
  prefix(*departments_chart.mutable_departments(0));
  if (!Apply(client, departments_chart, "large departments")) return 1;
  const absl::Duration dept_time = absl::Now() - t0;
  const absl::Time t1 = absl::Now();
  const int chunk_depts = std::max(1, absl::GetFlag(FLAGS_chunk) / large.members);
  for (int from = 0; from < large.n; from += chunk_depts) {
    v1::OrgChart m = shifted.Members(from, std::min(large.n, from + chunk_depts));
    for (auto& member : *m.mutable_members()) {
      member.set_id("x" + member.id());
      for (auto& a : *member.mutable_assignments()) a.set_position_id("x" + a.position_id());
    }
    if (!Apply(client, m, "large members")) return 1;
  }
  const absl::Duration member_time = absl::Now() - t1;
  const int64_t rss_loaded = opsteam::bench::OrgUnderTest::RssKib();

  std::vector<std::string> large_depts, large_members;
  for (int i = 0; i < large.n; i += std::max(1, large.n / 1000)) {
    large_depts.push_back("departments/x" + Synthetic::Dept(i));
    large_members.push_back("members/x" + Synthetic::Member(i, 0));
  }
  const Reads after = MeasureReads(client, large_depts, large_members);

  std::printf("loaded %d departments and %d positions in %.1f s; %d members with assignments in %.1f s\n",
              large.n, large.n * large.positions, absl::ToDoubleSeconds(dept_time), large.n * large.members,
              absl::ToDoubleSeconds(member_time));
  std::printf("\nread latency, %d client threads: small org (100 departments) vs large org (%d)\n",
              absl::GetFlag(FLAGS_concurrency), large.n);
  std::printf("%-16s %9s %9s %9s %9s %8s %8s %7s\n", "op", "small_p50", "small_p99", "large_p50",
              "large_p99", "p50x", "p99x", "errors");
  Compare("GetDepartment", before.get, after.get);
  Compare("ListPositions", before.list, after.list);
  Compare("CheckAuthority", before.check, after.check);

  std::printf("\nrecursive subtree listing (all pages of 1000): time per department listed\n");
  std::printf("%-14s %9s %10s %12s\n", "subtree_root", "size", "total_ms", "us_per_dept");
  double first_per = 0;
  for (int root : {111, 11, 1, 0}) {
    if (root >= large.n) continue;
    const int size = large.SubtreeSize(root) - 1;  // the root itself is not listed
    const absl::Time s = absl::Now();
    int listed = 0;
    std::string token;
    do {
      v1::ListDepartmentsRequest req;
      req.set_parent("departments/x" + Synthetic::Dept(root));
      req.set_recursive(true);
      req.set_as_of("2026-06-01");
      req.set_page_size(1000);
      req.set_page_token(token);
      v1::ListDepartmentsResponse resp;
      auto st = client.Run([&](grpc::ClientContext* ctx) { return client.org().ListDepartments(ctx, req, &resp); });
      if (!st.ok()) {
        std::fprintf(stderr, "list: %s\n", opsteam::cli::FormatError(st).c_str());
        return 1;
      }
      listed += resp.departments_size();
      token = resp.next_page_token();
    } while (!token.empty());
    const double ms = absl::ToDoubleMilliseconds(absl::Now() - s);
    const double per = listed ? ms * 1000 / listed : 0;
    if (first_per == 0) first_per = per;
    std::printf("%-14s %9d %10.1f %12.1f   (listed %d)\n", Synthetic::Dept(root).c_str(), size, ms, per, listed);
  }
  std::printf("\nresident memory (server + driver): %lld MiB empty, %lld MiB with both organisations\n",
              static_cast<long long>(rss_empty / 1024), static_cast<long long>(rss_loaded / 1024));
  return 0;
}
