#include "tools/bench/bench_util.h"

#include <algorithm>
#include <fstream>
#include <thread>

#include "absl/random/random.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "libs/pg/migrations.h"
#include "libs/testing/process.h"
#include "services/org/migrations.h"

namespace opsteam::bench {

LoadResult RunLoad(int threads, absl::Duration duration, int64_t max_calls_per_thread,
                   const std::function<bool(int, int64_t)>& call) {
  std::vector<std::vector<absl::Duration>> latencies(static_cast<size_t>(threads));
  std::vector<int64_t> errors(static_cast<size_t>(threads), 0);
  const absl::Time start = absl::Now();
  const absl::Time stop = start + duration;
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      auto& mine = latencies[static_cast<size_t>(t)];
      mine.reserve(4096);
      for (int64_t i = 0; i < max_calls_per_thread; ++i) {
        const absl::Time before = absl::Now();
        if (before >= stop) break;
        if (!call(t, i)) ++errors[static_cast<size_t>(t)];
        mine.push_back(absl::Now() - before);
      }
    });
  }
  for (auto& th : pool) th.join();
  const absl::Duration elapsed = absl::Now() - start;
  std::vector<absl::Duration> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  LoadResult r;
  r.calls = static_cast<int64_t>(all.size());
  for (auto e : errors) r.errors += e;
  r.qps = static_cast<double>(r.calls) / absl::ToDoubleSeconds(elapsed);
  if (!all.empty()) {
    r.p50 = all[all.size() / 2];
    r.p99 = all[std::min(all.size() - 1, all.size() * 99 / 100)];
  }
  return r;
}

absl::StatusOr<BenchAuth> BenchAuth::Make() {
  BenchAuth out;
  absl::BitGen random;
  std::string secret;
  for (int i = 0; i < 48; ++i) secret.push_back(static_cast<char>(absl::Uniform<int>(random, 0, 256)));
  auto key = auth::VerificationKey::Hs256(secret);
  if (!key.ok()) return key.status();
  auto verifier = auth::JwtVerifier::Create(auth::VerifierOptions(), {*std::move(key)});
  if (!verifier.ok()) return verifier.status();
  out.authenticator = std::make_unique<auth::JwtAuthenticator>(*std::move(verifier));
  auto signer = auth::JwtSigner::Hs256(secret);
  if (!signer.ok()) return signer.status();
  auth::TokenClaims claims;
  claims.subject = "members/m-bench";
  claims.roles = {auth::kRoleAdministrator};
  claims.issued_at = absl::Now();
  claims.expires = claims.issued_at + absl::Hours(24);
  auto token = signer->Sign(claims);
  if (!token.ok()) return token.status();
  out.token = *std::move(token);
  return out;
}

absl::StatusOr<std::unique_ptr<OrgUnderTest>> OrgUnderTest::Start(int workers, int pg_pool) {
  auto o = std::make_unique<OrgUnderTest>();
  {
    auto made = BenchAuth::Make();
    if (!made.ok()) return made.status();
    o->auth_ = std::move(made->authenticator);
    o->token_ = std::move(made->token);
  }
  auto pg = testing::PgServer::Start();
  if (!pg.ok()) return pg.status();
  o->pg_ = std::move(*pg);
  {
    auto admin = pg::Connection::Open(o->pg_->ConnInfo("postgres"), absl::Seconds(5));
    if (!admin.ok()) return admin.status();
    if (auto s = (*admin)->ExecScript("CREATE DATABASE opsteam_org"); !s.ok()) return s;
  }
  const std::string conninfo = o->pg_->ConnInfo("opsteam_org");
  {
    auto conn = pg::Connection::Open(conninfo, absl::Seconds(5));
    if (!conn.ok()) return conn.status();
    if (auto s = pg::ApplyMigrations(**conn, "org", org::Migrations()); !s.ok()) return s;
  }
  o->pool_ = std::make_unique<pg::Pool>(pg::PoolOptions{.conninfo = conninfo, .size = pg_pool});
  o->logic_ = std::make_unique<org::OrgLogic>(*o->pool_);
  o->workers_ = std::make_unique<rpc::WorkerPool>(workers, 10000);
  o->service_ = std::make_unique<org::OrgGrpcService>(*o->logic_, *o->workers_, *o->auth_);
  rpc::ServerOptions options;
  options.listen_address = "127.0.0.1:0";
  options.max_message_bytes = 256 << 20;
  options.health_probe = [p = o->pool_.get()] { return p->Ping(); };
  auto server = rpc::Server::Start(options, {o->service_.get()});
  if (!server.ok()) return server.status();
  o->server_ = std::move(*server);
  return o;
}

std::string OrgUnderTest::address() const { return absl::StrCat("127.0.0.1:", server_->port()); }

int64_t OrgUnderTest::RssKib() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      int64_t kib = 0;
      std::string digits;
      for (char c : line) {
        if (c >= '0' && c <= '9') digits.push_back(c);
      }
      (void)absl::SimpleAtoi(digits, &kib);
      return kib;
    }
  }
  return 0;
}

absl::StatusOr<std::unique_ptr<RedisUnderTest>> RedisUnderTest::Start() {
  auto r = std::make_unique<RedisUnderTest>();
  auto dir = testing::MakeTempDir("opsteam-bench-redis-");
  if (!dir.ok()) return dir.status();
  r->dir_ = *dir;
  auto server = testing::RedisServer::Start(r->dir_);
  if (!server.ok()) return server.status();
  r->server_ = std::move(*server);
  return r;
}

RedisUnderTest::~RedisUnderTest() {
  server_.reset();
  if (!dir_.empty()) testing::RemoveTree(dir_);
}

std::string FormatMs(absl::Duration d) { return absl::StrFormat("%.2f", absl::ToDoubleMilliseconds(d)); }

}  // namespace opsteam::bench
