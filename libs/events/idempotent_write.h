#pragma once

// One write of a service, as one transaction: the body's changes, the events they publish
// (appended to the outbox last, just before COMMIT, so the outbox counter row is locked only
// for the commit itself), and, with a request_id, the response logged for repeats.
//
// A repeat of a request_id returns the logged response without running the body; the same
// id with another request (method or content) is INVALID_ARGUMENT REQUEST_ID_REUSED. When a
// write fails and a concurrent request with the same id committed first, the caller gets
// that request's response.
//
// Each service's migrations create the log:
//   request_log (request_id text PRIMARY KEY, method text, digest text, response bytea,
//                create_time timestamptz DEFAULT now())

#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"
#include "libs/pg/pg.h"
#include "opsteam/events/v1/event.pb.h"

namespace opsteam::events {

struct WriteRequest {
  absl::string_view source;             // the outbox source, e.g. "kpi"
  absl::string_view method;             // the RPC, e.g. "FinalizeScorecard"
  const google::protobuf::Message* request = nullptr;  // digested without its request_id
  absl::string_view request_id;         // "" = not idempotent; checked here
  google::protobuf::Message* response = nullptr;       // cleared before each attempt
  pg::TxOptions tx = {};
};

// The body adds the events of its changes to `events` (type, subject, data, actor ...);
// it may run more than once (serialization retries): both outputs start empty each time.
using WriteBody = std::function<absl::Status(pg::Tx&, std::vector<v1::Event>& events)>;

absl::Status IdempotentWrite(pg::Pool& pool, const WriteRequest& write, const WriteBody& body);

}  // namespace opsteam::events
