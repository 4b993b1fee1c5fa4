// Faults under a steady stream of org writes: Redis killed and brought back (empty), the
// relay's org-service killed with SIGKILL and started again (the standby replica takes
// over), a consumer killed mid-batch (its pending entries are reclaimed by the other), and
// PostgreSQL restarted. Afterwards every committed change has exactly one applied effect at
// the consumers, the outbox has nothing unsent and no stream entry is left pending, and a
// read through the cache right after an applied change was never older than that change.
//
// OPSTEAM_FAULT_ROUNDS=N repeats the fault sequence N times (scripts/faults runs it longer).

#include <atomic>
#include <csignal>
#include <fstream>
#include <cstdlib>
#include <map>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "libs/auth/jwt.h"
#include "libs/auth/identity.h"
#include "libs/events/outbox.h"
#include "libs/pg/pg.h"
#include "libs/redis/redis_client.h"
#include "libs/rpc/channel.h"
#include "libs/testing/process.h"
#include "libs/testing/test_env.h"
#include "opsteam/org/v1/org_service.grpc.pb.h"

namespace opsteam::testing {
namespace {

namespace v1 = ::opsteam::org::v1;
using ::opsteam::testing::Process;

constexpr char kGroup[] = "fault-test";

int Rounds() {
  int n = 1;
  const char* v = std::getenv("OPSTEAM_FAULT_ROUNDS");
  return v && absl::SimpleAtoi(v, &n) && n > 0 ? n : 1;
}

class FaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto& env = TestEnv::Get();
    auto dir = MakeTempDir("opsteam-fault-test-");
    ASSERT_TRUE(dir.ok());
    dir_ = *dir;
    org_db_ = env.NewDatabase("org", OrgMigrations());
    consumer_db_ = env.NewDatabase("faultconsumer", {});
    org_pool_ = std::make_unique<pg::Pool>(pg::PoolOptions{.conninfo = org_db_, .size = 2});
    consumer_pool_ = std::make_unique<pg::Pool>(pg::PoolOptions{.conninfo = consumer_db_, .size = 2});
    redis::Options ro;
    ro.port = env.redis().port();
    ro.max_backoff = absl::Milliseconds(100);
    redis_ = std::make_unique<redis::Client>(ro);
    for (auto& p : org_ports_) p = PickFreePort();
    // The replicas check tokens under a secret of this run; the writer is an administrator,
    // the consumers a service.
    secret_file_ = absl::StrCat(dir_, "/jwt_secret");
    const std::string secret = "fault-test-secret-0123456789-abcdefghijklmnop";
    std::ofstream(secret_file_) << secret;
    auto signer = auth::JwtSigner::Hs256(secret);
    ASSERT_TRUE(signer.ok());
    auto mint = [&](const std::string& subject, const std::string& role) {
      auth::TokenClaims claims;
      claims.subject = subject;
      claims.roles = {role};
      claims.issued_at = absl::Now();
      claims.expires = claims.issued_at + absl::Hours(2);
      auto t = signer->Sign(claims);
      EXPECT_TRUE(t.ok());
      return t.ok() ? *t : std::string();
    };
    writer_token_ = mint("members/m-fault-writer", auth::kRoleAdministrator);
    consumer_token_ = mint("services/fault-consumer", auth::kRoleService);
  }

  void TearDown() override {
    writing_ = false;
    if (writer_.joinable()) writer_.join();
    for (auto& [name, p] : consumers_) p.Signal(SIGTERM);
    for (auto& [name, p] : consumers_) p.Wait(absl::Seconds(10));
    for (auto& p : orgs_) {
      if (p) p->Signal(SIGTERM);
    }
    for (auto& p : orgs_) {
      if (p) p->Wait(absl::Seconds(10));
    }
    // The processes' logs stay for a failed run.
    if (!HasFailure()) RemoveTree(dir_);
  }

  static const std::vector<pg::Migration>& OrgMigrations();

  std::string OrgAddress(int i) const { return absl::StrCat("127.0.0.1:", org_ports_[i]); }

  void StartOrg(int i) {
    auto p = Process::Start(
        {.argv = {absl::StrCat(OPSTEAM_BINARY_DIR, "/services/org/org-service"), "--listen", OrgAddress(i), "--pg",
                  org_db_, "--redis", absl::StrCat("127.0.0.1:", TestEnv::Get().redis().port()),
                  "--drain_seconds", "1", "--migrate=false", "--jwt_hs256_secret_file", secret_file_},
         .run_as_user = std::nullopt,
         .log_file = absl::StrCat(dir_, "/org-", i, ".log")});
    ASSERT_TRUE(p.ok()) << p.status();
    orgs_[i].emplace(std::move(*p));
    auto stub = v1::OrgService::NewStub(grpc::CreateChannel(OrgAddress(i), grpc::InsecureChannelCredentials()));
    for (int attempt = 0; attempt < 300; ++attempt) {
      grpc::ClientContext ctx;
      rpc::PrepareClientContext(&ctx, absl::Milliseconds(500), writer_token_);
      v1::ListDepartmentsRequest req;
      v1::ListDepartmentsResponse resp;
      if (stub->ListDepartments(&ctx, req, &resp).ok()) return;
      ASSERT_TRUE(orgs_[i]->Running()) << "org-service " << i << " exited; log in " << dir_;
      absl::SleepFor(absl::Milliseconds(50));
    }
    FAIL() << "org-service " << i << " did not answer";
  }

  void StartConsumer(const std::string& name, int apply_delay_ms) {
    auto p = Process::Start({.argv = {absl::StrCat(OPSTEAM_BINARY_DIR, "/tests/integration/fault_consumer"), "--pg",
                                      consumer_db_, "--redis",
                                      absl::StrCat("127.0.0.1:", TestEnv::Get().redis().port()), "--org",
                                      OrgAddress(1), "--token", consumer_token_, "--group", kGroup, "--name", name, "--reclaim_idle_ms",
                                      "1500", "--apply_delay_ms", absl::StrCat(apply_delay_ms)},
                             .run_as_user = std::nullopt,
                             .log_file = absl::StrCat(dir_, "/consumer-", name, ".log")});
    ASSERT_TRUE(p.ok()) << p.status();
    consumers_.emplace(name, std::move(*p));
  }

  // A steady stream of writes through replica 1 (replica 0 is the one killed): a department
  // and a member rename per round. Failures while PostgreSQL restarts are expected and
  // counted; what counts as committed is what the outbox holds.
  void StartWriter() {
    writing_ = true;
    writer_ = std::thread([this] {
      auto stub = v1::OrgService::NewStub(grpc::CreateChannel(OrgAddress(1), grpc::InsecureChannelCredentials()));
      auto call = [&](auto method, const auto& req, auto* resp) {
        grpc::ClientContext ctx;
        rpc::PrepareClientContext(&ctx, absl::Seconds(5), writer_token_);
        grpc::Status s = ((*stub).*method)(&ctx, req, resp);
        (s.ok() ? ok_writes_ : failed_writes_)++;
        if (!s.ok()) absl::SleepFor(absl::Milliseconds(20));
        return s.ok();
      };
      {
        v1::CreateMemberRequest m;
        m.set_member_id("m-probe");
        m.mutable_member()->set_display_name("v0");
        m.mutable_member()->set_employment_start_date("2025-01-01");
        v1::CreateMemberResponse resp;
        while (writing_ && !call(&v1::OrgService::Stub::CreateMember, m, &resp)) {
        }
      }
      for (int k = 1; writing_; ++k) {
        v1::CreateDepartmentRequest d;
        d.set_department_id(absl::StrCat("d-", k));
        d.set_request_id(absl::StrCat("fault-d-", k));  // a retry after an unknown outcome is safe
        d.mutable_department()->set_display_name(absl::StrCat("部门 ", k));
        d.mutable_department()->set_kind(v1::DEPARTMENT_KIND_FUNCTIONAL_TEAM);
        v1::CreateDepartmentResponse dr;
        call(&v1::OrgService::Stub::CreateDepartment, d, &dr);
        v1::UpdateMemberRequest u;
        u.mutable_member()->set_name("members/m-probe");
        u.mutable_member()->set_display_name(absl::StrCat("v", k));
        u.mutable_update_mask()->add_paths("display_name");
        v1::UpdateMemberResponse ur;
        call(&v1::OrgService::Stub::UpdateMember, u, &ur);
      }
    });
  }

  // Lets the stream of writes run.
  void Run(absl::Duration d) {
    const int64_t before = ok_writes_;
    absl::SleepFor(d);
    EXPECT_GT(ok_writes_, before) << "no write went through in " << d;
  }

  int64_t OrgQuery(const std::string& sql) {
    int64_t v = -1;
    for (int attempt = 0; attempt < 100 && v < 0; ++attempt) {
      absl::Status s = pg::RunStatements(*org_pool_, [&](pg::Tx& tx) -> absl::Status {
        auto r = tx.Exec(sql);
        if (!r.ok()) return r.status();
        v = r->GetInt64(0, 0);
        return absl::OkStatus();
      });
      if (!s.ok()) absl::SleepFor(absl::Milliseconds(100));
    }
    return v;
  }

  std::map<int64_t, int64_t> EffectCounts() {
    std::map<int64_t, int64_t> out;
    EXPECT_TRUE(pg::RunStatements(*consumer_pool_, [&](pg::Tx& tx) -> absl::Status {
                  auto r = tx.Exec("SELECT sequence, count(*) FROM effects GROUP BY sequence");
                  if (!r.ok()) return r.status();
                  for (int i = 0; i < r->rows(); ++i) out[r->GetInt64(i, 0)] = r->GetInt64(i, 1);
                  return absl::OkStatus();
                }).ok());
    return out;
  }

  int64_t ConsumerQuery(const std::string& sql) {
    int64_t v = -1;
    EXPECT_TRUE(pg::RunStatements(*consumer_pool_, [&](pg::Tx& tx) -> absl::Status {
                  auto r = tx.Exec(sql);
                  if (!r.ok()) return r.status();
                  v = r->GetInt64(0, 0);
                  return absl::OkStatus();
                }).ok());
    return v;
  }

  int64_t ConsumerOffset() {
    int64_t v = -1;
    (void)pg::RunStatements(*consumer_pool_, [&](pg::Tx& tx) -> absl::Status {
      auto r = tx.Exec("SELECT coalesce(max(last_sequence), 0) FROM event_offsets WHERE consumer_group = $1",
                       {std::string(kGroup)});
      if (!r.ok()) return r.status();
      v = r->GetInt64(0, 0);
      return absl::OkStatus();
    });
    return v;
  }

  int64_t PendingEntries() {
    auto r = redis_->Command({"XPENDING", events::StreamName("org"), kGroup});
    return r.ok() && !r->elements.empty() ? r->elements[0].integer : -1;
  }

  // Waits (bounded) until everything committed was applied and acknowledged.
  void Settle() {
    for (int i = 0; i < 600; ++i) {
      const int64_t head = OrgQuery("SELECT coalesce(max(last_sequence), 0) FROM outbox_head");
      if (head > 0 && OrgQuery("SELECT count(*) FROM outbox WHERE sent_time IS NULL") == 0 &&
          ConsumerOffset() == head && PendingEntries() == 0) {
        return;
      }
      absl::SleepFor(absl::Milliseconds(100));
    }
    ADD_FAILURE() << "did not settle: head " << OrgQuery("SELECT coalesce(max(last_sequence), 0) FROM outbox_head")
                  << ", unsent " << OrgQuery("SELECT count(*) FROM outbox WHERE sent_time IS NULL")
                  << ", consumer offset " << ConsumerOffset() << ", pending " << PendingEntries() << "; logs in "
                  << dir_;
  }

  std::string dir_;
  std::string secret_file_;
  std::string writer_token_;
  std::string consumer_token_;
  std::string org_db_;
  std::string consumer_db_;
  std::unique_ptr<pg::Pool> org_pool_;
  std::unique_ptr<pg::Pool> consumer_pool_;
  std::unique_ptr<redis::Client> redis_;
  int org_ports_[2] = {0, 0};
  std::optional<Process> orgs_[2];
  std::map<std::string, Process> consumers_;
  std::thread writer_;
  std::atomic<bool> writing_{false};
  std::atomic<int64_t> ok_writes_{0};
  std::atomic<int64_t> failed_writes_{0};
};

}  // namespace
}  // namespace opsteam::testing

#include "services/org/migrations.h"

namespace opsteam::testing {
namespace {

const std::vector<pg::Migration>& FaultTest::OrgMigrations() { return org::Migrations(); }

TEST_F(FaultTest, EveryCommittedChangeHasExactlyOneEffect) {
  auto& env = TestEnv::Get();
  // Replica 0 starts first and takes the relay; replica 1 stands by and takes the writes.
  StartOrg(0);
  StartOrg(1);
  StartConsumer("c-a", 1);
  StartConsumer("c-b", 1);
  StartWriter();
  Run(absl::Seconds(2));
  int generation = 0;
  for (int round = 0; round < Rounds(); ++round) {
    // Redis dies (SIGKILL) and comes back empty.
    env.redis().Kill();
    Run(absl::Seconds(1));
    ASSERT_TRUE(env.redis().Restart().ok());
    Run(absl::Seconds(3));
    // The relay's service dies; the standby takes over; it comes back as standby.
    orgs_[0]->Signal(SIGKILL);
    orgs_[0]->Wait(absl::Seconds(10));
    Run(absl::Seconds(2));
    StartOrg(0);
    Run(absl::Seconds(1));
    // A consumer dies mid-batch; a new one (another name) starts; the dead one's pending
    // entries are reclaimed.
    const std::string victim = round % 2 == 0 ? "c-a" : "c-b";
    for (auto it = consumers_.begin(); it != consumers_.end(); ++it) {
      if (it->first.rfind(victim, 0) == 0) {
        it->second.Signal(SIGKILL);
        it->second.Wait(absl::Seconds(10));
        consumers_.erase(it);
        break;
      }
    }
    StartConsumer(absl::StrCat(victim, "-", ++generation), 1);
    Run(absl::Seconds(3));
    // PostgreSQL crashes and restarts (both databases).
    ASSERT_TRUE(env.pg().Restart().ok());
    Run(absl::Seconds(4));
  }
  writing_ = false;
  writer_.join();
  Settle();

  const int64_t head = OrgQuery("SELECT coalesce(max(last_sequence), 0) FROM outbox_head");
  const int64_t rows = OrgQuery("SELECT count(*) FROM outbox");
  const auto effects = EffectCounts();
  int64_t lost = 0;
  int64_t duplicates = 0;
  for (int64_t seq = 1; seq <= head; ++seq) {
    auto it = effects.find(seq);
    if (it == effects.end()) {
      ++lost;
    } else {
      duplicates += it->second - 1;
    }
  }
  std::printf("fault test: %lld committed events (%lld writes ok, %lld failed), lost %lld, duplicate effects %lld\n",
              static_cast<long long>(head), static_cast<long long>(ok_writes_.load()),
              static_cast<long long>(failed_writes_.load()), static_cast<long long>(lost),
              static_cast<long long>(duplicates));
  EXPECT_GT(head, 100);
  EXPECT_EQ(rows, head) << "outbox sequences have gaps";
  EXPECT_EQ(lost, 0);
  EXPECT_EQ(duplicates, 0);
  EXPECT_EQ(static_cast<int64_t>(effects.size()), head) << "effects for sequences that were never committed";
  EXPECT_EQ(OrgQuery("SELECT count(*) FROM outbox WHERE sent_time IS NULL"), 0);
  EXPECT_EQ(PendingEntries(), 0);

  // Reads through the cache right after applying a rename were never older than it.
  const int64_t checks = ConsumerQuery("SELECT count(*) FROM cache_checks");
  const int64_t stale = ConsumerQuery("SELECT count(*) FROM cache_checks WHERE read < applied");
  std::printf("fault test: %lld reads through the cache after an applied rename, %lld older than it\n",
              static_cast<long long>(checks), static_cast<long long>(stale));
  EXPECT_GT(checks, 100);
  EXPECT_EQ(stale, 0);
}

}  // namespace
}  // namespace opsteam::testing
