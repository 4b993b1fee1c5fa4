#pragma once

// The integration-test environment of one test program: a private PostgreSQL and Redis,
// started on first use on free ports and stopped when the program exits. Each test gets a
// database of its own, cloned from a per-service template that has the migrations applied.

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "libs/pg/migrations.h"
#include "libs/testing/pg_server.h"
#include "libs/testing/redis_server.h"

namespace opsteam::testing {

class TestEnv {
 public:
  // The process-wide environment; starts the servers on the first call.
  static TestEnv& Get();

  PgServer& pg() { return *pg_; }
  RedisServer& redis();

  // A new, empty database with `migrations` applied; returns its connection string.
  std::string NewDatabase(const std::string& service, const std::vector<pg::Migration>& migrations);

 private:
  TestEnv();
  std::unique_ptr<PgServer> pg_;
  std::unique_ptr<RedisServer> redis_;
  std::string redis_dir_;
  std::vector<std::string> templates_;
  int next_db_ = 0;
};

}  // namespace opsteam::testing
