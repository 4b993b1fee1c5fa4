#pragma once

// The transactional outbox of a service: events are written in the same transaction as the
// change they describe, numbered per source without gaps and in commit order, and published
// to Redis by the Relay (relay.h). The tables live in the service's own database:
//
//   outbox (sequence bigint PRIMARY KEY, type text, subject text, event bytea,
//           create_time timestamptz, sent_time timestamptz NULL)
//   outbox_head (source text PRIMARY KEY, last_sequence bigint)
//
// Gap-free numbering comes from one counter row per source, updated just before COMMIT: a
// writer holds its row lock only for the commit itself, so sequence order is commit order
// and a reader never sees sequence N+1 before N.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "libs/pg/pg.h"
#include "opsteam/events/v1/event.pb.h"

namespace opsteam::events {

// "opsteam.<source>.events": the Redis Stream a source publishes to.
std::string StreamName(absl::string_view source);
// The NOTIFY channel that carries a source's newest committed sequence.
std::string NotifyChannel(absl::string_view source);
// "<source>-<sequence>": the event id, the same on every republish and replay.
std::string EventId(absl::string_view source, int64_t sequence);
// The Redis Stream entry id of a sequence: "<sequence>-0". Explicit ids make publishing
// idempotent: Redis refuses an id at or below the stream's top.
std::string StreamId(int64_t sequence);
// The sequence of a stream entry id ("<sequence>-<n>"); -1 when it is not one.
int64_t SequenceOfStreamId(absl::string_view id);

// Appends `events` (type, subject, data, actor, effective_date, method filled by the caller)
// to the outbox in `tx`: fills id, source, sequence and time, inserts them and notifies
// listeners on commit. Call it last in the transaction. Returns the first sequence used.
absl::StatusOr<int64_t> AppendToOutbox(pg::Tx& tx, absl::string_view source,
                                       std::vector<v1::Event>& events);

// Committed events with a sequence above `after`, oldest first, at most `limit`; only of
// `types` when it is not empty.
absl::StatusOr<std::vector<v1::Event>> ReadOutbox(pg::Tx& tx, int64_t after, int limit,
                                                  const std::vector<std::string>& types = {});
// The highest committed sequence of `source` (0 before the first event).
absl::StatusOr<int64_t> OutboxHead(pg::Tx& tx, absl::string_view source);
// Rows not yet published.
absl::StatusOr<int64_t> UnsentCount(pg::Tx& tx);

}  // namespace opsteam::events
