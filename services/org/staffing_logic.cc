// Staffing plans by business phase.
// Placeholder bodies while the feature is being written; each answers UNIMPLEMENTED.

#include "services/org/org_logic.h"

namespace opsteam::org {

absl::Status OrgLogic::CreatePhase(const v1::CreatePhaseRequest&, v1::CreatePhaseResponse*) {
  return absl::UnimplementedError("CreatePhase");
}

absl::Status OrgLogic::ListPhases(const v1::ListPhasesRequest&, v1::ListPhasesResponse*) {
  return absl::UnimplementedError("ListPhases");
}

absl::Status OrgLogic::SetStaffingPlan(const v1::SetStaffingPlanRequest&, v1::SetStaffingPlanResponse*) {
  return absl::UnimplementedError("SetStaffingPlan");
}

absl::Status OrgLogic::ListStaffingPlans(const v1::ListStaffingPlansRequest&, v1::ListStaffingPlansResponse*) {
  return absl::UnimplementedError("ListStaffingPlans");
}

absl::Status OrgLogic::GetStaffingReport(const v1::GetStaffingReportRequest&, v1::GetStaffingReportResponse*) {
  return absl::UnimplementedError("GetStaffingReport");
}

absl::Status OrgLogic::ComparePhases(const v1::ComparePhasesRequest&, v1::ComparePhasesResponse*) {
  return absl::UnimplementedError("ComparePhases");
}

}  // namespace opsteam::org
