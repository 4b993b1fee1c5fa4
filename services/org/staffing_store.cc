#include "services/org/staffing_store.h"

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"
#include "libs/aip/aip.h"
#include "libs/status/macros.h"
#include "libs/status/status.h"
#include "services/org/audit.h"

namespace opsteam::org {
namespace {

using google::protobuf::util::TimeUtil;

absl::CivilDay ParseDay(absl::string_view text) {
  absl::CivilDay day;
  (void)absl::ParseCivilTime(text, &day);
  return day;
}

// A text[] literal of ids ([a-z0-9-] only, so no quoting issues).
std::string IdArray(const std::vector<std::string>& ids) {
  std::string out = "{";
  for (size_t i = 0; i < ids.size(); ++i) absl::StrAppend(&out, i ? "," : "", "\"", ids[i], "\"");
  return out + "}";
}

// ---- Phases.

constexpr const char* kSelectPhase =
    "SELECT id, display_name, ordinal, description, revision,"
    " (extract(epoch FROM create_time) * 1000000)::bigint,"
    " (extract(epoch FROM update_time) * 1000000)::bigint FROM phases ";

v1::Phase ReadPhase(const pg::Result& r, int row) {
  v1::Phase p;
  p.set_name(aip::Name("phases", r.Get(row, 0)));
  p.set_display_name(r.GetString(row, 1));
  p.set_ordinal(static_cast<int32_t>(r.GetInt64(row, 2)));
  p.set_description(r.GetString(row, 3));
  p.set_etag(absl::StrCat(r.GetInt64(row, 4)));
  *p.mutable_create_time() = TimeUtil::MicrosecondsToTimestamp(r.GetInt64(row, 5));
  *p.mutable_update_time() = TimeUtil::MicrosecondsToTimestamp(r.GetInt64(row, 6));
  return p;
}

absl::StatusOr<std::optional<v1::Phase>> OnePhase(pg::Tx& tx, const std::string& sql, const pg::Params& params) {
  auto r = tx.Exec(sql, params);
  if (!r.ok()) return r.status();
  if (r->rows() == 0) return std::optional<v1::Phase>();
  return std::optional<v1::Phase>(ReadPhase(*r, 0));
}

// ---- Plans.

constexpr const char* kSelectPlan =
    "SELECT sp.id, sp.position_id, sp.phase_id, ph.ordinal, sp.planned_seats, sp.from_date::text,"
    " sp.currency_code, sp.monthly_cost_minor, sp.revision,"
    " (extract(epoch FROM sp.create_time) * 1000000)::bigint,"
    " (extract(epoch FROM sp.update_time) * 1000000)::bigint"
    " FROM staffing_plans sp JOIN phases ph ON ph.id = sp.phase_id ";

PlanRow ReadPlan(const pg::Result& r, int row) {
  PlanRow p;
  p.position_id = r.GetString(row, 1);
  p.phase_id = r.GetString(row, 2);
  p.ordinal = static_cast<int32_t>(r.GetInt64(row, 3));
  p.seats = static_cast<int32_t>(r.GetInt64(row, 4));
  p.from = ParseDay(r.Get(row, 5));
  p.currency = r.GetString(row, 6);
  p.cost_minor = r.GetInt64(row, 7);
  auto& plan = p.plan;
  plan.set_name(aip::Name("staffingPlans", r.Get(row, 0)));
  plan.set_position(aip::Name("positions", p.position_id));
  plan.set_phase(aip::Name("phases", p.phase_id));
  plan.set_planned_seats(p.seats);
  plan.set_from_date(r.GetString(row, 5));
  plan.mutable_monthly_cost_per_seat()->set_currency_code(p.currency);
  plan.mutable_monthly_cost_per_seat()->set_minor_units(p.cost_minor);
  plan.set_etag(absl::StrCat(r.GetInt64(row, 8)));
  *plan.mutable_create_time() = TimeUtil::MicrosecondsToTimestamp(r.GetInt64(row, 9));
  *plan.mutable_update_time() = TimeUtil::MicrosecondsToTimestamp(r.GetInt64(row, 10));
  return p;
}

std::vector<PlanRow> ReadPlans(const pg::Result& r) {
  std::vector<PlanRow> out;
  out.reserve(static_cast<size_t>(r.rows()));
  for (int i = 0; i < r.rows(); ++i) out.push_back(ReadPlan(r, i));
  return out;
}

// The departments of the subtree of $1 on $2 (nothing when $1 is NULL).
constexpr const char* kSubtree =
    "WITH RECURSIVE sub(id, depth) AS ("
    "  SELECT $1::text, 0 WHERE $1::text IS NOT NULL"
    "  UNION ALL"
    "  SELECT v.department_id, sub.depth + 1 FROM sub JOIN department_versions v"
    "   ON v.parent_id = sub.id AND v.valid_from <= $2::date AND v.valid_to > $2::date"
    "   WHERE sub.depth < 1000) ";

}  // namespace

absl::Status InsertPhase(pg::Tx& tx, const std::string& id, const v1::Phase& phase) {
  auto r = tx.Exec(
      "INSERT INTO phases (id, display_name, ordinal, description) VALUES ($1, $2, $3, $4)",
      {id, phase.display_name(), absl::StrCat(phase.ordinal()), phase.description()});
  if (pg::IsUniqueViolation(r.status(), "phases_pkey")) {
    return AlreadyExists(aip::Name("phases", id), absl::StrCat("phases/", id, " already exists"));
  }
  if (pg::IsUniqueViolation(r.status(), "phases_ordinal_key")) {
    return AlreadyExists(aip::Name("phases", id),
                         absl::StrCat("another phase already has ordinal ", phase.ordinal()));
  }
  if (!r.ok()) return r.status();
  if (const WriteScope* write = CurrentWrite()) {
    OPS_ASSIGN_OR_RETURN(auto after, GetPhase(tx, id));
    if (after) return RecordChange(tx, write->method, after->name(), "", std::nullopt, nullptr, &*after);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<v1::Phase>> GetPhase(pg::Tx& tx, const std::string& id) {
  static const std::string sql = absl::StrCat(kSelectPhase, "WHERE id = $1");
  return OnePhase(tx, sql, {id});
}

absl::StatusOr<std::optional<v1::Phase>> PhaseByOrdinal(pg::Tx& tx, int32_t ordinal) {
  static const std::string sql = absl::StrCat(kSelectPhase, "WHERE ordinal = $1");
  return OnePhase(tx, sql, {absl::StrCat(ordinal)});
}

absl::StatusOr<std::vector<v1::Phase>> ListPhases(pg::Tx& tx, std::optional<int32_t> after_ordinal, int limit) {
  static const std::string sql =
      absl::StrCat(kSelectPhase, "WHERE ($1::integer IS NULL OR ordinal > $1::integer) ORDER BY ordinal LIMIT $2");
  pg::Param after = after_ordinal ? pg::Param(absl::StrCat(*after_ordinal)) : std::nullopt;
  auto r = tx.Exec(sql, {after, absl::StrCat(limit)});
  if (!r.ok()) return r.status();
  std::vector<v1::Phase> out;
  for (int i = 0; i < r->rows(); ++i) out.push_back(ReadPhase(*r, i));
  return out;
}

absl::StatusOr<std::optional<PlanRow>> GetPlan(pg::Tx& tx, const std::string& position_id,
                                               const std::string& phase_id, bool for_update) {
  static const std::string plain = absl::StrCat(kSelectPlan, "WHERE sp.position_id = $1 AND sp.phase_id = $2");
  static const std::string locked =
      absl::StrCat(kSelectPlan, "WHERE sp.position_id = $1 AND sp.phase_id = $2 FOR UPDATE OF sp");
  auto r = tx.Exec(for_update ? locked : plain, {position_id, phase_id});
  if (!r.ok()) return r.status();
  if (r->rows() == 0) return std::optional<PlanRow>();
  return std::optional<PlanRow>(ReadPlan(*r, 0));
}

absl::Status UpsertPlan(pg::Tx& tx, const std::string& new_id, const PlanContent& c,
                        const std::string& department_id) {
  std::optional<PlanRow> before;
  if (CurrentWrite() != nullptr) {
    OPS_ASSIGN_OR_RETURN(before, GetPlan(tx, c.position_id, c.phase_id, false));
  }
  auto r = tx.Exec(
      "INSERT INTO staffing_plans (id, position_id, phase_id, planned_seats, from_date, currency_code,"
      " monthly_cost_minor) VALUES ($1, $2, $3, $4, $5, $6, $7)"
      " ON CONFLICT ON CONSTRAINT staffing_plans_one_per_phase DO UPDATE SET"
      "  planned_seats = EXCLUDED.planned_seats, from_date = EXCLUDED.from_date,"
      "  currency_code = EXCLUDED.currency_code, monthly_cost_minor = EXCLUDED.monthly_cost_minor,"
      "  revision = staffing_plans.revision + 1, update_time = now()",
      {new_id, c.position_id, c.phase_id, absl::StrCat(c.seats), aip::FormatDate(c.from), c.currency,
       absl::StrCat(c.cost_minor)});
  if (pg::IsUniqueViolation(r.status(), "staffing_plans_pkey")) {
    return AlreadyExists(aip::Name("staffingPlans", new_id), absl::StrCat("staffingPlans/", new_id, " already exists"));
  }
  if (!r.ok()) return r.status();
  if (const WriteScope* write = CurrentWrite()) {
    OPS_ASSIGN_OR_RETURN(auto after, GetPlan(tx, c.position_id, c.phase_id, false));
    if (after) {
      return RecordChange(tx, write->method, after->plan.name(), department_id, c.from,
                          before ? &before->plan : nullptr, &after->plan);
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> PlanCurrencies(pg::Tx& tx, const std::string& position_id,
                                                        const std::string& except_phase_id) {
  auto r = tx.Exec(
      "SELECT DISTINCT currency_code FROM staffing_plans WHERE position_id = $1 AND phase_id <> $2"
      " ORDER BY 1",
      {position_id, except_phase_id});
  if (!r.ok()) return r.status();
  std::vector<std::string> out;
  for (int i = 0; i < r->rows(); ++i) out.push_back(r->GetString(i, 0));
  return out;
}

absl::StatusOr<std::vector<PlanRow>> ListPlans(pg::Tx& tx, pg::Param department_id, absl::CivilDay day,
                                               pg::Param phase_id, const std::string& after_position,
                                               int32_t after_ordinal, int limit) {
  static const std::string sql = absl::StrCat(
      kSubtree, kSelectPlan,
      "WHERE ($1::text IS NULL OR EXISTS (SELECT 1 FROM position_versions pv"
      "   WHERE pv.position_id = sp.position_id AND pv.department_id IN (SELECT id FROM sub)))"
      " AND ($3::text IS NULL OR sp.phase_id = $3::text)"
      " AND (sp.position_id, ph.ordinal) > ($4::text, $5::integer)"
      " ORDER BY sp.position_id, ph.ordinal LIMIT $6");
  auto r = tx.Exec(sql, {department_id, aip::FormatDate(day), phase_id, after_position,
                         absl::StrCat(after_ordinal), absl::StrCat(limit)});
  if (!r.ok()) return r.status();
  return ReadPlans(*r);
}

absl::StatusOr<std::vector<PlanRow>> PlansOfPositions(pg::Tx& tx, const std::vector<std::string>& position_ids) {
  if (position_ids.empty()) return std::vector<PlanRow>();
  static const std::string sql = absl::StrCat(
      kSelectPlan, "WHERE sp.position_id = ANY($1::text[]) ORDER BY sp.position_id, ph.ordinal");
  auto r = tx.Exec(sql, {IdArray(position_ids)});
  if (!r.ok()) return r.status();
  return ReadPlans(*r);
}

absl::StatusOr<std::map<std::string, std::string>> SubtreePositionTitles(pg::Tx& tx,
                                                                         const std::string& department_id,
                                                                         absl::CivilDay day) {
  static const std::string sql = absl::StrCat(
      kSubtree,
      "SELECT DISTINCT ON (pv.position_id) pv.position_id, coalesce(pv.data->>'title', '')"
      " FROM position_versions pv WHERE pv.position_id IN (SELECT position_id FROM position_versions"
      "  WHERE department_id IN (SELECT id FROM sub))"
      " ORDER BY pv.position_id, pv.valid_from DESC");
  auto r = tx.Exec(sql, {department_id, aip::FormatDate(day)});
  if (!r.ok()) return r.status();
  std::map<std::string, std::string> out;
  for (int i = 0; i < r->rows(); ++i) out[r->GetString(i, 0)] = r->GetString(i, 1);
  return out;
}

}  // namespace opsteam::org
