#include "libs/events/idempotent_write.h"

#include <optional>

#include "libs/aip/aip.h"
#include "libs/events/outbox.h"
#include "libs/status/macros.h"
#include "libs/status/status.h"

namespace opsteam::events {
namespace {

struct LoggedRequest {
  std::string method;
  std::string digest;
  std::string response;
};

absl::StatusOr<std::optional<LoggedRequest>> FindRequest(pg::Tx& tx, absl::string_view request_id) {
  auto r = tx.Exec("SELECT method, digest, response FROM request_log WHERE request_id = $1",
                   {std::string(request_id)});
  if (!r.ok()) return r.status();
  if (r->rows() == 0) return std::optional<LoggedRequest>();
  auto bytes = pg::ParseBytea(r->Get(0, 2));
  if (!bytes) return Internal("request_log: unreadable response");
  return std::optional<LoggedRequest>(LoggedRequest{r->GetString(0, 0), r->GetString(0, 1), std::move(*bytes)});
}

absl::Status LogRequest(pg::Tx& tx, absl::string_view request_id, const LoggedRequest& entry) {
  return tx.Exec("INSERT INTO request_log (request_id, method, digest, response) VALUES ($1, $2, $3, $4::bytea)",
                 {std::string(request_id), entry.method, entry.digest, pg::ByteaParam(entry.response)})
      .status();
}

}  // namespace

absl::Status IdempotentWrite(pg::Pool& pool, const WriteRequest& write, const WriteBody& body) {
  OPS_RETURN_IF_ERROR(aip::ValidateRequestId(write.request_id));
  const std::string method(write.method);
  const std::string digest = write.request_id.empty() ? std::string() : aip::RequestDigest(*write.request);
  // True when the request was done before and the response now holds its answer.
  auto replay = [&](pg::Tx& tx) -> absl::StatusOr<bool> {
    OPS_ASSIGN_OR_RETURN(auto logged, FindRequest(tx, write.request_id));
    if (!logged) return false;
    if (logged->method != method || logged->digest != digest) {
      return InvalidArgument("request_id", "was already used for a different request", "REQUEST_ID_REUSED");
    }
    if (!write.response->ParseFromString(logged->response)) return Internal("unreadable logged response");
    return true;
  };
  std::vector<v1::Event> pending;
  absl::Status s = pg::RunInTransaction(pool, write.tx, [&](pg::Tx& tx) -> absl::Status {
    write.response->Clear();
    pending.clear();
    if (!write.request_id.empty()) {
      OPS_ASSIGN_OR_RETURN(bool done, replay(tx));
      if (done) return absl::OkStatus();
    }
    OPS_RETURN_IF_ERROR(body(tx, pending));
    if (!write.request_id.empty()) {
      OPS_RETURN_IF_ERROR(LogRequest(tx, write.request_id, {method, digest, write.response->SerializeAsString()}));
    }
    return AppendToOutbox(tx, write.source, pending).status();
  });
  if (s.ok() || write.request_id.empty() || s.code() == absl::StatusCode::kInvalidArgument) return s;
  // A concurrent request with the same id may have committed first: answer as it did.
  absl::Status first = s;
  bool replayed = false;
  absl::Status again = pg::RunInTransaction(pool, {.read_only = true}, [&](pg::Tx& tx) -> absl::Status {
    OPS_ASSIGN_OR_RETURN(replayed, replay(tx));
    return absl::OkStatus();
  });
  if (!again.ok()) return again.code() == absl::StatusCode::kInvalidArgument ? again : first;
  return replayed ? absl::OkStatus() : first;
}

}  // namespace opsteam::events
