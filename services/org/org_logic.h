#pragma once

// The org service's rules, free of any transport: one method per RPC, taking the request
// and filling the response, returning an absl::Status. The gRPC adapter (org_service.h)
// and the tests call these directly.

#include <functional>
#include <string>
#include <string_view>

#include "absl/strings/string_view.h"
#include "absl/status/status.h"
#include "google/protobuf/message.h"
#include "libs/pg/pg.h"
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
