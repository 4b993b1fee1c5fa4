#include "libs/events/outbox.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "google/protobuf/util/time_util.h"
#include "libs/status/status.h"

namespace opsteam::events {
namespace {

// Rows per INSERT: few statements for a large chart, few prepared variants per connection.
constexpr size_t kInsertChunk = 64;

std::string InsertSql(size_t rows) {
  std::string sql = "INSERT INTO outbox (sequence, type, subject, event) VALUES ";
  for (size_t i = 0; i < rows; ++i) {
    const size_t p = i * 4;
    absl::StrAppend(&sql, i ? ", " : "", "($", p + 1, "::bigint, $", p + 2, ", $", p + 3, ", $", p + 4,
                    "::bytea)");
  }
  return sql;
}

bool ValidTypeText(absl::string_view t) {
  return !t.empty() && t.size() <= 200 && std::all_of(t.begin(), t.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_';
  });
}

}  // namespace

std::string StreamName(absl::string_view source) { return absl::StrCat("opsteam.", source, ".events"); }
std::string NotifyChannel(absl::string_view source) { return absl::StrCat("opsteam_outbox_", source); }
std::string EventId(absl::string_view source, int64_t sequence) { return absl::StrCat(source, "-", sequence); }
std::string StreamId(int64_t sequence) { return absl::StrCat(sequence, "-0"); }

int64_t SequenceOfStreamId(absl::string_view id) {
  const size_t dash = id.find('-');
  int64_t v = 0;
  if (!absl::SimpleAtoi(id.substr(0, dash), &v)) return -1;
  return v;
}

absl::StatusOr<int64_t> AppendToOutbox(pg::Tx& tx, absl::string_view source,
                                       std::vector<v1::Event>& events) {
  if (events.empty()) return 0;
  const int64_t n = static_cast<int64_t>(events.size());
  auto head = tx.Exec(
      "INSERT INTO outbox_head (source, last_sequence) VALUES ($1, $2::bigint)"
      " ON CONFLICT (source) DO UPDATE SET last_sequence = outbox_head.last_sequence + EXCLUDED.last_sequence"
      " RETURNING last_sequence",
      {std::string(source), absl::StrCat(n)});
  if (!head.ok()) return head.status();
  const int64_t last = head->GetInt64(0, 0);
  const int64_t first = last - n + 1;
  const auto now = google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(absl::Now()));
  for (int64_t i = 0; i < n; ++i) {
    v1::Event& e = events[static_cast<size_t>(i)];
    e.set_sequence(first + i);
    e.set_id(EventId(source, first + i));
    e.set_source(std::string(source));
    *e.mutable_time() = now;
  }
  for (size_t start = 0; start < events.size(); start += kInsertChunk) {
    const size_t rows = std::min(kInsertChunk, events.size() - start);
    pg::Params params;
    params.reserve(rows * 4);
    for (size_t i = start; i < start + rows; ++i) {
      const v1::Event& e = events[i];
      params.push_back(absl::StrCat(e.sequence()));
      params.push_back(e.type());
      params.push_back(e.subject());
      params.push_back(pg::ByteaParam(e.SerializeAsString()));
    }
    if (auto r = tx.Exec(InsertSql(rows), params); !r.ok()) return r.status();
  }
  // Delivered at COMMIT, so listeners wake only for committed events.
  if (auto r = tx.Exec("SELECT pg_notify($1, $2)", {NotifyChannel(source), absl::StrCat(last)}); !r.ok()) {
    return r.status();
  }
  return first;
}

absl::StatusOr<std::vector<v1::Event>> ReadOutbox(pg::Tx& tx, int64_t after, int limit,
                                                  const std::vector<std::string>& types) {
  pg::Param filter;
  if (!types.empty()) {
    for (const auto& t : types) {
      if (!ValidTypeText(t)) return InvalidArgument("types", absl::StrCat("not an event type: \"", t, "\""));
    }
    filter = absl::StrCat("{", absl::StrJoin(types, ","), "}");
  }
  auto r = tx.Exec(
      "SELECT event FROM outbox WHERE sequence > $1::bigint AND ($3::text[] IS NULL OR type = ANY($3::text[]))"
      " ORDER BY sequence LIMIT $2::int",
      {absl::StrCat(after), absl::StrCat(limit), filter});
  if (!r.ok()) return r.status();
  std::vector<v1::Event> out;
  out.reserve(static_cast<size_t>(r->rows()));
  for (int i = 0; i < r->rows(); ++i) {
    auto bytes = pg::ParseBytea(r->Get(i, 0));
    v1::Event e;
    if (!bytes || !e.ParseFromString(*bytes)) return Internal("outbox: unreadable event row");
    out.push_back(std::move(e));
  }
  return out;
}

absl::StatusOr<int64_t> OutboxHead(pg::Tx& tx, absl::string_view source) {
  auto r = tx.Exec("SELECT last_sequence FROM outbox_head WHERE source = $1", {std::string(source)});
  if (!r.ok()) return r.status();
  return r->rows() == 0 ? 0 : r->GetInt64(0, 0);
}

absl::StatusOr<int64_t> UnsentCount(pg::Tx& tx) {
  auto r = tx.Exec("SELECT count(*) FROM outbox WHERE sent_time IS NULL");
  if (!r.ok()) return r.status();
  return r->GetInt64(0, 0);
}

}  // namespace opsteam::events
