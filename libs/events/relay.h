#pragma once

// Publishes a service's outbox to its Redis Stream, in sequence order, exactly one active
// relay per service across replicas.
//
// Leadership: a session-level advisory lock on a dedicated database connection. When the
// leader's process dies its connection closes, the lock is released, and a waiting replica
// takes over within `standby_poll`. A leader that loses its connection stops at once.
//
// Publishing: a batch of unsent rows goes out as one MULTI/EXEC: for each event the
// `before_publish` commands (cache invalidation), then XADD with the explicit id
// "<sequence>-0". Rows are marked sent only after EXEC answered. Redis refuses an id at or
// below the stream's top, so a batch published twice (a leader dying between XADD and the
// mark, or two leaders for a moment) lands once.
//
// Lost data: before each batch, and every `idle_check` when idle, the relay compares the
// stream's last id with the last sequence it marked sent. A smaller stream top means Redis
// lost data (restart without persistence): the last `republish_window` events are marked
// unsent and go out again (consumers drop duplicates); consumers further behind see a gap
// and replay from the source.
//
// Trimming: every `trim_interval` the stream is trimmed (XTRIM MINID) below the lowest entry
// some consumer group has not acknowledged; without groups nothing is trimmed.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "libs/events/outbox_notifier.h"
#include "libs/pg/pg.h"
#include "libs/redis/redis_client.h"
#include "opsteam/events/v1/event.pb.h"

namespace opsteam::events {

struct RelayOptions {
  std::string source;    // "org"; the stream is StreamName(source)
  std::string conninfo;  // the service's database
  redis::Options redis;
  int batch_size = 256;
  absl::Duration standby_poll = absl::Seconds(1);
  absl::Duration idle_check = absl::Seconds(1);
  absl::Duration trim_interval = absl::Seconds(5);
  int64_t republish_window = 10000;
  // Redis commands to run right before an event's XADD, in the same MULTI/EXEC.
  std::function<std::vector<std::vector<std::string>>(const v1::Event&)> before_publish;
};

struct RelayStats {
  bool leader = false;
  int64_t published = 0;        // events XADDed and marked sent by this relay
  int64_t already_present = 0;  // XADDs refused because the stream had the id
  int64_t republished = 0;      // events marked unsent again after Redis lost data
  int64_t trims = 0;
  int64_t last_sent = 0;
};

class Relay {
 public:
  // `notifier` (not owned, started by the caller) wakes the relay when events commit.
  Relay(RelayOptions options, OutboxNotifier* notifier);
  ~Relay();  // Stop()
  Relay(const Relay&) = delete;
  Relay& operator=(const Relay&) = delete;

  void Start();
  void Stop();
  RelayStats stats() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  void Run();
  // Leads until the connection breaks or Stop(); returns why it stopped.
  absl::Status Lead(pg::Connection& conn);
  absl::StatusOr<int64_t> StreamTop();
  absl::Status PublishBatch(pg::Connection& conn, int64_t& last_sent, bool& published_any);
  absl::Status Trim();
  void SetLeader(bool leader) ABSL_LOCKS_EXCLUDED(mu_);

  const RelayOptions options_;
  const std::string stream_;
  OutboxNotifier* notifier_;
  redis::Client redis_;
  mutable absl::Mutex mu_;
  RelayStats stats_ ABSL_GUARDED_BY(mu_);
  absl::Notification stop_;
  std::thread thread_;
};

// The advisory lock key of a source's relay.
int64_t RelayLockKey(const std::string& source);

}  // namespace opsteam::events
