#pragma once

// Shared pieces of the benchmark programs: a closed-loop load driver and a private org
// service (its own PostgreSQL, the real gRPC server, bearer tokens checked) to measure
// against.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/channel.h"
#include "libs/auth/jwt_authenticator.h"
#include "libs/pg/pg.h"
#include "libs/rpc/server.h"
#include "libs/rpc/worker_pool.h"
#include "libs/testing/pg_server.h"
#include "libs/testing/redis_server.h"
#include "services/org/org_logic.h"
#include "services/org/org_service.h"

namespace opsteam::bench {

struct LoadResult {
  int64_t calls = 0;
  int64_t errors = 0;
  double qps = 0;
  absl::Duration p50;
  absl::Duration p99;
};

// Runs `call(thread_index, iteration) -> bool ok` from `threads` threads, each in a closed
// loop, for `duration` (and at most `max_calls_per_thread` calls each), and measures it.
LoadResult RunLoad(int threads, absl::Duration duration, int64_t max_calls_per_thread,
                   const std::function<bool(int, int64_t)>& call);

// An HS256 authenticator under a secret made for the run, and an administrator's token
// (members/m-bench) it accepts.
struct BenchAuth {
  static absl::StatusOr<BenchAuth> Make();
  std::unique_ptr<auth::JwtAuthenticator> authenticator;
  std::string token;
};

// A private org service on loopback: PostgreSQL in a temporary folder, migrations applied,
// the gRPC server on a free port, HS256 tokens under a secret made for the run.
class OrgUnderTest {
 public:
  static absl::StatusOr<std::unique_ptr<OrgUnderTest>> Start(int workers, int pg_pool);
  std::string address() const;
  // An administrator's token (members/m-bench) for the service.
  const std::string& token() const { return token_; }
  pg::Pool& pool() { return *pool_; }
  // Resident memory of this process (server and load driver), in KiB.
  static int64_t RssKib();

 private:
  std::unique_ptr<auth::JwtAuthenticator> auth_;
  std::string token_;
  std::unique_ptr<testing::PgServer> pg_;
  std::unique_ptr<pg::Pool> pool_;
  std::unique_ptr<org::OrgLogic> logic_;
  std::unique_ptr<rpc::WorkerPool> workers_;
  std::unique_ptr<org::OrgGrpcService> service_;
  std::unique_ptr<rpc::Server> server_;
};

// A private redis-server on loopback in a temporary folder, removed with it.
class RedisUnderTest {
 public:
  static absl::StatusOr<std::unique_ptr<RedisUnderTest>> Start();
  ~RedisUnderTest();
  testing::RedisServer& server() { return *server_; }
  int port() const { return server_->port(); }

 private:
  std::string dir_;
  std::unique_ptr<testing::RedisServer> server_;
};

std::string FormatMs(absl::Duration d);

}  // namespace opsteam::bench
