#include "libs/events/outbox_notifier.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "libs/events/outbox.h"
#include "libs/log/log.h"
#include "libs/pg/pg.h"

namespace opsteam::events {
namespace {
// How long one wait for a notification lasts: bounds how late Stop() is noticed.
constexpr absl::Duration kListenSlice = absl::Milliseconds(200);
constexpr absl::Duration kMaxBackoff = absl::Seconds(2);
}  // namespace

OutboxNotifier::OutboxNotifier(std::string conninfo, std::string source)
    : conninfo_(std::move(conninfo)), source_(std::move(source)) {}

OutboxNotifier::~OutboxNotifier() { Stop(); }

void OutboxNotifier::Start() {
  if (!thread_.joinable()) thread_ = std::thread([this] { Run(); });
}

void OutboxNotifier::Stop() {
  if (!stop_.HasBeenNotified()) stop_.Notify();
  if (thread_.joinable()) thread_.join();
  std::map<WaiterId, Waiter> left;
  {
    absl::MutexLock lock(&mu_);
    left.swap(waiters_);
  }
  for (auto& [id, w] : left) w.fn();
}

int64_t OutboxNotifier::head() const {
  absl::MutexLock lock(&mu_);
  return head_;
}

int64_t OutboxNotifier::WaitAbove(int64_t after, absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto above = [this, after]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return head_ > after; };
  mu_.AwaitWithTimeout(absl::Condition(&above), timeout);
  return head_;
}

OutboxNotifier::WaiterId OutboxNotifier::CallWhenAbove(int64_t after, std::function<void()> fn) {
  absl::MutexLock lock(&mu_);
  if (head_ > after) return 0;
  const WaiterId id = next_id_++;
  waiters_.emplace(id, Waiter{after, std::move(fn)});
  return id;
}

bool OutboxNotifier::Cancel(WaiterId id) {
  absl::MutexLock lock(&mu_);
  return waiters_.erase(id) > 0;
}

void OutboxNotifier::Advance(int64_t head) {
  std::vector<std::function<void()>> due;
  {
    absl::MutexLock lock(&mu_);
    if (head <= head_) return;
    head_ = head;
    for (auto it = waiters_.begin(); it != waiters_.end();) {
      if (it->second.after < head_) {
        due.push_back(std::move(it->second.fn));
        it = waiters_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& fn : due) fn();
}

void OutboxNotifier::Run() {
  absl::Duration backoff = absl::Milliseconds(50);
  const std::string channel = NotifyChannel(source_);
  while (!stop_.HasBeenNotified()) {
    auto conn = pg::Connection::Open(conninfo_, absl::Seconds(5));
    absl::Status s = conn.ok() ? (*conn)->Listen(channel) : conn.status();
    if (s.ok()) {
      // Read after LISTEN: nothing committed in between can be missed.
      pg::Tx tx(**conn);
      auto h = OutboxHead(tx, source_);
      s = h.status();
      if (h.ok()) Advance(*h);
    }
    while (s.ok() && !stop_.HasBeenNotified()) {
      auto notes = (*conn)->WaitForNotifications(kListenSlice);
      if (!notes.ok()) {
        s = notes.status();
        break;
      }
      backoff = absl::Milliseconds(50);
      int64_t newest = 0;
      for (const auto& n : *notes) {
        int64_t v = 0;
        if (absl::SimpleAtoi(n.payload, &v)) newest = std::max(newest, v);
      }
      if (newest > 0) Advance(newest);
    }
    if (stop_.HasBeenNotified()) break;
    OPS_LOG(WARNING) << "outbox listener (" << source_ << "): " << s.message() << "; reconnecting";
    stop_.WaitForNotificationWithTimeout(backoff);
    backoff = std::min(backoff * 2, kMaxBackoff);
  }
}

}  // namespace opsteam::events
