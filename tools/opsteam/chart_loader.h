#pragma once

// `opsteam load`: creates a text-format opsteam.org.v1.OrgChart through the public API.
//
// Loading is repeatable: each write carries a request_id derived from the chart's ids, and
// anything that already exists (or already points where the chart says) is left alone and
// counted as present, so a second load of the same chart changes nothing.

#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "opsteam/org/v1/chart.pb.h"
#include "tools/opsteam/client.h"

namespace opsteam::cli {

struct LoadCounts {
  int created = 0;
  int present = 0;
};

struct LoadSummary {
  LoadCounts departments;
  LoadCounts positions;
  LoadCounts reports_to;  // reporting lines set by UpdatePosition
  LoadCounts leads;       // department leads set by UpdateDepartment
  LoadCounts members;
  LoadCounts assignments;
};

// Parses the text-format chart at `path`; errors name the line and column.
absl::StatusOr<org::v1::OrgChart> ReadChart(const std::string& path);

// Creates what `chart` describes that is not there yet, in dependency order: departments
// top-down, positions, reporting lines, department leads, members, assignments.
absl::Status LoadChart(Client& client, const org::v1::OrgChart& chart, LoadSummary* summary);

// `opsteam load <path>`: ReadChart + LoadChart + a printed summary; returns the exit code.
int Load(Client& client, const std::string& path, std::ostream& out);

// "<member>-<position>", shortened with a hash when longer than an id may be.
std::string AssignmentId(absl::string_view member_id, absl::string_view position_id);
// "load-<kind>-<id>", shortened with a hash when longer than a request_id may be.
std::string LoadRequestId(absl::string_view kind, absl::string_view id);

}  // namespace opsteam::cli
