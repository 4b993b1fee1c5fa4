#pragma once

// `opsteam load` and `opsteam apply`: text-format opsteam.org.v1.OrgCharts into the org
// service (`opsteam export`, the way out, is in commands.h).
//
// A chart is applied with one ApplyOrgChart call: the server plans the changes that make the
// organisation look like the chart and makes them in one transaction, so a load either
// happens completely or not at all, and loading the same chart again plans no changes.

#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "opsteam/org/v1/chart.pb.h"
#include "opsteam/org/v1/org_service.pb.h"
#include "tools/opsteam/client.h"

namespace opsteam::cli {

// Planned changes of one kind of resource, by action.
struct ActionCounts {
  int create = 0;
  int update = 0;
  int move = 0;
  int end = 0;
  int total() const { return create + update + move + end; }
};

struct LoadSummary {
  ActionCounts departments;
  ActionCounts positions;
  ActionCounts members;
  ActionCounts assignments;
  ActionCounts phases;
  ActionCounts staffing_plans;
  ActionCounts project_groups;
  ActionCounts memberships;  // of project groups
  // Every planned change, in the order the server makes them.
  std::vector<org::v1::PlannedChange> changes;
  // Whether the changes were made (false for a dry run and when there was nothing to do).
  bool applied = false;
};

// Parses the text-format chart at `path`; errors name the line and column.
absl::StatusOr<org::v1::OrgChart> ReadChart(const std::string& path);

// Applies `chart` (only plans it with `dry_run`) with one ApplyOrgChart call and counts the
// planned changes. Transient failures are retried under the same request_id
// (ChartRequestId), so a retry of a load that did commit answers as the load did.
absl::Status ApplyChart(Client& client, const org::v1::OrgChart& chart, bool dry_run, LoadSummary* summary);
// ApplyChart without dry run.
absl::Status LoadChart(Client& client, const org::v1::OrgChart& chart, LoadSummary* summary);

// `opsteam load <path>`: ReadChart + LoadChart + the plan's counts; returns the exit code.
int Load(Client& client, const std::string& path, std::ostream& out);
// `opsteam apply [--dry_run] <path>`: as load, listing every planned change.
int Apply(Client& client, const std::string& path, bool dry_run, std::ostream& out);

// The request_id of one load of `chart`: "chart-" + a hash of the chart's content + "-" +
// a value unique to this load. The content part names the chart in the server's request
// log; the unique part keeps a later load of the same chart from being answered with the
// logged result of an earlier one (the organisation may have changed in between).
std::string ChartRequestId(const org::v1::OrgChart& chart);

}  // namespace opsteam::cli
