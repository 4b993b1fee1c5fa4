#pragma once

// A small RAII layer over libpq: connections with per-connection prepared statements,
// a bounded pool, and transactions retried on serialization failures and deadlocks.
// Parameters are always sent separately from the SQL text (never interpolated).

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

struct pg_conn;
struct pg_result;

namespace opsteam::pg {

// A text-format parameter; nullopt is SQL NULL.
using Param = std::optional<std::string>;
using Params = std::vector<Param>;

// SQLSTATE of a failed statement ("" when the failure was not a server error).
std::string SqlState(const absl::Status& status);
// The constraint a failed statement violated ("" when none).
std::string ConstraintName(const absl::Status& status);
// True for 23505 (unique_violation), optionally of one named constraint.
bool IsUniqueViolation(const absl::Status& status, absl::string_view constraint = {});

// bytea in text format: "\x" followed by hex digits, as parameter and as column value.
std::string ByteaParam(absl::string_view bytes);
// The bytes of a bytea column in text format; nullopt when it is not "\x..." hex.
std::optional<std::string> ParseBytea(absl::string_view text);

// A NOTIFY received on a LISTENing connection.
struct Notification {
  std::string channel;
  std::string payload;
};

class Result {
 public:
  Result() = default;
  explicit Result(pg_result* result);
  Result(Result&&) noexcept;
  Result& operator=(Result&&) noexcept;
  ~Result();

  int rows() const;
  int columns() const;
  // Column index by name; -1 when absent.
  int Column(absl::string_view name) const;
  bool IsNull(int row, int column) const;
  absl::string_view Get(int row, int column) const;
  std::string GetString(int row, int column) const { return std::string(Get(row, column)); }
  int64_t GetInt64(int row, int column) const;
  bool GetBool(int row, int column) const;
  // Rows affected by INSERT/UPDATE/DELETE.
  int64_t affected() const;

 private:
  pg_result* result_ = nullptr;
};

class Connection {
 public:
  static absl::StatusOr<std::unique_ptr<Connection>> Open(const std::string& conninfo,
                                                          absl::Duration connect_timeout);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Runs `sql` with `params` as a prepared statement (prepared once per connection).
  absl::StatusOr<Result> Exec(absl::string_view sql, const Params& params = {});
  // Runs one or more statements without parameters (migrations, SET ...).
  absl::Status ExecScript(absl::string_view sql);

  // LISTEN on `channel` ([a-z0-9_]+, at most 63 characters).
  absl::Status Listen(absl::string_view channel);
  // Notifications received so far, waiting up to `timeout` for one when there is none yet.
  // Empty after the timeout; UNAVAILABLE when the connection broke.
  absl::StatusOr<std::vector<Notification>> WaitForNotifications(absl::Duration timeout);

  bool healthy() const;
  // Reconnects in place; prepared statements are forgotten.
  absl::Status Reset();

 private:
  explicit Connection(pg_conn* conn) : conn_(conn) {}
  absl::Status ErrorFrom(pg_result* result, absl::string_view what);

  pg_conn* conn_;
  absl::flat_hash_map<std::string, std::string> prepared_;  // sql -> statement name
};

struct PoolOptions {
  std::string conninfo;
  int size = 8;
  absl::Duration connect_timeout = absl::Seconds(5);
  // How long Acquire waits for a free connection before failing UNAVAILABLE.
  absl::Duration acquire_timeout = absl::Seconds(5);
};

class Pool {
 public:
  explicit Pool(PoolOptions options);
  ~Pool();
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  // A connection borrowed from the pool; returned when the lease is destroyed.
  class Lease {
   public:
    Lease(Pool* pool, std::unique_ptr<Connection> conn) : pool_(pool), conn_(std::move(conn)) {}
    Lease(Lease&&) = default;
    Lease& operator=(Lease&&) = default;
    ~Lease();
    Connection* operator->() { return conn_.get(); }
    Connection& operator*() { return *conn_; }

   private:
    Pool* pool_;
    std::unique_ptr<Connection> conn_;
  };

  absl::StatusOr<Lease> Acquire();
  // Runs SELECT 1 on a pooled connection: the health probe.
  absl::Status Ping();
  // Closes every idle connection: once one is found dead (server restart), the others are
  // most likely dead too, and each would otherwise cost a caller a failed attempt.
  void DiscardIdle();
  const PoolOptions& options() const { return options_; }

 private:
  void Release(std::unique_ptr<Connection> conn);

  const PoolOptions options_;
  absl::Mutex mu_;
  std::vector<std::unique_ptr<Connection>> idle_ ABSL_GUARDED_BY(mu_);
  int open_ ABSL_GUARDED_BY(mu_) = 0;  // idle + leased
};

enum class Isolation { kReadCommitted, kRepeatableRead, kSerializable };

struct TxOptions {
  Isolation isolation = Isolation::kReadCommitted;
  bool read_only = false;
  // Attempts on serialization failure (40001) or deadlock (40P01), and on a connection
  // lost before COMMIT was sent.
  int max_attempts = 5;
};

// A transaction in progress; handed to the body of RunInTransaction.
class Tx {
 public:
  explicit Tx(Connection& conn) : conn_(conn) {}
  absl::StatusOr<Result> Exec(absl::string_view sql, const Params& params = {}) {
    return conn_.Exec(sql, params);
  }

 private:
  Connection& conn_;
};

// Runs `body` in a transaction and commits when it returns OK; rolls back otherwise.
// The body may run more than once (retries), so it must not have effects outside the
// transaction other than filling its outputs.
absl::Status RunInTransaction(Pool& pool, const TxOptions& options,
                              const std::function<absl::Status(Tx&)>& body);

// Runs `body` on a pooled connection without an explicit transaction: each statement is
// its own snapshot, and no BEGIN/COMMIT round trips are spent. For reads that do not need
// one snapshot across statements. Retried once on a connection lost mid-way.
absl::Status RunStatements(Pool& pool, const std::function<absl::Status(Tx&)>& body);

}  // namespace opsteam::pg
