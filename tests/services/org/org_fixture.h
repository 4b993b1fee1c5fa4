#pragma once

// Test fixture: a real org service (OrgLogic + gRPC adapter) on a fresh database of the
// test program's private PostgreSQL, called through a real gRPC channel.

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "libs/events/outbox_notifier.h"
#include "libs/pg/pg.h"
#include "libs/rpc/server.h"
#include "libs/rpc/worker_pool.h"
#include "libs/status/status.h"
#include "opsteam/org/v1/org_service.grpc.pb.h"
#include "services/org/org_logic.h"
#include "services/org/org_service.h"

namespace opsteam::org::testing {

namespace v1 = ::opsteam::org::v1;

class OrgTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // Calls `method` on the stub with a 30 s deadline.
  template <typename Req, typename Resp>
  grpc::Status Call(grpc::Status (v1::OrgService::Stub::*method)(grpc::ClientContext*, const Req&, Resp*),
                    const Req& req, Resp* resp) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    return (stub_.get()->*method)(&ctx, req, resp);
  }

  // Shorthands that fail the test on error and return the created resource.
  v1::Department MakeDepartment(const std::string& id, const std::string& parent_id,
                                const std::string& display_name = "",
                                v1::DepartmentKind kind = v1::DEPARTMENT_KIND_FUNCTIONAL_TEAM,
                                const std::string& effective_date = "2026-01-01");
  v1::Position MakePosition(const std::string& id, const std::string& department_id, int headcount,
                            const std::string& reports_to_id = "",
                            const std::string& effective_date = "2026-01-01");
  v1::Member MakeMember(const std::string& id, const std::string& display_name = "",
                        const std::string& start = "2025-01-01");
  grpc::Status Assign(const std::string& member_id, const std::string& position_id,
                      v1::AssignmentKind kind = v1::ASSIGNMENT_KIND_PRIMARY,
                      const std::string& start = "2026-01-01", const std::string& end = "",
                      v1::Assignment* out = nullptr);
  void SetLead(const std::string& department_id, const std::string& position_id,
               const std::string& effective_date = "2026-01-01");
  // The methods recorded in the audit trail for `resource`, oldest first.
  std::vector<std::string> ChangeMethods(const std::string& resource);

  std::string conninfo_;
  std::unique_ptr<pg::Pool> pool_;
  std::unique_ptr<OrgLogic> logic_;
  std::unique_ptr<rpc::WorkerPool> workers_;
  std::unique_ptr<events::OutboxNotifier> notifier_;
  std::unique_ptr<OrgGrpcService> service_;
  std::unique_ptr<rpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::OrgService::Stub> stub_;
};

// The text-format charts of deploy/demo/ (`source_dir` is the repository root), sorted.
std::vector<std::string> DemoCharts(const std::string& source_dir);

// Matches a failed grpc::Status by code, ErrorInfo reason ("" = any) and BadRequest field
// ("" = none expected).
MATCHER_P3(IsError, code, reason, field, "") {
  if (arg.error_code() != code) {
    *result_listener << "code " << arg.error_code() << " (" << arg.error_message() << ")";
    return false;
  }
  absl::Status s = ::opsteam::FromGrpcStatus(arg);
  if (!std::string(reason).empty() && ::opsteam::ErrorReason(s) != std::string(reason)) {
    *result_listener << "reason " << ::opsteam::ErrorReason(s) << " (" << arg.error_message() << ")";
    return false;
  }
  if (::opsteam::ErrorField(s) != std::string(field)) {
    *result_listener << "field \"" << ::opsteam::ErrorField(s) << "\" (" << arg.error_message() << ")";
    return false;
  }
  return true;
}

MATCHER(IsOk, "") {
  if (!arg.ok()) *result_listener << arg.error_code() << ": " << arg.error_message();
  return arg.ok();
}

}  // namespace opsteam::org::testing
