#pragma once

// SQL that ApplyOrgChart and ExportOrgChart need beyond org_store.h: phases, staffing plans,
// project groups (owner effective-dated in project_group_versions) and their memberships,
// and taking back an assignment that has not started yet. The write functions record what
// they change in the audit trail of the write in progress (CurrentWrite, audit.h), in the
// same transaction, as the store's other writes do.

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "libs/pg/pg.h"
#include "opsteam/org/v1/resources.pb.h"
#include "services/org/org_store.h"

namespace opsteam::org::chart {

// ---- Phases (not effective-dated).
// Every phase, in ordinal order, with name and etag filled.
absl::StatusOr<std::vector<v1::Phase>> LoadPhases(pg::Tx& tx);
// FAILED_PRECONDITION PHASE_ORDINAL_TAKEN when another phase has the ordinal.
absl::Status InsertPhase(pg::Tx& tx, const std::string& id, const v1::Phase& phase);
// Replaces display_name, ordinal and description of phase `id` (`before` as loaded).
absl::Status UpdatePhase(pg::Tx& tx, const std::string& id, const v1::Phase& before, const v1::Phase& after);
// Moves the phase to a temporary ordinal (< 0) so that ordinals can be exchanged; not
// recorded (UpdatePhase records the whole change).
absl::Status ParkPhaseOrdinal(pg::Tx& tx, const std::string& id, int32_t temporary);

// ---- Staffing plans (not effective-dated; one per position and phase).
struct Plan {
  std::string id;
  std::string position_id;
  std::string phase_id;
  v1::StaffingPlan plan;  // name, position, phase, content, etag filled
};
// Every plan of the given positions, by position id then phase ordinal.
absl::StatusOr<std::vector<Plan>> LoadPlans(pg::Tx& tx, const std::vector<std::string>& position_ids);
absl::StatusOr<bool> PlanIdTaken(pg::Tx& tx, const std::string& id);
// Creates (`before` null) or replaces the content of a plan. `department_id` files the change.
absl::Status WritePlan(pg::Tx& tx, const Plan* before, const std::string& id, const std::string& position_id,
                       const std::string& phase_id, const v1::StaffingPlan& content, const std::string& department_id);

// ---- Project groups: a head row and owner versions, like departments.
// The versions of group `id`, or nullopt when there is no such group. `lock` locks the head.
absl::StatusOr<std::optional<std::vector<Version<v1::ProjectGroup>>>> LoadGroup(pg::Tx& tx, const std::string& id,
                                                                               bool lock);
// ALREADY_EXISTS when the id is taken.
absl::Status CreateGroupHead(pg::Tx& tx, const std::string& id);
// Replaces every version of group `id` and bumps its revision.
absl::Status SaveGroup(pg::Tx& tx, const std::string& id, const std::vector<Version<v1::ProjectGroup>>& versions);
// Ids of the groups in force on `day`.
absl::StatusOr<std::vector<std::string>> GroupsOn(pg::Tx& tx, absl::CivilDay day);

// ---- Group memberships.
// Memberships of `group_id` not ended by `day` (in force then or later), by start then id.
absl::StatusOr<std::vector<v1::GroupMembership>> LoadMemberships(pg::Tx& tx, const std::string& group_id,
                                                                absl::CivilDay day);
absl::StatusOr<bool> MembershipIdTaken(pg::Tx& tx, const std::string& group_id, const std::string& id);
// ALREADY_EXISTS when the member is in the group on an overlapping range.
absl::Status InsertMembership(pg::Tx& tx, const std::string& group_id, const std::string& id,
                              const std::string& member_id, const std::string& role, absl::CivilDay from);
absl::Status SetMembershipRole(pg::Tx& tx, const v1::GroupMembership& before, const std::string& role);
// Ends at `end` (after its start), or takes back one that starts on or after `end`.
absl::Status EndMembership(pg::Tx& tx, const v1::GroupMembership& before, absl::CivilDay end);

// ---- Assignments.
absl::StatusOr<bool> AssignmentIdTaken(pg::Tx& tx, const std::string& id);
// Deletes an assignment that starts on or after `day`: it never took effect.
absl::Status CancelAssignment(pg::Tx& tx, const v1::Assignment& assignment, absl::CivilDay day);

}  // namespace opsteam::org::chart
