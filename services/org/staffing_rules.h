#pragma once

// The rules of staffing-plan writes, each run inside a transaction its caller owns
// (OrgLogic::Write for the single RPCs, ApplyOrgChart for many at once), like org_rules.h.
// Inputs are validated by the callers with the functions below.

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "libs/pg/pg.h"
#include "opsteam/org/v1/resources.pb.h"
#include "services/org/staffing_store.h"

namespace opsteam::org {

// Checks display_name, ordinal (>= 1) and description; fields are named "<prefix>.<field>".
absl::Status ValidatePhase(const v1::Phase& p, absl::string_view prefix);
// Checks a plan (position, phase, planned_seats >= 0, from_date, monthly_cost_per_seat with
// an upper-case ISO-4217 code and minor units >= 0) and returns its content.
absl::StatusOr<PlanContent> ParseStaffingPlan(const v1::StaffingPlan& p, absl::string_view prefix);

// Creates phase `id`; its ordinal must be free (ALREADY_EXISTS otherwise).
absl::StatusOr<v1::Phase> CreatePhaseIn(pg::Tx& tx, const std::string& id, const v1::Phase& p);
// Creates or replaces the plan of (position, phase). The position must exist on from_date,
// every plan of one position uses one currency; `etag`, when set, must be the current
// plan's.
absl::StatusOr<v1::StaffingPlan> SetStaffingPlanIn(pg::Tx& tx, const PlanContent& c, const std::string& etag);

}  // namespace opsteam::org
