// events_bench: end-to-end latency of org events, from the commit of a change to its effect
// applied by a consumer (outbox -> relay -> Redis Stream -> consumer group -> consumer's
// transaction), at steady write rates. Baselines from the same run: the latency of the write
// RPC itself, and one raw Redis Stream hop (XADD, seen by a blocked XREADGROUP).
//
//   build/tools/bench/events_bench [--rates 50,200] [--seconds 5]
//
// Starts its own PostgreSQL, Redis and org service (with relay) on loopback.

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "google/protobuf/util/time_util.h"
#include "grpcpp/grpcpp.h"
#include "libs/events/consumer.h"
#include "libs/events/outbox_notifier.h"
#include "libs/events/relay.h"
#include "libs/events/watch_replay.h"
#include "libs/pg/migrations.h"
#include "libs/redis/redis_client.h"
#include "libs/rpc/channel.h"
#include "libs/testing/pg_server.h"
#include "libs/testing/process.h"
#include "libs/testing/redis_server.h"
#include "services/org/migrations.h"
#include "services/org/org_logic.h"
#include "services/org/org_service.h"
#include "tools/bench/bench_util.h"

ABSL_FLAG(std::string, rates, "50,200", "steady write rates to measure, writes per second");
ABSL_FLAG(double, seconds, 5.0, "duration of each rate");

namespace v1 = opsteam::org::v1;
using opsteam::bench::FormatMs;

namespace {

struct Percentiles {
  absl::Duration p50, p99, max;
  size_t n = 0;
};

Percentiles Summarise(std::vector<absl::Duration> v) {
  Percentiles p;
  p.n = v.size();
  if (v.empty()) return p;
  std::sort(v.begin(), v.end());
  p.p50 = v[v.size() / 2];
  p.p99 = v[std::min(v.size() - 1, v.size() * 99 / 100)];
  p.max = v.back();
  return p;
}

void Die(const absl::Status& s, const char* what) {
  std::fprintf(stderr, "events_bench: %s: %s\n", what, s.ToString().c_str());
  std::exit(1);
}

// One raw hop: XADD on one connection, a consumer blocked in XREADGROUP on another.
Percentiles RedisHop(int port, int n) {
  opsteam::redis::Options o;
  o.port = port;
  opsteam::redis::Client producer(o);
  o.command_timeout = absl::Seconds(5);
  opsteam::redis::Client reader(o);
  (void)producer.Command({"XGROUP", "CREATE", "bench.hop", "g", "$", "MKSTREAM"});
  std::vector<absl::Duration> lat;
  for (int i = 0; i < n; ++i) {
    absl::Time sent;
    std::thread t([&] {
      absl::SleepFor(absl::Microseconds(200));  // let the reader block first
      sent = absl::Now();
      (void)producer.Command({"XADD", "bench.hop", "*", "event", "x"});
    });
    auto r = reader.Command({"XREADGROUP", "GROUP", "g", "c", "COUNT", "1", "BLOCK", "2000", "STREAMS", "bench.hop", ">"});
    const absl::Time got = absl::Now();
    t.join();
    if (r.ok()) lat.push_back(got - sent);
  }
  return Summarise(lat);
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  std::vector<int> rates;
  for (auto part : absl::StrSplit(absl::GetFlag(FLAGS_rates), ',')) {
    int r = 0;
    if (absl::SimpleAtoi(part, &r) && r > 0) rates.push_back(r);
  }
  auto pg = opsteam::testing::PgServer::Start();
  if (!pg.ok()) Die(pg.status(), "PostgreSQL");
  auto dir = opsteam::testing::MakeTempDir("opsteam-events-bench-");
  if (!dir.ok()) Die(dir.status(), "temp dir");
  auto redis = opsteam::testing::RedisServer::Start(*dir);
  if (!redis.ok()) Die(redis.status(), "Redis");
  auto admin = opsteam::pg::Connection::Open((*pg)->ConnInfo("postgres"), absl::Seconds(5));
  if (!admin.ok()) Die(admin.status(), "connect");
  (void)(*admin)->ExecScript("CREATE DATABASE org");
  (void)(*admin)->ExecScript("CREATE DATABASE consumer");
  const std::string org_db = (*pg)->ConnInfo("org");
  const std::string consumer_db = (*pg)->ConnInfo("consumer");
  {
    auto c = opsteam::pg::Connection::Open(org_db, absl::Seconds(5));
    if (!c.ok()) Die(c.status(), "connect");
    if (auto s = opsteam::pg::ApplyMigrations(**c, "org", opsteam::org::Migrations()); !s.ok()) Die(s, "migrations");
    auto k = opsteam::pg::Connection::Open(consumer_db, absl::Seconds(5));
    if (!k.ok()) Die(k.status(), "connect");
    if (auto s = opsteam::events::EnsureInboxSchema(**k); !s.ok()) Die(s, "inbox");
  }
  opsteam::pg::Pool pool({.conninfo = org_db, .size = 8});
  opsteam::org::OrgLogic logic(pool);
  opsteam::rpc::WorkerPool workers(8, 10000);
  opsteam::events::OutboxNotifier notifier(org_db, "org");
  notifier.Start();
  opsteam::events::RelayOptions ro;
  ro.source = "org";
  ro.conninfo = org_db;
  ro.redis.port = (*redis)->port();
  opsteam::events::Relay relay(ro, &notifier);
  relay.Start();
  auto bench_auth = opsteam::bench::BenchAuth::Make();
  if (!bench_auth.ok()) Die(bench_auth.status(), "tokens");
  const std::string token = bench_auth->token;
  opsteam::org::OrgGrpcService service(logic, workers, *bench_auth->authenticator, &notifier);
  opsteam::rpc::ServerOptions so;
  so.listen_address = "127.0.0.1:0";
  auto server = opsteam::rpc::Server::Start(so, {&service});
  if (!server.ok()) Die(server.status(), "server");
  const std::string addr = absl::StrCat("127.0.0.1:", (*server)->port());
  auto channel = grpc::CreateChannel(addr, grpc::InsecureChannelCredentials());
  auto stub = v1::OrgService::NewStub(channel);

  // The consumer: records commit -> applied for every event.
  opsteam::pg::Pool consumer_pool({.conninfo = consumer_db, .size = 4});
  opsteam::events::WatchChangesReplay replay(channel, [&token] { return token; });
  absl::Mutex mu;
  std::vector<absl::Duration> e2e;
  opsteam::events::ConsumerOptions co;
  co.group = "bench";
  co.consumer = "bench-1";
  co.redis.port = (*redis)->port();
  co.after_apply = [&](const opsteam::events::v1::Event& e) {
    const absl::Time committed =
        absl::FromUnixMicros(google::protobuf::util::TimeUtil::TimestampToMicroseconds(e.time()));
    absl::MutexLock lock(&mu);
    e2e.push_back(absl::Now() - committed);
  };
  opsteam::events::Consumer consumer(co, consumer_pool, &replay,
                                     [](opsteam::pg::Tx&, const opsteam::events::v1::Event&) { return absl::OkStatus(); });
  consumer.Start();

  auto call = [&](auto method, const auto& req, auto* resp) {
    grpc::ClientContext ctx;
    opsteam::rpc::PrepareClientContext(&ctx, absl::Seconds(10), token);
    return ((*stub).*method)(&ctx, req, resp).ok();
  };
  {
    v1::CreateMemberRequest m;
    m.set_member_id("m-bench");
    m.mutable_member()->set_display_name("张伟");
    m.mutable_member()->set_employment_start_date("2025-01-01");
    v1::CreateMemberResponse resp;
    if (!call(&v1::OrgService::Stub::CreateMember, m, &resp)) Die(absl::InternalError("create"), "setup");
  }

  const Percentiles hop = RedisHop((*redis)->port(), 500);
  std::printf("baseline: Redis Stream hop (XADD -> blocked XREADGROUP) p50 %s ms, p99 %s ms (n=%zu)\n",
              FormatMs(hop.p50).c_str(), FormatMs(hop.p99).c_str(), hop.n);
  std::printf("%8s %8s %10s %10s %10s %10s %10s %12s %12s\n", "rate/s", "events", "write p50", "write p99",
              "e2e p50", "e2e p99", "e2e max", "e2e/write", "e2e/hop");
  int k = 0;
  for (int rate : rates) {
    {
      absl::MutexLock lock(&mu);
      e2e.clear();
    }
    std::vector<absl::Duration> writes;
    const absl::Duration gap = absl::Seconds(1) / rate;
    const absl::Time end = absl::Now() + absl::Seconds(absl::GetFlag(FLAGS_seconds));
    absl::Time next = absl::Now();
    while (absl::Now() < end) {
      absl::SleepFor(next - absl::Now());
      next += gap;
      v1::UpdateMemberRequest u;
      u.mutable_member()->set_name("members/m-bench");
      u.mutable_member()->set_display_name(absl::StrCat("v", ++k));
      u.mutable_update_mask()->add_paths("display_name");
      v1::UpdateMemberResponse resp;
      const absl::Time t0 = absl::Now();
      if (call(&v1::OrgService::Stub::UpdateMember, u, &resp)) writes.push_back(absl::Now() - t0);
    }
    // Let the last events arrive.
    auto arrived = [&] {
      absl::MutexLock lock(&mu);
      return e2e.size();
    };
    for (int i = 0; i < 200 && arrived() < writes.size(); ++i) absl::SleepFor(absl::Milliseconds(10));
    std::vector<absl::Duration> got;
    {
      absl::MutexLock lock(&mu);
      got = e2e;
    }
    const Percentiles w = Summarise(writes);
    const Percentiles e = Summarise(got);
    std::printf("%8d %8zu %10s %10s %10s %10s %10s %11.2fx %11.2fx\n", rate, e.n, FormatMs(w.p50).c_str(),
                FormatMs(w.p99).c_str(), FormatMs(e.p50).c_str(), FormatMs(e.p99).c_str(), FormatMs(e.max).c_str(),
                absl::FDivDuration(e.p50, w.p50), absl::FDivDuration(e.p50, hop.p50));
  }
  consumer.Stop();
  (*server)->Stop();
  relay.Stop();
  notifier.Stop();
  opsteam::testing::RemoveTree(*dir);
  return 0;
}
