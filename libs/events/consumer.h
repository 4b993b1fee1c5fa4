#pragma once

// Consumes a source's events from its Redis Stream with a consumer group (one group per
// consuming service, one consumer name per process), exactly once in effect:
//
// - Each event is applied by the handler inside a transaction of the consumer's own
//   database that also records it in the inbox (event_inbox) and advances the per-source
//   offset (event_offsets). A duplicate delivery finds its sequence at or below the offset
//   and is a no-op. XACK follows the commit; a crash in between only causes a duplicate.
// - Events are applied in sequence order. A sequence more than one above the offset means
//   events are missing from the stream (Redis lost data, or another consumer of the group
//   holds them): they are fetched from the source (ReplaySource, e.g. WatchChanges) and
//   applied first.
// - Entries left pending by a consumer that died are taken over after `reclaim_idle`
//   (XAUTOCLAIM); a consumer re-reads its own pending entries after a failure.
// - An event whose handler failed `max_attempts` times goes to the dead-letter stream
//   "<stream>.dead.<group>", is recorded in the inbox as dead-lettered, and the offset moves
//   past it. Attempts are counted in event_failures: a failed first delivery records one;
//   every attempt on a redelivered event is counted before the handler runs, so a consumer
//   that crashes on an event (and never records a failure) also gets there.
//
// The tables are created by EnsureInboxSchema (idempotent; call it at start, like
// migrations).

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "libs/pg/pg.h"
#include "libs/redis/redis_client.h"
#include "opsteam/events/v1/event.pb.h"

namespace opsteam::events {

// The consumer's tables (event_inbox, event_offsets, event_failures), idempotent SQL.
const char* InboxSchemaSql();
// Creates them when missing.
absl::Status EnsureInboxSchema(pg::Connection& conn);

// Where missing events come from: the source service itself.
class ReplaySource {
 public:
  virtual ~ReplaySource() = default;
  // Events with sequences in (after, up_to], oldest first. May return fewer than asked
  // (the caller asks again from the last one received), never an event outside the range.
  virtual absl::StatusOr<std::vector<v1::Event>> Fetch(int64_t after, int64_t up_to) = 0;
};

struct ConsumerOptions {
  std::string source = "org";  // the stream is StreamName(source)
  std::string group;           // the consuming service, e.g. "tasks"
  std::string consumer;        // unique per process, e.g. "<host>-<pid>"
  redis::Options redis;        // its command timeout is raised above `block`
  int batch_size = 64;
  absl::Duration block = absl::Milliseconds(500);
  absl::Duration reclaim_idle = absl::Seconds(10);
  absl::Duration reclaim_interval = absl::Seconds(1);
  int max_attempts = 5;
  // Called before each event is applied (also replayed ones), e.g. to drop in-process cache
  // entries the event invalidates, so that reads after the effect see the change.
  std::function<void(const v1::Event&)> before_apply;
  // Called after an event's effect committed (not for duplicates or dead letters).
  std::function<void(const v1::Event&)> after_apply;
};

struct ConsumerStats {
  int64_t applied = 0;
  int64_t duplicates = 0;
  int64_t replayed = 0;  // applied after fetching them from the source
  int64_t failures = 0;
  int64_t dead_lettered = 0;
  int64_t reclaimed = 0;  // entries taken over from other consumers
  int64_t acked = 0;
};

class Consumer {
 public:
  // The effect of one event, in the consumer's transaction. An error rolls it back; the
  // event is delivered again later.
  using Handler = std::function<absl::Status(pg::Tx&, const v1::Event&)>;

  // `pool` is the consumer's database (with the inbox tables); `replay` is not owned.
  Consumer(ConsumerOptions options, pg::Pool& pool, ReplaySource* replay, Handler handler);
  ~Consumer();  // Stop()
  Consumer(const Consumer&) = delete;
  Consumer& operator=(const Consumer&) = delete;

  // Runs PollOnce in a thread until Stop, backing off while Redis or the database fail.
  void Start();
  void Stop();

  // One round, for callers that drive the consumer themselves: takes over stale entries
  // when due, reads a batch (waiting up to `block`), applies it in order and acknowledges
  // what was applied. Returns the number of entries acknowledged.
  absl::StatusOr<int> PollOnce();

  // The highest sequence applied (or dead-lettered) so far, from the database.
  absl::StatusOr<int64_t> LastApplied();
  ConsumerStats stats() const ABSL_LOCKS_EXCLUDED(mu_);
  const std::string& stream() const { return stream_; }
  const std::string& dead_letter_stream() const { return dead_letter_stream_; }

 private:
  struct Entry {
    std::string id;
    std::optional<v1::Event> event;  // nullopt: unreadable, or trimmed away while pending
    bool redelivered = false;         // read again from a pending list
  };
  enum class Outcome { kApplied, kDuplicate, kOutOfOrder };

  absl::Status EnsureGroup();
  absl::StatusOr<std::vector<Entry>> Read(const std::string& from, bool block);
  absl::StatusOr<std::vector<Entry>> Reclaim();
  // Applies the event (after any missing ones before it); OK when it needs no more work.
  absl::Status Deliver(const v1::Event& event, bool redelivered);
  // Locks the offset row for `tx`: kApplied when `event` is the next one to apply.
  absl::StatusOr<Outcome> LockOffset(pg::Tx& tx, const v1::Event& event);
  absl::StatusOr<Outcome> ApplyOne(const v1::Event& event, bool redelivered);
  absl::StatusOr<Outcome> DeadLetter(const v1::Event& event, const std::string& error);
  // Counts an attempt at the event and returns the attempts so far with the last error. With
  // `count` false it only reads them.
  absl::StatusOr<std::pair<int, std::string>> Attempts(const std::string& event_id, bool count);
  void RecordFailure(const std::string& event_id, const absl::Status& error, bool counted);
  absl::Status Ack(const std::vector<std::string>& ids);
  void Count(int64_t ConsumerStats::*field, int64_t n = 1) ABSL_LOCKS_EXCLUDED(mu_);

  const ConsumerOptions options_;
  const std::string stream_;
  const std::string dead_letter_stream_;
  pg::Pool& pool_;
  ReplaySource* replay_;
  Handler handler_;
  redis::Client redis_;
  bool group_ready_ = false;     // touched by the polling thread only
  bool read_own_pending_ = true;  // re-read our pending entries (start, after a failure)
  absl::Time next_reclaim_ = absl::InfinitePast();
  std::string reclaim_cursor_ = "0-0";
  mutable absl::Mutex mu_;
  ConsumerStats stats_ ABSL_GUARDED_BY(mu_);
  absl::Notification stop_;
  std::thread thread_;
};

}  // namespace opsteam::events
