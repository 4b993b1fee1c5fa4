// Staffing plans by business phase (DOMAIN.md §1, seeds/003: a new-media team staffed
// "1+1+2+1+1" over the initial-user and brand-promotion phases).
//
// Rules:
// - Phases are ordered by a unique ordinal (1, 2, ...); a clash is ALREADY_EXISTS.
// - A position has at most one plan per phase; SetStaffingPlan creates or replaces it. Plans
//   are cumulative: once phase N is reached, a position has the seats of its plan in the
//   latest phase <= N that plans it.
// - All plans of one position use one currency (FAILED_PRECONDITION CURRENCY_MISMATCH), so
//   the cost a phase change adds is always one amount.
// - GetStaffingReport reads the subtree as of `as_of` (default today, also with a phase):
//   with `phase`, the plan of the latest phase <= it counts; without, the latest plan (by
//   ordinal) whose from_date is on or before `as_of`. Filled = assignments in force on
//   `as_of`; open = max(planned - filled, 0). Positions without an applicable plan are
//   listed (planned 0) only when someone holds them.
// - ComparePhases covers every position that ever belongs to the subtree (as the subtree is
//   today, or on the department's first day when it starts later), so posts introduced by
//   the later phase count even before they exist.

#include <algorithm>
#include <limits>
#include <map>
#include <optional>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "libs/aip/aip.h"
#include "libs/status/macros.h"
#include "libs/status/status.h"
#include "services/org/org_logic.h"
#include "services/org/validation.h"
#include "services/org/org_store.h"
#include "services/org/staffing_rules.h"
#include "services/org/staffing_store.h"

namespace opsteam::org {
namespace {

using aip::FormatDate;

constexpr size_t kMaxName = 200;
constexpr size_t kMaxText = 2000;
constexpr int32_t kMaxSeats = 100000;
// 10^12 minor units (10 billion CNY) a seat and month: seats x cost stays far from overflow.
constexpr int64_t kMaxCostMinor = 1000000000000;

std::string Id(const std::string& name) {
  auto slash = name.find('/');
  return slash == std::string::npos ? name : name.substr(slash + 1);
}

std::string F(absl::string_view prefix, absl::string_view field) {
  return prefix.empty() ? std::string(field) : absl::StrCat(prefix, ".", field);
}



// The day to read a department's subtree on when the request has no date: today, or the
// department's first day when it only starts later. NOT_FOUND when it never exists then.
absl::StatusOr<CivilDay> SubtreeDay(pg::Tx& tx, const std::string& dept_id, const std::string& name) {
  const CivilDay today = aip::Today();
  OPS_ASSIGN_OR_RETURN(auto versions, DepartmentStore::Load(tx, dept_id));
  for (const auto& v : versions) {
    if (!v.to || *v.to > today) return std::max(v.from, today);
  }
  return NotFound(name);
}

// Sums money per currency; FAILED_PRECONDITION on overflow.
class MoneyTotals {
 public:
  absl::Status Add(const std::string& currency, int64_t minor) {
    int64_t& sum = sums_[currency];
    if (__builtin_add_overflow(sum, minor, &sum)) {
      return FailedPrecondition("AMOUNT_TOO_LARGE", absl::StrCat("the total in ", currency, " overflows"));
    }
    return absl::OkStatus();
  }
  template <typename Repeated>
  void Fill(Repeated* out) const {
    for (const auto& [currency, minor] : sums_) {
      auto* m = out->Add();
      m->set_currency_code(currency);
      m->set_minor_units(minor);
    }
  }

 private:
  std::map<std::string, int64_t> sums_;  // by currency code
};

// Seat totals are int32 in the API.
absl::StatusOr<int32_t> SeatTotal(int64_t total, absl::string_view what) {
  if (total > std::numeric_limits<int32_t>::max() || total < std::numeric_limits<int32_t>::min()) {
    return FailedPrecondition("AMOUNT_TOO_LARGE", absl::StrCat("the total of ", what, " overflows"));
  }
  return static_cast<int32_t>(total);
}

// The plan of the latest phase among `plans` (ordered by ordinal) accepted by `applies`.
template <typename Fn>
const PlanRow* Latest(const std::vector<const PlanRow*>& plans, Fn applies) {
  const PlanRow* found = nullptr;
  for (const PlanRow* p : plans) {
    if (applies(*p)) found = p;
  }
  return found;
}

absl::flat_hash_map<std::string, std::vector<const PlanRow*>> ByPosition(const std::vector<PlanRow>& plans) {
  absl::flat_hash_map<std::string, std::vector<const PlanRow*>> out;
  for (const auto& p : plans) out[p.position_id].push_back(&p);  // keeps the ordinal order
  return out;
}

}  // namespace

// ---- Rules (staffing_rules.h) ---------------------------------------------------------

absl::Status ValidatePhase(const v1::Phase& p, absl::string_view prefix) {
  OPS_RETURN_IF_ERROR(ValidateText(p.display_name(), F(prefix, "display_name"), kMaxName, true));
  if (p.ordinal() == 0) return InvalidArgument(F(prefix, "ordinal"), "is required (1, 2, ...)");
  if (p.ordinal() < 0) return InvalidArgument(F(prefix, "ordinal"), "must be positive");
  return ValidateText(p.description(), F(prefix, "description"), kMaxText, false);
}

absl::StatusOr<PlanContent> ParseStaffingPlan(const v1::StaffingPlan& p, absl::string_view prefix) {
  PlanContent c;
  OPS_ASSIGN_OR_RETURN(c.position_id, aip::ParseName(p.position(), "positions", F(prefix, "position")));
  OPS_ASSIGN_OR_RETURN(c.phase_id, aip::ParseName(p.phase(), "phases", F(prefix, "phase")));
  if (p.planned_seats() < 0) return InvalidArgument(F(prefix, "planned_seats"), "must not be negative");
  if (p.planned_seats() > kMaxSeats) {
    return InvalidArgument(F(prefix, "planned_seats"), absl::StrCat("must be at most ", kMaxSeats));
  }
  c.seats = p.planned_seats();
  if (p.from_date().empty()) return InvalidArgument(F(prefix, "from_date"), "is required");
  OPS_ASSIGN_OR_RETURN(c.from, aip::ParseDate(p.from_date(), F(prefix, "from_date")));
  if (!p.has_monthly_cost_per_seat()) return InvalidArgument(F(prefix, "monthly_cost_per_seat"), "is required");
  OPS_RETURN_IF_ERROR(ValidateMoney(p.monthly_cost_per_seat(), F(prefix, "monthly_cost_per_seat"), 0, kMaxCostMinor));
  c.currency = p.monthly_cost_per_seat().currency_code();
  c.cost_minor = p.monthly_cost_per_seat().minor_units();
  return c;
}

absl::StatusOr<v1::Phase> CreatePhaseIn(pg::Tx& tx, const std::string& id, const v1::Phase& p) {
  OPS_ASSIGN_OR_RETURN(auto same_id, GetPhase(tx, id));
  if (same_id) return AlreadyExists(same_id->name(), absl::StrCat(same_id->name(), " already exists"));
  OPS_ASSIGN_OR_RETURN(auto same_ordinal, PhaseByOrdinal(tx, p.ordinal()));
  if (same_ordinal) {
    return AlreadyExists(same_ordinal->name(), absl::StrCat(same_ordinal->name(), " (", same_ordinal->display_name(),
                                                            ") already has ordinal ", p.ordinal()));
  }
  v1::Phase stored;
  stored.set_display_name(p.display_name());
  stored.set_ordinal(p.ordinal());
  stored.set_description(p.description());
  OPS_RETURN_IF_ERROR(InsertPhase(tx, id, stored));
  OPS_ASSIGN_OR_RETURN(auto got, GetPhase(tx, id));
  if (!got) return Internal("created phase not readable");
  return std::move(*got);
}

absl::StatusOr<v1::StaffingPlan> SetStaffingPlanIn(pg::Tx& tx, const PlanContent& c, const std::string& etag) {
  const std::string position_name = aip::Name("positions", c.position_id);
  const std::string phase_name = aip::Name("phases", c.phase_id);
  // The position lock serialises the plans of one position (currency check, upsert).
  OPS_ASSIGN_OR_RETURN(auto revision, PositionStore::Lock(tx, c.position_id));
  if (!revision) return NotFound(position_name);
  OPS_ASSIGN_OR_RETURN(auto phase, GetPhase(tx, c.phase_id));
  if (!phase) return NotFound(phase_name);
  OPS_ASSIGN_OR_RETURN(auto position, PositionStore::Get(tx, c.position_id, c.from));
  if (!position) {
    return FailedPrecondition("NOT_IN_EFFECT",
                              absl::StrCat(position_name, " does not exist on ", FormatDate(c.from),
                                           ", the plan's from_date"),
                              {{"resource", position_name}, {"date", FormatDate(c.from)}});
  }
  OPS_ASSIGN_OR_RETURN(auto current, GetPlan(tx, c.position_id, c.phase_id, true));
  if (!etag.empty() && (!current || current->plan.etag() != etag)) {
    const std::string name = current ? current->plan.name() : position_name;
    return Aborted("ETAG_MISMATCH",
                   absl::StrCat("the plan of ", position_name, " in ", phase_name,
                                " was changed by someone else; read it again and retry"),
                   {{"resource", name}});
  }
  OPS_ASSIGN_OR_RETURN(auto currencies, PlanCurrencies(tx, c.position_id, c.phase_id));
  for (const auto& other : currencies) {
    if (other != c.currency) {
      return FailedPrecondition("CURRENCY_MISMATCH",
                                absl::StrCat("the other plans of ", position_name, " are in ", other,
                                             "; every plan of a position uses one currency"),
                                {{"position", position_name}, {"currency", other}});
    }
  }
  OPS_RETURN_IF_ERROR(UpsertPlan(tx, aip::NewId(), c, Id(position->department())));
  OPS_ASSIGN_OR_RETURN(auto got, GetPlan(tx, c.position_id, c.phase_id, false));
  if (!got) return Internal("staffing plan not readable");
  return std::move(got->plan);
}

// ---- The RPCs ---------------------------------------------------------------------------

absl::Status OrgLogic::CreatePhase(const v1::CreatePhaseRequest& req, v1::CreatePhaseResponse* resp) {
  if (!req.has_phase()) return InvalidArgument("phase", "is required");
  OPS_RETURN_IF_ERROR(ValidatePhase(req.phase(), "phase"));
  OPS_ASSIGN_OR_RETURN(std::string id, IdOrNew(req.phase_id(), "phase_id"));
  return Write("CreatePhase", req, req.request_id(), resp, [&](pg::Tx& tx) -> absl::Status {
    OPS_ASSIGN_OR_RETURN(*resp->mutable_phase(), CreatePhaseIn(tx, id, req.phase()));
    return absl::OkStatus();
  });
}

absl::Status OrgLogic::ListPhases(const v1::ListPhasesRequest& req, v1::ListPhasesResponse* resp) {
  OPS_ASSIGN_OR_RETURN(aip::PageRequest page, aip::ParsePage(req));
  std::optional<int32_t> after;
  if (!page.after.empty()) {
    int32_t ordinal = 0;
    if (!absl::SimpleAtoi(page.after, &ordinal)) {
      return InvalidArgument("page_token", "is not a token this list returned", "INVALID_PAGE_TOKEN");
    }
    after = ordinal;
  }
  return Read([&](pg::Tx& tx) -> absl::Status {
    OPS_ASSIGN_OR_RETURN(auto items, org::ListPhases(tx, after, page.size + 1));
    if (static_cast<int>(items.size()) > page.size) {
      items.resize(static_cast<size_t>(page.size));
      resp->set_next_page_token(aip::NextPageToken(req, absl::StrCat(items.back().ordinal())));
    }
    for (auto& p : items) *resp->add_phases() = std::move(p);
    return absl::OkStatus();
  });
}

absl::Status OrgLogic::SetStaffingPlan(const v1::SetStaffingPlanRequest& req, v1::SetStaffingPlanResponse* resp) {
  if (!req.has_staffing_plan()) return InvalidArgument("staffing_plan", "is required");
  OPS_ASSIGN_OR_RETURN(PlanContent c, ParseStaffingPlan(req.staffing_plan(), "staffing_plan"));
  return Write("SetStaffingPlan", req, req.request_id(), resp, [&](pg::Tx& tx) -> absl::Status {
    OPS_ASSIGN_OR_RETURN(*resp->mutable_staffing_plan(), SetStaffingPlanIn(tx, c, req.staffing_plan().etag()));
    return absl::OkStatus();
  });
}

absl::Status OrgLogic::ListStaffingPlans(const v1::ListStaffingPlansRequest& req,
                                         v1::ListStaffingPlansResponse* resp) {
  OPS_ASSIGN_OR_RETURN(aip::PageRequest page, aip::ParsePage(req));
  std::string dept_id, phase_id;
  if (!req.department().empty()) {
    OPS_ASSIGN_OR_RETURN(dept_id, aip::ParseName(req.department(), "departments", "department"));
  }
  if (!req.phase().empty()) {
    OPS_ASSIGN_OR_RETURN(phase_id, aip::ParseName(req.phase(), "phases", "phase"));
  }
  // The page key is "{position id}/{phase ordinal}".
  std::string after_position;
  int32_t after_ordinal = 0;
  if (!page.after.empty()) {
    std::vector<std::string> parts = absl::StrSplit(page.after, absl::MaxSplits('/', 1));
    if (parts.size() != 2 || !absl::SimpleAtoi(parts[1], &after_ordinal)) {
      return InvalidArgument("page_token", "is not a token this list returned", "INVALID_PAGE_TOKEN");
    }
    after_position = parts[0];
  }
  return Read([&](pg::Tx& tx) -> absl::Status {
    CivilDay day = aip::Today();
    if (!dept_id.empty()) {
      OPS_ASSIGN_OR_RETURN(day, SubtreeDay(tx, dept_id, req.department()));
    }
    if (!phase_id.empty()) {
      OPS_ASSIGN_OR_RETURN(auto phase, GetPhase(tx, phase_id));
      if (!phase) return NotFound(req.phase());
    }
    pg::Param dept = dept_id.empty() ? std::nullopt : pg::Param(dept_id);
    pg::Param phase = phase_id.empty() ? std::nullopt : pg::Param(phase_id);
    OPS_ASSIGN_OR_RETURN(auto items, ListPlans(tx, dept, day, phase, after_position, after_ordinal, page.size + 1));
    if (static_cast<int>(items.size()) > page.size) {
      items.resize(static_cast<size_t>(page.size));
      resp->set_next_page_token(
          aip::NextPageToken(req, absl::StrCat(items.back().position_id, "/", items.back().ordinal)));
    }
    for (auto& p : items) *resp->add_staffing_plans() = std::move(p.plan);
    return absl::OkStatus();
  });
}

absl::Status OrgLogic::GetStaffingReport(const v1::GetStaffingReportRequest& req,
                                         v1::GetStaffingReportResponse* resp) {
  OPS_ASSIGN_OR_RETURN(std::string dept_id, aip::ParseName(req.department(), "departments", "department"));
  std::string phase_id;
  if (!req.phase().empty()) {
    OPS_ASSIGN_OR_RETURN(phase_id, aip::ParseName(req.phase(), "phases", "phase"));
  }
  OPS_ASSIGN_OR_RETURN(CivilDay day, aip::ParseDate(req.as_of(), "as_of"));
  return Read([&](pg::Tx& tx) -> absl::Status {
    OPS_ASSIGN_OR_RETURN(auto dept, DepartmentStore::Get(tx, dept_id, day));
    if (!dept) return NotFound(req.department());
    std::optional<v1::Phase> phase;
    if (!phase_id.empty()) {
      OPS_ASSIGN_OR_RETURN(phase, GetPhase(tx, phase_id));
      if (!phase) return NotFound(req.phase());
    }
    // Every position of the subtree on the day, page by page.
    std::vector<Position> positions;
    constexpr int kChunk = 1000;
    for (std::string after;;) {
      OPS_ASSIGN_OR_RETURN(auto chunk, ListPositionsInSubtree(tx, dept_id, day, after, kChunk));
      const bool more = static_cast<int>(chunk.size()) == kChunk;
      if (!chunk.empty()) after = Id(chunk.back().name());
      for (auto& p : chunk) positions.push_back(std::move(p));
      if (!more) break;
    }
    OPS_RETURN_IF_ERROR(FillCounts(tx, positions, day));
    std::vector<std::string> ids;
    ids.reserve(positions.size());
    for (const auto& p : positions) ids.push_back(Id(p.name()));
    OPS_ASSIGN_OR_RETURN(auto plans, PlansOfPositions(tx, ids));
    auto by_position = ByPosition(plans);

    int64_t planned = 0, filled = 0, open = 0;
    MoneyTotals cost;
    for (const auto& pos : positions) {
      const PlanRow* plan = Latest(by_position[Id(pos.name())], [&](const PlanRow& r) {
        return phase ? r.ordinal <= phase->ordinal() : r.from <= day;
      });
      if (plan == nullptr && pos.filled() == 0) continue;
      auto* row = resp->add_rows();
      row->set_position(pos.name());
      row->set_title(pos.title());
      row->set_department(pos.department());
      row->set_filled(pos.filled());
      if (plan != nullptr) {
        const int64_t row_cost = int64_t{plan->seats} * plan->cost_minor;  // bounded by validation
        row->set_planned(plan->seats);
        row->set_phase(plan->plan.phase());
        row->mutable_planned_monthly_cost()->set_currency_code(plan->currency);
        row->mutable_planned_monthly_cost()->set_minor_units(row_cost);
        OPS_RETURN_IF_ERROR(cost.Add(plan->currency, row_cost));
      }
      row->set_open(std::max(row->planned() - row->filled(), 0));
      planned += row->planned();
      filled += row->filled();
      open += row->open();
    }
    OPS_ASSIGN_OR_RETURN(int32_t total_planned, SeatTotal(planned, "planned seats"));
    OPS_ASSIGN_OR_RETURN(int32_t total_filled, SeatTotal(filled, "filled seats"));
    OPS_ASSIGN_OR_RETURN(int32_t total_open, SeatTotal(open, "open seats"));
    resp->set_planned(total_planned);
    resp->set_filled(total_filled);
    resp->set_open(total_open);
    cost.Fill(resp->mutable_planned_monthly_cost());
    return absl::OkStatus();
  });
}

absl::Status OrgLogic::ComparePhases(const v1::ComparePhasesRequest& req, v1::ComparePhasesResponse* resp) {
  OPS_ASSIGN_OR_RETURN(std::string dept_id, aip::ParseName(req.department(), "departments", "department"));
  OPS_ASSIGN_OR_RETURN(std::string from_id, aip::ParseName(req.from_phase(), "phases", "from_phase"));
  OPS_ASSIGN_OR_RETURN(std::string to_id, aip::ParseName(req.to_phase(), "phases", "to_phase"));
  return Read([&](pg::Tx& tx) -> absl::Status {
    OPS_ASSIGN_OR_RETURN(CivilDay day, SubtreeDay(tx, dept_id, req.department()));
    OPS_ASSIGN_OR_RETURN(auto from, GetPhase(tx, from_id));
    if (!from) return NotFound(req.from_phase());
    OPS_ASSIGN_OR_RETURN(auto to, GetPhase(tx, to_id));
    if (!to) return NotFound(req.to_phase());
    if (to->ordinal() <= from->ordinal()) {
      return InvalidArgument("to_phase",
                             absl::StrCat("must be a later phase than from_phase: ", req.to_phase(), " has ordinal ",
                                          to->ordinal(), ", ", req.from_phase(), " has ", from->ordinal()),
                             "PHASE_NOT_LATER");
    }
    OPS_ASSIGN_OR_RETURN(auto titles, SubtreePositionTitles(tx, dept_id, day));
    std::vector<std::string> ids;
    ids.reserve(titles.size());
    for (const auto& [id, title] : titles) ids.push_back(id);
    OPS_ASSIGN_OR_RETURN(auto plans, PlansOfPositions(tx, ids));
    auto by_position = ByPosition(plans);

    int64_t seats_added = 0;
    MoneyTotals cost;
    for (const auto& [id, title] : titles) {  // by position id
      const auto& mine = by_position[id];
      const PlanRow* before = Latest(mine, [&](const PlanRow& r) { return r.ordinal <= from->ordinal(); });
      const PlanRow* after = Latest(mine, [&](const PlanRow& r) { return r.ordinal <= to->ordinal(); });
      const int32_t seats_before = before ? before->seats : 0;
      const int32_t seats_after = after ? after->seats : 0;
      if (seats_before == seats_after || after == nullptr) continue;
      // One currency per position (SetStaffingPlan), so the two costs subtract.
      const int64_t cost_before = before ? int64_t{before->seats} * before->cost_minor : 0;
      const int64_t cost_added = int64_t{after->seats} * after->cost_minor - cost_before;
      auto* d = resp->add_deltas();
      d->set_position(aip::Name("positions", id));
      d->set_title(title);
      d->set_seats_before(seats_before);
      d->set_seats_after(seats_after);
      d->set_seats_added(seats_after - seats_before);
      d->mutable_monthly_cost_added()->set_currency_code(after->currency);
      d->mutable_monthly_cost_added()->set_minor_units(cost_added);
      d->set_from_date(after->plan.from_date());
      seats_added += d->seats_added();
      OPS_RETURN_IF_ERROR(cost.Add(after->currency, cost_added));
    }
    OPS_ASSIGN_OR_RETURN(int32_t total, SeatTotal(seats_added, "seats added"));
    resp->set_seats_added(total);
    cost.Fill(resp->mutable_monthly_cost_added());
    return absl::OkStatus();
  });
}

}  // namespace opsteam::org
