#include "libs/events/relay.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "libs/events/outbox.h"
#include "libs/log/log.h"
#include "libs/status/status.h"

namespace opsteam::events {
namespace {

constexpr absl::Duration kMaxBackoff = absl::Seconds(2);

bool IsDuplicateId(const absl::Status& s) {
  return absl::StrContains(s.message(), "equal or smaller than the target stream top item");
}

// The value of `field` in a flat [key, value, key, value …] reply.
const redis::Reply* Field(const redis::Reply& map, absl::string_view field) {
  for (size_t i = 0; i + 1 < map.elements.size(); i += 2) {
    if (map.elements[i].str == field) return &map.elements[i + 1];
  }
  return nullptr;
}

}  // namespace

int64_t RelayLockKey(const std::string& source) {
  // FNV-1a: stable across builds and processes (std::hash is not).
  uint64_t h = 1469598103934665603ull;
  for (char c : absl::StrCat("opsteam.outbox.relay.", source)) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  return static_cast<int64_t>(h >> 1);
}

Relay::Relay(RelayOptions options, OutboxNotifier* notifier)
    : options_(std::move(options)),
      stream_(StreamName(options_.source)),
      notifier_(notifier),
      redis_(options_.redis) {}

Relay::~Relay() { Stop(); }

void Relay::Start() {
  if (!thread_.joinable()) thread_ = std::thread([this] { Run(); });
}

void Relay::Stop() {
  if (!stop_.HasBeenNotified()) stop_.Notify();
  if (thread_.joinable()) thread_.join();
}

RelayStats Relay::stats() const {
  absl::MutexLock lock(&mu_);
  return stats_;
}

void Relay::SetLeader(bool leader) {
  absl::MutexLock lock(&mu_);
  if (stats_.leader != leader) {
    OPS_LOG(INFO) << "outbox relay (" << options_.source << "): " << (leader ? "leading" : "standing by");
  }
  stats_.leader = leader;
}

void Relay::Run() {
  absl::Duration backoff = absl::Milliseconds(50);
  const std::string key = absl::StrCat(RelayLockKey(options_.source));
  while (!stop_.HasBeenNotified()) {
    auto conn = pg::Connection::Open(options_.conninfo, absl::Seconds(5));
    if (!conn.ok()) {
      stop_.WaitForNotificationWithTimeout(backoff);
      backoff = std::min(backoff * 2, kMaxBackoff);
      continue;
    }
    backoff = absl::Milliseconds(50);
    // Stand by until the lock is ours; the connection stays open while leading.
    while (!stop_.HasBeenNotified()) {
      auto got = (*conn)->Exec("SELECT pg_try_advisory_lock($1::bigint)", {key});
      if (!got.ok()) break;
      if (got->GetBool(0, 0)) {
        SetLeader(true);
        absl::Status s = Lead(**conn);
        SetLeader(false);
        if (!stop_.HasBeenNotified()) {
          OPS_LOG(WARNING) << "outbox relay (" << options_.source << "): " << s.message();
        }
        break;
      }
      stop_.WaitForNotificationWithTimeout(options_.standby_poll);
    }
    // Closing the connection (here) releases the lock if it was still held.
  }
}

absl::StatusOr<int64_t> Relay::StreamTop() {
  auto info = redis_.Command({"XINFO", "STREAM", stream_});
  if (!info.ok()) {
    if (absl::StrContains(info.status().message(), "no such key")) return 0;
    return info.status();
  }
  const redis::Reply* last = Field(*info, "last-generated-id");
  return last ? std::max<int64_t>(0, SequenceOfStreamId(last->str)) : 0;
}

absl::Status Relay::Lead(pg::Connection& conn) {
  // Everything below the lowest unsent row was published by some leader.
  pg::Tx tx(conn);
  auto r = tx.Exec(
      "SELECT coalesce((SELECT min(sequence) FROM outbox WHERE sent_time IS NULL),"
      " (SELECT coalesce(max(last_sequence), 0) + 1 FROM outbox_head WHERE source = $1)) - 1",
      {options_.source});
  if (!r.ok()) return r.status();
  int64_t last_sent = r->GetInt64(0, 0);
  {
    absl::MutexLock lock(&mu_);
    stats_.last_sent = last_sent;
  }
  absl::Duration backoff = absl::Milliseconds(50);
  absl::Time next_trim = absl::Now();
  while (!stop_.HasBeenNotified()) {
    if (!conn.healthy()) return Unavailable("DATABASE_UNAVAILABLE", "relay lost its database connection");
    bool published = false;
    absl::Status s = PublishBatch(conn, last_sent, published);
    if (!s.ok()) {
      // Database errors end the leadership (the lock may be gone with the connection);
      // Redis errors are waited out while still leading.
      if (!conn.healthy() || ErrorReason(s) == "DATABASE_UNAVAILABLE") return s;
      stop_.WaitForNotificationWithTimeout(backoff);
      backoff = std::min(backoff * 2, kMaxBackoff);
      continue;
    }
    backoff = absl::Milliseconds(50);
    if (absl::Now() >= next_trim) {
      if (absl::Status t = Trim(); !t.ok()) OPS_LOG(WARNING) << "outbox relay: trim: " << t.message();
      next_trim = absl::Now() + options_.trim_interval;
    }
    if (!published) {
      // Until a commit wakes us or the idle check is due, in slices so Stop() is prompt.
      const absl::Time until = absl::Now() + options_.idle_check;
      while (!stop_.HasBeenNotified() && absl::Now() < until) {
        const absl::Duration slice = std::min(until - absl::Now(), absl::Milliseconds(100));
        if (notifier_ == nullptr) {
          stop_.WaitForNotificationWithTimeout(slice);
        } else if (notifier_->WaitAbove(last_sent, slice) > last_sent) {
          break;
        }
      }
    }
  }
  return absl::CancelledError("stopped");
}

absl::Status Relay::PublishBatch(pg::Connection& conn, int64_t& last_sent, bool& published_any) {
  pg::Tx tx(conn);
  auto top = StreamTop();
  if (!top.ok()) return top.status();
  if (*top < last_sent) {
    const int64_t from = std::max(*top, last_sent - options_.republish_window);
    auto r = tx.Exec(
        "UPDATE outbox SET sent_time = NULL WHERE sequence > $1::bigint AND sequence <= $2::bigint",
        {absl::StrCat(from), absl::StrCat(last_sent)});
    if (!r.ok()) return r.status();
    OPS_LOG(WARNING) << "outbox relay (" << options_.source << "): stream " << stream_ << " ends at "
                     << *top << " but " << last_sent << " was sent: Redis lost data; republishing "
                     << r->affected() << " event(s) from " << from + 1;
    absl::MutexLock lock(&mu_);
    stats_.republished += r->affected();
    last_sent = from;
    stats_.last_sent = last_sent;
  }
  auto rows = tx.Exec(
      "SELECT sequence, event FROM outbox WHERE sent_time IS NULL ORDER BY sequence LIMIT $1::int",
      {absl::StrCat(options_.batch_size)});
  if (!rows.ok()) return rows.status();
  if (rows->rows() == 0) return absl::OkStatus();

  std::vector<std::vector<std::string>> commands;
  std::vector<size_t> xadd_index;  // position of each XADD inside the MULTI
  std::vector<int64_t> sequences;
  commands.push_back({"MULTI"});
  size_t queued = 0;
  for (int i = 0; i < rows->rows(); ++i) {
    auto bytes = pg::ParseBytea(rows->Get(i, 1));
    v1::Event e;
    if (!bytes || !e.ParseFromString(*bytes)) return Internal("outbox: unreadable event row");
    if (options_.before_publish) {
      for (auto& c : options_.before_publish(e)) {
        commands.push_back(std::move(c));
        ++queued;
      }
    }
    commands.push_back({"XADD", stream_, StreamId(e.sequence()), "type", e.type(), "event", std::move(*bytes)});
    xadd_index.push_back(queued++);
    sequences.push_back(e.sequence());
  }
  commands.push_back({"EXEC"});
  auto replies = redis_.Pipeline(commands);
  if (!replies.ok()) return replies.status();
  const auto& exec = replies->back();
  if (!exec.ok()) return exec.status();
  if (exec->type != redis::Reply::Type::kArray || exec->elements.size() != queued) {
    return Unavailable("REDIS_UNAVAILABLE", "relay: EXEC was aborted");
  }
  int64_t published_to = last_sent;
  int64_t present = 0;
  for (size_t i = 0; i < xadd_index.size(); ++i) {
    const redis::Reply& reply = exec->elements[xadd_index[i]];
    if (reply.type == redis::Reply::Type::kError) {
      if (!IsDuplicateId(absl::FailedPreconditionError(reply.str))) {
        OPS_LOG(WARNING) << "outbox relay: XADD " << sequences[i] << ": " << reply.str;
        break;
      }
      ++present;
    }
    published_to = sequences[i];
  }
  if (published_to > last_sent) {
    auto mark = tx.Exec("UPDATE outbox SET sent_time = now() WHERE sequence <= $1::bigint AND sent_time IS NULL",
                        {absl::StrCat(published_to)});
    if (!mark.ok()) return mark.status();
    absl::MutexLock lock(&mu_);
    stats_.published += mark->affected();
    stats_.already_present += present;
    last_sent = published_to;
    stats_.last_sent = last_sent;
    published_any = true;
  }
  return absl::OkStatus();
}

absl::Status Relay::Trim() {
  auto groups = redis_.Command({"XINFO", "GROUPS", stream_});
  if (!groups.ok()) {
    if (absl::StrContains(groups.status().message(), "no such key")) return absl::OkStatus();
    return groups.status();
  }
  if (groups->elements.empty()) return absl::OkStatus();
  int64_t keep_from = INT64_MAX;  // lowest sequence some group still needs
  for (const auto& g : groups->elements) {
    const redis::Reply* name = Field(g, "name");
    const redis::Reply* pending = Field(g, "pending");
    const redis::Reply* delivered = Field(g, "last-delivered-id");
    if (name == nullptr || pending == nullptr || delivered == nullptr) return Internal("relay: XINFO GROUPS reply");
    int64_t need = SequenceOfStreamId(delivered->str) + 1;
    if (pending->integer > 0) {
      auto summary = redis_.Command({"XPENDING", stream_, name->str});
      if (!summary.ok()) return summary.status();
      if (summary->elements.size() >= 2 && !summary->elements[1].is_nil()) {
        need = std::min(need, SequenceOfStreamId(summary->elements[1].str));
      }
    }
    keep_from = std::min(keep_from, need);
  }
  if (keep_from <= 1 || keep_from == INT64_MAX) return absl::OkStatus();
  auto trimmed = redis_.Command({"XTRIM", stream_, "MINID", StreamId(keep_from)});
  if (!trimmed.ok()) return trimmed.status();
  if (trimmed->integer > 0) {
    absl::MutexLock lock(&mu_);
    ++stats_.trims;
  }
  return absl::OkStatus();
}

}  // namespace opsteam::events
