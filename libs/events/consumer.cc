#include "libs/events/consumer.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "libs/events/outbox.h"
#include "libs/log/log.h"
#include "libs/status/macros.h"
#include "libs/status/status.h"

namespace opsteam::events {
namespace {

constexpr const char* kInboxSchema = R"sql(
CREATE TABLE IF NOT EXISTS event_inbox (
  consumer_group text NOT NULL,
  event_id       text NOT NULL,
  source         text NOT NULL,
  sequence       bigint NOT NULL,
  type           text NOT NULL,
  outcome        text NOT NULL CHECK (outcome IN ('applied', 'dead_lettered')),
  error          text,
  applied_time   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer_group, event_id)
);
CREATE TABLE IF NOT EXISTS event_offsets (
  consumer_group text NOT NULL,
  source         text NOT NULL,
  last_sequence  bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (consumer_group, source)
);
CREATE TABLE IF NOT EXISTS event_failures (
  consumer_group text NOT NULL,
  event_id       text NOT NULL,
  attempts       integer NOT NULL,
  last_error     text NOT NULL,
  update_time    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer_group, event_id)
);
)sql";

constexpr absl::Duration kMaxBackoff = absl::Seconds(2);

redis::Options WithLongerTimeout(redis::Options o, absl::Duration block) {
  o.command_timeout = std::max(o.command_timeout, block + absl::Seconds(1));
  return o;
}

std::optional<v1::Event> ParseFields(const redis::Reply& fields) {
  for (size_t i = 0; i + 1 < fields.elements.size(); i += 2) {
    if (fields.elements[i].str != "event") continue;
    v1::Event e;
    if (e.ParseFromString(fields.elements[i + 1].str)) return e;
  }
  return std::nullopt;
}

// Entries of a reply [[stream, [[id, fields] ...]]] (XREADGROUP) or [[id, fields] ...].
void CollectEntries(const redis::Reply& list, std::vector<std::string>& ids,
                    std::vector<std::optional<v1::Event>>& events) {
  for (const auto& entry : list.elements) {
    if (entry.elements.empty()) continue;
    ids.push_back(entry.elements[0].str);
    events.push_back(entry.elements.size() > 1 ? ParseFields(entry.elements[1]) : std::nullopt);
  }
}

}  // namespace

const char* InboxSchemaSql() { return kInboxSchema; }

absl::Status EnsureInboxSchema(pg::Connection& conn) {
  // Several replicas may start together: one creates, the others wait and find it done.
  if (auto r = conn.Exec("SELECT pg_advisory_lock(hashtext('opsteam.events.inbox'))"); !r.ok()) return r.status();
  absl::Status s = conn.ExecScript(kInboxSchema);
  auto u = conn.Exec("SELECT pg_advisory_unlock(hashtext('opsteam.events.inbox'))");
  if (s.ok() && !u.ok()) s = u.status();
  return s;
}

Consumer::Consumer(ConsumerOptions options, pg::Pool& pool, ReplaySource* replay, Handler handler)
    : options_(std::move(options)),
      stream_(StreamName(options_.source)),
      dead_letter_stream_(absl::StrCat(stream_, ".dead.", options_.group)),
      pool_(pool),
      replay_(replay),
      handler_(std::move(handler)),
      redis_(WithLongerTimeout(options_.redis, options_.block)) {}

Consumer::~Consumer() { Stop(); }

void Consumer::Start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] {
    absl::Duration backoff = absl::Milliseconds(50);
    while (!stop_.HasBeenNotified()) {
      auto n = PollOnce();
      if (n.ok()) {
        backoff = absl::Milliseconds(50);
        continue;
      }
      OPS_LOG(WARNING) << "consumer " << options_.group << "/" << options_.consumer << ": " << n.status().message();
      stop_.WaitForNotificationWithTimeout(backoff);
      backoff = std::min(backoff * 2, kMaxBackoff);
    }
  });
}

void Consumer::Stop() {
  if (!stop_.HasBeenNotified()) stop_.Notify();
  if (thread_.joinable()) thread_.join();
}

ConsumerStats Consumer::stats() const {
  absl::MutexLock lock(&mu_);
  return stats_;
}

void Consumer::Count(int64_t ConsumerStats::*field, int64_t n) {
  absl::MutexLock lock(&mu_);
  stats_.*field += n;
}

absl::Status Consumer::EnsureGroup() {
  if (group_ready_) return absl::OkStatus();
  // From the start of what the stream holds: the offset in the database says what is new.
  auto r = redis_.Command({"XGROUP", "CREATE", stream_, options_.group, "0", "MKSTREAM"});
  if (!r.ok() && !absl::StrContains(r.status().message(), "BUSYGROUP")) return r.status();
  auto row = pg::RunStatements(pool_, [&](pg::Tx& tx) {
    return tx.Exec("INSERT INTO event_offsets (consumer_group, source) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                   {options_.group, options_.source}).status();
  });
  if (!row.ok()) return row;
  group_ready_ = true;
  read_own_pending_ = true;
  return absl::OkStatus();
}

absl::StatusOr<int64_t> Consumer::LastApplied() {
  int64_t last = 0;
  OPS_RETURN_IF_ERROR(pg::RunStatements(pool_, [&](pg::Tx& tx) -> absl::Status {
    auto r = tx.Exec("SELECT last_sequence FROM event_offsets WHERE consumer_group = $1 AND source = $2",
                     {options_.group, options_.source});
    if (!r.ok()) return r.status();
    last = r->rows() ? r->GetInt64(0, 0) : 0;
    return absl::OkStatus();
  }));
  return last;
}

absl::StatusOr<std::vector<Consumer::Entry>> Consumer::Read(const std::string& from, bool block) {
  std::vector<std::string> cmd = {"XREADGROUP", "GROUP", options_.group, options_.consumer,
                                  "COUNT", absl::StrCat(options_.batch_size)};
  if (block) {
    cmd.push_back("BLOCK");
    cmd.push_back(absl::StrCat(std::max<int64_t>(1, absl::ToInt64Milliseconds(options_.block))));
  }
  cmd.insert(cmd.end(), {"STREAMS", stream_, from});
  auto r = redis_.Command(cmd);
  if (!r.ok()) {
    if (absl::StrContains(r.status().message(), "NOGROUP")) group_ready_ = false;
    return r.status();
  }
  std::vector<std::string> ids;
  std::vector<std::optional<v1::Event>> events;
  for (const auto& stream : r->elements) {
    if (stream.elements.size() == 2) CollectEntries(stream.elements[1], ids, events);
  }
  std::vector<Entry> out;
  for (size_t i = 0; i < ids.size(); ++i) out.push_back({std::move(ids[i]), std::move(events[i]), from != ">"});
  return out;
}

absl::StatusOr<std::vector<Consumer::Entry>> Consumer::Reclaim() {
  auto r = redis_.Command({"XAUTOCLAIM", stream_, options_.group, options_.consumer,
                           absl::StrCat(absl::ToInt64Milliseconds(options_.reclaim_idle)), reclaim_cursor_,
                           "COUNT", absl::StrCat(options_.batch_size)});
  if (!r.ok()) {
    if (absl::StrContains(r.status().message(), "NOGROUP")) group_ready_ = false;
    return r.status();
  }
  std::vector<Entry> out;
  if (r->elements.size() < 2) return out;
  reclaim_cursor_ = r->elements[0].str.empty() ? "0-0" : r->elements[0].str;
  std::vector<std::string> ids;
  std::vector<std::optional<v1::Event>> events;
  CollectEntries(r->elements[1], ids, events);
  for (size_t i = 0; i < ids.size(); ++i) out.push_back({std::move(ids[i]), std::move(events[i]), true});
  // Entries deleted while pending (trimmed): nothing left to apply; XAUTOCLAIM already
  // dropped them from the pending list.
  return out;
}

absl::StatusOr<int> Consumer::PollOnce() {
  OPS_RETURN_IF_ERROR(EnsureGroup());
  std::vector<Entry> entries;
  if (absl::Now() >= next_reclaim_) {
    next_reclaim_ = absl::Now() + options_.reclaim_interval;
    OPS_ASSIGN_OR_RETURN(entries, Reclaim());
    Count(&ConsumerStats::reclaimed, static_cast<int64_t>(entries.size()));
  }
  if (entries.empty() && read_own_pending_) {
    OPS_ASSIGN_OR_RETURN(entries, Read("0", false));
    if (entries.empty()) read_own_pending_ = false;
  }
  if (entries.empty()) {
    OPS_ASSIGN_OR_RETURN(entries, Read(">", true));
  }
  std::vector<std::string> done;
  absl::Status failed;
  for (const Entry& entry : entries) {
    if (stop_.HasBeenNotified()) break;
    if (!entry.event) {
      OPS_LOG(WARNING) << "consumer " << options_.group << ": entry " << entry.id << " holds no readable event; dropped";
      done.push_back(entry.id);
      continue;
    }
    failed = Deliver(*entry.event, entry.redelivered);
    if (!failed.ok()) break;  // the rest stays pending, in order, for the next round
    done.push_back(entry.id);
  }
  OPS_RETURN_IF_ERROR(Ack(done));
  if (!failed.ok()) {
    read_own_pending_ = true;
    return failed;
  }
  return static_cast<int>(done.size());
}

absl::Status Consumer::Ack(const std::vector<std::string>& ids) {
  if (ids.empty()) return absl::OkStatus();
  std::vector<std::string> cmd = {"XACK", stream_, options_.group};
  cmd.insert(cmd.end(), ids.begin(), ids.end());
  auto r = redis_.Command(cmd);
  if (!r.ok()) return r.status();
  Count(&ConsumerStats::acked, r->integer);
  return absl::OkStatus();
}

absl::Status Consumer::Deliver(const v1::Event& event, bool redelivered) {
  if (event.source() != options_.source) {
    return InvalidArgument("event.source", absl::StrCat("expected events of ", options_.source, ", got ", event.source()));
  }
  for (;;) {
    OPS_ASSIGN_OR_RETURN(int64_t last, LastApplied());
    if (event.sequence() <= last) {
      Count(&ConsumerStats::duplicates);
      return absl::OkStatus();
    }
    if (event.sequence() > last + 1) {
      if (replay_ == nullptr) {
        return FailedPrecondition("EVENT_GAP", absl::StrCat("events ", last + 1, "..", event.sequence() - 1,
                                                            " are missing and there is no replay source"));
      }
      OPS_ASSIGN_OR_RETURN(auto missing, replay_->Fetch(last, event.sequence() - 1));
      if (missing.empty()) {
        return Unavailable("EVENT_GAP", absl::StrCat("the source returned none of events ", last + 1, "..",
                                                     event.sequence() - 1));
      }
      for (const auto& m : missing) {
        if (m.sequence() <= last || m.sequence() >= event.sequence()) continue;
        OPS_ASSIGN_OR_RETURN(Outcome o, ApplyOne(m, false));
        if (o == Outcome::kApplied) Count(&ConsumerStats::replayed);
        if (o == Outcome::kOutOfOrder) break;
      }
      continue;
    }
    OPS_ASSIGN_OR_RETURN(Outcome o, ApplyOne(event, redelivered));
    if (o != Outcome::kOutOfOrder) return absl::OkStatus();
  }
}

absl::StatusOr<std::pair<int, std::string>> Consumer::Attempts(const std::string& event_id, bool count) {
  std::pair<int, std::string> out{0, ""};
  OPS_RETURN_IF_ERROR(pg::RunStatements(pool_, [&](pg::Tx& tx) -> absl::Status {
    auto r = count ? tx.Exec(
                         "INSERT INTO event_failures (consumer_group, event_id, attempts, last_error)"
                         " VALUES ($1, $2, 1, '') ON CONFLICT (consumer_group, event_id) DO UPDATE"
                         " SET attempts = event_failures.attempts + 1, update_time = now()"
                         " RETURNING attempts, last_error",
                         {options_.group, event_id})
                   : tx.Exec("SELECT attempts, last_error FROM event_failures WHERE consumer_group = $1"
                             " AND event_id = $2",
                             {options_.group, event_id});
    if (!r.ok()) return r.status();
    if (r->rows()) out = {static_cast<int>(r->GetInt64(0, 0)), r->GetString(0, 1)};
    return absl::OkStatus();
  }));
  return out;
}

void Consumer::RecordFailure(const std::string& event_id, const absl::Status& error, bool counted) {
  Count(&ConsumerStats::failures);
  absl::Status s = pg::RunStatements(pool_, [&](pg::Tx& tx) {
    return tx.Exec("INSERT INTO event_failures (consumer_group, event_id, attempts, last_error) VALUES ($1, $2, 1, $3)"
                   " ON CONFLICT (consumer_group, event_id) DO UPDATE SET attempts = event_failures.attempts"
                   " + CASE WHEN $4::bool THEN 0 ELSE 1 END, last_error = EXCLUDED.last_error, update_time = now()",
                   {options_.group, event_id, error.ToString(), counted ? "true" : "false"}).status();
  });
  if (!s.ok()) OPS_LOG(WARNING) << "consumer " << options_.group << ": cannot record a failure: " << s.message();
}

absl::StatusOr<Consumer::Outcome> Consumer::LockOffset(pg::Tx& tx, const v1::Event& event) {
  auto r = tx.Exec("SELECT last_sequence FROM event_offsets WHERE consumer_group = $1 AND source = $2 FOR UPDATE",
                   {options_.group, options_.source});
  if (!r.ok()) return r.status();
  const int64_t last = r->rows() ? r->GetInt64(0, 0) : 0;
  if (event.sequence() <= last) return Outcome::kDuplicate;
  if (event.sequence() != last + 1) return Outcome::kOutOfOrder;
  return Outcome::kApplied;
}

absl::StatusOr<Consumer::Outcome> Consumer::ApplyOne(const v1::Event& event, bool redelivered) {
  // First deliveries cost one read here; only retries write an attempt up front.
  OPS_ASSIGN_OR_RETURN(auto failures, Attempts(event.id(), false));
  const bool retry = redelivered || failures.first > 0;
  if (retry) {
    OPS_ASSIGN_OR_RETURN(failures, Attempts(event.id(), true));
    if (failures.first > options_.max_attempts) {
      return DeadLetter(event, failures.second.empty()
                                   ? absl::StrCat(failures.first - 1, " attempts did not finish")
                                   : failures.second);
    }
  }
  if (options_.before_apply) options_.before_apply(event);
  Outcome outcome = Outcome::kApplied;
  absl::Status handler_error;
  absl::Status s = pg::RunInTransaction(pool_, {}, [&](pg::Tx& tx) -> absl::Status {
    handler_error = absl::OkStatus();
    OPS_ASSIGN_OR_RETURN(outcome, LockOffset(tx, event));
    if (outcome != Outcome::kApplied) return absl::OkStatus();
    auto in = tx.Exec(
        "INSERT INTO event_inbox (consumer_group, event_id, source, sequence, type, outcome)"
        " VALUES ($1, $2, $3, $4::bigint, $5, 'applied') ON CONFLICT DO NOTHING",
        {options_.group, event.id(), event.source(), absl::StrCat(event.sequence()), event.type()});
    if (!in.ok()) return in.status();
    if (in->affected() == 1) {
      handler_error = handler_(tx, event);
      if (!handler_error.ok()) return handler_error;
    }
    auto up = tx.Exec("UPDATE event_offsets SET last_sequence = $3::bigint WHERE consumer_group = $1 AND source = $2",
                      {options_.group, options_.source, absl::StrCat(event.sequence())});
    if (!up.ok()) return up.status();
    if (retry) {
      auto del = tx.Exec("DELETE FROM event_failures WHERE consumer_group = $1 AND event_id = $2",
                         {options_.group, event.id()});
      if (!del.ok()) return del.status();
    }
    return absl::OkStatus();
  });
  if (!s.ok()) {
    // Only the handler's own failures count towards dead-lettering; a database outage is
    // waited out instead.
    if (!handler_error.ok()) RecordFailure(event.id(), handler_error, retry);
    return s;
  }
  if (outcome == Outcome::kApplied) {
    Count(&ConsumerStats::applied);
    if (options_.after_apply) options_.after_apply(event);
  }
  if (outcome == Outcome::kDuplicate) Count(&ConsumerStats::duplicates);
  return outcome;
}

absl::StatusOr<Consumer::Outcome> Consumer::DeadLetter(const v1::Event& event, const std::string& error) {
  // Into the dead-letter stream first: at least once there, even if the commit below fails.
  auto x = redis_.Command({"XADD", dead_letter_stream_, "*", "event_id", event.id(), "type", event.type(),
                           "error", error, "event", event.SerializeAsString()});
  if (!x.ok()) return x.status();
  Outcome outcome = Outcome::kApplied;
  absl::Status s = pg::RunInTransaction(pool_, {}, [&](pg::Tx& tx) -> absl::Status {
    OPS_ASSIGN_OR_RETURN(outcome, LockOffset(tx, event));
    if (outcome != Outcome::kApplied) return absl::OkStatus();
    auto in = tx.Exec(
        "INSERT INTO event_inbox (consumer_group, event_id, source, sequence, type, outcome, error)"
        " VALUES ($1, $2, $3, $4::bigint, $5, 'dead_lettered', $6) ON CONFLICT DO NOTHING",
        {options_.group, event.id(), event.source(), absl::StrCat(event.sequence()), event.type(), error});
    if (!in.ok()) return in.status();
    auto up = tx.Exec("UPDATE event_offsets SET last_sequence = $3::bigint WHERE consumer_group = $1 AND source = $2",
                      {options_.group, options_.source, absl::StrCat(event.sequence())});
    return up.status();
  });
  if (!s.ok()) return s;
  if (outcome == Outcome::kApplied) {
    OPS_LOG(ERROR) << "consumer " << options_.group << ": event " << event.id() << " (" << event.type()
                   << ") dead-lettered to " << dead_letter_stream_ << ": " << error;
    Count(&ConsumerStats::dead_lettered);
  }
  return outcome;
}

}  // namespace opsteam::events
