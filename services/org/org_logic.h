#pragma once

// The org service's rules, free of any transport: one method per RPC, taking the request
// and filling the response, returning an absl::Status. The gRPC adapter (org_service.h)
// and the tests call these directly.

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/status/status.h"
#include "google/protobuf/message.h"
#include "libs/pg/pg.h"
#include "opsteam/events/v1/event.pb.h"
#include "opsteam/org/v1/org_service.pb.h"

namespace opsteam::org {

class OrgLogic {
 public:
  explicit OrgLogic(pg::Pool& pool) : pool_(pool) {}

  absl::Status CreateDepartment(const v1::CreateDepartmentRequest& req, v1::CreateDepartmentResponse* resp);
  absl::Status GetDepartment(const v1::GetDepartmentRequest& req, v1::GetDepartmentResponse* resp);
  absl::Status ListDepartments(const v1::ListDepartmentsRequest& req, v1::ListDepartmentsResponse* resp);
  absl::Status UpdateDepartment(const v1::UpdateDepartmentRequest& req, v1::UpdateDepartmentResponse* resp);
  absl::Status MoveDepartment(const v1::MoveDepartmentRequest& req, v1::MoveDepartmentResponse* resp);
  absl::Status DeleteDepartment(const v1::DeleteDepartmentRequest& req, v1::DeleteDepartmentResponse* resp);

  absl::Status CreatePosition(const v1::CreatePositionRequest& req, v1::CreatePositionResponse* resp);
  absl::Status GetPosition(const v1::GetPositionRequest& req, v1::GetPositionResponse* resp);
  absl::Status ListPositions(const v1::ListPositionsRequest& req, v1::ListPositionsResponse* resp);
  absl::Status UpdatePosition(const v1::UpdatePositionRequest& req, v1::UpdatePositionResponse* resp);
  absl::Status DeletePosition(const v1::DeletePositionRequest& req, v1::DeletePositionResponse* resp);

  absl::Status CreateMember(const v1::CreateMemberRequest& req, v1::CreateMemberResponse* resp);
  absl::Status GetMember(const v1::GetMemberRequest& req, v1::GetMemberResponse* resp);
  absl::Status ListMembers(const v1::ListMembersRequest& req, v1::ListMembersResponse* resp);
  absl::Status UpdateMember(const v1::UpdateMemberRequest& req, v1::UpdateMemberResponse* resp);

  absl::Status AssignMember(const v1::AssignMemberRequest& req, v1::AssignMemberResponse* resp);
  absl::Status EndAssignment(const v1::EndAssignmentRequest& req, v1::EndAssignmentResponse* resp);
  absl::Status GetAssignment(const v1::GetAssignmentRequest& req, v1::GetAssignmentResponse* resp);
  absl::Status ListAssignments(const v1::ListAssignmentsRequest& req, v1::ListAssignmentsResponse* resp);

  absl::Status GetManager(const v1::GetManagerRequest& req, v1::GetManagerResponse* resp);
  absl::Status ListDirectReports(const v1::ListDirectReportsRequest& req,
                                 v1::ListDirectReportsResponse* resp);

  // authority_logic.cc
  absl::Status CheckAuthority(const v1::CheckAuthorityRequest& req, v1::CheckAuthorityResponse* resp);
  absl::Status ListAuthorities(const v1::ListAuthoritiesRequest& req, v1::ListAuthoritiesResponse* resp);
  // group_logic.cc
  absl::Status CreateProjectGroup(const v1::CreateProjectGroupRequest& req, v1::CreateProjectGroupResponse* resp);
  absl::Status GetProjectGroup(const v1::GetProjectGroupRequest& req, v1::GetProjectGroupResponse* resp);
  absl::Status ListProjectGroups(const v1::ListProjectGroupsRequest& req, v1::ListProjectGroupsResponse* resp);
  absl::Status UpdateProjectGroup(const v1::UpdateProjectGroupRequest& req, v1::UpdateProjectGroupResponse* resp);
  absl::Status AddGroupMember(const v1::AddGroupMemberRequest& req, v1::AddGroupMemberResponse* resp);
  absl::Status EndGroupMembership(const v1::EndGroupMembershipRequest& req, v1::EndGroupMembershipResponse* resp);
  absl::Status ListGroupMemberships(const v1::ListGroupMembershipsRequest& req,
                                    v1::ListGroupMembershipsResponse* resp);
  absl::Status GetMatrixManagers(const v1::GetMatrixManagersRequest& req, v1::GetMatrixManagersResponse* resp);
  // staffing_logic.cc
  absl::Status CreatePhase(const v1::CreatePhaseRequest& req, v1::CreatePhaseResponse* resp);
  absl::Status ListPhases(const v1::ListPhasesRequest& req, v1::ListPhasesResponse* resp);
  absl::Status SetStaffingPlan(const v1::SetStaffingPlanRequest& req, v1::SetStaffingPlanResponse* resp);
  absl::Status ListStaffingPlans(const v1::ListStaffingPlansRequest& req, v1::ListStaffingPlansResponse* resp);
  absl::Status GetStaffingReport(const v1::GetStaffingReportRequest& req, v1::GetStaffingReportResponse* resp);
  absl::Status ComparePhases(const v1::ComparePhasesRequest& req, v1::ComparePhasesResponse* resp);
  // chart_logic.cc
  absl::Status ApplyOrgChart(const v1::ApplyOrgChartRequest& req, v1::ApplyOrgChartResponse* resp);
  absl::Status ExportOrgChart(const v1::ExportOrgChartRequest& req, v1::ExportOrgChartResponse* resp);
  // audit.cc (the records are written by every write method)
  absl::Status ListChanges(const v1::ListChangesRequest& req, v1::ListChangesResponse* resp);
  // The change feed (org_events.cc): WatchChanges checks its request with ValidateWatch and
  // reads the outbox with ReadEvents, page by page.
  absl::Status ValidateWatch(const v1::WatchChangesRequest& req);
  absl::StatusOr<std::vector<events::v1::Event>> ReadEvents(const v1::WatchChangesRequest& req, int64_t after,
                                                            int limit);

 private:
  // Runs a write in a transaction. With a request_id, a repeat of the same request returns
  // the response logged by the first one, and the same id with another request fails.
  absl::Status Write(absl::string_view method, const google::protobuf::Message& req,
                     const std::string& request_id, google::protobuf::Message* resp,
                     const std::function<absl::Status(pg::Tx&)>& body);
  // Runs reads in one read-only snapshot.
  absl::Status Read(const std::function<absl::Status(pg::Tx&)>& body);

  pg::Pool& pool_;
};

}  // namespace opsteam::org
