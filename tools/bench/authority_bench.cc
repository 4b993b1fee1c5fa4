// authority_bench: CheckAuthority and ListAuthorities under increasing concurrency, beside
// the health service's Check measured in the same run (the baseline: same server, same
// channel, no database). Prints QPS, p50 and p99 per level and the ratios to the baseline.
//
//   build/tools/bench/authority_bench [--addr host:port --token T] [--levels 1,4,16] [--seconds 2]
//
// Without --addr it starts its own PostgreSQL and org service on loopback and loads
// deploy/demo/kuaishou.textproto; with --addr it measures a running service holding that chart,
// calling with --token (env OPSTEAM_TOKEN). Every org call carries a bearer token the server
// verifies, as in production; health Check, the baseline, needs none.

#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/random/random.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "libs/rpc/env.h"
#include "tools/bench/bench_util.h"
#include "tools/opsteam/chart_loader.h"
#include "tools/opsteam/client.h"

ABSL_FLAG(std::string, addr, "", "org service to measure; empty = start a private one");
ABSL_FLAG(std::string, token, opsteam::rpc::EnvOr("OPSTEAM_TOKEN", ""),
          "bearer token for --addr (env OPSTEAM_TOKEN); the private service makes its own");
ABSL_FLAG(std::string, chart, "deploy/demo/kuaishou.textproto", "chart to load and draw members from");
ABSL_FLAG(std::string, levels, "1,2,4,8,16,32", "client concurrency levels");
ABSL_FLAG(double, seconds, 2.0, "duration of each measurement");
ABSL_FLAG(std::string, as_of, "2026-06-01", "day the checks ask about");

namespace v1 = opsteam::org::v1;
using opsteam::bench::FormatMs;
using opsteam::bench::LoadResult;

namespace {

void Collect(const v1::ChartDepartment& d, std::vector<std::string>& out) {
  out.push_back("departments/" + d.id());
  for (const auto& c : d.children()) Collect(c, out);
}

void Row(const char* op, int level, const LoadResult& r, const LoadResult& base) {
  std::printf("%-16s %5d %10.0f %8s %8s %7.2f %7.2f %8lld %6lld\n", op, level, r.qps,
              FormatMs(r.p50).c_str(), FormatMs(r.p99).c_str(), base.qps > 0 ? r.qps / base.qps : 0.0,
              absl::ToDoubleMicroseconds(base.p50) > 0
                  ? absl::ToDoubleMicroseconds(r.p50) / absl::ToDoubleMicroseconds(base.p50)
                  : 0.0,
              static_cast<long long>(r.calls), static_cast<long long>(r.errors));
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  std::unique_ptr<opsteam::bench::OrgUnderTest> own;
  std::string address = absl::GetFlag(FLAGS_addr);
  std::string token = absl::GetFlag(FLAGS_token);
  auto chart = opsteam::cli::ReadChart(absl::GetFlag(FLAGS_chart));
  if (!chart.ok()) {
    std::fprintf(stderr, "authority_bench: %s\n", std::string(chart.status().message()).c_str());
    return 1;
  }
  if (address.empty()) {
    auto started = opsteam::bench::OrgUnderTest::Start(16, 16);
    if (!started.ok()) {
      std::fprintf(stderr, "authority_bench: %s\n", std::string(started.status().message()).c_str());
      return 1;
    }
    own = std::move(*started);
    address = own->address();
    token = own->token();
    opsteam::cli::ClientOptions options;
    options.address = address;
    options.deadline = absl::Seconds(120);
    options.token = token;
    auto loader = opsteam::cli::Client::Create(options);
    if (!loader.ok()) {
      std::fprintf(stderr, "authority_bench: %s\n", std::string(loader.status().message()).c_str());
      return 1;
    }
    opsteam::cli::LoadSummary summary;
    if (auto s = opsteam::cli::LoadChart(*loader, *chart, &summary); !s.ok()) {
      std::fprintf(stderr, "authority_bench: loading the chart: %s\n", std::string(s.message()).c_str());
      return 1;
    }
  }
  std::vector<std::string> members, departments;
  for (const auto& m : chart->members()) members.push_back("members/" + m.id());
  for (const auto& d : chart->departments()) Collect(d, departments);

  opsteam::cli::ClientOptions options;
  options.address = address;
  options.token = token;
  auto connected = opsteam::cli::Client::Create(options);
  if (!connected.ok()) {
    std::fprintf(stderr, "authority_bench: %s\n", std::string(connected.status().message()).c_str());
    return 1;
  }
  opsteam::cli::Client& client = *connected;
  const auto duration = absl::Seconds(absl::GetFlag(FLAGS_seconds));
  const std::string as_of = absl::GetFlag(FLAGS_as_of);
  const v1::AuthorityType types[] = {v1::AUTHORITY_TYPE_ASSIGN_WORK, v1::AUTHORITY_TYPE_SUPERVISE,
                                     v1::AUTHORITY_TYPE_ASSESS, v1::AUTHORITY_TYPE_EXECUTE};

  std::printf("org service %s; %zu members, %zu departments; %.1f s per measurement\n",
              address.c_str(), members.size(), departments.size(), absl::ToDoubleSeconds(duration));
  std::printf("%-16s %5s %10s %8s %8s %7s %7s %8s %6s\n", "op", "conc", "qps", "p50_ms", "p99_ms",
              "qps/hc", "p50/hc", "calls", "errors");
  for (auto level_text : absl::StrSplit(absl::GetFlag(FLAGS_levels), ',')) {
    int level = 0;
    if (!absl::SimpleAtoi(level_text, &level) || level <= 0) continue;
    auto health = opsteam::bench::RunLoad(level, duration, 1'000'000, [&](int, int64_t) {
      grpc::health::v1::HealthCheckRequest req;
      grpc::health::v1::HealthCheckResponse resp;
      return client.Run([&](grpc::ClientContext* ctx) { return client.health().Check(ctx, req, &resp); }).ok();
    });
    auto check = opsteam::bench::RunLoad(level, duration, 1'000'000, [&](int t, int64_t i) {
      const size_t k = static_cast<size_t>(t * 7919 + i);
      v1::CheckAuthorityRequest req;
      req.set_member(members[k % members.size()]);
      req.set_department(departments[(k / 3) % departments.size()]);
      req.set_authority(types[k % 4]);
      req.set_as_of(as_of);
      v1::CheckAuthorityResponse resp;
      return client.Run([&](grpc::ClientContext* ctx) { return client.org().CheckAuthority(ctx, req, &resp); }).ok();
    });
    auto list = opsteam::bench::RunLoad(level, duration, 1'000'000, [&](int t, int64_t i) {
      v1::ListAuthoritiesRequest req;
      req.set_member(members[static_cast<size_t>(t * 7919 + i) % members.size()]);
      req.set_as_of(as_of);
      v1::ListAuthoritiesResponse resp;
      return client.Run([&](grpc::ClientContext* ctx) { return client.org().ListAuthorities(ctx, req, &resp); }).ok();
    });
    Row("health.Check", level, health, health);
    Row("CheckAuthority", level, check, health);
    Row("ListAuthorities", level, list, health);
  }
  if (own) std::printf("resident memory (server + driver): %lld MiB\n",
                       static_cast<long long>(opsteam::bench::OrgUnderTest::RssKib() / 1024));
  return 0;
}
