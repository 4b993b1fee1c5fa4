#pragma once

// gRPC adapter of OrgService: each method checks the caller against its access policy, hands
// its request to OrgLogic on the worker pool and finishes with the mapped status. No rules
// live here.

#include "libs/events/outbox_notifier.h"
#include "libs/rpc/authorize.h"
#include "libs/rpc/worker_pool.h"
#include "opsteam/org/v1/org_service.grpc.pb.h"
#include "services/org/org_logic.h"

namespace opsteam::org {

class OrgGrpcService final : public v1::OrgService::CallbackService {
 public:
  // `notifier` follows the outbox for WatchChanges streams; without one they are refused.
  OrgGrpcService(OrgLogic& logic, rpc::WorkerPool& pool, const rpc::Authenticator& auth,
                 events::OutboxNotifier* notifier = nullptr)
      : logic_(logic), pool_(pool), auth_(auth), notifier_(notifier) {}

#define OPS_ORG_RPC(Method) \
  grpc::ServerUnaryReactor* Method(grpc::CallbackServerContext* ctx, const v1::Method##Request* req, \
                                   v1::Method##Response* resp) override;
  OPS_ORG_RPC(CreateDepartment)
  OPS_ORG_RPC(GetDepartment)
  OPS_ORG_RPC(ListDepartments)
  OPS_ORG_RPC(UpdateDepartment)
  OPS_ORG_RPC(MoveDepartment)
  OPS_ORG_RPC(DeleteDepartment)
  OPS_ORG_RPC(CreatePosition)
  OPS_ORG_RPC(GetPosition)
  OPS_ORG_RPC(ListPositions)
  OPS_ORG_RPC(UpdatePosition)
  OPS_ORG_RPC(DeletePosition)
  OPS_ORG_RPC(CreateMember)
  OPS_ORG_RPC(GetMember)
  OPS_ORG_RPC(ListMembers)
  OPS_ORG_RPC(UpdateMember)
  OPS_ORG_RPC(AssignMember)
  OPS_ORG_RPC(EndAssignment)
  OPS_ORG_RPC(GetAssignment)
  OPS_ORG_RPC(ListAssignments)
  OPS_ORG_RPC(GetManager)
  OPS_ORG_RPC(ListDirectReports)
  OPS_ORG_RPC(CheckAuthority)
  OPS_ORG_RPC(ListAuthorities)
  OPS_ORG_RPC(CreateProjectGroup)
  OPS_ORG_RPC(GetProjectGroup)
  OPS_ORG_RPC(ListProjectGroups)
  OPS_ORG_RPC(UpdateProjectGroup)
  OPS_ORG_RPC(AddGroupMember)
  OPS_ORG_RPC(EndGroupMembership)
  OPS_ORG_RPC(ListGroupMemberships)
  OPS_ORG_RPC(GetMatrixManagers)
  OPS_ORG_RPC(CreatePhase)
  OPS_ORG_RPC(ListPhases)
  OPS_ORG_RPC(SetStaffingPlan)
  OPS_ORG_RPC(ListStaffingPlans)
  OPS_ORG_RPC(GetStaffingReport)
  OPS_ORG_RPC(ComparePhases)
  OPS_ORG_RPC(ApplyOrgChart)
  OPS_ORG_RPC(ExportOrgChart)
  OPS_ORG_RPC(ListChanges)
#undef OPS_ORG_RPC
  grpc::ServerWriteReactor<v1::WatchChangesResponse>* WatchChanges(grpc::CallbackServerContext* ctx,
                                                                   const v1::WatchChangesRequest* req) override;

 private:
  OrgLogic& logic_;
  rpc::WorkerPool& pool_;
  const rpc::Authenticator& auth_;
  events::OutboxNotifier* notifier_;
};

}  // namespace opsteam::org
