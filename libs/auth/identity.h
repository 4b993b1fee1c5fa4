#pragma once

// Who is calling, as proven by a credential (a verified bearer token). What the caller may
// do follows from it: administrators change the organisation, services read the audit trail
// and the change feed, everyone authenticated reads.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace opsteam::auth {

// Roles a token may carry in its "roles" claim.
inline constexpr char kRoleAdministrator[] = "administrator";
inline constexpr char kRoleService[] = "service";

struct Identity {
  // "members/{member}" for people, "services/{service}" for services.
  std::string subject;
  // The member id of a person ("m-zhang-wei"); empty for services.
  std::string member_id;
  bool administrator = false;
  bool service = false;
};

// The identity of `subject` with `roles`. The subject must be "members/{id}" or
// "services/{id}" (ids as everywhere: [a-z][a-z0-9-]{0,62}); the service role belongs to
// services only. Roles other than administrator and service are ignored, so issuers can
// add roles for other systems. Errors are INVALID_ARGUMENT naming "sub" or "roles".
absl::StatusOr<Identity> MakeIdentity(absl::string_view subject, const std::vector<std::string>& roles);

}  // namespace opsteam::auth
