// Declarative org charts.
// Placeholder bodies while the feature is being written; each answers UNIMPLEMENTED.

#include "services/org/org_logic.h"

namespace opsteam::org {

absl::Status OrgLogic::ApplyOrgChart(const v1::ApplyOrgChartRequest&, v1::ApplyOrgChartResponse*) {
  return absl::UnimplementedError("ApplyOrgChart");
}

absl::Status OrgLogic::ExportOrgChart(const v1::ExportOrgChartRequest&, v1::ExportOrgChartResponse*) {
  return absl::UnimplementedError("ExportOrgChart");
}

}  // namespace opsteam::org
