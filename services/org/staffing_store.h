#pragma once

// SQL of staffing plans by business phase: ordered phases, and one plan per (position,
// phase) saying how many seats the position has once the phase is reached, from which day,
// at what monthly cost a seat.
//
// The write functions record what they change in the audit trail of the write in progress
// (CurrentWrite, audit.h), in the same transaction.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "libs/pg/pg.h"
#include "opsteam/org/v1/resources.pb.h"

namespace opsteam::org {

// ---- Phases.
// ALREADY_EXISTS when the id or the ordinal is taken.
absl::Status InsertPhase(pg::Tx& tx, const std::string& id, const v1::Phase& phase);
absl::StatusOr<std::optional<v1::Phase>> GetPhase(pg::Tx& tx, const std::string& id);
absl::StatusOr<std::optional<v1::Phase>> PhaseByOrdinal(pg::Tx& tx, int32_t ordinal);
// In ordinal order, after `after_ordinal` (nullopt = from the first), at most `limit`.
absl::StatusOr<std::vector<v1::Phase>> ListPhases(pg::Tx& tx, std::optional<int32_t> after_ordinal, int limit);

// ---- Plans.
// A plan with what it is keyed and ordered by.
struct PlanRow {
  v1::StaffingPlan plan;  // output fields filled
  std::string position_id;
  std::string phase_id;
  int32_t ordinal = 0;  // of its phase
  int32_t seats = 0;
  absl::CivilDay from;
  std::string currency;
  int64_t cost_minor = 0;  // per seat and month
};

absl::StatusOr<std::optional<PlanRow>> GetPlan(pg::Tx& tx, const std::string& position_id,
                                               const std::string& phase_id, bool for_update);

struct PlanContent {
  std::string position_id;
  std::string phase_id;
  int32_t seats = 0;
  absl::CivilDay from;
  std::string currency;
  int64_t cost_minor = 0;
};
// Creates the plan of (position, phase) with id `new_id`, or replaces the content of the
// existing one (keeping its id). `department_id` files the change in the audit trail.
absl::Status UpsertPlan(pg::Tx& tx, const std::string& new_id, const PlanContent& content,
                        const std::string& department_id);
// Currencies of the position's plans in phases other than `except_phase_id`.
absl::StatusOr<std::vector<std::string>> PlanCurrencies(pg::Tx& tx, const std::string& position_id,
                                                        const std::string& except_phase_id);
// Plans ordered by (position id, phase ordinal), after the key (`after_position`,
// `after_ordinal`), at most `limit`: only of positions whose department lies in the subtree
// of `department_id` on `day` (nullopt = all) and of `phase_id` (nullopt = all).
absl::StatusOr<std::vector<PlanRow>> ListPlans(pg::Tx& tx, pg::Param department_id, absl::CivilDay day,
                                               pg::Param phase_id, const std::string& after_position,
                                               int32_t after_ordinal, int limit);
// Every plan of the given positions, ordered by (position id, phase ordinal).
absl::StatusOr<std::vector<PlanRow>> PlansOfPositions(pg::Tx& tx, const std::vector<std::string>& position_ids);
// Every position that ever belongs to a department of the subtree of `department_id` (as the
// subtree is on `day`), with the title of its latest version; by id.
absl::StatusOr<std::map<std::string, std::string>> SubtreePositionTitles(pg::Tx& tx,
                                                                         const std::string& department_id,
                                                                         absl::CivilDay day);

}  // namespace opsteam::org
