#pragma once

// The content checks of an OrgChart, before any database is involved, and the index the
// planner of ApplyOrgChart works from. Errors are INVALID_ARGUMENT naming the path in the
// request, e.g. "chart.departments[0].children[2].positions[1].headcount".

#include <cstddef>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "opsteam/org/v1/chart.pb.h"

namespace opsteam::org::chart {

struct ChartDepartmentRef {
  const v1::ChartDepartment* department;
  std::string path;       // "chart.departments[0].children[2]"
  std::string parent_id;  // the chart parent; "" for a department at the top of the chart
};

struct ChartPositionRef {
  const v1::ChartPosition* position;
  std::string path;
  std::string department_id;
};

// A reference that leaves the chart: it must name an existing resource.
struct ExternalRef {
  std::string collection;  // "positions", "members" or "phases"
  std::string id;
  std::string path;  // of the referring field
};

struct ChartIndex {
  // The chart's effective date (today when it has none).
  absl::CivilDay day;
  // Departments top-down (every parent before its children), in chart order.
  std::vector<ChartDepartmentRef> departments;
  std::vector<ChartPositionRef> positions;
  absl::flat_hash_map<std::string, size_t> department_at;  // id -> index in `departments`
  absl::flat_hash_map<std::string, size_t> position_at;    // id -> index in `positions`
  absl::flat_hash_map<std::string, int> member_at;         // id -> index in chart.members
  absl::flat_hash_map<std::string, int> phase_at;          // id -> index in chart.phases
  absl::flat_hash_map<std::string, int> group_at;          // id -> index in chart.project_groups
  std::vector<ExternalRef> external;
};

// Validates every field of `chart` (ids [a-z][a-z0-9-]{0,62}, unique per kind; references
// inside the chart; the fields through the resource validators) and indexes it.
absl::StatusOr<ChartIndex> IndexChart(const v1::OrgChart& chart);

// "<a>-<b>" when that is a valid id, else a prefix and a hash of it (same input, same id).
std::string DerivedId(absl::string_view a, absl::string_view b);

}  // namespace opsteam::org::chart
