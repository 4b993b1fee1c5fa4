#include "services/org/chart_plan.h"

#include <algorithm>
#include <cstdint>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "libs/aip/aip.h"
#include "libs/status/macros.h"
#include "libs/status/status.h"
#include "services/org/validation.h"

namespace opsteam::org::chart {
namespace {

constexpr size_t kMaxTitle = 200;
constexpr size_t kMaxText = 2000;
constexpr size_t kMaxRole = 50;
constexpr int32_t kMaxSeats = 100000;
constexpr int64_t kMaxCostMinor = 1000000000000;  // as SetStaffingPlan
constexpr size_t kMaxIdLength = 63;

const std::vector<std::string> kDepartmentChartFields = {"display_name", "kind", "description"};
const std::vector<std::string> kPositionChartFields = {"title",          "grade",       "responsibilities",
                                                       "requirements",   "work_standards", "authorities",
                                                       "headcount",      "introduction_phase"};
const std::vector<std::string> kMemberChartFields = {"display_name", "development_directions",
                                                     "employment_start_date"};


absl::Status OptionalDate(const std::string& text, const std::string& field) {
  if (text.empty()) return absl::OkStatus();
  return aip::ParseDate(text, field).status();
}

// Records `id` under `path`; INVALID_ARGUMENT when it is not an id or was seen before.
template <typename Map, typename Index>
absl::Status Unique(Map& seen, const std::string& id, Index at, const std::string& path, absl::string_view kind) {
  OPS_RETURN_IF_ERROR(aip::ValidateId(id, path));
  if (!seen.emplace(id, at).second) {
    return InvalidArgument(path, absl::StrCat(kind, " id \"", id, "\" appears twice in the chart"), "DUPLICATE_ID");
  }
  return absl::OkStatus();
}

class Indexer {
 public:
  explicit Indexer(const v1::OrgChart& chart) : chart_(chart) {}

  absl::StatusOr<ChartIndex> Run() {
    OPS_RETURN_IF_ERROR(ValidateText(chart_.title(), "chart.title", kMaxTitle, false));
    OPS_ASSIGN_OR_RETURN(index_.day, aip::ParseDate(chart_.effective_date(), "chart.effective_date"));
    for (int i = 0; i < chart_.phases_size(); ++i) OPS_RETURN_IF_ERROR(Phase(i));
    for (int i = 0; i < chart_.departments_size(); ++i) {
      OPS_RETURN_IF_ERROR(Department(chart_.departments(i), absl::StrCat("chart.departments[", i, "]"), ""));
    }
    for (int i = 0; i < chart_.members_size(); ++i) {
      OPS_RETURN_IF_ERROR(Unique(index_.member_at, chart_.members(i).id(), i,
                                 absl::StrCat("chart.members[", i, "].id"), "member"));
    }
    for (int i = 0; i < chart_.project_groups_size(); ++i) {
      OPS_RETURN_IF_ERROR(Unique(index_.group_at, chart_.project_groups(i).id(), i,
                                 absl::StrCat("chart.project_groups[", i, "].id"), "project group"));
    }
    // With every id known, the fields and references.
    for (const auto& d : index_.departments) OPS_RETURN_IF_ERROR(DepartmentFields(d));
    for (const auto& p : index_.positions) OPS_RETURN_IF_ERROR(PositionFields(p));
    OPS_RETURN_IF_ERROR(ReportingCycles());
    for (int i = 0; i < chart_.members_size(); ++i) OPS_RETURN_IF_ERROR(Member(i));
    for (int i = 0; i < chart_.project_groups_size(); ++i) OPS_RETURN_IF_ERROR(Group(i));
    return std::move(index_);
  }

 private:
  absl::Status Phase(int i) {
    const auto& p = chart_.phases(i);
    const std::string path = absl::StrCat("chart.phases[", i, "]");
    OPS_RETURN_IF_ERROR(Unique(index_.phase_at, p.id(), i, path + ".id", "phase"));
    OPS_RETURN_IF_ERROR(ValidateText(p.display_name(), path + ".display_name", kMaxTitle, true));
    if (p.ordinal() <= 0) return InvalidArgument(path + ".ordinal", "must be positive (1, 2, ...)");
    if (!ordinals_.insert(p.ordinal()).second) {
      return InvalidArgument(path + ".ordinal", absl::StrCat("ordinal ", p.ordinal(), " is used twice in the chart"));
    }
    return ValidateText(p.description(), path + ".description", kMaxText, false);
  }

  absl::Status Department(const v1::ChartDepartment& d, const std::string& path, const std::string& parent_id) {
    OPS_RETURN_IF_ERROR(Unique(index_.department_at, d.id(), index_.departments.size(), path + ".id", "department"));
    index_.departments.push_back({&d, path, parent_id});
    for (int k = 0; k < d.positions_size(); ++k) {
      const std::string at = absl::StrCat(path, ".positions[", k, "]");
      OPS_RETURN_IF_ERROR(Unique(index_.position_at, d.positions(k).id(), index_.positions.size(), at + ".id",
                                 "position"));
      index_.positions.push_back({&d.positions(k), at, d.id()});
    }
    for (int c = 0; c < d.children_size(); ++c) {
      OPS_RETURN_IF_ERROR(Department(d.children(c), absl::StrCat(path, ".children[", c, "]"), d.id()));
    }
    return absl::OkStatus();
  }

  absl::Status DepartmentFields(const ChartDepartmentRef& ref) {
    const auto& d = *ref.department;
    v1::Department as_resource;
    as_resource.set_display_name(d.display_name());
    as_resource.set_kind(d.kind());
    as_resource.set_description(d.description());
    OPS_RETURN_IF_ERROR(ValidateDepartment(as_resource, ref.path, kDepartmentChartFields));
    if (!d.lead_position_id().empty()) {
      const bool own = std::any_of(d.positions().begin(), d.positions().end(),
                                   [&](const auto& p) { return p.id() == d.lead_position_id(); });
      if (!own) {
        return InvalidArgument(ref.path + ".lead_position_id",
                               absl::StrCat("\"", d.lead_position_id(), "\" is not one of the department's positions"),
                               "LEAD_NOT_IN_DEPARTMENT");
      }
    }
    return absl::OkStatus();
  }

  absl::Status PositionFields(const ChartPositionRef& ref) {
    const auto& p = *ref.position;
    v1::Position as_resource;
    as_resource.set_title(p.title());
    as_resource.set_grade(p.grade());
    *as_resource.mutable_responsibilities() = p.responsibilities();
    *as_resource.mutable_requirements() = p.requirements();
    *as_resource.mutable_work_standards() = p.work_standards();
    *as_resource.mutable_authorities() = p.authorities();
    as_resource.set_headcount(p.headcount());
    as_resource.set_introduction_phase(p.introduction_phase());
    OPS_RETURN_IF_ERROR(ValidatePosition(as_resource, ref.path, kPositionChartFields));
    if (!p.reports_to_id().empty()) {
      const std::string field = ref.path + ".reports_to_id";
      OPS_RETURN_IF_ERROR(aip::ValidateId(p.reports_to_id(), field));
      if (p.reports_to_id() == p.id()) return InvalidArgument(field, "a position cannot report to itself");
      if (!index_.position_at.contains(p.reports_to_id())) {
        index_.external.push_back({"positions", p.reports_to_id(), field});
      }
    }
    absl::flat_hash_set<std::string> phases;
    std::string currency;
    for (int s = 0; s < p.staffing_size(); ++s) {
      const auto& plan = p.staffing(s);
      const std::string at = absl::StrCat(ref.path, ".staffing[", s, "]");
      OPS_RETURN_IF_ERROR(aip::ValidateId(plan.phase_id(), at + ".phase_id"));
      if (!phases.insert(plan.phase_id()).second) {
        return InvalidArgument(at + ".phase_id", absl::StrCat("phase \"", plan.phase_id(), "\" is planned twice"));
      }
      if (!index_.phase_at.contains(plan.phase_id())) index_.external.push_back({"phases", plan.phase_id(), at + ".phase_id"});
      if (plan.planned_seats() < 0) return InvalidArgument(at + ".planned_seats", "must not be negative");
      if (plan.planned_seats() > kMaxSeats) {
        return InvalidArgument(at + ".planned_seats", absl::StrCat("must be at most ", kMaxSeats));
      }
      if (plan.from_date().empty()) return InvalidArgument(at + ".from_date", "is required");
      OPS_RETURN_IF_ERROR(aip::ParseDate(plan.from_date(), at + ".from_date").status());
      if (!plan.has_monthly_cost_per_seat()) return InvalidArgument(at + ".monthly_cost_per_seat", "is required");
      OPS_RETURN_IF_ERROR(ValidateMoney(plan.monthly_cost_per_seat(), at + ".monthly_cost_per_seat", 0,
                                        kMaxCostMinor));
      const auto& c = plan.monthly_cost_per_seat().currency_code();
      if (currency.empty()) currency = c;
      if (c != currency) {
        return InvalidArgument(at + ".monthly_cost_per_seat.currency_code",
                               absl::StrCat("every plan of a position uses one currency; the first is ", currency));
      }
    }
    return absl::OkStatus();
  }

  // Reporting lines inside the chart must end somewhere.
  absl::Status ReportingCycles() {
    for (const auto& start : index_.positions) {
      absl::flat_hash_set<std::string> seen = {start.position->id()};
      const v1::ChartPosition* cur = start.position;
      while (!cur->reports_to_id().empty()) {
        auto it = index_.position_at.find(cur->reports_to_id());
        if (it == index_.position_at.end()) break;
        cur = index_.positions[it->second].position;
        if (cur == start.position) {
          return InvalidArgument(start.path + ".reports_to_id",
                                 absl::StrCat("positions/", start.position->id(), " reports (indirectly) to itself"),
                                 "REPORTING_CYCLE");
        }
        if (!seen.insert(cur->id()).second) break;  // a cycle further up, reported from there
      }
    }
    return absl::OkStatus();
  }

  absl::Status Member(int i) {
    const auto& m = chart_.members(i);
    const std::string path = absl::StrCat("chart.members[", i, "]");
    v1::Member as_resource;
    as_resource.set_display_name(m.display_name());
    *as_resource.mutable_development_directions() = m.development_directions();
    as_resource.set_employment_start_date(m.employment_start_date());
    OPS_RETURN_IF_ERROR(ValidateMember(as_resource, path, kMemberChartFields));
    absl::flat_hash_set<std::string> posts;
    int primaries = 0;
    for (int j = 0; j < m.assignments_size(); ++j) {
      const auto& a = m.assignments(j);
      const std::string at = absl::StrCat(path, ".assignments[", j, "]");
      OPS_RETURN_IF_ERROR(aip::ValidateId(a.position_id(), at + ".position_id"));
      if (!posts.insert(a.position_id()).second) {
        return InvalidArgument(at + ".position_id", absl::StrCat("positions/", a.position_id(), " is assigned twice"));
      }
      if (!index_.position_at.contains(a.position_id())) {
        index_.external.push_back({"positions", a.position_id(), at + ".position_id"});
      }
      if (!v1::AssignmentKind_IsValid(a.kind())) {
        return InvalidArgument(at + ".kind", absl::StrCat("unknown value ", static_cast<int>(a.kind())));
      }
      if (a.kind() == v1::ASSIGNMENT_KIND_UNSPECIFIED) return InvalidArgument(at + ".kind", "is required");
      if (a.kind() == v1::ASSIGNMENT_KIND_PRIMARY && ++primaries > 1) {
        return InvalidArgument(at + ".kind", "a member has at most one primary post");
      }
      OPS_RETURN_IF_ERROR(OptionalDate(a.start_date(), at + ".start_date"));
    }
    return absl::OkStatus();
  }

  absl::Status Group(int i) {
    const auto& g = chart_.project_groups(i);
    const std::string path = absl::StrCat("chart.project_groups[", i, "]");
    OPS_RETURN_IF_ERROR(ValidateText(g.display_name(), path + ".display_name", kMaxTitle, true));
    OPS_RETURN_IF_ERROR(ValidateText(g.description(), path + ".description", kMaxText, false));
    if (g.owner_member_id().empty()) return InvalidArgument(path + ".owner_member_id", "is required");
    OPS_RETURN_IF_ERROR(MemberRef(g.owner_member_id(), path + ".owner_member_id"));
    absl::flat_hash_set<std::string> seen;
    for (int j = 0; j < g.members_size(); ++j) {
      const auto& m = g.members(j);
      const std::string at = absl::StrCat(path, ".members[", j, "]");
      OPS_RETURN_IF_ERROR(MemberRef(m.member_id(), at + ".member_id"));
      if (!seen.insert(m.member_id()).second) {
        return InvalidArgument(at + ".member_id", absl::StrCat("members/", m.member_id(), " is listed twice"));
      }
      OPS_RETURN_IF_ERROR(ValidateText(m.role(), at + ".role", kMaxRole, true));
      OPS_RETURN_IF_ERROR(OptionalDate(m.start_date(), at + ".start_date"));
    }
    return absl::OkStatus();
  }

  absl::Status MemberRef(const std::string& id, const std::string& field) {
    OPS_RETURN_IF_ERROR(aip::ValidateId(id, field));
    if (!index_.member_at.contains(id)) index_.external.push_back({"members", id, field});
    return absl::OkStatus();
  }

  const v1::OrgChart& chart_;
  ChartIndex index_;
  absl::flat_hash_set<int32_t> ordinals_;
};

uint32_t Fnv1a(absl::string_view s) {
  uint32_t h = 2166136261u;
  for (unsigned char c : s) {
    h ^= c;
    h *= 16777619u;
  }
  return h;
}

}  // namespace

absl::StatusOr<ChartIndex> IndexChart(const v1::OrgChart& chart) { return Indexer(chart).Run(); }

std::string DerivedId(absl::string_view a, absl::string_view b) {
  const std::string s = absl::StrCat(a, "-", b);
  if (s.size() <= kMaxIdLength) return s;
  std::string prefix = s.substr(0, kMaxIdLength - 9);
  return absl::StrCat(prefix, "-", absl::Hex(Fnv1a(s), absl::kZeroPad8));
}

}  // namespace opsteam::org::chart
