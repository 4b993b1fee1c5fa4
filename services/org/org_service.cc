#include "services/org/org_service.h"

#include "libs/rpc/unary.h"

namespace opsteam::org {

// One line per RPC: proto -> OrgLogic::<Method> (org_logic.cc) -> SQL (org_store.cc).
grpc::ServerUnaryReactor* OrgGrpcService::CreateDepartment(grpc::CallbackServerContext* ctx,
    const v1::CreateDepartmentRequest* req, v1::CreateDepartmentResponse* resp) {
  return rpc::RunUnary(ctx, pool_, [this, req, resp] { return logic_.CreateDepartment(*req, resp); });
}

grpc::ServerUnaryReactor* OrgGrpcService::GetDepartment(grpc::CallbackServerContext* ctx,
    const v1::GetDepartmentRequest* req, v1::GetDepartmentResponse* resp) {
  return rpc::RunUnary(ctx, pool_, [this, req, resp] { return logic_.GetDepartment(*req, resp); });
}

grpc::ServerUnaryReactor* OrgGrpcService::ListDepartments(grpc::CallbackServerContext* ctx,
    const v1::ListDepartmentsRequest* req, v1::ListDepartmentsResponse* resp) {
  return rpc::RunUnary(ctx, pool_, [this, req, resp] { return logic_.ListDepartments(*req, resp); });
}

grpc::ServerUnaryReactor* OrgGrpcService::UpdateDepartment(grpc::CallbackServerContext* ctx,
    const v1::UpdateDepartmentRequest* req, v1::UpdateDepartmentResponse* resp) {
  return rpc::RunUnary(ctx, pool_, [this, req, resp] { return logic_.UpdateDepartment(*req, resp); });
}

grpc::ServerUnaryReactor* OrgGrpcService::MoveDepartment(grpc::CallbackServerContext* ctx,
    const v1::MoveDepartmentRequest* req, v1::MoveDepartmentResponse* resp) {
  return rpc::RunUnary(ctx, pool_, [this, req, resp] { return logic_.MoveDepartment(*req, resp); });
}

grpc::ServerUnaryReactor* OrgGrpcService::DeleteDepartment(grpc::CallbackServerContext* ctx,
    const v1::DeleteDepartmentRequest* req, v1::DeleteDepartmentResponse* resp) {
  return rpc::RunUnary(ctx, pool_, [this, req, resp] { return logic_.DeleteDepartment(*req, resp); });
}

grpc::ServerUnaryReactor* OrgGrpcService::CreatePosition(grpc::CallbackServerContext* ctx,
    const v1::CreatePositionRequest* req, v1::CreatePositionResponse* resp) {
  return rpc::RunUnary(ctx, pool_, [this, req, resp] { return logic_.CreatePosition(*req, resp); });
}

grpc::ServerUnaryReactor* OrgGrpcService::GetPosition(grpc::CallbackServerContext* ctx,
    const v1::GetPositionRequest* req, v1::GetPositionResponse* resp) {
  return rpc::RunUnary(ctx, pool_, [this, req, resp] { return logic_.GetPosition(*req, resp); });
}

grpc::ServerUnaryReactor* OrgGrpcService::ListPositions(grpc::CallbackServerContext* ctx,
    const v1::ListPositionsRequest* req, v1::ListPositionsResponse* resp) {
  return rpc::RunUnary(ctx, pool_, [this, req, resp] { return logic_.ListPositions(*req, resp); });
}

grpc::ServerUnaryReactor* OrgGrpcService::UpdatePosition(grpc::CallbackServerContext* ctx,
    const v1::UpdatePositionRequest* req, v1::UpdatePositionResponse* resp) {
  return rpc::RunUnary(ctx, pool_, [this, req, resp] { return logic_.UpdatePosition(*req, resp); });
}

grpc::ServerUnaryReactor* OrgGrpcService::DeletePosition(grpc::CallbackServerContext* ctx,
    const v1::DeletePositionRequest* req, v1::DeletePositionResponse* resp) {
  return rpc::RunUnary(ctx, pool_, [this, req, resp] { return logic_.DeletePosition(*req, resp); });
}

grpc::ServerUnaryReactor* OrgGrpcService::CreateMember(grpc::CallbackServerContext* ctx,
    const v1::CreateMemberRequest* req, v1::CreateMemberResponse* resp) {
  return rpc::RunUnary(ctx, pool_, [this, req, resp] { return logic_.CreateMember(*req, resp); });
}

grpc::ServerUnaryReactor* OrgGrpcService::GetMember(grpc::CallbackServerContext* ctx,
    const v1::GetMemberRequest* req, v1::GetMemberResponse* resp) {
  return rpc::RunUnary(ctx, pool_, [this, req, resp] { return logic_.GetMember(*req, resp); });
}

grpc::ServerUnaryReactor* OrgGrpcService::ListMembers(grpc::CallbackServerContext* ctx,
    const v1::ListMembersRequest* req, v1::ListMembersResponse* resp) {
  return rpc::RunUnary(ctx, pool_, [this, req, resp] { return logic_.ListMembers(*req, resp); });
}

grpc::ServerUnaryReactor* OrgGrpcService::UpdateMember(grpc::CallbackServerContext* ctx,
    const v1::UpdateMemberRequest* req, v1::UpdateMemberResponse* resp) {
  return rpc::RunUnary(ctx, pool_, [this, req, resp] { return logic_.UpdateMember(*req, resp); });
}

grpc::ServerUnaryReactor* OrgGrpcService::AssignMember(grpc::CallbackServerContext* ctx,
    const v1::AssignMemberRequest* req, v1::AssignMemberResponse* resp) {
  return rpc::RunUnary(ctx, pool_, [this, req, resp] { return logic_.AssignMember(*req, resp); });
}

grpc::ServerUnaryReactor* OrgGrpcService::EndAssignment(grpc::CallbackServerContext* ctx,
    const v1::EndAssignmentRequest* req, v1::EndAssignmentResponse* resp) {
  return rpc::RunUnary(ctx, pool_, [this, req, resp] { return logic_.EndAssignment(*req, resp); });
}

grpc::ServerUnaryReactor* OrgGrpcService::GetAssignment(grpc::CallbackServerContext* ctx,
    const v1::GetAssignmentRequest* req, v1::GetAssignmentResponse* resp) {
  return rpc::RunUnary(ctx, pool_, [this, req, resp] { return logic_.GetAssignment(*req, resp); });
}

grpc::ServerUnaryReactor* OrgGrpcService::ListAssignments(grpc::CallbackServerContext* ctx,
    const v1::ListAssignmentsRequest* req, v1::ListAssignmentsResponse* resp) {
  return rpc::RunUnary(ctx, pool_, [this, req, resp] { return logic_.ListAssignments(*req, resp); });
}

grpc::ServerUnaryReactor* OrgGrpcService::GetManager(grpc::CallbackServerContext* ctx,
    const v1::GetManagerRequest* req, v1::GetManagerResponse* resp) {
  return rpc::RunUnary(ctx, pool_, [this, req, resp] { return logic_.GetManager(*req, resp); });
}

grpc::ServerUnaryReactor* OrgGrpcService::ListDirectReports(grpc::CallbackServerContext* ctx,
    const v1::ListDirectReportsRequest* req, v1::ListDirectReportsResponse* resp) {
  return rpc::RunUnary(ctx, pool_, [this, req, resp] { return logic_.ListDirectReports(*req, resp); });
}

}  // namespace opsteam::org
