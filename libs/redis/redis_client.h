#pragma once

// A small synchronous Redis client over one hiredis connection.
//
// Failure model: an I/O error, EOF or timeout drops the connection and the command returns
// UNAVAILABLE (reason REDIS_UNAVAILABLE). The next command reconnects, but only after a
// backoff that doubles on each failed attempt and resets after a successful command; inside
// the backoff window commands fail fast instead of blocking callers on a dead server.
// A Redis error reply (WRONGTYPE, NOAUTH …) is FAILED_PRECONDITION (reason REDIS_ERROR) and
// keeps the connection. Nothing is retried here: a write may have been applied before the
// connection broke, so only the caller can tell whether a retry is safe.

#include <functional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

struct redisContext;  // hiredis; kept out of this header

namespace opsteam::redis {

inline constexpr char kUnavailableReason[] = "REDIS_UNAVAILABLE";
inline constexpr char kErrorReason[] = "REDIS_ERROR";

struct Options {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string password;  // AUTH on connect when not empty
  // Zero or infinite: no timeout. A command timeout covers each socket read and write.
  absl::Duration connect_timeout = absl::Milliseconds(500);
  absl::Duration command_timeout = absl::Seconds(1);
  absl::Duration min_backoff = absl::Milliseconds(50);
  absl::Duration max_backoff = absl::Seconds(2);
  // The clock behind every backoff decision. Injectable for tests, like a TimeSource: a fake
  // clock makes the backoff windows deterministic. Called with the client's lock held. Socket
  // timeouts (connect_timeout, command_timeout) are the kernel's and do not use it.
  std::function<absl::Time()> now = [] { return absl::Now(); };
};

// A Redis reply as a plain value. A top-level error reply becomes a Status instead, so kError
// only appears inside arrays (e.g. the results of EXEC).
struct Reply {
  enum class Type { kNil, kString, kStatus, kInteger, kArray, kError };

  Type type = Type::kNil;
  std::string str;  // kString (binary-safe), kStatus, kError
  long long integer = 0;  // kInteger
  std::vector<Reply> elements;  // kArray

  bool is_nil() const { return type == Type::kNil; }
};

// Thread-safe: commands from several threads are serialised on the one connection.
class Client {
 public:
  explicit Client(Options options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Runs one command, e.g. {"SET", key, value}. Arguments are binary-safe.
  absl::StatusOr<Reply> Command(const std::vector<std::string>& args) ABSL_LOCKS_EXCLUDED(mu_);
  // Sends every command in one write and then reads every reply: one round trip for the lot
  // (MULTI ... EXEC included). Each element is that command's reply, or its error reply as
  // FAILED_PRECONDITION (REDIS_ERROR). A broken connection fails the whole call with
  // UNAVAILABLE; an unknown prefix of the commands may have been applied then.
  absl::StatusOr<std::vector<absl::StatusOr<Reply>>> Pipeline(
      const std::vector<std::vector<std::string>>& commands) ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status Ping() ABSL_LOCKS_EXCLUDED(mu_);
  // Whether a connection is currently open (it may still turn out broken on next use).
  bool connected() const ABSL_LOCKS_EXCLUDED(mu_);
  // The backoff window set by the last failure: no connection attempt happens until
  // options().now() reaches that failure's time plus this. Zero while healthy, i.e. before any
  // failure and again after a successful command.
  absl::Duration backoff() const ABSL_LOCKS_EXCLUDED(mu_);

  const Options& options() const { return options_; }

 private:
  // Connects (and authenticates) when there is no connection and the backoff allows it.
  absl::Status EnsureConnectedLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Closes the connection and schedules the next attempt; returns the UNAVAILABLE to report.
  absl::Status FailLocked(const std::string& what) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void CloseLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Resets the backoff after a command went through.
  void SucceededLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Options options_;
  mutable absl::Mutex mu_;
  redisContext* context_ ABSL_GUARDED_BY(mu_) = nullptr;
  absl::Duration backoff_ ABSL_GUARDED_BY(mu_) = absl::ZeroDuration();  // see backoff()
  absl::Duration next_backoff_ ABSL_GUARDED_BY(mu_);  // the window the next failure sets
  absl::Time next_attempt_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  std::string last_error_ ABSL_GUARDED_BY(mu_);
  int failures_ ABSL_GUARDED_BY(mu_) = 0;  // consecutive, for logging only
};

}  // namespace opsteam::redis
