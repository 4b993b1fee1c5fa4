#include "services/org/reporting.h"

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "libs/aip/aip.h"
#include "libs/status/status.h"

namespace opsteam::org {

std::string ManagerPost(const OrgSnapshot& snap, const std::string& post_id) {
  auto it = snap.posts.find(post_id);
  if (it == snap.posts.end()) return {};
  const auto& post = it->second;
  if (!post.reports_to_id.empty() && snap.posts.contains(post.reports_to_id)) {
    return post.reports_to_id;
  }
  std::string dept = post.department_id;
  absl::flat_hash_set<std::string> seen;
  while (!dept.empty() && seen.insert(dept).second) {
    auto u = snap.units.find(dept);
    if (u == snap.units.end()) break;
    if (!u->second.lead_position_id.empty() && u->second.lead_position_id != post_id &&
        snap.posts.contains(u->second.lead_position_id)) {
      return u->second.lead_position_id;
    }
    dept = u->second.parent_id;
  }
  return {};
}

std::optional<v1::ReportingLink> ManagerOf(const OrgSnapshot& snap, const std::string& post_id,
                                           const std::string& self) {
  absl::flat_hash_set<std::string> seen = {post_id};
  std::string post = ManagerPost(snap, post_id);
  while (!post.empty() && seen.insert(post).second) {
    if (auto h = snap.holders.find(post); h != snap.holders.end()) {
      for (const auto& holder : h->second) {
        if (holder.member_id == self) continue;
        v1::ReportingLink link;
        link.set_member(aip::Name("members", holder.member_id));
        link.set_position(aip::Name("positions", post));
        link.set_display_name(holder.display_name);
        return link;
      }
    }
    post = ManagerPost(snap, post);
  }
  return std::nullopt;
}

absl::StatusOr<std::optional<v1::ReportingLink>> FunctionalManager(const OrgSnapshot& snap,
                                                                   const std::string& member_id,
                                                                   CivilDay day) {
  auto posts = snap.member_posts.find(member_id);
  if (posts == snap.member_posts.end() || posts->second.empty()) {
    return FailedPrecondition("NO_POST", absl::StrCat(aip::Name("members", member_id),
                                                      " holds no post on ", aip::FormatDate(day)));
  }
  return ManagerOf(snap, posts->second.front(), member_id);
}

}  // namespace opsteam::org
