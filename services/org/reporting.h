#pragma once

// Reporting lines over an OrgSnapshot (the organisation on one day): who a post reports to,
// and who a member's functional manager is. GetManager, ListDirectReports and the functional
// line of GetMatrixManagers all answer from here, so they always agree.

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "opsteam/org/v1/org_service.pb.h"
#include "services/org/org_store.h"

namespace opsteam::org {

// The post `post_id` reports to: its reports-to post, else the lead of its department,
// else of the nearest department above that has one. A lead reports to the lead above.
std::string ManagerPost(const OrgSnapshot& snap, const std::string& post_id);

// The first person above `post_id` (vacant posts are passed over), not `self`.
std::optional<v1::ReportingLink> ManagerOf(const OrgSnapshot& snap, const std::string& post_id,
                                           const std::string& self);

// The functional manager of member `member_id` (through their primary post, else their
// first post); nullopt at the top of the organisation. FAILED_PRECONDITION NO_POST when the
// member holds no post on the snapshot's day.
absl::StatusOr<std::optional<v1::ReportingLink>> FunctionalManager(const OrgSnapshot& snap,
                                                                   const std::string& member_id,
                                                                   CivilDay day);

}  // namespace opsteam::org
