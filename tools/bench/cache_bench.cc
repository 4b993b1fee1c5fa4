// cache_bench: what the shared cache buys CheckAuthority, and what a Redis outage costs.
//
//   build/tools/bench/cache_bench [--levels 1,8] [--seconds 2] [--working_set 512]
//
// Starts its own PostgreSQL, org service and Redis on loopback, loads
// deploy/demo/kuaishou.textproto, and measures in one run, at each concurrency level:
//   health.Check          the baseline (same server, same channel, no database)
//   CheckAuthority        plain gRPC, every call reaches the database
//   client.redis          through OrgClient, Redis layer only (local layer off)
//   client.both           through OrgClient, local layer in front of Redis
// Every answer is compared with the server's own answer for that request.
// Then Redis is killed: QPS while it is down (answers from the org service), and after the
// restart, under steady load, the time until every key of the working set is served from
// Redis again ("warm again"), with the share of Redis hits per time bucket.

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "grpcpp/create_channel.h"
#include "libs/orgclient/org_client.h"
#include "tools/bench/bench_util.h"
#include "tools/opsteam/chart_loader.h"
#include "tools/opsteam/client.h"

ABSL_FLAG(std::string, chart, "deploy/demo/kuaishou.textproto", "chart to load and draw requests from");
ABSL_FLAG(std::string, levels, "1,8", "client concurrency levels");
ABSL_FLAG(double, seconds, 2.0, "duration of each measurement");
ABSL_FLAG(int, working_set, 512, "distinct CheckAuthority requests cycled through");
ABSL_FLAG(double, bucket_ms, 100, "width of the time buckets after the Redis restart");
ABSL_FLAG(std::string, as_of, "2026-06-01", "day the checks ask about");

namespace v1 = opsteam::org::v1;
using opsteam::bench::LoadResult;
using opsteam::cache::Source;

namespace {

// Milliseconds with microseconds: local-layer hits take a few of them.
std::string FormatMs(absl::Duration d) { return absl::StrFormat("%.3f", absl::ToDoubleMilliseconds(d)); }

void Collect(const v1::ChartDepartment& d, std::vector<std::string>& out) {
  out.push_back("departments/" + d.id());
  for (const auto& c : d.children()) Collect(c, out);
}

void Row(const char* op, int level, const LoadResult& r, const LoadResult& base) {
  std::printf("%-22s %5d %10.0f %8s %8s %7.2f %7.2f %8lld %6lld\n", op, level, r.qps, FormatMs(r.p50).c_str(),
              FormatMs(r.p99).c_str(), base.qps > 0 ? r.qps / base.qps : 0.0,
              absl::ToDoubleMicroseconds(base.p50) > 0
                  ? absl::ToDoubleMicroseconds(r.p50) / absl::ToDoubleMicroseconds(base.p50)
                  : 0.0,
              static_cast<long long>(r.calls), static_cast<long long>(r.errors));
}

void Header() {
  std::printf("%-22s %5s %10s %8s %8s %7s %7s %8s %6s\n", "op", "conc", "qps", "p50_ms", "p99_ms", "qps/hc",
              "p50/hc", "calls", "errors");
}

int Fail(const std::string& what, const absl::Status& s) {
  std::fprintf(stderr, "cache_bench: %s: %s\n", what.c_str(), std::string(s.message()).c_str());
  return 1;
}

// Where each read of the outage phase was answered from, by time and key.
class Timeline {
 public:
  void Record(absl::string_view key, Source source) {
    const absl::Time now = absl::Now();
    absl::MutexLock lock(&mu_);
    if (!on_) return;
    events_.push_back({now, source});
    if (source == Source::kRedis && now >= restart_) redis_since_restart_.emplace(std::string(key), now);
  }
  void Start(absl::Time restart) {
    absl::MutexLock lock(&mu_);
    on_ = true;
    restart_ = restart;
  }
  size_t warm_keys() const {
    absl::MutexLock lock(&mu_);
    return redis_since_restart_.size();
  }
  // When the first and the last key of the working set were first served from Redis after
  // the restart.
  std::pair<absl::Time, absl::Time> warm_span() const {
    absl::MutexLock lock(&mu_);
    absl::Time first = absl::InfiniteFuture(), last = absl::InfinitePast();
    for (const auto& [key, t] : redis_since_restart_) {
      first = std::min(first, t);
      last = std::max(last, t);
    }
    return {first, last};
  }
  void PrintBuckets(absl::Duration width, absl::Time until) const {
    absl::MutexLock lock(&mu_);
    std::printf("%10s %8s %8s %8s %8s\n", "t_ms", "calls", "redis%", "miss%", "qps");
    for (absl::Time b = restart_; b < until; b += width) {
      int64_t calls = 0, redis = 0, miss = 0;
      for (const auto& e : events_) {
        if (e.at < b || e.at >= b + width) continue;
        ++calls;
        redis += e.source == Source::kRedis;
        miss += e.source == Source::kMiss;
      }
      std::printf("%10.0f %8lld %7.1f%% %7.1f%% %8.0f\n", absl::ToDoubleMilliseconds(b - restart_),
                  static_cast<long long>(calls), calls ? 100.0 * static_cast<double>(redis) / static_cast<double>(calls) : 0.0,
                  calls ? 100.0 * static_cast<double>(miss) / static_cast<double>(calls) : 0.0,
                  static_cast<double>(calls) / absl::ToDoubleSeconds(width));
    }
  }

 private:
  struct Event {
    absl::Time at;
    Source source;
  };
  mutable absl::Mutex mu_;
  bool on_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time restart_ ABSL_GUARDED_BY(mu_);
  std::vector<Event> events_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, absl::Time> redis_since_restart_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  auto chart = opsteam::cli::ReadChart(absl::GetFlag(FLAGS_chart));
  if (!chart.ok()) return Fail("reading the chart", chart.status());
  auto org = opsteam::bench::OrgUnderTest::Start(16, 16);
  if (!org.ok()) return Fail("starting the org service", org.status());
  auto redis = opsteam::bench::RedisUnderTest::Start();
  if (!redis.ok()) return Fail("starting Redis", redis.status());
  const std::string address = (*org)->address();
  {
    opsteam::cli::ClientOptions options;
    options.address = address;
    options.deadline = absl::Seconds(120);
    options.token = (*org)->token();
    auto loader = opsteam::cli::Client::Create(options);
    if (!loader.ok()) return Fail("connecting", loader.status());
    opsteam::cli::LoadSummary summary;
    if (auto s = opsteam::cli::LoadChart(*loader, *chart, &summary); !s.ok()) return Fail("loading the chart", s);
  }

  // The working set: distinct checks, each with the server's own answer.
  std::vector<std::string> members, departments;
  for (const auto& m : chart->members()) members.push_back("members/" + m.id());
  for (const auto& d : chart->departments()) Collect(d, departments);
  const v1::AuthorityType types[] = {v1::AUTHORITY_TYPE_ASSIGN_WORK, v1::AUTHORITY_TYPE_SUPERVISE,
                                     v1::AUTHORITY_TYPE_ASSESS, v1::AUTHORITY_TYPE_EXECUTE};
  opsteam::cli::ClientOptions options;
  options.address = address;
  options.token = (*org)->token();
  auto connected = opsteam::cli::Client::Create(options);
  if (!connected.ok()) return Fail("connecting", connected.status());
  opsteam::cli::Client& plain = *connected;
  const size_t working_set = static_cast<size_t>(std::max(1, absl::GetFlag(FLAGS_working_set)));
  std::vector<v1::CheckAuthorityRequest> requests;
  std::vector<std::string> expected;
  int allowed = 0;
  for (size_t k = 0; requests.size() < working_set && k < members.size() * departments.size() * 4; ++k) {
    v1::CheckAuthorityRequest req;
    req.set_member(members[k % members.size()]);
    req.set_department(departments[(k / members.size()) % departments.size()]);
    req.set_authority(types[(k / (members.size() * departments.size())) % 4]);
    req.set_as_of(absl::GetFlag(FLAGS_as_of));
    v1::CheckAuthorityResponse resp;
    if (auto s = plain.Run([&](grpc::ClientContext* ctx) { return plain.org().CheckAuthority(ctx, req, &resp); });
        !s.ok()) {
      return Fail("computing the expected answers", s);
    }
    allowed += resp.allowed();
    requests.push_back(req);
    expected.push_back(resp.SerializeAsString());
  }
  const size_t n = requests.size();

  auto channel = grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
  Timeline timeline;
  auto make_client = [&](bool local) {
    opsteam::orgclient::Options o;
    o.token_provider = [token = (*org)->token()] { return token; };
    o.cache.redis = opsteam::orgclient::CacheRedisOptions("127.0.0.1", (*redis)->port());
    if (!local) o.cache.local_capacity = 0;
    if (!local) o.cache.on_read = [&](absl::string_view key, Source s) { timeline.Record(key, s); };
    auto c = opsteam::orgclient::OrgClient::Create(channel, o);
    if (!c.ok()) {
      std::fprintf(stderr, "cache_bench: %s\n", std::string(c.status().message()).c_str());
      std::exit(1);
    }
    return std::move(*c);
  };
  auto redis_only = make_client(false);
  auto both = make_client(true);
  auto via = [&](opsteam::orgclient::OrgClient& client) {
    return [&](int t, int64_t i) {
      const size_t k = static_cast<size_t>(t * 7919 + i) % n;
      auto got = client.CheckAuthority(requests[k]);
      return got.ok() && got->SerializeAsString() == expected[k];
    };
  };
  auto direct = [&](int t, int64_t i) {
    const size_t k = static_cast<size_t>(t * 7919 + i) % n;
    v1::CheckAuthorityResponse resp;
    return plain.Run([&](grpc::ClientContext* ctx) { return plain.org().CheckAuthority(ctx, requests[k], &resp); })
               .ok() &&
           resp.SerializeAsString() == expected[k];
  };
  auto health = [&](int, int64_t) {
    grpc::health::v1::HealthCheckRequest req;
    grpc::health::v1::HealthCheckResponse resp;
    return plain.Run([&](grpc::ClientContext* ctx) { return plain.health().Check(ctx, req, &resp); }).ok();
  };
  // One pass over the working set fills Redis (and the local layer of `both`).
  for (size_t k = 0; k < n; ++k) {
    (void)redis_only->CheckAuthority(requests[k]);
    (void)both->CheckAuthority(requests[k]);
  }

  const auto duration = absl::Seconds(absl::GetFlag(FLAGS_seconds));
  std::printf("org service %s, redis 127.0.0.1:%d; %zu members, %zu departments; working set %zu checks (%d allowed);"
              " %.1f s per measurement\n",
              address.c_str(), (*redis)->port(), members.size(), departments.size(), n, allowed,
              absl::ToDoubleSeconds(duration));
  Header();
  std::vector<int> levels;
  for (auto text : absl::StrSplit(absl::GetFlag(FLAGS_levels), ',')) {
    int level = 0;
    if (absl::SimpleAtoi(text, &level) && level > 0) levels.push_back(level);
  }
  if (levels.empty()) levels.push_back(1);
  for (int level : levels) {
    auto base = opsteam::bench::RunLoad(level, duration, 1'000'000, health);
    Row("health.Check", level, base, base);
    Row("CheckAuthority", level, opsteam::bench::RunLoad(level, duration, 1'000'000, direct), base);
    Row("client.redis", level, opsteam::bench::RunLoad(level, duration, 1'000'000, via(*redis_only)), base);
    Row("client.both", level, opsteam::bench::RunLoad(level, duration, 1'000'000, via(*both)), base);
  }
  const auto s_redis = redis_only->cache_stats();
  const auto s_both = both->cache_stats();
  std::printf("client.redis: %lld redis hits, %lld misses, %lld stale; client.both: %lld local hits, %lld redis hits,"
              " %lld misses\n",
              static_cast<long long>(s_redis.redis_hits), static_cast<long long>(s_redis.misses),
              static_cast<long long>(s_redis.stale), static_cast<long long>(s_both.local_hits),
              static_cast<long long>(s_both.redis_hits), static_cast<long long>(s_both.misses));

  // ---- Redis outage.
  const int level = levels.back();
  (*redis)->server().Kill();
  std::printf("\nRedis killed; answers come from the org service\n");
  Header();
  auto down_base = opsteam::bench::RunLoad(level, duration, 1'000'000, health);
  Row("health.Check", level, down_base, down_base);
  Row("client.redis (down)", level, opsteam::bench::RunLoad(level, duration, 1'000'000, via(*redis_only)), down_base);
  Row("client.both (down)", level, opsteam::bench::RunLoad(level, duration, 1'000'000, via(*both)), down_base);

  // Steady load through the Redis-only client while Redis comes back.
  std::atomic<bool> stop{false};
  std::atomic<int64_t> wrong{0};
  const absl::Time load_start = absl::Now();
  std::vector<std::thread> load;
  for (int t = 0; t < level; ++t) {
    load.emplace_back([&, t] {
      auto call = via(*redis_only);
      for (int64_t i = 0; !stop.load(); ++i) {
        if (!call(t, i)) wrong.fetch_add(1);
      }
    });
  }
  absl::SleepFor(absl::Milliseconds(200));  // steady state before the restart
  const absl::Time restart = absl::Now();
  timeline.Start(restart);
  const absl::Status restarted = (*redis)->server().Restart();
  const absl::Time serving = absl::Now();
  const absl::Time give_up = restart + absl::Seconds(30);
  while (timeline.warm_keys() < n && absl::Now() < give_up) absl::SleepFor(absl::Milliseconds(5));
  const bool warm = timeline.warm_keys() >= n;
  absl::SleepFor(absl::Milliseconds(300));  // a little of the warm state in the buckets
  stop.store(true);
  for (auto& th : load) th.join();
  const absl::Time load_end = absl::Now();
  if (!restarted.ok()) return Fail("restarting Redis", restarted);

  std::printf("\nRedis restarted under steady load (%d threads, client.redis): accepting connections after %s ms\n",
              level, FormatMs(serving - restart).c_str());
  if (warm) {
    const auto [first, last] = timeline.warm_span();
    std::printf("warm again: every one of the %zu keys served from Redis %s ms after the restart"
                " (first Redis hit after %s ms: the clients' reconnect backoff; then refilled on use)\n",
                n, FormatMs(last - restart).c_str(), FormatMs(first - restart).c_str());
  } else {
    std::printf("warm again: only %zu of %zu keys served from Redis within 30 s\n", timeline.warm_keys(), n);
  }
  std::printf("wrong or failed answers during the outage load: %lld of the steady-load calls (%.1f s)\n",
              static_cast<long long>(wrong.load()), absl::ToDoubleSeconds(load_end - load_start));
  timeline.PrintBuckets(absl::Milliseconds(absl::GetFlag(FLAGS_bucket_ms)), load_end);
  std::printf("resident memory (server, Redis client, driver): %lld MiB\n",
              static_cast<long long>(opsteam::bench::OrgUnderTest::RssKib() / 1024));
  return warm && wrong.load() == 0 ? 0 : 1;
}
