#pragma once

// The rules of the matrix organisation's writes, each run inside a transaction its caller
// owns (OrgLogic::Write for the single RPCs, ApplyOrgChart for many at once), like
// org_rules.h. Inputs are validated by the callers with the functions below; these check
// what depends on the stored organisation and write through the store, which records each
// change in the audit trail of the write in progress.

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "libs/pg/pg.h"
#include "opsteam/org/v1/resources.pb.h"

namespace opsteam::org {

// The writable fields of a project group.
extern const std::vector<std::string> kProjectGroupFields;
// Checks the `paths` of `g`; fields are named "<prefix>.<field>".
absl::Status ValidateProjectGroup(const v1::ProjectGroup& g, absl::string_view prefix,
                                  const std::vector<std::string>& paths);
// Checks a membership's role: required, at most 50 characters.
absl::Status ValidateGroupRole(absl::string_view role, absl::string_view field);

// Creates project group `id` from `day`; its owner must be a member employed on `day`.
absl::StatusOr<v1::ProjectGroup> CreateProjectGroupIn(pg::Tx& tx, const std::string& id, const v1::ProjectGroup& g,
                                                      absl::CivilDay day);
// Sets the `paths` of project group `id` (= `g.name()`) from `day` on; `g.etag()`, when set,
// must be current. A new owner must be employed on `day`.
absl::StatusOr<v1::ProjectGroup> UpdateProjectGroupIn(pg::Tx& tx, const std::string& id, const v1::ProjectGroup& g,
                                                      const std::vector<std::string>& paths, absl::CivilDay day);

struct NewMembership {
  std::string group_id;
  std::string id;
  std::string member_id;
  std::string role;
  absl::CivilDay start;
  std::optional<absl::CivilDay> end;
};
// The group must exist on the start day, the member be employed over the whole range and
// not already be in the group on any of its days (ALREADY_EXISTS).
absl::StatusOr<v1::GroupMembership> AddGroupMemberIn(pg::Tx& tx, const NewMembership& m);
// Ends a membership at `end` (after its start, not after an end it already has).
absl::StatusOr<v1::GroupMembership> EndGroupMembershipIn(pg::Tx& tx, const std::string& group_id,
                                                         const std::string& id, absl::CivilDay end,
                                                         const std::string& etag);

}  // namespace opsteam::org
