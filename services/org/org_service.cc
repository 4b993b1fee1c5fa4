#include "services/org/org_service.h"

#include "libs/events/watch_stream.h"
#include "libs/rpc/unary.h"

namespace opsteam::org {

// Who may call what: changes need an administrator, reads any authenticated caller, and the
// audit trail (like the change feed) an administrator or a service. Authority checks are
// reads here; the services that act on them enforce them.
using enum rpc::Access;

// One line per RPC: caller check, then proto -> OrgLogic::<Method> (org_logic.cc) -> SQL
// (org_store.cc).
grpc::ServerUnaryReactor* OrgGrpcService::CreateDepartment(grpc::CallbackServerContext* ctx,
    const v1::CreateDepartmentRequest* req, v1::CreateDepartmentResponse* resp) {
  return rpc::RunUnary(ctx, pool_, auth_, kAdministrator, [this, req, resp] { return logic_.CreateDepartment(*req, resp); });
}

grpc::ServerUnaryReactor* OrgGrpcService::GetDepartment(grpc::CallbackServerContext* ctx,
    const v1::GetDepartmentRequest* req, v1::GetDepartmentResponse* resp) {
  return rpc::RunUnary(ctx, pool_, auth_, kAuthenticated, [this, req, resp] { return logic_.GetDepartment(*req, resp); });
}

grpc::ServerUnaryReactor* OrgGrpcService::ListDepartments(grpc::CallbackServerContext* ctx,
    const v1::ListDepartmentsRequest* req, v1::ListDepartmentsResponse* resp) {
  return rpc::RunUnary(ctx, pool_, auth_, kAuthenticated, [this, req, resp] { return logic_.ListDepartments(*req, resp); });
}

grpc::ServerUnaryReactor* OrgGrpcService::UpdateDepartment(grpc::CallbackServerContext* ctx,
    const v1::UpdateDepartmentRequest* req, v1::UpdateDepartmentResponse* resp) {
  return rpc::RunUnary(ctx, pool_, auth_, kAdministrator, [this, req, resp] { return logic_.UpdateDepartment(*req, resp); });
}

grpc::ServerUnaryReactor* OrgGrpcService::MoveDepartment(grpc::CallbackServerContext* ctx,
    const v1::MoveDepartmentRequest* req, v1::MoveDepartmentResponse* resp) {
  return rpc::RunUnary(ctx, pool_, auth_, kAdministrator, [this, req, resp] { return logic_.MoveDepartment(*req, resp); });
}

grpc::ServerUnaryReactor* OrgGrpcService::DeleteDepartment(grpc::CallbackServerContext* ctx,
    const v1::DeleteDepartmentRequest* req, v1::DeleteDepartmentResponse* resp) {
  return rpc::RunUnary(ctx, pool_, auth_, kAdministrator, [this, req, resp] { return logic_.DeleteDepartment(*req, resp); });
}

grpc::ServerUnaryReactor* OrgGrpcService::CreatePosition(grpc::CallbackServerContext* ctx,
    const v1::CreatePositionRequest* req, v1::CreatePositionResponse* resp) {
  return rpc::RunUnary(ctx, pool_, auth_, kAdministrator, [this, req, resp] { return logic_.CreatePosition(*req, resp); });
}

grpc::ServerUnaryReactor* OrgGrpcService::GetPosition(grpc::CallbackServerContext* ctx,
    const v1::GetPositionRequest* req, v1::GetPositionResponse* resp) {
  return rpc::RunUnary(ctx, pool_, auth_, kAuthenticated, [this, req, resp] { return logic_.GetPosition(*req, resp); });
}

grpc::ServerUnaryReactor* OrgGrpcService::ListPositions(grpc::CallbackServerContext* ctx,
    const v1::ListPositionsRequest* req, v1::ListPositionsResponse* resp) {
  return rpc::RunUnary(ctx, pool_, auth_, kAuthenticated, [this, req, resp] { return logic_.ListPositions(*req, resp); });
}

grpc::ServerUnaryReactor* OrgGrpcService::UpdatePosition(grpc::CallbackServerContext* ctx,
    const v1::UpdatePositionRequest* req, v1::UpdatePositionResponse* resp) {
  return rpc::RunUnary(ctx, pool_, auth_, kAdministrator, [this, req, resp] { return logic_.UpdatePosition(*req, resp); });
}

grpc::ServerUnaryReactor* OrgGrpcService::DeletePosition(grpc::CallbackServerContext* ctx,
    const v1::DeletePositionRequest* req, v1::DeletePositionResponse* resp) {
  return rpc::RunUnary(ctx, pool_, auth_, kAdministrator, [this, req, resp] { return logic_.DeletePosition(*req, resp); });
}

grpc::ServerUnaryReactor* OrgGrpcService::CreateMember(grpc::CallbackServerContext* ctx,
    const v1::CreateMemberRequest* req, v1::CreateMemberResponse* resp) {
  return rpc::RunUnary(ctx, pool_, auth_, kAdministrator, [this, req, resp] { return logic_.CreateMember(*req, resp); });
}

grpc::ServerUnaryReactor* OrgGrpcService::GetMember(grpc::CallbackServerContext* ctx,
    const v1::GetMemberRequest* req, v1::GetMemberResponse* resp) {
  return rpc::RunUnary(ctx, pool_, auth_, kAuthenticated, [this, req, resp] { return logic_.GetMember(*req, resp); });
}

grpc::ServerUnaryReactor* OrgGrpcService::ListMembers(grpc::CallbackServerContext* ctx,
    const v1::ListMembersRequest* req, v1::ListMembersResponse* resp) {
  return rpc::RunUnary(ctx, pool_, auth_, kAuthenticated, [this, req, resp] { return logic_.ListMembers(*req, resp); });
}

grpc::ServerUnaryReactor* OrgGrpcService::UpdateMember(grpc::CallbackServerContext* ctx,
    const v1::UpdateMemberRequest* req, v1::UpdateMemberResponse* resp) {
  return rpc::RunUnary(ctx, pool_, auth_, kAdministrator, [this, req, resp] { return logic_.UpdateMember(*req, resp); });
}

grpc::ServerUnaryReactor* OrgGrpcService::AssignMember(grpc::CallbackServerContext* ctx,
    const v1::AssignMemberRequest* req, v1::AssignMemberResponse* resp) {
  return rpc::RunUnary(ctx, pool_, auth_, kAdministrator, [this, req, resp] { return logic_.AssignMember(*req, resp); });
}

grpc::ServerUnaryReactor* OrgGrpcService::EndAssignment(grpc::CallbackServerContext* ctx,
    const v1::EndAssignmentRequest* req, v1::EndAssignmentResponse* resp) {
  return rpc::RunUnary(ctx, pool_, auth_, kAdministrator, [this, req, resp] { return logic_.EndAssignment(*req, resp); });
}

grpc::ServerUnaryReactor* OrgGrpcService::GetAssignment(grpc::CallbackServerContext* ctx,
    const v1::GetAssignmentRequest* req, v1::GetAssignmentResponse* resp) {
  return rpc::RunUnary(ctx, pool_, auth_, kAuthenticated, [this, req, resp] { return logic_.GetAssignment(*req, resp); });
}

grpc::ServerUnaryReactor* OrgGrpcService::ListAssignments(grpc::CallbackServerContext* ctx,
    const v1::ListAssignmentsRequest* req, v1::ListAssignmentsResponse* resp) {
  return rpc::RunUnary(ctx, pool_, auth_, kAuthenticated, [this, req, resp] { return logic_.ListAssignments(*req, resp); });
}

grpc::ServerUnaryReactor* OrgGrpcService::GetManager(grpc::CallbackServerContext* ctx,
    const v1::GetManagerRequest* req, v1::GetManagerResponse* resp) {
  return rpc::RunUnary(ctx, pool_, auth_, kAuthenticated, [this, req, resp] { return logic_.GetManager(*req, resp); });
}

grpc::ServerUnaryReactor* OrgGrpcService::ListDirectReports(grpc::CallbackServerContext* ctx,
    const v1::ListDirectReportsRequest* req, v1::ListDirectReportsResponse* resp) {
  return rpc::RunUnary(ctx, pool_, auth_, kAuthenticated, [this, req, resp] { return logic_.ListDirectReports(*req, resp); });
}

grpc::ServerUnaryReactor* OrgGrpcService::CheckAuthority(grpc::CallbackServerContext* ctx,
    const v1::CheckAuthorityRequest* req, v1::CheckAuthorityResponse* resp) {
  return rpc::RunUnary(ctx, pool_, auth_, kAuthenticated, [this, req, resp] { return logic_.CheckAuthority(*req, resp); });
}

grpc::ServerUnaryReactor* OrgGrpcService::ListAuthorities(grpc::CallbackServerContext* ctx,
    const v1::ListAuthoritiesRequest* req, v1::ListAuthoritiesResponse* resp) {
  return rpc::RunUnary(ctx, pool_, auth_, kAuthenticated, [this, req, resp] { return logic_.ListAuthorities(*req, resp); });
}

grpc::ServerUnaryReactor* OrgGrpcService::CreateProjectGroup(grpc::CallbackServerContext* ctx,
    const v1::CreateProjectGroupRequest* req, v1::CreateProjectGroupResponse* resp) {
  return rpc::RunUnary(ctx, pool_, auth_, kAdministrator, [this, req, resp] { return logic_.CreateProjectGroup(*req, resp); });
}

grpc::ServerUnaryReactor* OrgGrpcService::GetProjectGroup(grpc::CallbackServerContext* ctx,
    const v1::GetProjectGroupRequest* req, v1::GetProjectGroupResponse* resp) {
  return rpc::RunUnary(ctx, pool_, auth_, kAuthenticated, [this, req, resp] { return logic_.GetProjectGroup(*req, resp); });
}

grpc::ServerUnaryReactor* OrgGrpcService::ListProjectGroups(grpc::CallbackServerContext* ctx,
    const v1::ListProjectGroupsRequest* req, v1::ListProjectGroupsResponse* resp) {
  return rpc::RunUnary(ctx, pool_, auth_, kAuthenticated, [this, req, resp] { return logic_.ListProjectGroups(*req, resp); });
}

grpc::ServerUnaryReactor* OrgGrpcService::UpdateProjectGroup(grpc::CallbackServerContext* ctx,
    const v1::UpdateProjectGroupRequest* req, v1::UpdateProjectGroupResponse* resp) {
  return rpc::RunUnary(ctx, pool_, auth_, kAdministrator, [this, req, resp] { return logic_.UpdateProjectGroup(*req, resp); });
}

grpc::ServerUnaryReactor* OrgGrpcService::AddGroupMember(grpc::CallbackServerContext* ctx,
    const v1::AddGroupMemberRequest* req, v1::AddGroupMemberResponse* resp) {
  return rpc::RunUnary(ctx, pool_, auth_, kAdministrator, [this, req, resp] { return logic_.AddGroupMember(*req, resp); });
}

grpc::ServerUnaryReactor* OrgGrpcService::EndGroupMembership(grpc::CallbackServerContext* ctx,
    const v1::EndGroupMembershipRequest* req, v1::EndGroupMembershipResponse* resp) {
  return rpc::RunUnary(ctx, pool_, auth_, kAdministrator, [this, req, resp] { return logic_.EndGroupMembership(*req, resp); });
}

grpc::ServerUnaryReactor* OrgGrpcService::ListGroupMemberships(grpc::CallbackServerContext* ctx,
    const v1::ListGroupMembershipsRequest* req, v1::ListGroupMembershipsResponse* resp) {
  return rpc::RunUnary(ctx, pool_, auth_, kAuthenticated, [this, req, resp] { return logic_.ListGroupMemberships(*req, resp); });
}

grpc::ServerUnaryReactor* OrgGrpcService::GetMatrixManagers(grpc::CallbackServerContext* ctx,
    const v1::GetMatrixManagersRequest* req, v1::GetMatrixManagersResponse* resp) {
  return rpc::RunUnary(ctx, pool_, auth_, kAuthenticated, [this, req, resp] { return logic_.GetMatrixManagers(*req, resp); });
}

grpc::ServerUnaryReactor* OrgGrpcService::CreatePhase(grpc::CallbackServerContext* ctx,
    const v1::CreatePhaseRequest* req, v1::CreatePhaseResponse* resp) {
  return rpc::RunUnary(ctx, pool_, auth_, kAdministrator, [this, req, resp] { return logic_.CreatePhase(*req, resp); });
}

grpc::ServerUnaryReactor* OrgGrpcService::ListPhases(grpc::CallbackServerContext* ctx,
    const v1::ListPhasesRequest* req, v1::ListPhasesResponse* resp) {
  return rpc::RunUnary(ctx, pool_, auth_, kAuthenticated, [this, req, resp] { return logic_.ListPhases(*req, resp); });
}

grpc::ServerUnaryReactor* OrgGrpcService::SetStaffingPlan(grpc::CallbackServerContext* ctx,
    const v1::SetStaffingPlanRequest* req, v1::SetStaffingPlanResponse* resp) {
  return rpc::RunUnary(ctx, pool_, auth_, kAdministrator, [this, req, resp] { return logic_.SetStaffingPlan(*req, resp); });
}

grpc::ServerUnaryReactor* OrgGrpcService::ListStaffingPlans(grpc::CallbackServerContext* ctx,
    const v1::ListStaffingPlansRequest* req, v1::ListStaffingPlansResponse* resp) {
  return rpc::RunUnary(ctx, pool_, auth_, kAuthenticated, [this, req, resp] { return logic_.ListStaffingPlans(*req, resp); });
}

grpc::ServerUnaryReactor* OrgGrpcService::GetStaffingReport(grpc::CallbackServerContext* ctx,
    const v1::GetStaffingReportRequest* req, v1::GetStaffingReportResponse* resp) {
  return rpc::RunUnary(ctx, pool_, auth_, kAuthenticated, [this, req, resp] { return logic_.GetStaffingReport(*req, resp); });
}

grpc::ServerUnaryReactor* OrgGrpcService::ComparePhases(grpc::CallbackServerContext* ctx,
    const v1::ComparePhasesRequest* req, v1::ComparePhasesResponse* resp) {
  return rpc::RunUnary(ctx, pool_, auth_, kAuthenticated, [this, req, resp] { return logic_.ComparePhases(*req, resp); });
}

grpc::ServerUnaryReactor* OrgGrpcService::ApplyOrgChart(grpc::CallbackServerContext* ctx,
    const v1::ApplyOrgChartRequest* req, v1::ApplyOrgChartResponse* resp) {
  return rpc::RunUnary(ctx, pool_, auth_, kAdministrator, [this, req, resp] { return logic_.ApplyOrgChart(*req, resp); });
}

grpc::ServerUnaryReactor* OrgGrpcService::ExportOrgChart(grpc::CallbackServerContext* ctx,
    const v1::ExportOrgChartRequest* req, v1::ExportOrgChartResponse* resp) {
  return rpc::RunUnary(ctx, pool_, auth_, kAuthenticated, [this, req, resp] { return logic_.ExportOrgChart(*req, resp); });
}

grpc::ServerUnaryReactor* OrgGrpcService::ListChanges(grpc::CallbackServerContext* ctx,
    const v1::ListChangesRequest* req, v1::ListChangesResponse* resp) {
  return rpc::RunUnary(ctx, pool_, auth_, kAdministratorOrService, [this, req, resp] { return logic_.ListChanges(*req, resp); });
}

// Server streaming: replays the outbox, then follows it (libs/events/watch_stream.h).
grpc::ServerWriteReactor<v1::WatchChangesResponse>* OrgGrpcService::WatchChanges(
    grpc::CallbackServerContext* ctx, const v1::WatchChangesRequest* req) {
  // The stream only reads: the caller's context is not needed beyond the gate.
  absl::StatusOr<rpc::CallContext> call = rpc::Authorize(ctx, auth_, rpc::Access::kAdministratorOrService);
  if (!call.ok()) return rpc::FinishedWriter<v1::WatchChangesResponse>(call.status());
  absl::Status refused = notifier_ == nullptr
                             ? Unavailable("CHANGE_FEED_UNAVAILABLE", "this server does not serve the change feed")
                             : logic_.ValidateWatch(*req);
  events::WatchSource source{&pool_, notifier_, [this, req](int64_t after, int limit) {
                               return logic_.ReadEvents(*req, after, limit);
                             }};
  return new events::OutboxWatchReactor<v1::WatchChangesResponse>(ctx, std::move(source), req->since_sequence(),
                                                                   req->replay_only(), std::move(refused));
}

}  // namespace opsteam::org
