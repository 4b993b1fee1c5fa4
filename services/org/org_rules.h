#pragma once

// The rules of the org service's writes, each run inside a transaction its caller owns: a
// single-RPC method of OrgLogic runs one of them in OrgLogic::Write, ApplyOrgChart runs
// many of them in one transaction. Requests are parsed and validated by the callers; these
// check everything that depends on the stored organisation (existence, etags, cycles,
// headcount, employment, primary posts) and write through the store, which records each
// change in the audit trail of the write in progress. Resources are named by their
// resource names in messages; INVALID_ARGUMENT errors name the fields of the single RPCs.

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "libs/pg/pg.h"
#include "opsteam/org/v1/resources.pb.h"

namespace opsteam::org {

// ---- Departments.
// Creates department `id` from `day`, under `d.parent()` when set. `d` carries no lead (the
// lead position cannot exist yet). With `reuse_ended`, an id whose department has ended on
// or before `day` gets a new version from `day` instead of failing with ALREADY_EXISTS.
absl::StatusOr<v1::Department> CreateDepartmentIn(pg::Tx& tx, const std::string& id, const v1::Department& d,
                                                  absl::CivilDay day, bool reuse_ended = false);
// Sets the `paths` (validated writable fields) of department `id` (= `d.name()`) from `day`;
// `d.etag()`, when set, must be current.
absl::StatusOr<v1::Department> UpdateDepartmentIn(pg::Tx& tx, const std::string& id, const v1::Department& d,
                                                  const std::vector<std::string>& paths, absl::CivilDay day);
// Moves department `id` under `parent_id` ("" = a root) from `day`.
absl::StatusOr<v1::Department> MoveDepartmentIn(pg::Tx& tx, const std::string& id, const std::string& parent_id,
                                                absl::CivilDay day, const std::string& etag);
// Ends department `id` at `day`; it must be empty from then on.
absl::Status DeleteDepartmentIn(pg::Tx& tx, const std::string& id, absl::CivilDay day, const std::string& etag);

// ---- Positions.
// Creates position `id` (in `p.department()`) from `day`; `reuse_ended` as for departments.
absl::StatusOr<v1::Position> CreatePositionIn(pg::Tx& tx, const std::string& id, const v1::Position& p,
                                              absl::CivilDay day, bool reuse_ended = false);
// Sets the `paths` of position `id` (= `p.name()`) from `day`; `p.etag()` as above.
absl::StatusOr<v1::Position> UpdatePositionIn(pg::Tx& tx, const std::string& id, const v1::Position& p,
                                              const std::vector<std::string>& paths, absl::CivilDay day);
// Ends position `id` at `day`; nobody may hold it, report to it or be led by it from then on.
absl::Status DeletePositionIn(pg::Tx& tx, const std::string& id, absl::CivilDay day, const std::string& etag);

// ---- Members.
absl::StatusOr<v1::Member> CreateMemberIn(pg::Tx& tx, const std::string& id, const v1::Member& m);
// Sets the `paths` of member `id` (= `m.name()`); `m.etag()` as above.
absl::StatusOr<v1::Member> UpdateMemberIn(pg::Tx& tx, const std::string& id, const v1::Member& m,
                                          const std::vector<std::string>& paths);

// ---- Assignments.
struct NewAssignment {
  std::string id;
  std::string member_id;
  std::string position_id;
  v1::AssignmentKind kind = v1::ASSIGNMENT_KIND_UNSPECIFIED;
  absl::CivilDay start;
  std::optional<absl::CivilDay> end;
};
absl::StatusOr<v1::Assignment> AssignMemberIn(pg::Tx& tx, const NewAssignment& a);
// Ends assignment `id` at `end` (after its start, not after an end it already has).
absl::StatusOr<v1::Assignment> EndAssignmentIn(pg::Tx& tx, const std::string& id, absl::CivilDay end,
                                               const std::string& etag);

}  // namespace opsteam::org
