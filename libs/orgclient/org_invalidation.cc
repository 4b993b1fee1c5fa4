#include "libs/orgclient/org_invalidation.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "opsteam/org/v1/events.pb.h"

namespace opsteam::orgclient {
namespace {

namespace v1 = ::opsteam::org::v1;

// Collects member dependencies; an empty member name makes the event unreadable ("all").
class Deps {
 public:
  void Member(const std::string& member) {
    if (member.empty()) {
      unknown_ = true;
      return;
    }
    Add(MemberDependency(member));
  }
  void Add(std::string dep) {
    if (std::find(deps_.begin(), deps_.end(), dep) == deps_.end()) deps_.push_back(std::move(dep));
  }
  void Unknown() { unknown_ = true; }
  std::vector<std::string> Take() {
    if (unknown_) return {kAllDependency};
    return std::move(deps_);
  }

 private:
  std::vector<std::string> deps_;
  bool unknown_ = false;
};

template <typename Payload>
bool Unpack(const opsteam::events::v1::Event& event, Payload* payload) {
  return event.has_data() && event.data().UnpackTo(payload);
}

}  // namespace

std::string MemberDependency(const std::string& member) {
  absl::string_view id = member;
  absl::ConsumePrefix(&id, "members/");
  return absl::StrCat("member:", id);
}

std::vector<std::string> CacheDependencies(const opsteam::events::v1::Event& event) {
  absl::string_view type = event.type();
  if (!absl::ConsumePrefix(&type, "opsteam.org.")) return {};
  const size_t dot = type.find('.');
  const absl::string_view resource = type.substr(0, dot);
  const absl::string_view verb = dot == absl::string_view::npos ? "" : type.substr(dot + 1);
  Deps deps;
  if (resource == "department") {
    deps.Add(kTreeDependency);
  } else if (resource == "position") {
    if (verb == "created") return {};
    v1::PositionChanged changed;
    v1::PositionDeleted deleted;
    if (verb == "changed" && Unpack(event, &changed)) {
      for (const auto& h : changed.holders()) deps.Member(h);
    } else if (verb == "deleted" && Unpack(event, &deleted)) {
      for (const auto& h : deleted.holders()) deps.Member(h);
    } else {
      deps.Unknown();
    }
  } else if (resource == "assignment") {
    v1::AssignmentStarted started;
    v1::AssignmentEnded ended;
    if (verb == "started" && Unpack(event, &started)) {
      deps.Member(started.assignment().member());
    } else if (verb == "ended" && Unpack(event, &ended)) {
      deps.Member(ended.assignment().member());
    } else {
      deps.Unknown();
    }
  } else if (resource == "member") {
    v1::MemberCreated created;
    v1::MemberChanged changed;
    if (verb == "created" && Unpack(event, &created)) {
      deps.Member(created.member().name());
    } else if (verb == "changed" && Unpack(event, &changed)) {
      deps.Member(changed.has_after() ? changed.after().name() : changed.before().name());
    } else {
      deps.Unknown();
    }
  } else if (resource == "group_membership") {
    v1::GroupMembershipChanged changed;
    if (!Unpack(event, &changed) || (!changed.has_before() && !changed.has_after())) {
      deps.Unknown();
    } else {
      if (changed.has_before()) deps.Member(changed.before().member());
      if (changed.has_after()) deps.Member(changed.after().member());
    }
  }
  return deps.Take();
}

}  // namespace opsteam::orgclient
