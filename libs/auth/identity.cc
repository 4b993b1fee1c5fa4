#include "libs/auth/identity.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "libs/aip/aip.h"
#include "libs/status/status.h"

namespace opsteam::auth {

absl::StatusOr<Identity> MakeIdentity(absl::string_view subject, const std::vector<std::string>& roles) {
  Identity identity;
  absl::string_view id = subject;
  const bool member = absl::ConsumePrefix(&id, "members/");
  const bool service = !member && absl::ConsumePrefix(&id, "services/");
  if ((!member && !service) || !aip::IsValidId(id)) {
    return InvalidArgument("sub", "must be \"members/{member}\" or \"services/{service}\" with an id "
                                  "matching [a-z][a-z0-9-]{0,62}");
  }
  identity.subject = std::string(subject);
  if (member) identity.member_id = std::string(id);
  auto has = [&roles](absl::string_view role) { return std::find(roles.begin(), roles.end(), role) != roles.end(); };
  identity.administrator = has(kRoleAdministrator);
  identity.service = has(kRoleService);
  if (identity.service && member) {
    return InvalidArgument("roles", absl::StrCat("the ", kRoleService, " role belongs to services/ subjects only"));
  }
  return identity;
}

}  // namespace opsteam::auth
