#pragma once

// SQL of the matrix organisation: memberships of members in project groups. The groups
// themselves are effective-dated and live in ProjectGroupStore (org_store.h).
//
// The write functions record what they change in the audit trail of the write in progress
// (CurrentWrite, audit.h), in the same transaction.

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "libs/pg/pg.h"
#include "opsteam/org/v1/resources.pb.h"

namespace opsteam::org {

// "projectGroups/{group}/memberships/{membership}".
std::string MembershipName(const std::string& group_id, const std::string& id);

struct MembershipRow {
  std::string group_id;
  std::string id;
  std::string member_id;
  std::string role;
  absl::CivilDay from;
  std::optional<absl::CivilDay> to;  // empty = open-ended
};

// ALREADY_EXISTS when the id is taken in the group or the member already is in the group
// on an overlapping range (the table's exclusion constraint).
absl::Status InsertMembership(pg::Tx& tx, const MembershipRow& row);
absl::StatusOr<std::optional<v1::GroupMembership>> GetMembership(pg::Tx& tx, const std::string& group_id,
                                                                 const std::string& id, bool for_update);
absl::Status EndMembershipAt(pg::Tx& tx, const std::string& group_id, const std::string& id,
                             absl::CivilDay end);
// Memberships of `member_id` in `group_id` overlapping [from, to).
absl::StatusOr<std::vector<v1::GroupMembership>> OverlappingMemberships(pg::Tx& tx, const std::string& group_id,
                                                                        const std::string& member_id,
                                                                        absl::CivilDay from,
                                                                        std::optional<absl::CivilDay> to);
// Memberships in force on `day` of a group and/or a member (either may be empty), ordered by
// (group id, membership id), after the key (`after_group`, `after_id`), at most `limit`.
absl::StatusOr<std::vector<v1::GroupMembership>> ListMemberships(pg::Tx& tx, const std::string& group_id,
                                                                 const std::string& member_id, absl::CivilDay day,
                                                                 const std::string& after_group,
                                                                 const std::string& after_id, int limit);

// One project line of a member on a day: the group, the member's role and the group's owner
// then (owner id empty if the group has no version on that day).
struct GroupLineRow {
  std::string group_id;
  std::string membership_id;
  std::string role;
  std::string owner_id;
};
absl::StatusOr<std::vector<GroupLineRow>> GroupLinesOf(pg::Tx& tx, const std::string& member_id,
                                                       absl::CivilDay day);

}  // namespace opsteam::org
