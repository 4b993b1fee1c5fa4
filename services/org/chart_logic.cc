// Declarative org charts: ApplyOrgChart plans the changes that make the organisation look
// like a chart on the chart's effective date and makes them in one transaction;
// ExportOrgChart writes the organisation (or one subtree) as a chart.
//
// The scope of a chart: the departments it lists with their subtrees, their positions, the
// members it lists with their assignments, its phases with the staffing plans of its
// positions, and its project groups with their memberships. Against the state on the
// effective date D, the plan
//   - CREATEs what is missing (an id whose resource ended on or before D is used again);
//   - UPDATEs changed fields (PlannedChange.fields);
//   - MOVEs a department whose chart parent differs; a department at the top of the chart
//     keeps the parent it has (new ones become roots), so a chart of a subtree applies in place;
//   - ENDs departments found under a chart department that the chart does not list, with
//     their positions; positions of chart departments that the chart does not list; and
//     assignments and group memberships of chart members and groups that the chart does not
//     list. Ending a position also ends the assignments to it. What starts only after D is
//     taken back instead of ended. Members, phases, project groups and staffing plans are
//     never ended.
// Applying runs each change through the same rules as the single RPCs (org_rules.h: etags,
// parents, cycles, headcount, primary posts, employment), in an order that lets a valid
// chart through: phases, new departments top-down, moves, department fields, members,
// assignment ends, positions, reporting lines (top-down), leads, position ends, department
// ends (bottom-up), new assignments, staffing plans, groups, memberships. The first failure
// fails the whole apply and nothing is written. A dry run applies the same way and rolls
// back, so it reports the errors the apply would meet.

#include <algorithm>
#include <array>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/util/message_differencer.h"
#include "libs/aip/aip.h"
#include "libs/status/macros.h"
#include "libs/status/status.h"
#include "services/org/audit.h"
#include "services/org/org_events.h"
#include "services/org/chart_plan.h"
#include "services/org/chart_store.h"
#include "services/org/org_logic.h"
#include "services/org/org_rules.h"
#include "services/org/org_store.h"

namespace opsteam::org {
namespace {

using aip::FormatDate;
using chart::ChartIndex;

constexpr char kMethod[] = "ApplyOrgChart";
constexpr int kMaxRows = 100000;

std::string Id(const std::string& name) {
  auto slash = name.rfind('/');
  return slash == std::string::npos ? name : name.substr(slash + 1);
}
std::string OptionalName(absl::string_view collection, const std::string& id) {
  return id.empty() ? std::string() : aip::Name(collection, id);
}
CivilDay DayOf(const std::string& text, CivilDay fallback) {
  CivilDay day = fallback;
  if (!text.empty()) (void)absl::ParseCivilTime(text, &day);
  return day;
}
// Whether an assignment or membership ending on `end_date` ("" = open) is still there on
// or after `day`.
bool LastsBeyond(const std::string& end_date, CivilDay day) {
  return end_date.empty() || end_date > FormatDate(day);
}

// The fields among `fields` in which `current` and `desired` differ.
std::vector<std::string> Changed(const google::protobuf::Message& current, const google::protobuf::Message& desired,
                                 const std::vector<std::string>& fields) {
  std::vector<std::string> out;
  for (const auto& name : fields) {
    const auto* f = current.GetDescriptor()->FindFieldByName(name);
    google::protobuf::util::MessageDifferencer differencer;
    if (!differencer.CompareWithFields(current, desired, {f}, {f})) out.push_back(name);
  }
  return out;
}

// Prefixes the message with the change being made, keeping code and details.
absl::Status Annotate(const absl::Status& s, absl::string_view what) {
  absl::Status out(s.code(), absl::StrCat("applying the chart: ", what, ": ", s.message()));
  s.ForEachPayload([&](absl::string_view url, const absl::Cord& value) { out.SetPayload(url, value); });
  return out;
}

std::string KindLabel(v1::AssignmentKind kind) {
  return kind == v1::ASSIGNMENT_KIND_PRIMARY ? "primary" : "secondary";
}

// Whether `member` is employed on every day from `from` on, open-ended.
bool EmployedFrom(const v1::Member& member, CivilDay from) {
  CivilDay start;
  if (!absl::ParseCivilTime(member.employment_start_date(), &start)) return false;
  return start <= from && member.employment_end_date().empty();
}

absl::Status OutsideEmployment(const v1::Member& member, absl::string_view what) {
  return FailedPrecondition(
      "OUTSIDE_EMPLOYMENT",
      absl::StrCat(member.name(), " is employed from ", member.employment_start_date(),
                   member.employment_end_date().empty() ? "" : absl::StrCat(" until ", member.employment_end_date()),
                   "; ", what),
      {{"member", member.name()}});
}

const std::vector<std::string> kDepartmentCompared = {"display_name", "kind", "description", "lead_position"};
const std::vector<std::string> kPositionCompared = {"title",          "grade",       "responsibilities",
                                                    "requirements",   "work_standards", "authorities",
                                                    "headcount",      "reports_to",  "introduction_phase"};
const std::vector<std::string> kMemberCompared = {"display_name", "development_directions", "employment_start_date"};
const std::vector<std::string> kPhaseCompared = {"display_name", "ordinal", "description"};
const std::vector<std::string> kPlanCompared = {"planned_seats", "from_date", "monthly_cost_per_seat"};
const std::vector<std::string> kGroupCompared = {"display_name", "description", "owner"};

// The order changes are made in (see the top of the file).
enum Stage {
  kParkPhaseOrdinals,
  kPhases,
  kCreateDepartments,
  kMoveDepartments,
  kUpdateDepartments,
  kMembers,
  kEndAssignments,
  kPositions,
  kReportingLines,
  kLeads,
  kEndPositions,
  kEndDepartments,
  kCreateAssignments,
  kStaffing,
  kGroups,
  kMemberships,
  kStageCount
};

struct Action {
  std::string what;
  std::function<absl::Status(pg::Tx&)> run;
};

// Plans a chart against the state read through `tx`, then makes the plan.
class ChartApply {
 public:
  ChartApply(pg::Tx& tx, const v1::OrgChart& chart, const ChartIndex& index)
      : tx_(tx), chart_(chart), index_(index), day_(index.day) {}

  absl::Status Plan() {
    OPS_ASSIGN_OR_RETURN(auto phases, chart::LoadPhases(tx_));
    for (auto& p : phases) phases_[Id(p.name())] = std::move(p);
    OPS_RETURN_IF_ERROR(CheckExternalRefs());
    OPS_RETURN_IF_ERROR(PlanPhases());
    OPS_RETURN_IF_ERROR(PlanDepartments());
    OPS_RETURN_IF_ERROR(PlanPositions());
    OPS_RETURN_IF_ERROR(PlanMembers());
    OPS_RETURN_IF_ERROR(PlanEndedPositions());
    OPS_RETURN_IF_ERROR(PlanStaffing());
    OPS_RETURN_IF_ERROR(PlanGroups());
    return absl::OkStatus();
  }

  std::vector<v1::PlannedChange> Changes() const {
    std::vector<v1::PlannedChange> out;
    for (const auto& stage : changes_) out.insert(out.end(), stage.begin(), stage.end());
    return out;
  }

  absl::Status Execute() {
    for (const auto& stage : actions_) {
      for (const auto& action : stage) {
        if (absl::Status s = action.run(tx_); !s.ok()) return Annotate(s, action.what);
      }
    }
    return absl::OkStatus();
  }

 private:
  void Change(Stage stage, v1::ChartAction action, const std::string& resource, std::vector<std::string> fields,
              std::string description) {
    v1::PlannedChange c;
    c.set_action(action);
    c.set_resource(resource);
    for (auto& f : fields) c.add_fields(std::move(f));
    c.set_description(std::move(description));
    changes_[stage].push_back(std::move(c));
  }
  void Do(Stage stage, std::string what, std::function<absl::Status(pg::Tx&)> run) {
    actions_[stage].push_back({std::move(what), std::move(run)});
  }

  // ---- References that leave the chart.
  absl::Status CheckExternalRefs() {
    for (const auto& ref : index_.external) {
      bool found = false;
      if (ref.collection == "positions") {
        OPS_ASSIGN_OR_RETURN(auto p, PositionStore::Get(tx_, ref.id, day_));
        found = p.has_value();
      } else if (ref.collection == "members") {
        OPS_ASSIGN_OR_RETURN(auto m, org::GetMember(tx_, ref.id, false));
        if (m) external_members_[ref.id] = *m;
        found = m.has_value();
      } else if (ref.collection == "phases") {
        found = phases_.contains(ref.id);
      }
      if (!found) {
        return InvalidArgument(ref.path,
                               absl::StrCat(ref.collection, "/", ref.id, " is neither in the chart nor an existing ",
                                            ref.collection.substr(0, ref.collection.size() - 1), " on ",
                                            FormatDate(day_)),
                               "UNKNOWN_REFERENCE");
      }
    }
    return absl::OkStatus();
  }

  // ---- Phases.
  absl::Status PlanPhases() {
    int parked = 0;
    for (const auto& cp : chart_.phases()) {
      v1::Phase desired;
      desired.set_name(aip::Name("phases", cp.id()));
      desired.set_display_name(cp.display_name());
      desired.set_ordinal(cp.ordinal());
      desired.set_description(cp.description());
      auto it = phases_.find(cp.id());
      if (it == phases_.end()) {
        Change(kPhases, v1::CHART_ACTION_CREATE, desired.name(), {},
               absl::StrCat("create ", desired.name(), " (", cp.display_name(), ", ordinal ", cp.ordinal(), ")"));
        Do(kPhases, absl::StrCat("creating ", desired.name()),
           [id = cp.id(), desired](pg::Tx& tx) { return chart::InsertPhase(tx, id, desired); });
        continue;
      }
      const v1::Phase before = it->second;
      auto fields = Changed(before, desired, kPhaseCompared);
      if (fields.empty()) continue;
      Change(kPhases, v1::CHART_ACTION_UPDATE, desired.name(), fields,
             absl::StrCat("update ", desired.name(), ": ", absl::StrJoin(fields, ", ")));
      if (before.ordinal() != desired.ordinal()) {
        // Ordinals are unique: park the ones that change so that they can be exchanged.
        const int32_t temporary = -(++parked);
        Do(kParkPhaseOrdinals, absl::StrCat("updating ", desired.name()),
           [id = cp.id(), temporary](pg::Tx& tx) { return chart::ParkPhaseOrdinal(tx, id, temporary); });
      }
      Do(kPhases, absl::StrCat("updating ", desired.name()),
         [id = cp.id(), before, desired](pg::Tx& tx) { return chart::UpdatePhase(tx, id, before, desired); });
    }
    return absl::OkStatus();
  }

  // ---- Departments.
  absl::Status PlanDepartments() {
    for (const auto& ref : index_.departments) {
      const auto& cd = *ref.department;
      const std::string name = aip::Name("departments", cd.id());
      v1::Department desired;
      desired.set_name(name);
      desired.set_display_name(cd.display_name());
      desired.set_kind(cd.kind());
      desired.set_description(cd.description());
      desired.set_lead_position(OptionalName("positions", cd.lead_position_id()));
      OPS_ASSIGN_OR_RETURN(auto current, DepartmentStore::Get(tx_, cd.id(), day_));
      if (!current) {
        v1::Department created = desired;
        created.clear_name();
        created.clear_lead_position();
        created.set_parent(OptionalName("departments", ref.parent_id));
        Change(kCreateDepartments, v1::CHART_ACTION_CREATE, name, {},
               absl::StrCat("create ", name, " (", cd.display_name(), ")",
                            ref.parent_id.empty() ? " as a root" : absl::StrCat(" under ", created.parent())));
        Do(kCreateDepartments, absl::StrCat("creating ", name), [id = cd.id(), created, day = day_](pg::Tx& tx) {
          return CreateDepartmentIn(tx, id, created, day, /*reuse_ended=*/true).status();
        });
        if (!cd.lead_position_id().empty()) SetLead(cd.id(), desired.lead_position(), "creating " + name);
        continue;
      }
      existing_departments_.push_back(cd.id());
      // A department that stays under its chart parent lies in that parent's subtree: only
      // the chart's top departments and those moved need their subtrees read.
      const bool moves = !ref.parent_id.empty() && current->parent() != aip::Name("departments", ref.parent_id);
      if (ref.parent_id.empty() || moves) subtree_roots_.push_back(cd.id());
      if (moves) {
        const std::string to = aip::Name("departments", ref.parent_id);
        Change(kMoveDepartments, v1::CHART_ACTION_MOVE, name, {"parent"},
               absl::StrCat("move ", name, " from ", current->parent().empty() ? "the top" : current->parent(),
                            " to ", to));
        Do(kMoveDepartments, absl::StrCat("moving ", name, " to ", to),
           [id = cd.id(), parent = ref.parent_id, day = day_](pg::Tx& tx) {
             return MoveDepartmentIn(tx, id, parent, day, "").status();
           });
      }
      auto fields = Changed(*current, desired, kDepartmentCompared);
      if (fields.empty()) continue;
      Change(kUpdateDepartments, v1::CHART_ACTION_UPDATE, name, fields,
             absl::StrCat("update ", name, ": ", absl::StrJoin(fields, ", ")));
      std::vector<std::string> paths;
      for (const auto& f : fields) {
        if (f != "lead_position") paths.push_back(f);
      }
      if (!paths.empty()) {
        Do(kUpdateDepartments, absl::StrCat("updating ", name), [id = cd.id(), desired, paths, day = day_](pg::Tx& tx) {
          return UpdateDepartmentIn(tx, id, desired, paths, day).status();
        });
      }
      if (paths.size() != fields.size()) SetLead(cd.id(), desired.lead_position(), "setting the lead of " + name);
    }

    // Departments below a chart department that the chart does not list end, deepest first.
    std::map<std::string, v1::Department> ending;
    for (const auto& id : subtree_roots_) {
      OPS_ASSIGN_OR_RETURN(auto below, ListDepartmentSubtree(tx_, id, 0, day_, "", kMaxRows));
      for (auto& d : below) {
        if (!index_.department_at.contains(Id(d.name()))) ending.emplace(Id(d.name()), std::move(d));
      }
    }
    std::vector<std::pair<int, std::string>> order;
    for (const auto& [id, d] : ending) {
      int depth = 0;
      for (auto it = ending.find(Id(d.parent())); it != ending.end() && depth < 1000;
           it = ending.find(Id(it->second.parent()))) {
        ++depth;
      }
      order.emplace_back(-depth, id);
    }
    std::sort(order.begin(), order.end());
    for (const auto& entry : order) {
      const std::string id = entry.second;
      const auto& d = ending.at(id);
      OPS_ASSIGN_OR_RETURN(auto positions, PositionStore::Query(tx_, "v.department_id = $2", day_, {id}, "", kMaxRows));
      for (auto& p : positions) EndPosition(p, absl::StrCat("in ", d.name(), ", which ends"));
      if (!d.lead_position().empty()) SetLead(id, "", "ending " + d.name());
      Change(kEndDepartments, v1::CHART_ACTION_END, d.name(), {},
             absl::StrCat("end ", d.name(), " (", d.display_name(), ") on ", FormatDate(day_)));
      Do(kEndDepartments, absl::StrCat("ending ", d.name()),
         [id, day = day_](pg::Tx& tx) { return DeleteDepartmentIn(tx, id, day, ""); });
    }
    return absl::OkStatus();
  }

  void SetLead(const std::string& id, const std::string& lead, std::string what) {
    v1::Department d;
    d.set_name(aip::Name("departments", id));
    d.set_lead_position(lead);
    Do(kLeads, std::move(what), [id, d, day = day_](pg::Tx& tx) {
      return UpdateDepartmentIn(tx, id, d, {"lead_position"}, day).status();
    });
  }

  // ---- Positions.
  absl::Status PlanPositions() {
    std::vector<std::pair<int, std::string>> reporting;  // (depth in the chart's lines, id)
    for (const auto& ref : index_.positions) {
      const auto& cp = *ref.position;
      const std::string name = aip::Name("positions", cp.id());
      v1::Position desired;
      desired.set_name(name);
      desired.set_department(aip::Name("departments", ref.department_id));
      desired.set_title(cp.title());
      desired.set_grade(cp.grade());
      *desired.mutable_responsibilities() = cp.responsibilities();
      *desired.mutable_requirements() = cp.requirements();
      *desired.mutable_work_standards() = cp.work_standards();
      *desired.mutable_authorities() = cp.authorities();
      desired.set_headcount(cp.headcount());
      desired.set_reports_to(OptionalName("positions", cp.reports_to_id()));
      desired.set_introduction_phase(cp.introduction_phase());
      OPS_ASSIGN_OR_RETURN(auto current, PositionStore::Get(tx_, cp.id(), day_));
      bool sets_line = false;
      if (!current) {
        v1::Position created = desired;
        created.clear_name();
        created.clear_reports_to();
        Change(kPositions, v1::CHART_ACTION_CREATE, name, {},
               absl::StrCat("create ", name, " (", cp.title(), ") in ", desired.department(), ", headcount ",
                            cp.headcount()));
        Do(kPositions, absl::StrCat("creating ", name), [id = cp.id(), created, day = day_](pg::Tx& tx) {
          return CreatePositionIn(tx, id, created, day, /*reuse_ended=*/true).status();
        });
        sets_line = !cp.reports_to_id().empty();
      } else {
        if (current->department() != desired.department()) {
          return FailedPrecondition(
              "POSITION_DEPARTMENT_FIXED",
              absl::StrCat(name, " belongs to ", current->department(), ", not ", desired.department(), " (at ",
                           ref.path, "); a position stays in its department: end it and create a new one"),
              {{"position", name}, {"department", current->department()}});
        }
        auto fields = Changed(*current, desired, kPositionCompared);
        if (fields.empty()) continue;
        Change(kPositions, v1::CHART_ACTION_UPDATE, name, fields,
               absl::StrCat("update ", name, ": ", absl::StrJoin(fields, ", ")));
        std::vector<std::string> paths;
        for (const auto& f : fields) {
          if (f != "reports_to") paths.push_back(f);
        }
        if (!paths.empty()) {
          Do(kPositions, absl::StrCat("updating ", name), [id = cp.id(), desired, paths, day = day_](pg::Tx& tx) {
            return UpdatePositionIn(tx, id, desired, paths, day).status();
          });
        }
        sets_line = paths.size() != fields.size();
      }
      if (sets_line) {
        int depth = 0;
        for (const v1::ChartPosition* up = &cp; !up->reports_to_id().empty() && depth < 1000; ++depth) {
          auto it = index_.position_at.find(up->reports_to_id());
          if (it == index_.position_at.end()) break;
          up = index_.positions[it->second].position;
        }
        reporting.emplace_back(depth, cp.id());
      }
    }
    // Top-down along the chart's lines, so that no step closes a loop the chart does not have.
    std::sort(reporting.begin(), reporting.end());
    for (const auto& entry : reporting) {
      const std::string id = entry.second;
      v1::Position line;
      line.set_name(aip::Name("positions", id));
      line.set_reports_to(OptionalName("positions", index_.positions[index_.position_at.at(id)].position->reports_to_id()));
      Do(kReportingLines, absl::StrCat("setting the reporting line of ", line.name()),
         [id, line, day = day_](pg::Tx& tx) { return UpdatePositionIn(tx, id, line, {"reports_to"}, day).status(); });
    }

    // Positions of chart departments that the chart does not list end.
    for (const auto& id : existing_departments_) {
      OPS_ASSIGN_OR_RETURN(auto positions, PositionStore::Query(tx_, "v.department_id = $2", day_, {id}, "", kMaxRows));
      for (auto& p : positions) {
        if (!index_.position_at.contains(Id(p.name()))) EndPosition(p, "not in the chart");
      }
    }
    return absl::OkStatus();
  }

  void EndPosition(const v1::Position& p, std::string why) {
    const std::string id = Id(p.name());
    if (ending_positions_.contains(id)) return;
    ending_positions_.emplace(id, std::make_pair(p, std::move(why)));
  }

  // Ends the positions collected above, those reporting to others first, with the
  // assignments to them.
  absl::Status PlanEndedPositions() {
    // The chart must not lean on what it ends.
    for (const auto& ref : index_.external) {
      if (ref.collection == "positions" && ending_positions_.contains(ref.id)) {
        return InvalidArgument(ref.path,
                               absl::StrCat("positions/", ref.id, " is not in the chart and the chart ends it (",
                                            ending_positions_.at(ref.id).second, ")"),
                               "UNKNOWN_REFERENCE");
      }
    }
    std::vector<std::pair<int, std::string>> order;
    for (const auto& [id, entry] : ending_positions_) {
      int depth = 0;
      for (auto it = ending_positions_.find(Id(entry.first.reports_to()));
           it != ending_positions_.end() && depth < 1000; it = ending_positions_.find(Id(it->second.first.reports_to()))) {
        ++depth;
      }
      order.emplace_back(-depth, id);
    }
    std::sort(order.begin(), order.end());
    for (const auto& entry : order) {
      const std::string id = entry.second;
      const auto& [p, why] = ending_positions_.at(id);
      OPS_ASSIGN_OR_RETURN(auto holders, org::ListAssignments(tx_, "", id, std::nullopt, "", kMaxRows));
      for (const auto& a : holders) {
        if (LastsBeyond(a.end_date(), day_)) EndAssignment(a, absl::StrCat(p.name(), " ends"));
      }
      Change(kEndPositions, v1::CHART_ACTION_END, p.name(), {},
             absl::StrCat("end ", p.name(), " (", p.title(), ") of ", p.department(), " on ", FormatDate(day_), ": ",
                          why));
      Do(kEndPositions, absl::StrCat("ending ", p.name()),
         [id, day = day_](pg::Tx& tx) { return DeletePositionIn(tx, id, day, ""); });
    }
    return absl::OkStatus();
  }

  // ---- Members and their assignments.
  absl::Status PlanMembers() {
    for (const auto& cm : chart_.members()) {
      const std::string name = aip::Name("members", cm.id());
      v1::Member desired;
      desired.set_name(name);
      desired.set_display_name(cm.display_name());
      *desired.mutable_development_directions() = cm.development_directions();
      desired.set_employment_start_date(cm.employment_start_date());
      OPS_ASSIGN_OR_RETURN(auto current, org::GetMember(tx_, cm.id(), false));
      if (!current) {
        v1::Member created = desired;
        created.clear_name();
        Change(kMembers, v1::CHART_ACTION_CREATE, name, {},
               absl::StrCat("create ", name, " (", cm.display_name(), "), employed from ", cm.employment_start_date()));
        Do(kMembers, absl::StrCat("creating ", name),
           [id = cm.id(), created](pg::Tx& tx) { return CreateMemberIn(tx, id, created).status(); });
      } else {
        auto fields = Changed(*current, desired, kMemberCompared);
        if (!fields.empty()) {
          Change(kMembers, v1::CHART_ACTION_UPDATE, name, fields,
                 absl::StrCat("update ", name, ": ", absl::StrJoin(fields, ", ")));
          Do(kMembers, absl::StrCat("updating ", name),
             [id = cm.id(), desired, fields](pg::Tx& tx) { return UpdateMemberIn(tx, id, desired, fields).status(); });
        }
      }
      OPS_RETURN_IF_ERROR(PlanAssignments(cm, current.has_value()));
    }
    return absl::OkStatus();
  }

  absl::Status PlanAssignments(const v1::ChartMember& cm, bool exists) {
    std::vector<v1::Assignment> held;
    if (exists) {
      OPS_ASSIGN_OR_RETURN(auto all, org::ListAssignments(tx_, cm.id(), "", std::nullopt, "", kMaxRows));
      for (auto& a : all) {
        if (LastsBeyond(a.end_date(), day_)) held.push_back(std::move(a));
      }
    }
    std::vector<bool> kept(held.size(), false);
    const CivilDay employed_from = DayOf(cm.employment_start_date(), day_);
    for (const auto& ca : cm.assignments()) {
      const std::string position = aip::Name("positions", ca.position_id());
      std::optional<size_t> same_post, same_kind;
      for (size_t i = 0; i < held.size(); ++i) {
        if (kept[i] || held[i].position() != position) continue;
        if (!same_post) same_post = i;
        if (held[i].kind() == ca.kind() && !same_kind) same_kind = i;
      }
      if (same_kind) {
        kept[*same_kind] = true;  // its start is history: a chart's start_date applies to new assignments
        continue;
      }
      if (same_post) {
        // Another kind: the old assignment ends (below) and a new one starts.
        if (DayOf(held[*same_post].start_date(), day_) < day_) {
          OPS_RETURN_IF_ERROR(CreateAssignment(cm, ca, std::max(day_, employed_from)));
          continue;
        }
      }
      OPS_RETURN_IF_ERROR(CreateAssignment(cm, ca, std::max(DayOf(ca.start_date(), day_), employed_from)));
    }
    for (size_t i = 0; i < held.size(); ++i) {
      if (!kept[i]) EndAssignment(held[i], "not in the chart");
    }
    return absl::OkStatus();
  }

  absl::Status CreateAssignment(const v1::ChartMember& cm, const v1::ChartAssignment& ca, CivilDay start) {
    std::string id = chart::DerivedId(cm.id(), ca.position_id());
    OPS_ASSIGN_OR_RETURN(bool taken, AssignmentIdUsed(id));
    if (taken) {
      id = chart::DerivedId(id, absl::FormatCivilTime(start));
      OPS_ASSIGN_OR_RETURN(taken, AssignmentIdUsed(id));
      if (taken) id = aip::NewId();
    }
    planned_assignment_ids_.insert(id);
    const std::string name = aip::Name("assignments", id);
    Change(kCreateAssignments, v1::CHART_ACTION_CREATE, name, {},
           absl::StrCat("assign members/", cm.id(), " to positions/", ca.position_id(), " (", KindLabel(ca.kind()),
                        ") from ", FormatDate(start)));
    NewAssignment a{id, cm.id(), ca.position_id(), ca.kind(), start, std::nullopt};
    Do(kCreateAssignments, absl::StrCat("creating ", name), [a](pg::Tx& tx) { return AssignMemberIn(tx, a).status(); });
    return absl::OkStatus();
  }

  absl::StatusOr<bool> AssignmentIdUsed(const std::string& id) {
    if (planned_assignment_ids_.contains(id)) return true;
    return chart::AssignmentIdTaken(tx_, id);
  }

  void EndAssignment(const v1::Assignment& a, absl::string_view why) {
    if (!ended_assignments_.insert(a.name()).second) return;
    const bool started = DayOf(a.start_date(), day_) < day_;
    Change(kEndAssignments, v1::CHART_ACTION_END, a.name(), {},
           started ? absl::StrCat("end ", a.name(), " (", a.member(), " in ", a.position(), ") on ", FormatDate(day_),
                                  ": ", why)
                   : absl::StrCat("take back ", a.name(), " (", a.member(), " in ", a.position(), " from ",
                                  a.start_date(), "), which has not started: ", why));
    Do(kEndAssignments, absl::StrCat("ending ", a.name()), [a, started, day = day_](pg::Tx& tx) -> absl::Status {
      if (started) return EndAssignmentIn(tx, Id(a.name()), day, "").status();
      return chart::CancelAssignment(tx, a, day);
    });
  }

  // ---- Staffing plans.
  absl::Status PlanStaffing() {
    std::vector<std::string> ids;
    for (const auto& ref : index_.positions) ids.push_back(ref.position->id());
    OPS_ASSIGN_OR_RETURN(auto plans, chart::LoadPlans(tx_, ids));
    std::map<std::pair<std::string, std::string>, chart::Plan> by_key;
    for (auto& p : plans) by_key[{p.position_id, p.phase_id}] = std::move(p);
    absl::flat_hash_set<std::string> planned_ids;
    for (const auto& ref : index_.positions) {
      const auto& cp = *ref.position;
      absl::flat_hash_set<std::string> chart_phases;
      for (const auto& s : cp.staffing()) chart_phases.insert(s.phase_id());
      // Every plan of a position uses one currency, also those the chart does not list.
      for (const auto& [key, p] : by_key) {
        if (key.first != cp.id() || chart_phases.contains(key.second) || cp.staffing().empty()) continue;
        const auto& currency = p.plan.monthly_cost_per_seat().currency_code();
        if (currency != cp.staffing(0).monthly_cost_per_seat().currency_code()) {
          return FailedPrecondition("CURRENCY_MISMATCH",
                                    absl::StrCat("the plan of positions/", cp.id(), " in phases/", key.second,
                                                 " is in ", currency, "; every plan of a position uses one currency"),
                                    {{"position", aip::Name("positions", cp.id())}, {"currency", currency}});
        }
      }
      for (const auto& s : cp.staffing()) {
        v1::StaffingPlan desired;
        desired.set_planned_seats(s.planned_seats());
        desired.set_from_date(s.from_date());
        *desired.mutable_monthly_cost_per_seat() = s.monthly_cost_per_seat();
        const std::string what =
            absl::StrCat("the plan of positions/", cp.id(), " in phases/", s.phase_id(), ": ", s.planned_seats(),
                         " seats from ", s.from_date());
        auto it = by_key.find({cp.id(), s.phase_id()});
        if (it == by_key.end()) {
          std::string id = chart::DerivedId(cp.id(), s.phase_id());
          OPS_ASSIGN_OR_RETURN(bool taken, chart::PlanIdTaken(tx_, id));
          if (taken || planned_ids.contains(id)) id = aip::NewId();
          planned_ids.insert(id);
          Change(kStaffing, v1::CHART_ACTION_CREATE, aip::Name("staffingPlans", id), {}, "create " + what);
          Do(kStaffing, "creating " + what,
             [id, position = cp.id(), phase = s.phase_id(), desired, dept = ref.department_id](pg::Tx& tx) {
               return chart::WritePlan(tx, nullptr, id, position, phase, desired, dept);
             });
          continue;
        }
        const chart::Plan before = it->second;
        auto fields = Changed(before.plan, desired, kPlanCompared);
        if (fields.empty()) continue;
        Change(kStaffing, v1::CHART_ACTION_UPDATE, before.plan.name(), fields,
               absl::StrCat("update ", what, " (", absl::StrJoin(fields, ", "), ")"));
        Do(kStaffing, "updating " + what, [before, desired, dept = ref.department_id](pg::Tx& tx) {
          return chart::WritePlan(tx, &before, before.id, before.position_id, before.phase_id, desired, dept);
        });
      }
    }
    return absl::OkStatus();
  }

  // ---- Project groups and memberships.
  absl::Status PlanGroups() {
    for (const auto& cg : chart_.project_groups()) {
      const std::string name = aip::Name("projectGroups", cg.id());
      v1::ProjectGroup desired;
      desired.set_display_name(cg.display_name());
      desired.set_description(cg.description());
      desired.set_owner(aip::Name("members", cg.owner_member_id()));
      OPS_ASSIGN_OR_RETURN(auto versions, chart::LoadGroup(tx_, cg.id(), false));
      const v1::ProjectGroup* current = nullptr;
      if (versions) {
        for (const auto& v : *versions) {
          if (v.from <= day_ && (!v.to || *v.to > day_)) current = &v.data;
        }
      }
      if (!current) {
        Change(kGroups, v1::CHART_ACTION_CREATE, name, {},
               absl::StrCat("create ", name, " (", cg.display_name(), ") owned by ", desired.owner()));
        Do(kGroups, absl::StrCat("creating ", name), [this, id = cg.id(), desired](pg::Tx& tx) -> absl::Status {
          OPS_ASSIGN_OR_RETURN(auto loaded, chart::LoadGroup(tx, id, true));
          std::vector<Version<v1::ProjectGroup>> all;
          if (!loaded) {
            OPS_RETURN_IF_ERROR(chart::CreateGroupHead(tx, id));
          } else {
            all = std::move(*loaded);
            if (!all.empty() && (!all.back().to || *all.back().to > day_)) {
              return FailedPrecondition("NOT_IN_EFFECT",
                                        absl::StrCat("projectGroups/", id, " exists, but not on ", FormatDate(day_)));
            }
          }
          OPS_RETURN_IF_ERROR(CheckOwner(tx, desired));
          all.push_back({day_, std::nullopt, desired});
          return chart::SaveGroup(tx, id, all);
        });
      } else {
        auto fields = Changed(*current, desired, kGroupCompared);
        if (!fields.empty()) {
          Change(kGroups, v1::CHART_ACTION_UPDATE, name, fields,
                 absl::StrCat("update ", name, ": ", absl::StrJoin(fields, ", ")));
          Do(kGroups, absl::StrCat("updating ", name), [this, id = cg.id(), desired, fields](pg::Tx& tx) -> absl::Status {
            OPS_ASSIGN_OR_RETURN(auto loaded, chart::LoadGroup(tx, id, true));
            if (!loaded) return NotFound(aip::Name("projectGroups", id));
            auto all = std::move(*loaded);
            const bool ok = ChangeFrom(all, day_, [&](v1::ProjectGroup& v) {
              for (const auto& f : fields) {
                if (f == "display_name") v.set_display_name(desired.display_name());
                if (f == "description") v.set_description(desired.description());
                if (f == "owner") v.set_owner(desired.owner());
              }
            });
            if (!ok) return FailedPrecondition("NOT_IN_EFFECT", absl::StrCat("projectGroups/", id, " does not exist on ",
                                                                             FormatDate(day_)));
            if (std::count(fields.begin(), fields.end(), "owner")) OPS_RETURN_IF_ERROR(CheckOwner(tx, desired));
            return chart::SaveGroup(tx, id, all);
          });
        }
      }
      OPS_RETURN_IF_ERROR(PlanMemberships(cg, versions.has_value()));
    }
    return absl::OkStatus();
  }

  absl::Status CheckOwner(pg::Tx& tx, const v1::ProjectGroup& g) const {
    OPS_ASSIGN_OR_RETURN(auto owner, org::GetMember(tx, Id(g.owner()), true));
    if (!owner) return NotFound(g.owner());
    CivilDay start;
    const bool employed = absl::ParseCivilTime(owner->employment_start_date(), &start) && start <= day_ &&
                          (owner->employment_end_date().empty() || owner->employment_end_date() > FormatDate(day_));
    if (!employed) return OutsideEmployment(*owner, absl::StrCat("the owner must be employed on ", FormatDate(day_)));
    return absl::OkStatus();
  }

  // The first day `member_id` is employed: from the chart, else from the database.
  CivilDay EmployedFromOf(const std::string& member_id) const {
    if (auto it = index_.member_at.find(member_id); it != index_.member_at.end()) {
      return DayOf(chart_.members(it->second).employment_start_date(), day_);
    }
    if (auto it = external_members_.find(member_id); it != external_members_.end()) {
      return DayOf(it->second.employment_start_date(), day_);
    }
    return day_;
  }

  absl::Status PlanMemberships(const v1::ChartProjectGroup& cg, bool exists) {
    std::vector<v1::GroupMembership> held;
    if (exists) {
      OPS_ASSIGN_OR_RETURN(held, chart::LoadMemberships(tx_, cg.id(), day_));
    }
    std::vector<bool> kept(held.size(), false);
    absl::flat_hash_set<std::string> planned_ids;
    std::vector<Action> creates;
    for (const auto& gm : cg.members()) {
      const std::string member = aip::Name("members", gm.member_id());
      std::optional<size_t> match;
      for (size_t i = 0; i < held.size() && !match; ++i) {
        if (!kept[i] && held[i].member() == member) match = i;
      }
      if (match) {
        kept[*match] = true;
        if (held[*match].role() == gm.role()) continue;
        const v1::GroupMembership before = held[*match];
        Change(kMemberships, v1::CHART_ACTION_UPDATE, before.name(), {"role"},
               absl::StrCat("update ", before.name(), ": role ", before.role(), " -> ", gm.role()));
        Do(kMemberships, absl::StrCat("updating ", before.name()),
           [before, role = gm.role()](pg::Tx& tx) { return chart::SetMembershipRole(tx, before, role); });
        continue;
      }
      const CivilDay start = std::max(DayOf(gm.start_date(), day_), EmployedFromOf(gm.member_id()));
      std::string id = gm.member_id();
      OPS_ASSIGN_OR_RETURN(bool taken, chart::MembershipIdTaken(tx_, cg.id(), id));
      if (taken || planned_ids.contains(id)) {
        id = chart::DerivedId(id, absl::FormatCivilTime(start));
        OPS_ASSIGN_OR_RETURN(taken, chart::MembershipIdTaken(tx_, cg.id(), id));
        if (taken || planned_ids.contains(id)) id = aip::NewId();
      }
      planned_ids.insert(id);
      const std::string name = absl::StrCat("projectGroups/", cg.id(), "/memberships/", id);
      Change(kMemberships, v1::CHART_ACTION_CREATE, name, {},
             absl::StrCat("add ", member, " to projectGroups/", cg.id(), " as ", gm.role(), " from ", FormatDate(start)));
      creates.push_back({absl::StrCat("creating ", name),
                         [group = cg.id(), id, member_id = gm.member_id(), role = gm.role(), start](pg::Tx& tx) -> absl::Status {
                           OPS_ASSIGN_OR_RETURN(auto m, org::GetMember(tx, member_id, true));
                           if (!m) return NotFound(aip::Name("members", member_id));
                           if (!EmployedFrom(*m, start)) {
                             return OutsideEmployment(*m, "the membership must lie within that");
                           }
                           OPS_ASSIGN_OR_RETURN(auto versions, chart::LoadGroup(tx, group, true));
                           const bool in_effect =
                               versions && std::any_of(versions->begin(), versions->end(), [&](const auto& v) {
                                 return v.from <= start && (!v.to || *v.to > start);
                               });
                           if (!in_effect) {
                             return FailedPrecondition("NOT_IN_EFFECT", absl::StrCat("projectGroups/", group,
                                                                                     " does not exist on ",
                                                                                     FormatDate(start)));
                           }
                           return chart::InsertMembership(tx, group, id, member_id, role, start);
                         }});
    }
    for (size_t i = 0; i < held.size(); ++i) {
      if (kept[i]) continue;
      const v1::GroupMembership before = held[i];
      const bool started = DayOf(before.start_date(), day_) < day_;
      Change(kMemberships, v1::CHART_ACTION_END, before.name(), {},
             started ? absl::StrCat("end ", before.name(), " (", before.member(), ") on ", FormatDate(day_))
                     : absl::StrCat("take back ", before.name(), " (", before.member(), " from ", before.start_date(),
                                    "), which has not started"));
      Do(kMemberships, absl::StrCat("ending ", before.name()),
         [before, day = day_](pg::Tx& tx) { return chart::EndMembership(tx, before, day); });
    }
    for (auto& c : creates) actions_[kMemberships].push_back(std::move(c));
    return absl::OkStatus();
  }

  pg::Tx& tx_;
  const v1::OrgChart& chart_;
  const ChartIndex& index_;
  const CivilDay day_;

  std::map<std::string, v1::Phase> phases_;
  std::map<std::string, v1::Member> external_members_;
  std::vector<std::string> existing_departments_;  // chart departments in force on the day
  std::vector<std::string> subtree_roots_;         // those whose subtrees cover all the others'
  std::map<std::string, std::pair<v1::Position, std::string>> ending_positions_;  // id -> (position, why)
  std::set<std::string> ended_assignments_;
  absl::flat_hash_set<std::string> planned_assignment_ids_;

  std::array<std::vector<v1::PlannedChange>, kStageCount> changes_;
  std::array<std::vector<Action>, kStageCount> actions_;
};

// ---- Export ---------------------------------------------------------------------------

class ChartExport {
 public:
  ChartExport(pg::Tx& tx, CivilDay day) : tx_(tx), day_(day) {}

  absl::Status Run(const std::string& root_id, const std::string& root_name, v1::OrgChart* out) {
    out->set_effective_date(FormatDate(day_));
    std::vector<v1::Department> departments;
    if (!root_id.empty()) {
      OPS_ASSIGN_OR_RETURN(auto root, DepartmentStore::Get(tx_, root_id, day_));
      if (!root) return NotFound(root_name);
      OPS_ASSIGN_OR_RETURN(departments, ListDepartmentSubtree(tx_, root_id, 0, day_, "", kMaxRows));
      departments.insert(departments.begin(), std::move(*root));
    } else {
      OPS_ASSIGN_OR_RETURN(departments, ListDepartmentSubtree(tx_, "", 0, day_, "", kMaxRows));
    }
    absl::flat_hash_set<std::string> exported;
    for (const auto& d : departments) exported.insert(Id(d.name()));
    std::vector<const v1::Department*> tops;
    for (const auto& d : departments) {
      if (Id(d.name()) == root_id || (root_id.empty() && d.parent().empty())) {
        tops.push_back(&d);
      } else if (exported.contains(Id(d.parent()))) {
        children_[Id(d.parent())].push_back(&d);
      }
    }

    OPS_ASSIGN_OR_RETURN(auto positions, PositionStore::Query(tx_, "", day_, {}, "", kMaxRows));
    std::vector<std::string> position_ids;
    for (auto& p : positions) {
      if (!exported.contains(Id(p.department()))) continue;
      position_ids.push_back(Id(p.name()));
      positions_[Id(p.department())].push_back(std::move(p));
    }
    OPS_ASSIGN_OR_RETURN(auto plans, chart::LoadPlans(tx_, position_ids));
    for (auto& p : plans) plans_[p.position_id].push_back(std::move(p));

    OPS_ASSIGN_OR_RETURN(auto phases, chart::LoadPhases(tx_));
    for (const auto& p : phases) {
      auto* cp = out->add_phases();
      cp->set_id(Id(p.name()));
      cp->set_display_name(p.display_name());
      cp->set_ordinal(p.ordinal());
      cp->set_description(p.description());
    }
    for (const auto* d : tops) Department(*d, out->add_departments());
    if (tops.size() == 1) out->set_title(tops.front()->display_name());

    OPS_RETURN_IF_ERROR(Members(root_id, position_ids, out));
    return Groups(root_id, out);
  }

 private:
  void Department(const v1::Department& d, v1::ChartDepartment* out) {
    const std::string id = Id(d.name());
    out->set_id(id);
    out->set_display_name(d.display_name());
    out->set_kind(d.kind());
    out->set_description(d.description());
    out->set_lead_position_id(Id(d.lead_position()));
    for (const auto& p : positions_[id]) {
      auto* cp = out->add_positions();
      cp->set_id(Id(p.name()));
      cp->set_title(p.title());
      cp->set_grade(p.grade());
      *cp->mutable_responsibilities() = p.responsibilities();
      *cp->mutable_requirements() = p.requirements();
      *cp->mutable_work_standards() = p.work_standards();
      *cp->mutable_authorities() = p.authorities();
      cp->set_headcount(p.headcount());
      cp->set_reports_to_id(Id(p.reports_to()));
      cp->set_introduction_phase(p.introduction_phase());
      for (const auto& plan : plans_[cp->id()]) {
        auto* s = cp->add_staffing();
        s->set_phase_id(plan.phase_id);
        s->set_planned_seats(plan.plan.planned_seats());
        s->set_from_date(plan.plan.from_date());
        *s->mutable_monthly_cost_per_seat() = plan.plan.monthly_cost_per_seat();
      }
    }
    for (const auto* child : children_[id]) Department(*child, out->add_children());
  }

  // A start on or before the day is simply "in force": written only when it lies ahead.
  std::string StartText(const std::string& start) const { return start > FormatDate(day_) ? start : std::string(); }

  absl::Status Members(const std::string& root_id, const std::vector<std::string>& position_ids, v1::OrgChart* out) {
    std::vector<v1::Member> members;
    if (root_id.empty()) {
      OPS_ASSIGN_OR_RETURN(members, org::ListMembers(tx_, "", kMaxRows));
      members.erase(std::remove_if(members.begin(), members.end(),
                                   [&](const v1::Member& m) { return !LastsBeyond(m.employment_end_date(), day_); }),
                    members.end());
    } else {
      std::set<std::string> ids;
      for (const auto& p : position_ids) {
        OPS_ASSIGN_OR_RETURN(auto holders, org::ListAssignments(tx_, "", p, std::nullopt, "", kMaxRows));
        for (const auto& a : holders) {
          if (LastsBeyond(a.end_date(), day_)) ids.insert(Id(a.member()));
        }
      }
      for (const auto& id : ids) {
        OPS_ASSIGN_OR_RETURN(auto m, org::GetMember(tx_, id, false));
        if (m) members.push_back(std::move(*m));
      }
    }
    for (const auto& m : members) {
      exported_members_.insert(Id(m.name()));
      auto* cm = out->add_members();
      cm->set_id(Id(m.name()));
      cm->set_display_name(m.display_name());
      *cm->mutable_development_directions() = m.development_directions();
      cm->set_employment_start_date(m.employment_start_date());
      OPS_ASSIGN_OR_RETURN(auto all, org::ListAssignments(tx_, cm->id(), "", std::nullopt, "", kMaxRows));
      std::vector<v1::Assignment> held;
      for (auto& a : all) {
        if (LastsBeyond(a.end_date(), day_)) held.push_back(std::move(a));
      }
      std::sort(held.begin(), held.end(), [](const v1::Assignment& a, const v1::Assignment& b) {
        return std::make_tuple(a.kind(), a.start_date(), a.position()) <
               std::make_tuple(b.kind(), b.start_date(), b.position());
      });
      for (const auto& a : held) {
        auto* ca = cm->add_assignments();
        ca->set_position_id(Id(a.position()));
        ca->set_kind(a.kind());
        ca->set_start_date(StartText(a.start_date()));
      }
    }
    return absl::OkStatus();
  }

  absl::Status Groups(const std::string& root_id, v1::OrgChart* out) {
    OPS_ASSIGN_OR_RETURN(auto ids, chart::GroupsOn(tx_, day_));
    for (const auto& id : ids) {
      OPS_ASSIGN_OR_RETURN(auto versions, chart::LoadGroup(tx_, id, false));
      if (!versions) continue;
      const v1::ProjectGroup* g = nullptr;
      for (const auto& v : *versions) {
        if (v.from <= day_ && (!v.to || *v.to > day_)) g = &v.data;
      }
      if (!g) continue;
      OPS_ASSIGN_OR_RETURN(auto memberships, chart::LoadMemberships(tx_, id, day_));
      if (!root_id.empty()) {
        // With a root: the groups that involve someone exported.
        bool involved = exported_members_.contains(Id(g->owner()));
        for (const auto& m : memberships) involved = involved || exported_members_.contains(Id(m.member()));
        if (!involved) continue;
      }
      std::sort(memberships.begin(), memberships.end(), [](const auto& a, const auto& b) {
        return std::make_pair(a.member(), a.start_date()) < std::make_pair(b.member(), b.start_date());
      });
      auto* cg = out->add_project_groups();
      cg->set_id(id);
      cg->set_display_name(g->display_name());
      cg->set_description(g->description());
      cg->set_owner_member_id(Id(g->owner()));
      for (const auto& m : memberships) {
        auto* gm = cg->add_members();
        gm->set_member_id(Id(m.member()));
        gm->set_role(m.role());
        gm->set_start_date(StartText(m.start_date()));
      }
    }
    return absl::OkStatus();
  }

  pg::Tx& tx_;
  const CivilDay day_;
  absl::flat_hash_map<std::string, std::vector<const v1::Department*>> children_;
  absl::flat_hash_map<std::string, std::vector<v1::Position>> positions_;
  absl::flat_hash_map<std::string, std::vector<chart::Plan>> plans_;
  absl::flat_hash_set<std::string> exported_members_;
};

}  // namespace

absl::Status OrgLogic::ApplyOrgChart(const v1::ApplyOrgChartRequest& req, v1::ApplyOrgChartResponse* resp) {
  if (!req.has_chart()) return InvalidArgument("chart", "is required");
  OPS_RETURN_IF_ERROR(aip::ValidateRequestId(req.request_id()));
  OPS_ASSIGN_OR_RETURN(ChartIndex index, chart::IndexChart(req.chart()));
  bool planned = false;
  auto body = [&](pg::Tx& tx) -> absl::Status {
    // Dated changes take effect on the chart's day, and are recorded as this method's.
    ScopedWrite scope({kMethod, index.day});
    resp->Clear();
    ChartApply apply(tx, req.chart(), index);
    OPS_RETURN_IF_ERROR(apply.Plan());
    for (auto& c : apply.Changes()) *resp->add_changes() = std::move(c);
    OPS_RETURN_IF_ERROR(apply.Execute());
    resp->set_applied(!req.dry_run() && resp->changes_size() > 0);
    if (resp->applied()) AddChartAppliedEvent(req.chart(), index.day, *resp);
    planned = true;
    return absl::OkStatus();
  };
  if (!req.dry_run()) return Write(kMethod, req, req.request_id(), resp, body);
  // A dry run makes the changes too, so that it meets every rule the apply would, and then
  // rolls them back.
  absl::Status s = pg::RunInTransaction(pool_, {}, [&](pg::Tx& tx) -> absl::Status {
    planned = false;
    OPS_RETURN_IF_ERROR(body(tx));
    return absl::CancelledError("dry run: rolled back");
  });
  if (planned && s.code() == absl::StatusCode::kCancelled) return absl::OkStatus();
  return s;
}

absl::Status OrgLogic::ExportOrgChart(const v1::ExportOrgChartRequest& req, v1::ExportOrgChartResponse* resp) {
  std::string root_id;
  if (!req.root().empty()) {
    OPS_ASSIGN_OR_RETURN(root_id, aip::ParseName(req.root(), "departments", "root"));
  }
  OPS_ASSIGN_OR_RETURN(CivilDay day, aip::ParseDate(req.as_of(), "as_of"));
  return Read([&](pg::Tx& tx) -> absl::Status {
    resp->Clear();
    return ChartExport(tx, day).Run(root_id, req.root(), resp->mutable_chart());
  });
}

}  // namespace opsteam::org
