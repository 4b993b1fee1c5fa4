#include "libs/pg/pg.h"

#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <utility>

#include "absl/random/random.h"
#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "libs/log/log.h"
#include "libs/status/status.h"

namespace opsteam::pg {
namespace {

// Payload keys are internal: ToGrpcStatus forwards only google.rpc details.
constexpr absl::string_view kSqlStatePayload = "opsteam.pg/sqlstate";
constexpr absl::string_view kConstraintPayload = "opsteam.pg/constraint";
// Every session: timestamps in UTC; NOTICEs ("... already exists, skipping") not printed;
// no statement runs longer than 30 s, so a stuck query cannot hold a worker past a drain.
constexpr const char* kSessionSetup =
    "SET TIME ZONE 'UTC'; SET client_min_messages TO warning; SET statement_timeout TO '30s'";

absl::Status StatusForSqlState(absl::string_view state, absl::string_view message) {
  if (state == "40001") return Aborted("SERIALIZATION_FAILURE", "concurrent update; retry");
  if (state == "40P01") return Aborted("DEADLOCK", "concurrent update; retry");
  if (state == "55P03") return Aborted("LOCK_NOT_AVAILABLE", "resource is locked; retry");
  if (state == "23505") return AlreadyExists("", "a record with the same key already exists");
  if (state == "57014") {
    return WithErrorInfo(absl::DeadlineExceededError("database statement timed out"),
                         "DATABASE_TIMEOUT");
  }
  if (absl::StartsWith(state, "23")) {
    return FailedPrecondition("CONSTRAINT_VIOLATION", "the change violates a data constraint");
  }
  if (absl::StartsWith(state, "08") || state == "57P01" || state == "57P02" || state == "57P03") {
    return Unavailable("DATABASE_UNAVAILABLE", "database unavailable");
  }
  return Internal(absl::StrCat("database error ", state, ": ", message));
}

bool Retryable(const absl::Status& status) {
  const std::string state = SqlState(status);
  return state == "40001" || state == "40P01";
}

bool ConnectionLost(const absl::Status& status) {
  return status.code() == absl::StatusCode::kUnavailable;
}

}  // namespace

std::string SqlState(const absl::Status& status) {
  auto p = status.GetPayload(kSqlStatePayload);
  return p ? std::string(*p) : std::string();
}

std::string ConstraintName(const absl::Status& status) {
  auto p = status.GetPayload(kConstraintPayload);
  return p ? std::string(*p) : std::string();
}

bool IsUniqueViolation(const absl::Status& status, absl::string_view constraint) {
  return SqlState(status) == "23505" && (constraint.empty() || ConstraintName(status) == constraint);
}

std::string ByteaParam(absl::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 + bytes.size() * 2);
  out = "\\x";
  for (unsigned char c : bytes) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

std::optional<std::string> ParseBytea(absl::string_view text) {
  if (text.size() < 2 || text.substr(0, 2) != "\\x" || text.size() % 2 != 0) return std::nullopt;
  text.remove_prefix(2);
  auto digit = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(text.size() / 2);
  for (size_t i = 0; i < text.size(); i += 2) {
    const int hi = digit(text[i]);
    const int lo = digit(text[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi << 4 | lo));
  }
  return out;
}

// ---- Result -------------------------------------------------------------------------

Result::Result(pg_result* result) : result_(result) {}
Result::Result(Result&& other) noexcept : result_(std::exchange(other.result_, nullptr)) {}
Result& Result::operator=(Result&& other) noexcept {
  if (this != &other) {
    if (result_) PQclear(result_);
    result_ = std::exchange(other.result_, nullptr);
  }
  return *this;
}
Result::~Result() {
  if (result_) PQclear(result_);
}

int Result::rows() const { return result_ ? PQntuples(result_) : 0; }
int Result::columns() const { return result_ ? PQnfields(result_) : 0; }
int Result::Column(absl::string_view name) const {
  return result_ ? PQfnumber(result_, std::string(name).c_str()) : -1;
}
bool Result::IsNull(int row, int column) const { return PQgetisnull(result_, row, column) != 0; }
absl::string_view Result::Get(int row, int column) const {
  return absl::string_view(PQgetvalue(result_, row, column),
                          static_cast<size_t>(PQgetlength(result_, row, column)));
}
int64_t Result::GetInt64(int row, int column) const {
  int64_t v = 0;
  if (!absl::SimpleAtoi(Get(row, column), &v)) return 0;
  return v;
}
bool Result::GetBool(int row, int column) const { return Get(row, column) == "t"; }
int64_t Result::affected() const {
  int64_t v = 0;
  if (result_ == nullptr || !absl::SimpleAtoi(PQcmdTuples(result_), &v)) return 0;
  return v;
}

// ---- Connection ---------------------------------------------------------------------

absl::StatusOr<std::unique_ptr<Connection>> Connection::Open(const std::string& conninfo,
                                                             absl::Duration connect_timeout) {
  const std::string timeout =
      absl::StrCat(std::max<int64_t>(1, absl::ToInt64Seconds(connect_timeout)));
  // expand_dbname lets `conninfo` be a URI or key=value string; the keys after it add
  // TCP keepalives so a dead peer is noticed instead of hanging a worker.
  const char* keys[] = {"dbname",         "connect_timeout",     "keepalives",
                        "keepalives_idle", "keepalives_interval", "keepalives_count",
                        "application_name", nullptr};
  const char* values[] = {conninfo.c_str(), timeout.c_str(), "1", "30", "10", "3", "opsteam",
                          nullptr};
  pg_conn* conn = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
  if (conn == nullptr) return Unavailable("DATABASE_UNAVAILABLE", "database unavailable");
  if (PQstatus(conn) != CONNECTION_OK) {
    OPS_LOG(WARNING) << "database connection failed: " << PQerrorMessage(conn);
    PQfinish(conn);
    return Unavailable("DATABASE_UNAVAILABLE", "database unavailable");
  }
  auto c = std::unique_ptr<Connection>(new Connection(conn));
  if (auto s = c->ExecScript(kSessionSetup); !s.ok()) return s;
  return c;
}

Connection::~Connection() {
  if (conn_) PQfinish(conn_);
}

absl::Status Connection::Listen(absl::string_view channel) {
  if (channel.empty() || channel.size() > 63 ||
      !std::all_of(channel.begin(), channel.end(),
                   [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; })) {
    return InvalidArgument("channel", "must be 1 to 63 characters of [a-z0-9_]");
  }
  return ExecScript(absl::StrCat("LISTEN ", channel));
}

absl::StatusOr<std::vector<Notification>> Connection::WaitForNotifications(absl::Duration timeout) {
  std::vector<Notification> out;
  auto drain = [&] {
    while (PGnotify* n = PQnotifies(conn_)) {
      out.push_back({n->relname, n->extra ? n->extra : ""});
      PQfreemem(n);
    }
  };
  drain();
  if (!out.empty()) return out;
  if (!healthy()) return Unavailable("DATABASE_UNAVAILABLE", "database connection lost");
  pollfd fd{PQsocket(conn_), POLLIN, 0};
  if (fd.fd < 0) return Unavailable("DATABASE_UNAVAILABLE", "database connection lost");
  const int ms = static_cast<int>(std::clamp<int64_t>(absl::ToInt64Milliseconds(timeout), 0, 1 << 30));
  int ready = poll(&fd, 1, ms);
  // Input on an idle connection is a notification or the server closing it: a closing
  // server sends its error message first and the end of the stream after, so read on while
  // input keeps arriving without notifications.
  for (int rounds = 0; ready != 0 && out.empty() && rounds < 4; ++rounds) {
    if (ready < 0 && errno != EINTR) return Unavailable("DATABASE_UNAVAILABLE", "poll failed");
    if (ready > 0 && (PQconsumeInput(conn_) != 1 || !healthy())) {
      return Unavailable("DATABASE_UNAVAILABLE", "database connection lost");
    }
    drain();
    ready = out.empty() ? poll(&fd, 1, 10) : 0;
  }
  return out;
}

bool Connection::healthy() const { return conn_ != nullptr && PQstatus(conn_) == CONNECTION_OK; }

absl::Status Connection::Reset() {
  prepared_.clear();
  PQreset(conn_);
  if (PQstatus(conn_) != CONNECTION_OK) {
    return Unavailable("DATABASE_UNAVAILABLE", "database unavailable");
  }
  return ExecScript(kSessionSetup);
}

absl::Status Connection::ErrorFrom(pg_result* result, absl::string_view what) {
  if (!healthy()) {
    if (result) PQclear(result);
    return Unavailable("DATABASE_UNAVAILABLE", "database connection lost");
  }
  std::string state;
  std::string constraint;
  std::string message = PQerrorMessage(conn_);
  if (result) {
    if (const char* s = PQresultErrorField(result, PG_DIAG_SQLSTATE)) state = s;
    if (const char* c = PQresultErrorField(result, PG_DIAG_CONSTRAINT_NAME)) constraint = c;
    if (const char* m = PQresultErrorMessage(result); m && *m) message = m;
    PQclear(result);
  }
  absl::Status status = StatusForSqlState(state, absl::StrCat(what, ": ", message));
  if (!state.empty()) status.SetPayload(kSqlStatePayload, absl::Cord(state));
  if (!constraint.empty()) status.SetPayload(kConstraintPayload, absl::Cord(constraint));
  return status;
}

absl::StatusOr<Result> Connection::Exec(absl::string_view sql, const Params& params) {
  std::string key(sql);
  auto it = prepared_.find(key);
  if (it == prepared_.end()) {
    std::string name = absl::StrCat("s", prepared_.size() + 1);
    pg_result* r = PQprepare(conn_, name.c_str(), key.c_str(), static_cast<int>(params.size()),
                             nullptr);
    if (r == nullptr || PQresultStatus(r) != PGRES_COMMAND_OK) return ErrorFrom(r, "prepare");
    PQclear(r);
    it = prepared_.emplace(std::move(key), std::move(name)).first;
  }
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
  pg_result* r = PQexecPrepared(conn_, it->second.c_str(), static_cast<int>(params.size()),
                                values.data(), nullptr, nullptr, /*resultFormat=*/0);
  if (r == nullptr) return ErrorFrom(nullptr, "exec");
  ExecStatusType st = PQresultStatus(r);
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) return ErrorFrom(r, "exec");
  return Result(r);
}

absl::Status Connection::ExecScript(absl::string_view sql) {
  pg_result* r = PQexec(conn_, std::string(sql).c_str());
  if (r == nullptr) return ErrorFrom(nullptr, "exec");
  ExecStatusType st = PQresultStatus(r);
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) return ErrorFrom(r, "exec");
  PQclear(r);
  return absl::OkStatus();
}

// ---- Pool ---------------------------------------------------------------------------

Pool::Pool(PoolOptions options) : options_(std::move(options)) {}
Pool::~Pool() = default;

Pool::Lease::~Lease() {
  if (pool_ && conn_) pool_->Release(std::move(conn_));
}

absl::StatusOr<Pool::Lease> Pool::Acquire() {
  {
    absl::MutexLock lock(&mu_);
    auto can_proceed = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return !idle_.empty() || open_ < options_.size;
    };
    if (!mu_.AwaitWithTimeout(absl::Condition(&can_proceed), options_.acquire_timeout)) {
      return Unavailable("DATABASE_POOL_EXHAUSTED", "no database connection free; retry");
    }
    if (!idle_.empty()) {
      auto conn = std::move(idle_.back());
      idle_.pop_back();
      mu_.Unlock();
      // A connection that went bad while idle (server restart) is repaired before use.
      absl::Status s = conn->healthy() ? absl::OkStatus() : conn->Reset();
      mu_.Lock();
      if (s.ok()) return Lease(this, std::move(conn));
      --open_;
      return s;
    }
    ++open_;
  }
  auto conn = Connection::Open(options_.conninfo, options_.connect_timeout);
  if (!conn.ok()) {
    absl::MutexLock lock(&mu_);
    --open_;
    return conn.status();
  }
  return Lease(this, std::move(*conn));
}

void Pool::Release(std::unique_ptr<Connection> conn) {
  absl::MutexLock lock(&mu_);
  if (conn->healthy()) {
    idle_.push_back(std::move(conn));
  } else {
    --open_;
  }
}

void Pool::DiscardIdle() {
  std::vector<std::unique_ptr<Connection>> dropped;
  {
    absl::MutexLock lock(&mu_);
    open_ -= static_cast<int>(idle_.size());
    dropped.swap(idle_);
  }
  // Closed outside the lock: PQfinish may block on the network.
}

absl::Status Pool::Ping() {
  auto lease = Acquire();
  if (!lease.ok()) return lease.status();
  auto r = (*lease)->Exec("SELECT 1");
  return r.ok() ? absl::OkStatus() : r.status();
}

// ---- Transactions -------------------------------------------------------------------

absl::Status RunInTransaction(Pool& pool, const TxOptions& options,
                              const std::function<absl::Status(Tx&)>& body) {
  std::string begin = "BEGIN ISOLATION LEVEL ";
  switch (options.isolation) {
    case Isolation::kReadCommitted:
      begin += "READ COMMITTED";
      break;
    case Isolation::kRepeatableRead:
      begin += "REPEATABLE READ";
      break;
    case Isolation::kSerializable:
      begin += "SERIALIZABLE";
      break;
  }
  if (options.read_only) begin += " READ ONLY";

  absl::BitGen rng;
  absl::Status last;
  for (int attempt = 1; attempt <= std::max(1, options.max_attempts); ++attempt) {
    if (attempt > 1) {
      // Jittered backoff so two retrying writers do not collide again in lockstep.
      absl::SleepFor(absl::Milliseconds(absl::Uniform(rng, 1, 5 << std::min(attempt, 6))));
    }
    auto lease = pool.Acquire();
    if (!lease.ok()) return lease.status();
    Connection& conn = **lease;
    if (last = conn.ExecScript(begin); !last.ok()) {
      if (ConnectionLost(last)) {
        pool.DiscardIdle();
        continue;
      }
      return last;
    }
    Tx tx(conn);
    last = body(tx);
    if (!last.ok()) {
      if (conn.healthy()) (void)conn.ExecScript("ROLLBACK");
      if (ConnectionLost(last) && !conn.healthy()) {
        pool.DiscardIdle();
        continue;
      }
      if (Retryable(last)) continue;
      return last;
    }
    last = conn.ExecScript("COMMIT");
    if (last.ok()) return last;
    if (Retryable(last)) continue;
    // A connection lost during COMMIT leaves the outcome unknown: not retried here;
    // callers with a request_id can repeat the request safely.
    return last;
  }
  return last;
}

absl::Status RunStatements(Pool& pool, const std::function<absl::Status(Tx&)>& body) {
  absl::Status last;
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto lease = pool.Acquire();
    if (!lease.ok()) return lease.status();
    Tx tx(**lease);
    last = body(tx);
    if (last.ok() || !ConnectionLost(last) || (*lease)->healthy()) return last;
    pool.DiscardIdle();
  }
  return last;
}

}  // namespace opsteam::pg
