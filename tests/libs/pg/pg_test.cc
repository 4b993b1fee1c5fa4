#include "libs/pg/pg.h"

#include <atomic>
#include <barrier>
#include <cstdio>
#include <latch>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "libs/pg/migrations.h"
#include "libs/status/status.h"
#include "libs/testing/test_env.h"

namespace opsteam::pg {
namespace {

using ::opsteam::testing::TestEnv;

std::unique_ptr<Connection> MustOpen(const std::string& conninfo) {
  auto conn = Connection::Open(conninfo, absl::Seconds(5));
  EXPECT_TRUE(conn.ok()) << conn.status();
  return conn.ok() ? std::move(*conn) : nullptr;
}

// One value of a one-row, one-column query.
std::string QueryValue(Connection& conn, absl::string_view sql, const Params& params = {}) {
  auto r = conn.Exec(sql, params);
  EXPECT_TRUE(r.ok()) << sql << ": " << r.status();
  if (!r.ok() || r->rows() != 1) {
    ADD_FAILURE() << sql << ": expected one row, got " << (r.ok() ? r->rows() : -1);
    return "";
  }
  return r->GetString(0, 0);
}

int64_t QueryInt(Connection& conn, absl::string_view sql, const Params& params = {}) {
  auto r = conn.Exec(sql, params);
  EXPECT_TRUE(r.ok()) << sql << ": " << r.status();
  if (!r.ok() || r->rows() != 1) return -1;
  return r->GetInt64(0, 0);
}

// Every test gets a database of its own.
class PgTest : public ::testing::Test {
 protected:
  void SetUp() override {
    conninfo_ = TestEnv::Get().NewDatabase("pgtest", {});
    conn_ = MustOpen(conninfo_);
    ASSERT_NE(conn_, nullptr);
  }

  PoolOptions Options(int size) const {
    PoolOptions options;
    options.conninfo = conninfo_;
    options.size = size;
    return options;
  }

  void Script(absl::string_view sql) { ASSERT_TRUE(conn_->ExecScript(sql).ok()) << sql; }

  std::string conninfo_;
  std::unique_ptr<Connection> conn_;
};

// ---- Statements -------------------------------------------------------------------------

TEST_F(PgTest, ParametersAreStoredVerbatim) {
  Script("CREATE TABLE notes (id serial PRIMARY KEY, body text)");
  const std::vector<Param> values = {
      "Robert'); DROP TABLE notes;--",
      std::nullopt,
      "semi;colon; SELECT 1;",
      "it's \"quoted\" \\ back\\slash",
      "$1 $2 ?",
      "",
      "多语言 ✓",
  };
  for (const auto& v : values) {
    auto r = conn_->Exec("INSERT INTO notes (body) VALUES ($1)", {v});
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->affected(), 1);
  }
  auto rows = conn_->Exec("SELECT id, body FROM notes ORDER BY id");
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->rows(), static_cast<int>(values.size()));
  const int body = rows->Column("body");
  ASSERT_EQ(body, 1);
  EXPECT_EQ(rows->Column("nope"), -1);
  for (int i = 0; i < rows->rows(); ++i) {
    if (values[i].has_value()) {
      EXPECT_FALSE(rows->IsNull(i, body)) << i;
      EXPECT_EQ(rows->GetString(i, body), *values[i]) << i;
    } else {
      EXPECT_TRUE(rows->IsNull(i, body)) << i;
    }
  }
  // The empty string is not NULL, and a quote in a predicate matches nothing extra.
  EXPECT_EQ(QueryInt(*conn_, "SELECT count(*) FROM notes WHERE body IS NULL"), 1);
  EXPECT_EQ(QueryInt(*conn_, "SELECT count(*) FROM notes WHERE body = $1", {"' OR '1'='1"}), 0);
  EXPECT_EQ(QueryInt(*conn_, "SELECT count(*) FROM notes WHERE body = $1", {""}), 1);
}

TEST_F(PgTest, ByteaRoundTripsEveryByte) {
  Script("CREATE TABLE blobs (id int PRIMARY KEY, body bytea)");
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes.push_back(static_cast<char>(i));
  ASSERT_TRUE(conn_->Exec("INSERT INTO blobs VALUES (1, $1::bytea)", {ByteaParam(bytes)}).ok());
  auto r = conn_->Exec("SELECT body, length(body) FROM blobs WHERE id = 1");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->GetInt64(0, 1), 256);
  EXPECT_EQ(ParseBytea(r->Get(0, 0)), bytes);
  EXPECT_EQ(ParseBytea("\\x"), std::string());
  EXPECT_EQ(ParseBytea("\\x0"), std::nullopt);
  EXPECT_EQ(ParseBytea("\\xzz"), std::nullopt);
  EXPECT_EQ(ParseBytea("abc"), std::nullopt);
}

TEST_F(PgTest, NotificationsArriveOnCommitOnly) {
  auto listener = MustOpen(conninfo_);
  ASSERT_TRUE(listener->Listen("opsteam_test_channel").ok());
  EXPECT_EQ(listener->Listen("Bad Channel").code(), absl::StatusCode::kInvalidArgument);
  // Nothing yet: the wait times out empty.
  auto none = listener->WaitForNotifications(absl::Milliseconds(20));
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  Script("BEGIN; SELECT pg_notify('opsteam_test_channel', 'rolled back'); ROLLBACK");
  Script("BEGIN; SELECT pg_notify('opsteam_test_channel', '42'); COMMIT");
  auto got = listener->WaitForNotifications(absl::Seconds(10));
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ((*got)[0].channel, "opsteam_test_channel");
  EXPECT_EQ((*got)[0].payload, "42");
  // A connection the server ends is reported, not waited on forever.
  Script("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'LISTEN%' AND pid <> pg_backend_pid()");
  auto lost = listener->WaitForNotifications(absl::Seconds(10));
  EXPECT_EQ(lost.status().code(), absl::StatusCode::kUnavailable);
}

TEST_F(PgTest, TypedResults) {
  auto r = conn_->Exec("SELECT $1::bigint * 2, $2::boolean, $3::boolean, now()::text",
                       {"4611686018427387903", "true", "false"});
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->rows(), 1);
  EXPECT_EQ(r->columns(), 4);
  EXPECT_EQ(r->GetInt64(0, 0), 9223372036854775806);
  EXPECT_TRUE(r->GetBool(0, 1));
  EXPECT_FALSE(r->GetBool(0, 2));
  // Sessions run in UTC.
  EXPECT_TRUE(absl::EndsWith(r->GetString(0, 3), "+00")) << r->GetString(0, 3);
}

TEST_F(PgTest, PreparedStatementsAreReused) {
  const std::string sql = "SELECT $1::int + 1";
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(QueryInt(*conn_, sql, {absl::StrCat(i)}), i + 1);
  }
  EXPECT_EQ(QueryInt(*conn_, "SELECT count(*) FROM pg_prepared_statements WHERE statement = $1",
                     {sql}),
            1);
  // A second distinct statement gets its own prepared statement and both keep working.
  EXPECT_EQ(QueryValue(*conn_, "SELECT upper($1)", {"abc"}), "ABC");
  EXPECT_EQ(QueryInt(*conn_, sql, {"41"}), 42);
  // `sql`, the two count queries and upper(): one prepared statement each.
  EXPECT_EQ(QueryInt(*conn_, "SELECT count(*) FROM pg_prepared_statements"), 4);
}

TEST_F(PgTest, FailedStatementLeavesTheConnectionUsable) {
  auto bad = conn_->Exec("SELEC 1");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(SqlState(bad.status()), "42601");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInternal);
  auto missing = conn_->Exec("SELECT * FROM no_such_table WHERE id = $1", {"1"});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(SqlState(missing.status()), "42P01");
  EXPECT_EQ(QueryInt(*conn_, "SELECT $1::int", {"7"}), 7);
  EXPECT_TRUE(conn_->healthy());
}

TEST_F(PgTest, UniqueViolationIsAlreadyExists) {
  Script("CREATE TABLE items (k text CONSTRAINT items_k_key UNIQUE, v text NOT NULL)");
  ASSERT_TRUE(conn_->Exec("INSERT INTO items VALUES ($1, $2)", {"a", "1"}).ok());
  auto dup = conn_->Exec("INSERT INTO items VALUES ($1, $2)", {"a", "2"});
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(ErrorReason(dup.status()), "ALREADY_EXISTS");
  EXPECT_EQ(SqlState(dup.status()), "23505");
  EXPECT_EQ(ConstraintName(dup.status()), "items_k_key");
  EXPECT_TRUE(IsUniqueViolation(dup.status()));
  EXPECT_TRUE(IsUniqueViolation(dup.status(), "items_k_key"));
  EXPECT_FALSE(IsUniqueViolation(dup.status(), "other_key"));

  auto null_value = conn_->Exec("INSERT INTO items VALUES ($1, $2)", {"b", std::nullopt});
  ASSERT_FALSE(null_value.ok());
  EXPECT_EQ(null_value.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ErrorReason(null_value.status()), "CONSTRAINT_VIOLATION");
  EXPECT_EQ(SqlState(null_value.status()), "23502");
  EXPECT_FALSE(IsUniqueViolation(null_value.status()));
  EXPECT_FALSE(IsUniqueViolation(absl::OkStatus()));

  // The SQL state stays inside the server: clients see only the google.rpc details.
  grpc::Status wire = ToGrpcStatus(dup.status());
  EXPECT_EQ(wire.error_details().find("23505"), std::string::npos);
  EXPECT_EQ(QueryInt(*conn_, "SELECT count(*) FROM items"), 1);
}

// ---- Transactions -----------------------------------------------------------------------

TEST_F(PgTest, TransactionCommitsWhenTheBodySucceeds) {
  Script("CREATE TABLE t (k text PRIMARY KEY)");
  Pool pool(Options(1));
  int calls = 0;
  absl::Status s = RunInTransaction(pool, {}, [&](Tx& tx) {
    ++calls;
    return tx.Exec("INSERT INTO t VALUES ($1)", {"committed"}).status();
  });
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(QueryInt(*conn_, "SELECT count(*) FROM t WHERE k = 'committed'"), 1);
}

TEST_F(PgTest, TransactionRollsBackWhenTheBodyFails) {
  Script("CREATE TABLE t (k text PRIMARY KEY)");
  Pool pool(Options(1));
  int calls = 0;
  absl::Status s = RunInTransaction(pool, {}, [&](Tx& tx) -> absl::Status {
    ++calls;
    if (auto r = tx.Exec("INSERT INTO t VALUES ($1)", {"doomed"}); !r.ok()) return r.status();
    return InvalidArgument("department.parent", "does not exist");
  });
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ErrorField(s), "department.parent");
  EXPECT_EQ(calls, 1);  // not a retryable failure
  EXPECT_EQ(QueryInt(*conn_, "SELECT count(*) FROM t"), 0);

  // A failed statement inside the body rolls back the earlier writes of the same
  // transaction, and the pooled connection is clean for the next transaction.
  ASSERT_TRUE(conn_->Exec("INSERT INTO t VALUES ($1)", {"taken"}).ok());
  s = RunInTransaction(pool, {}, [&](Tx& tx) -> absl::Status {
    if (auto r = tx.Exec("INSERT INTO t VALUES ($1)", {"first"}); !r.ok()) return r.status();
    return tx.Exec("INSERT INTO t VALUES ($1)", {"taken"}).status();
  });
  EXPECT_EQ(s.code(), absl::StatusCode::kAlreadyExists) << s;
  EXPECT_TRUE(IsUniqueViolation(s));
  EXPECT_EQ(QueryInt(*conn_, "SELECT count(*) FROM t WHERE k = 'first'"), 0);

  s = RunInTransaction(pool, {}, [&](Tx& tx) {
    return tx.Exec("INSERT INTO t VALUES ($1)", {"after"}).status();
  });
  EXPECT_TRUE(s.ok()) << s;
  EXPECT_EQ(QueryInt(*conn_, "SELECT count(*) FROM t"), 2);
}

TEST_F(PgTest, ReadOnlyTransactionRejectsWrites) {
  Script("CREATE TABLE t (k text PRIMARY KEY)");
  Pool pool(Options(1));
  TxOptions options;
  options.read_only = true;
  absl::Status s = RunInTransaction(pool, options, [&](Tx& tx) {
    return tx.Exec("INSERT INTO t VALUES ($1)", {"x"}).status();
  });
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(SqlState(s), "25006");
  EXPECT_EQ(QueryInt(*conn_, "SELECT count(*) FROM t"), 0);
}

absl::Status Increment(Tx& tx) {
  auto r = tx.Exec("SELECT value FROM counter WHERE id = 1");
  if (!r.ok()) return r.status();
  const int64_t value = r->GetInt64(0, 0);
  return tx.Exec("UPDATE counter SET value = $1 WHERE id = 1", {absl::StrCat(value + 1)}).status();
}

// Two transactions that both read before either writes: one must fail with 40001 and
// succeed on its retry.
TEST_F(PgTest, SerializationFailureIsRetried) {
  Script("CREATE TABLE counter (id int PRIMARY KEY, value bigint NOT NULL);"
         "INSERT INTO counter VALUES (1, 0)");
  Pool pool(Options(2));
  TxOptions options;
  options.isolation = Isolation::kSerializable;
  std::latch both_read(2);
  std::atomic<int> calls{0};
  auto run = [&](absl::Status* out) {
    bool first = true;
    *out = RunInTransaction(pool, options, [&](Tx& tx) -> absl::Status {
      ++calls;
      auto r = tx.Exec("SELECT value FROM counter WHERE id = 1");
      if (!r.ok()) return r.status();
      if (first) {
        first = false;
        both_read.arrive_and_wait();
      }
      return tx.Exec("UPDATE counter SET value = $1 WHERE id = 1",
                     {absl::StrCat(r->GetInt64(0, 0) + 1)})
          .status();
    });
  };
  absl::Status a, b;
  std::thread ta(run, &a);
  std::thread tb(run, &b);
  ta.join();
  tb.join();
  EXPECT_TRUE(a.ok()) << a;
  EXPECT_TRUE(b.ok()) << b;
  EXPECT_EQ(QueryInt(*conn_, "SELECT value FROM counter WHERE id = 1"), 2);
  EXPECT_GE(calls.load(), 3);
}

TEST_F(PgTest, ConcurrentSerializableIncrementsAreExact) {
  Script("CREATE TABLE counter (id int PRIMARY KEY, value bigint NOT NULL);"
         "INSERT INTO counter VALUES (1, 0)");
  constexpr int kThreads = 2;
  constexpr int kIncrements = 50;
  Pool pool(Options(kThreads));
  TxOptions options;
  options.isolation = Isolation::kSerializable;
  // Every round starts the threads together so their transactions overlap.
  std::barrier round(kThreads);
  std::atomic<int> failures{0};
  std::atomic<int> calls{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kIncrements; ++i) {
        round.arrive_and_wait();
        absl::Status s = RunInTransaction(pool, options, [&](Tx& tx) {
          ++calls;
          return Increment(tx);
        });
        if (!s.ok()) {
          ++failures;
          ADD_FAILURE() << s;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(QueryInt(*conn_, "SELECT value FROM counter WHERE id = 1"), kThreads * kIncrements);
  std::printf("%d increments took %d attempts\n", kThreads * kIncrements, calls.load());
}

TEST_F(PgTest, ConnectionLostInsideTheBodyIsRetried) {
  Script("CREATE TABLE t (k text PRIMARY KEY)");
  Pool pool(Options(1));
  int calls = 0;
  absl::Status s = RunInTransaction(pool, {}, [&](Tx& tx) -> absl::Status {
    ++calls;
    if (calls == 1) {
      // The server ends this session under the transaction.
      return tx.Exec("SELECT pg_terminate_backend(pg_backend_pid())").status();
    }
    return tx.Exec("INSERT INTO t VALUES ($1)", {"x"}).status();
  });
  EXPECT_TRUE(s.ok()) << s;
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(QueryInt(*conn_, "SELECT count(*) FROM t"), 1);
}

TEST_F(PgTest, TerminatedIdleConnectionIsReplaced) {
  Pool pool(Options(1));
  std::string first_pid;
  ASSERT_TRUE(RunInTransaction(pool, {}, [&](Tx& tx) -> absl::Status {
                auto r = tx.Exec("SELECT pg_backend_pid()");
                if (!r.ok()) return r.status();
                first_pid = r->GetString(0, 0);
                return absl::OkStatus();
              }).ok());
  EXPECT_EQ(QueryValue(*conn_, "SELECT pg_terminate_backend($1::int)", {first_pid}), "t");

  std::string second_pid;
  absl::Status s = RunInTransaction(pool, {}, [&](Tx& tx) -> absl::Status {
    auto r = tx.Exec("SELECT pg_backend_pid()");
    if (!r.ok()) return r.status();
    second_pid = r->GetString(0, 0);
    return absl::OkStatus();
  });
  EXPECT_TRUE(s.ok()) << s;
  EXPECT_NE(second_pid, first_pid);
  EXPECT_TRUE(pool.Ping().ok());
}

// ---- Pool -------------------------------------------------------------------------------

TEST_F(PgTest, PoolIsBounded) {
  PoolOptions options = Options(2);
  options.acquire_timeout = absl::Milliseconds(100);
  Pool pool(options);
  auto first = pool.Acquire();
  ASSERT_TRUE(first.ok()) << first.status();
  auto second = pool.Acquire();
  ASSERT_TRUE(second.ok()) << second.status();

  auto third = pool.Acquire();
  ASSERT_FALSE(third.ok());
  EXPECT_EQ(third.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(ErrorReason(third.status()), "DATABASE_POOL_EXHAUSTED");
  EXPECT_EQ(pool.Ping().code(), absl::StatusCode::kUnavailable);

  const std::string pid = QueryValue(**first, "SELECT pg_backend_pid()::text");
  { auto released = std::move(*first); }
  auto again = pool.Acquire();
  ASSERT_TRUE(again.ok()) << again.status();
  // The released connection was reused, not a new one opened.
  EXPECT_EQ(QueryValue(**again, "SELECT pg_backend_pid()::text"), pid);
}

TEST_F(PgTest, WaitingAcquireGetsAReleasedConnection) {
  PoolOptions options = Options(1);
  options.acquire_timeout = absl::Seconds(60);
  Pool pool(options);
  std::optional<Pool::Lease> held;
  {
    auto lease = pool.Acquire();
    ASSERT_TRUE(lease.ok()) << lease.status();
    held.emplace(std::move(*lease));
  }
  std::latch waiting(1);
  absl::Status waiter_status;
  std::thread waiter([&] {
    waiting.count_down();
    auto lease = pool.Acquire();
    waiter_status = lease.status();
    if (lease.ok()) waiter_status = (*lease)->Exec("SELECT 1").status();
  });
  waiting.wait();
  held.reset();
  waiter.join();
  EXPECT_TRUE(waiter_status.ok()) << waiter_status;
}

TEST_F(PgTest, ConcurrentUsersShareABoundedPool) {
  constexpr int kSize = 3;
  constexpr int kThreads = 8;
  PoolOptions options = Options(kSize);
  options.acquire_timeout = absl::Seconds(60);
  Pool pool(options);
  Script("CREATE TABLE t (k text PRIMARY KEY)");
  std::latch start(kThreads);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      for (int i = 0; i < 20; ++i) {
        absl::Status s = RunInTransaction(pool, {}, [&](Tx& tx) {
          return tx.Exec("INSERT INTO t VALUES ($1)", {absl::StrCat(t, "-", i)}).status();
        });
        if (!s.ok()) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(QueryInt(*conn_, "SELECT count(*) FROM t"), kThreads * 20);
  EXPECT_LE(QueryInt(*conn_,
                     "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                     "AND pid <> pg_backend_pid()"),
            kSize);
}

// ---- Migrations -------------------------------------------------------------------------

std::vector<Migration> TwoMigrations() {
  return {
      {1, "0001_create_a", "CREATE TABLE a (id int PRIMARY KEY)"},
      {2, "0002_create_b", "CREATE TABLE b (id int PRIMARY KEY REFERENCES a (id));"
                           "INSERT INTO a VALUES (1); INSERT INTO b VALUES (1)"},
  };
}

TEST_F(PgTest, MigrationsApplyOnceInVersionOrder) {
  std::vector<Migration> migrations = TwoMigrations();
  std::swap(migrations[0], migrations[1]);  // given out of order: applied by version
  ASSERT_TRUE(ApplyMigrations(*conn_, "svc", migrations).ok());
  EXPECT_EQ(QueryInt(*conn_, "SELECT count(*) FROM b"), 1);
  EXPECT_EQ(QueryValue(*conn_, "SELECT string_agg(version::text || ':' || name, ',' ORDER BY "
                               "version) FROM schema_migrations"),
            "1:0001_create_a,2:0002_create_b");

  // A second run is a no-op: CREATE TABLE and the inserts would fail if run again.
  absl::Status again = ApplyMigrations(*conn_, "svc", migrations);
  EXPECT_TRUE(again.ok()) << again;
  EXPECT_EQ(QueryInt(*conn_, "SELECT count(*) FROM schema_migrations"), 2);
  EXPECT_EQ(QueryInt(*conn_, "SELECT count(*) FROM a"), 1);

  // A later migration is applied on its own.
  migrations.push_back({3, "0003_create_c", "CREATE TABLE c (id int)"});
  ASSERT_TRUE(ApplyMigrations(*conn_, "svc", migrations).ok());
  EXPECT_EQ(QueryInt(*conn_, "SELECT count(*) FROM schema_migrations"), 3);
  EXPECT_EQ(QueryInt(*conn_, "SELECT count(*) FROM c"), 0);
}

TEST_F(PgTest, ConcurrentMigrationsApplyEachExactlyOnce) {
  Script("DROP TABLE IF EXISTS schema_migrations");
  constexpr int kThreads = 4;
  std::vector<std::unique_ptr<Connection>> conns;
  for (int i = 0; i < kThreads; ++i) {
    conns.push_back(MustOpen(conninfo_));
    ASSERT_NE(conns.back(), nullptr);
  }
  const std::vector<Migration> migrations = TwoMigrations();
  std::latch start(kThreads);
  std::vector<absl::Status> results(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      results[i] = ApplyMigrations(*conns[i], "svc", migrations);
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < kThreads; ++i) EXPECT_TRUE(results[i].ok()) << i << ": " << results[i];
  EXPECT_EQ(QueryInt(*conn_, "SELECT count(*) FROM schema_migrations"), 2);
  EXPECT_EQ(QueryInt(*conn_, "SELECT count(*) FROM b"), 1);
}

TEST_F(PgTest, ChangedMigrationIsRejected) {
  std::vector<Migration> migrations = TwoMigrations();
  ASSERT_TRUE(ApplyMigrations(*conn_, "svc", migrations).ok());
  migrations[0].sql = "CREATE TABLE a (id bigint PRIMARY KEY)";
  absl::Status s = ApplyMigrations(*conn_, "svc", migrations);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_EQ(ErrorReason(s), "MIGRATION_CHANGED");
  EXPECT_EQ(QueryInt(*conn_, "SELECT count(*) FROM schema_migrations"), 2);
}

TEST_F(PgTest, FailedMigrationIsRolledBackAndNotRecorded) {
  std::vector<Migration> migrations = TwoMigrations();
  migrations.push_back({3, "0003_broken", "CREATE TABLE c (id int); SELECT * FROM no_such_table"});
  absl::Status s = ApplyMigrations(*conn_, "svc", migrations);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(SqlState(s), "42P01");
  EXPECT_EQ(QueryInt(*conn_, "SELECT count(*) FROM schema_migrations"), 2);
  EXPECT_EQ(QueryInt(*conn_, "SELECT count(*) FROM pg_tables WHERE tablename = 'c'"), 0);

  // The advisory lock was released: another session can migrate (and does not wait for
  // a lock the failed run kept).
  auto other = MustOpen(conninfo_);
  ASSERT_NE(other, nullptr);
  ASSERT_TRUE(other->ExecScript("SET lock_timeout = '30s'").ok());
  migrations[2].sql = "CREATE TABLE c (id int)";
  s = ApplyMigrations(*other, "svc", migrations);
  EXPECT_TRUE(s.ok()) << s;
  EXPECT_EQ(QueryInt(*conn_, "SELECT count(*) FROM schema_migrations"), 3);
}

// ---- Server restart (runs last: it kills every connection to the shared server) ---------

class PgRestartTest : public PgTest {};

TEST_F(PgRestartTest, PoolReconnectsAfterServerRestart) {
  // The test server runs with synchronous_commit=off: make the table survive the crash.
  Script("SET synchronous_commit = on; CREATE TABLE t (k text PRIMARY KEY)");
  // More idle connections than RunInTransaction has attempts: all of them are dead after
  // the restart, and the first transaction must still succeed (the pool discards them).
  constexpr int kPoolSize = 8;
  Pool pool(Options(kPoolSize));
  {
    std::vector<Pool::Lease> leases;
    for (int i = 0; i < kPoolSize; ++i) {
      auto lease = pool.Acquire();
      ASSERT_TRUE(lease.ok()) << lease.status();
      ASSERT_TRUE((*lease)->Exec("SELECT 1").ok());
      leases.push_back(std::move(*lease));
    }
  }

  ASSERT_TRUE(TestEnv::Get().pg().Restart().ok());

  absl::Status s = RunInTransaction(pool, {}, [](Tx& tx) {
    return tx.Exec("INSERT INTO t VALUES ($1)", {"after"}).status();
  });
  ASSERT_TRUE(s.ok()) << s;

  // Two overlapping transactions use both pool slots; each works.
  std::latch both_in(2);
  std::vector<absl::Status> results(2);
  std::vector<std::thread> threads;
  for (int i = 0; i < 2; ++i) {
    threads.emplace_back([&, i] {
      bool arrived = false;
      results[i] = RunInTransaction(pool, {}, [&](Tx& tx) -> absl::Status {
        auto r = tx.Exec("SELECT count(*) FROM t WHERE k = 'after'");
        if (!r.ok()) return r.status();
        if (r->GetInt64(0, 0) != 1) return absl::InternalError("row missing");
        if (!arrived) {
          arrived = true;
          both_in.arrive_and_wait();
        }
        return absl::OkStatus();
      });
      if (!arrived) both_in.count_down();  // never strand the other thread
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_TRUE(results[0].ok()) << results[0];
  EXPECT_TRUE(results[1].ok()) << results[1];
  EXPECT_TRUE(pool.Ping().ok());

  // New databases (fresh connections) work too.
  auto fresh = MustOpen(TestEnv::Get().NewDatabase("pgtest", {}));
  ASSERT_NE(fresh, nullptr);
  EXPECT_EQ(QueryInt(*fresh, "SELECT 1"), 1);
}

}  // namespace
}  // namespace opsteam::pg
