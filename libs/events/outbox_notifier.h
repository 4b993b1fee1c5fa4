#pragma once

// Follows a source's committed outbox head: one LISTEN connection per process, woken by the
// NOTIFY that AppendToOutbox sends at COMMIT, re-reading the head after every reconnect (a
// notification sent while disconnected is lost). The relay blocks on it; WatchChanges
// streams register callbacks on it.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace opsteam::events {

class OutboxNotifier {
 public:
  OutboxNotifier(std::string conninfo, std::string source);
  ~OutboxNotifier();  // Stop()
  OutboxNotifier(const OutboxNotifier&) = delete;
  OutboxNotifier& operator=(const OutboxNotifier&) = delete;

  void Start();
  // Ends the listener and calls the waiters still registered.
  void Stop();

  // The highest committed sequence seen so far (0 until the first read).
  int64_t head() const ABSL_LOCKS_EXCLUDED(mu_);
  // Blocks until the head is above `after` or `timeout` passes; returns the head then.
  int64_t WaitAbove(int64_t after, absl::Duration timeout) ABSL_LOCKS_EXCLUDED(mu_);

  using WaiterId = uint64_t;
  // Registers `fn` to be called once, on the notifier's thread (keep it short: hand work
  // off), when the head rises above `after`. Returns 0 without registering when the head is
  // already above `after`: `fn` is never called from inside this function. Waiters still
  // registered at Stop() are called then.
  WaiterId CallWhenAbove(int64_t after, std::function<void()> fn) ABSL_LOCKS_EXCLUDED(mu_);
  // Removes a waiter; false when it already fired (or never existed).
  bool Cancel(WaiterId id) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  void Run();
  void Advance(int64_t head) ABSL_LOCKS_EXCLUDED(mu_);

  struct Waiter {
    int64_t after;
    std::function<void()> fn;
  };

  const std::string conninfo_;
  const std::string source_;
  mutable absl::Mutex mu_;
  int64_t head_ ABSL_GUARDED_BY(mu_) = 0;
  WaiterId next_id_ ABSL_GUARDED_BY(mu_) = 1;
  std::map<WaiterId, Waiter> waiters_ ABSL_GUARDED_BY(mu_);
  absl::Notification stop_;
  std::thread thread_;
};

}  // namespace opsteam::events
