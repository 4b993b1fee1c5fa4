#pragma once

// What each org event invalidates in the shared cache: the one mapping the org service's
// relay (which runs the invalidation before publishing) and every OrgClient (which drops its
// local entries on the event) agree on. Depends only on the protos and libs/cache.
//
// Dependencies of the org cache entries:
//   "member:<member id>"  entries about one member (posts, authorities)
//   "tree"                entries that read the department tree (ancestors, subtrees,
//                         department names, subtree scopes of authorities)
//   "all"                 every entry; named by events whose payload cannot be read, since
//                         what they changed is then unknown

#include <string>
#include <vector>

#include "opsteam/events/v1/event.pb.h"

namespace opsteam::orgclient {

inline constexpr char kOrgCachePrefix[] = "opsteam:org:v1:";
inline constexpr char kOrgEventsStream[] = "opsteam.org.events";

inline constexpr char kTreeDependency[] = "tree";
inline constexpr char kAllDependency[] = "all";
// "member:<id>" for a member id or a "members/<id>" name.
std::string MemberDependency(const std::string& member);

// The dependencies `event` invalidates, decoded from its typed payload:
//   opsteam.org.department.*            tree
//   opsteam.org.position.changed/deleted member:<holder> for each holder
//   opsteam.org.position.created        nothing (no holder yet, nothing cached per position)
//   opsteam.org.assignment.*            member:<the assignment's member>
//   opsteam.org.member.*                member:<the member>
//   opsteam.org.group_membership.*      member:<the member, before and after>
//   anything else                       nothing
// A payload of a matched resource that does not decode as its type yields "all".
std::vector<std::string> CacheDependencies(const opsteam::events::v1::Event& event);

}  // namespace opsteam::orgclient
