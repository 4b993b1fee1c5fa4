// Matrix organisation: project groups and memberships.
// Placeholder bodies while the feature is being written; each answers UNIMPLEMENTED.

#include "services/org/org_logic.h"

namespace opsteam::org {

absl::Status OrgLogic::CreateProjectGroup(const v1::CreateProjectGroupRequest&, v1::CreateProjectGroupResponse*) {
  return absl::UnimplementedError("CreateProjectGroup");
}

absl::Status OrgLogic::GetProjectGroup(const v1::GetProjectGroupRequest&, v1::GetProjectGroupResponse*) {
  return absl::UnimplementedError("GetProjectGroup");
}

absl::Status OrgLogic::ListProjectGroups(const v1::ListProjectGroupsRequest&, v1::ListProjectGroupsResponse*) {
  return absl::UnimplementedError("ListProjectGroups");
}

absl::Status OrgLogic::UpdateProjectGroup(const v1::UpdateProjectGroupRequest&, v1::UpdateProjectGroupResponse*) {
  return absl::UnimplementedError("UpdateProjectGroup");
}

absl::Status OrgLogic::AddGroupMember(const v1::AddGroupMemberRequest&, v1::AddGroupMemberResponse*) {
  return absl::UnimplementedError("AddGroupMember");
}

absl::Status OrgLogic::EndGroupMembership(const v1::EndGroupMembershipRequest&, v1::EndGroupMembershipResponse*) {
  return absl::UnimplementedError("EndGroupMembership");
}

absl::Status OrgLogic::ListGroupMemberships(const v1::ListGroupMembershipsRequest&, v1::ListGroupMembershipsResponse*) {
  return absl::UnimplementedError("ListGroupMemberships");
}

absl::Status OrgLogic::GetMatrixManagers(const v1::GetMatrixManagersRequest&, v1::GetMatrixManagersResponse*) {
  return absl::UnimplementedError("GetMatrixManagers");
}

}  // namespace opsteam::org
