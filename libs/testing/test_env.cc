#include "libs/testing/test_env.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "absl/strings/str_cat.h"

namespace opsteam::testing {
namespace {

[[noreturn]] void Fail(const absl::Status& status, const char* what) {
  std::fprintf(stderr, "test environment: %s: %s\n", what, status.ToString().c_str());
  std::abort();
}

TestEnv* g_env = nullptr;

void StopEnv() {
  delete g_env;
  g_env = nullptr;
}

}  // namespace

TestEnv& TestEnv::Get() {
  if (g_env == nullptr) {
    g_env = new TestEnv();
    std::atexit(StopEnv);
  }
  return *g_env;
}

TestEnv::TestEnv() {
  auto pg = PgServer::Start();
  if (!pg.ok()) Fail(pg.status(), "starting PostgreSQL");
  pg_ = std::move(*pg);
}

RedisServer& TestEnv::redis() {
  if (!redis_) {
    auto dir = MakeTempDir("opsteam-redis-");
    if (!dir.ok()) Fail(dir.status(), "creating the Redis directory");
    redis_dir_ = *dir;
    auto r = RedisServer::Start(redis_dir_);
    if (!r.ok()) Fail(r.status(), "starting Redis");
    redis_ = std::move(*r);
  }
  return *redis_;
}

std::string TestEnv::NewDatabase(const std::string& service,
                                  const std::vector<pg::Migration>& migrations) {
  auto admin = pg::Connection::Open(pg_->ConnInfo("postgres"), absl::Seconds(5));
  if (!admin.ok()) Fail(admin.status(), "connecting to PostgreSQL");
  const std::string templ = absl::StrCat("template_", service);
  if (std::find(templates_.begin(), templates_.end(), templ) == templates_.end()) {
    if (auto s = (*admin)->ExecScript(absl::StrCat("CREATE DATABASE ", templ)); !s.ok()) {
      Fail(s, "creating the template database");
    }
    auto conn = pg::Connection::Open(pg_->ConnInfo(templ), absl::Seconds(5));
    if (!conn.ok()) Fail(conn.status(), "connecting to the template database");
    if (auto s = pg::ApplyMigrations(**conn, service, migrations); !s.ok()) {
      Fail(s, "applying migrations");
    }
    templates_.push_back(templ);
  }
  const std::string name = absl::StrCat(service, "_", getpid(), "_", ++next_db_);
  if (auto s = (*admin)->ExecScript(
          absl::StrCat("CREATE DATABASE ", name, " TEMPLATE ", templ, " STRATEGY FILE_COPY"));
      !s.ok()) {
    Fail(s, "creating a test database");
  }
  return pg_->ConnInfo(name);
}

}  // namespace opsteam::testing
