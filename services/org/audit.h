#pragma once

// The audit trail of the org service. Every write records, in its own transaction, what it
// changed: resource, method, caller (rpc::CurrentCall), effective date, and the fields that
// differ between the state before and after.

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "google/protobuf/message.h"
#include "libs/pg/pg.h"
#include "opsteam/org/v1/org_service.pb.h"

namespace opsteam::org {

// The write in progress on this thread: OrgLogic::Write installs it, the store's write
// functions read it to record what they change.
struct WriteScope {
  std::string method;
  // The day dated changes take effect (the request's effective_date, else today).
  absl::CivilDay day;
};
const WriteScope* CurrentWrite();
class ScopedWrite {
 public:
  explicit ScopedWrite(WriteScope scope);
  ~ScopedWrite();
  ScopedWrite(const ScopedWrite&) = delete;
  ScopedWrite& operator=(const ScopedWrite&) = delete;
  // For writes whose day is not the request's effective_date (e.g. a chart's own date).
  void set_day(absl::CivilDay day) { scope_.day = day; }

 private:
  WriteScope scope_;
  const WriteScope* previous_;
};

// Records a change. `before` is null for a creation, `after` null for an end. Output-only
// fields (name, etag, times, ranges, counts) are not compared. `department_id` is the
// department the resource belongs to ("" for none), for subtree queries.
absl::Status RecordChange(pg::Tx& tx, absl::string_view method, absl::string_view resource,
                          absl::string_view department_id, std::optional<absl::CivilDay> effective,
                          const google::protobuf::Message* before, const google::protobuf::Message* after);

// ListChanges over the recorded rows.
absl::Status ListChangesIn(pg::Tx& tx, const v1::ListChangesRequest& req, v1::ListChangesResponse* resp);

}  // namespace opsteam::org
