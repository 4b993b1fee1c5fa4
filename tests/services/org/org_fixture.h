#pragma once

// Test fixture: a real org service (OrgLogic + gRPC adapter) on a fresh database of the
// test program's private PostgreSQL, called through a real gRPC channel. Tokens are HS256
// with a secret made per test; calls go out as an administrator (members/m-admin) unless a
// test calls as someone else.

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "libs/auth/jwt.h"
#include "libs/auth/jwt_authenticator.h"
#include "libs/events/outbox_notifier.h"
#include "libs/pg/pg.h"
#include "libs/rpc/channel.h"
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

  // Calls `method` on the stub as the administrator, with a 30 s deadline.
  template <typename Req, typename Resp>
  grpc::Status Call(grpc::Status (v1::OrgService::Stub::*method)(grpc::ClientContext*, const Req&, Resp*),
                    const Req& req, Resp* resp) {
    return CallAs(admin_token_, method, req, resp);
  }
  // The same with `token` as the bearer token; "" sends none.
  template <typename Req, typename Resp>
  grpc::Status CallAs(const std::string& token,
                      grpc::Status (v1::OrgService::Stub::*method)(grpc::ClientContext*, const Req&, Resp*),
                      const Req& req, Resp* resp) {
    grpc::ClientContext ctx;
    rpc::PrepareClientContext(&ctx, absl::Seconds(30), token);
    return (stub_.get()->*method)(&ctx, req, resp);
  }

  // A token the service accepts for `subject` ("members/{id}" or "services/{id}") with
  // `roles`, valid from now for `ttl` (negative: expired that long ago).
  std::string Token(const std::string& subject, const std::vector<std::string>& roles = {},
                    absl::Duration ttl = absl::Hours(1));
  // The administrator's token, which Call sends.
  const std::string& admin_token() const { return admin_token_; }
  // The address of the service ("127.0.0.1:port").
  std::string address() const;

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
  std::string jwt_secret_;
  std::unique_ptr<auth::JwtSigner> signer_;
  std::unique_ptr<auth::JwtAuthenticator> auth_;
  std::string admin_token_;
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
