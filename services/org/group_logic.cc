// Matrix organisation (DOMAIN.md §1, seeds/002): a member belongs to one functional
// department (through their primary post) and, at the same time, to any number of
// cross-department project groups. A group has exactly one owner at a time, effective-dated
// like a department's fields; memberships are dated ranges with a role.
//
// Rules:
// - The owner must be a member employed on the day the group (or the owner change) takes
//   effect. An owner change dated D applies to every version from D on.
// - A membership needs the group to exist on its start date and the member to be employed
//   for its whole range; a member is in a group at most once on any day (ALREADY_EXISTS).
// - GetMatrixManagers answers the functional line exactly as GetManager does (same code,
//   reporting.h) and one project line per membership in force, with the owner of that day.

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "libs/aip/aip.h"
#include "libs/status/macros.h"
#include "libs/status/status.h"
#include "services/org/group_rules.h"
#include "services/org/group_store.h"
#include "services/org/org_logic.h"
#include "services/org/org_store.h"
#include "services/org/reporting.h"
#include "services/org/validation.h"

namespace opsteam::org {
namespace {

using aip::FormatDate;
using v1::ProjectGroup;

constexpr size_t kMaxName = 200;
constexpr size_t kMaxText = 2000;
constexpr size_t kMaxRole = 50;

std::string Id(const std::string& name) {
  auto slash = name.find('/');
  return slash == std::string::npos ? name : name.substr(slash + 1);
}

std::string F(absl::string_view prefix, absl::string_view field) {
  return prefix.empty() ? std::string(field) : absl::StrCat(prefix, ".", field);
}

bool Has(const std::vector<std::string>& paths, absl::string_view p) {
  return std::find(paths.begin(), paths.end(), p) != paths.end();
}


absl::Status CheckEtag(const std::string& given, const std::string& current, const std::string& name) {
  if (given.empty() || given == current) return absl::OkStatus();
  return Aborted("ETAG_MISMATCH",
                 absl::StrCat(name, " was changed by someone else; read it again and retry"),
                 {{"resource", name}});
}

absl::Status NotInEffect(const std::string& name, CivilDay day) {
  return FailedPrecondition("NOT_IN_EFFECT", absl::StrCat(name, " does not exist on ", FormatDate(day)),
                            {{"resource", name}, {"date", FormatDate(day)}});
}

absl::StatusOr<std::optional<CivilDay>> OptionalDate(const std::string& text, absl::string_view field) {
  if (text.empty()) return std::optional<CivilDay>();
  OPS_ASSIGN_OR_RETURN(CivilDay day, aip::ParseDate(text, field));
  return std::optional<CivilDay>(day);
}

// Whether `member` is employed on every day of [from, to) (`to` empty = open-ended).
bool EmployedThrough(const v1::Member& member, CivilDay from, std::optional<CivilDay> to) {
  CivilDay start, end = CivilDay::max();
  if (!absl::ParseCivilTime(member.employment_start_date(), &start)) return false;
  if (!member.employment_end_date().empty() &&
      !absl::ParseCivilTime(member.employment_end_date(), &end)) {
    return false;
  }
  return start <= from && (to ? *to <= end : end == CivilDay::max());
}

absl::Status OutsideEmployment(const v1::Member& member, absl::string_view what) {
  return FailedPrecondition(
      "OUTSIDE_EMPLOYMENT",
      absl::StrCat(member.name(), " is employed from ", member.employment_start_date(),
                   member.employment_end_date().empty() ? "" : absl::StrCat(" until ", member.employment_end_date()),
                   "; ", what),
      {{"member", member.name()}});
}

// The owner named in `g` must be a member employed on `day`. Locks the member.
absl::Status CheckOwner(pg::Tx& tx, const ProjectGroup& g, CivilDay day) {
  OPS_ASSIGN_OR_RETURN(auto member, GetMember(tx, Id(g.owner()), true));
  if (!member) {
    return InvalidArgument("project_group.owner", absl::StrCat(g.owner(), " does not exist"), "UNKNOWN_MEMBER");
  }
  if (!EmployedThrough(*member, day, day + 1)) {
    return OutsideEmployment(*member, absl::StrCat("the owner must be employed on ", FormatDate(day)));
  }
  return absl::OkStatus();
}

// "projectGroups/{g}/memberships/{m}" -> {g, m}.
absl::StatusOr<std::pair<std::string, std::string>> ParseMembershipName(absl::string_view name,
                                                                        absl::string_view field) {
  if (name.empty()) return InvalidArgument(field, "is required");
  std::vector<absl::string_view> parts = absl::StrSplit(name, '/');
  if (parts.size() != 4 || parts[0] != "projectGroups" || parts[2] != "memberships" ||
      !aip::IsValidId(parts[1]) || !aip::IsValidId(parts[3])) {
    return InvalidArgument(field, absl::StrCat("must be a resource name \"projectGroups/{id}/memberships/{id}\", got \"",
                                               name.substr(0, 100), "\""));
  }
  return std::make_pair(std::string(parts[1]), std::string(parts[3]));
}

}  // namespace

// ---- Rules (group_rules.h) ------------------------------------------------------------

const std::vector<std::string> kProjectGroupFields = {"display_name", "description", "owner"};

absl::Status ValidateProjectGroup(const ProjectGroup& g, absl::string_view prefix,
                                  const std::vector<std::string>& paths) {
  if (Has(paths, "display_name")) {
    OPS_RETURN_IF_ERROR(ValidateText(g.display_name(), F(prefix, "display_name"), kMaxName, true));
  }
  if (Has(paths, "description")) {
    OPS_RETURN_IF_ERROR(ValidateText(g.description(), F(prefix, "description"), kMaxText, false));
  }
  if (Has(paths, "owner")) {
    OPS_RETURN_IF_ERROR(aip::ParseName(g.owner(), "members", F(prefix, "owner")).status());
  }
  return absl::OkStatus();
}

absl::Status ValidateGroupRole(absl::string_view role, absl::string_view field) {
  return ValidateText(role, field, kMaxRole, true);
}

absl::StatusOr<ProjectGroup> CreateProjectGroupIn(pg::Tx& tx, const std::string& id, const ProjectGroup& g,
                                                  CivilDay day) {
  // Lock order everywhere in this file: group, then member.
  OPS_RETURN_IF_ERROR(ProjectGroupStore::CreateHead(tx, id));
  OPS_RETURN_IF_ERROR(CheckOwner(tx, g, day));
  ProjectGroup stored;
  stored.set_display_name(g.display_name());
  stored.set_description(g.description());
  stored.set_owner(g.owner());
  OPS_RETURN_IF_ERROR(ProjectGroupStore::Save(tx, id, {{day, std::nullopt, stored}}));
  OPS_ASSIGN_OR_RETURN(auto got, ProjectGroupStore::Get(tx, id, day));
  if (!got) return Internal("created project group not readable");
  return std::move(*got);
}

absl::StatusOr<ProjectGroup> UpdateProjectGroupIn(pg::Tx& tx, const std::string& id, const ProjectGroup& g,
                                                  const std::vector<std::string>& paths, CivilDay day) {
  const std::string name = aip::Name("projectGroups", id);
  OPS_ASSIGN_OR_RETURN(auto revision, ProjectGroupStore::Lock(tx, id));
  if (!revision) return NotFound(name);
  OPS_RETURN_IF_ERROR(CheckEtag(g.etag(), Etag(*revision), name));
  OPS_ASSIGN_OR_RETURN(auto versions, ProjectGroupStore::Load(tx, id));
  const bool ok = ChangeFrom(versions, day, [&](ProjectGroup& v) {
    for (const auto& p : paths) {
      if (p == "display_name") v.set_display_name(g.display_name());
      if (p == "description") v.set_description(g.description());
      if (p == "owner") v.set_owner(g.owner());
    }
  });
  if (!ok) return NotInEffect(name, day);
  if (Has(paths, "owner")) OPS_RETURN_IF_ERROR(CheckOwner(tx, g, day));
  OPS_RETURN_IF_ERROR(ProjectGroupStore::Save(tx, id, versions));
  OPS_ASSIGN_OR_RETURN(auto got, ProjectGroupStore::Get(tx, id, day));
  if (!got) return Internal("updated project group not readable");
  return std::move(*got);
}

absl::StatusOr<v1::GroupMembership> AddGroupMemberIn(pg::Tx& tx, const NewMembership& m) {
  const std::string group = aip::Name("projectGroups", m.group_id);
  const std::string member_name = aip::Name("members", m.member_id);
  OPS_ASSIGN_OR_RETURN(auto revision, ProjectGroupStore::Lock(tx, m.group_id));
  if (!revision) return NotFound(group);
  OPS_ASSIGN_OR_RETURN(auto member, GetMember(tx, m.member_id, true));
  if (!member) return NotFound(member_name);
  if (!EmployedThrough(*member, m.start, m.end)) {
    return OutsideEmployment(*member, "the membership must lie within that");
  }
  OPS_ASSIGN_OR_RETURN(auto versions, ProjectGroupStore::Load(tx, m.group_id));
  if (!std::any_of(versions.begin(), versions.end(),
                   [&](const auto& v) { return v.from <= m.start && (!v.to || *v.to > m.start); })) {
    return NotInEffect(group, m.start);
  }
  OPS_ASSIGN_OR_RETURN(auto overlapping, OverlappingMemberships(tx, m.group_id, m.member_id, m.start, m.end));
  if (!overlapping.empty()) {
    const auto& o = overlapping.front();
    return AlreadyExists(o.name(), absl::StrCat(member_name, " is already in ", group, " from ", o.start_date(),
                                                o.end_date().empty() ? "" : absl::StrCat(" to ", o.end_date()),
                                                " (", o.name(), ")"));
  }
  OPS_RETURN_IF_ERROR(InsertMembership(tx, {m.group_id, m.id, m.member_id, m.role, m.start, m.end}));
  OPS_ASSIGN_OR_RETURN(auto got, GetMembership(tx, m.group_id, m.id, false));
  if (!got) return Internal("created membership not readable");
  return std::move(*got);
}

absl::StatusOr<v1::GroupMembership> EndGroupMembershipIn(pg::Tx& tx, const std::string& group_id,
                                                         const std::string& id, CivilDay end,
                                                         const std::string& etag) {
  const std::string name = MembershipName(group_id, id);
  OPS_ASSIGN_OR_RETURN(auto current, GetMembership(tx, group_id, id, true));
  if (!current) return NotFound(name);
  OPS_RETURN_IF_ERROR(CheckEtag(etag, current->etag(), name));
  if (FormatDate(end) <= current->start_date()) {
    return InvalidArgument("end_date", absl::StrCat("must be after the start date ", current->start_date()));
  }
  if (!current->end_date().empty() && FormatDate(end) > current->end_date()) {
    return FailedPrecondition("MEMBERSHIP_ALREADY_ENDS", absl::StrCat(name, " already ends on ", current->end_date()),
                              {{"membership", name}, {"end_date", current->end_date()}});
  }
  OPS_RETURN_IF_ERROR(EndMembershipAt(tx, group_id, id, end));
  OPS_ASSIGN_OR_RETURN(auto got, GetMembership(tx, group_id, id, false));
  if (!got) return Internal("ended membership not readable");
  return std::move(*got);
}

// ---- The RPCs ---------------------------------------------------------------------------

absl::Status OrgLogic::CreateProjectGroup(const v1::CreateProjectGroupRequest& req,
                                          v1::CreateProjectGroupResponse* resp) {
  if (!req.has_project_group()) return InvalidArgument("project_group", "is required");
  const auto& g = req.project_group();
  OPS_RETURN_IF_ERROR(ValidateProjectGroup(g, "project_group", kProjectGroupFields));
  OPS_ASSIGN_OR_RETURN(std::string id, IdOrNew(req.project_group_id(), "project_group_id"));
  OPS_ASSIGN_OR_RETURN(CivilDay day, aip::ParseDate(req.effective_date(), "effective_date"));
  return Write("CreateProjectGroup", req, req.request_id(), resp, [&](pg::Tx& tx) -> absl::Status {
    OPS_ASSIGN_OR_RETURN(*resp->mutable_project_group(), CreateProjectGroupIn(tx, id, g, day));
    return absl::OkStatus();
  });
}

absl::Status OrgLogic::GetProjectGroup(const v1::GetProjectGroupRequest& req, v1::GetProjectGroupResponse* resp) {
  OPS_ASSIGN_OR_RETURN(std::string id, aip::ParseName(req.name(), "projectGroups", "name"));
  OPS_ASSIGN_OR_RETURN(CivilDay day, aip::ParseDate(req.as_of(), "as_of"));
  return Read([&](pg::Tx& tx) -> absl::Status {
    OPS_ASSIGN_OR_RETURN(auto got, ProjectGroupStore::Get(tx, id, day));
    if (!got) return NotFound(req.name());
    *resp->mutable_project_group() = std::move(*got);
    return absl::OkStatus();
  });
}

absl::Status OrgLogic::ListProjectGroups(const v1::ListProjectGroupsRequest& req,
                                         v1::ListProjectGroupsResponse* resp) {
  OPS_ASSIGN_OR_RETURN(aip::PageRequest page, aip::ParsePage(req));
  OPS_ASSIGN_OR_RETURN(CivilDay day, aip::ParseDate(req.as_of(), "as_of"));
  return Read([&](pg::Tx& tx) -> absl::Status {
    OPS_ASSIGN_OR_RETURN(auto items, ProjectGroupStore::Query(tx, "", day, {}, page.after, page.size + 1));
    if (static_cast<int>(items.size()) > page.size) {
      items.resize(static_cast<size_t>(page.size));
      resp->set_next_page_token(aip::NextPageToken(req, Id(items.back().name())));
    }
    for (auto& g : items) *resp->add_project_groups() = std::move(g);
    return absl::OkStatus();
  });
}

absl::Status OrgLogic::UpdateProjectGroup(const v1::UpdateProjectGroupRequest& req,
                                          v1::UpdateProjectGroupResponse* resp) {
  if (!req.has_project_group()) return InvalidArgument("project_group", "is required");
  const auto& g = req.project_group();
  OPS_ASSIGN_OR_RETURN(std::string id, aip::ParseName(g.name(), "projectGroups", "project_group.name"));
  OPS_ASSIGN_OR_RETURN(auto paths, MaskPaths(req.update_mask(), kProjectGroupFields));
  OPS_RETURN_IF_ERROR(ValidateProjectGroup(g, "project_group", paths));
  OPS_ASSIGN_OR_RETURN(CivilDay day, aip::ParseDate(req.effective_date(), "effective_date"));
  return Write("UpdateProjectGroup", req, req.request_id(), resp, [&](pg::Tx& tx) -> absl::Status {
    OPS_ASSIGN_OR_RETURN(*resp->mutable_project_group(), UpdateProjectGroupIn(tx, id, g, paths, day));
    return absl::OkStatus();
  });
}

absl::Status OrgLogic::AddGroupMember(const v1::AddGroupMemberRequest& req, v1::AddGroupMemberResponse* resp) {
  NewMembership m;
  OPS_ASSIGN_OR_RETURN(m.group_id, aip::ParseName(req.project_group(), "projectGroups", "project_group"));
  OPS_ASSIGN_OR_RETURN(m.member_id, aip::ParseName(req.member(), "members", "member"));
  OPS_RETURN_IF_ERROR(ValidateGroupRole(req.role(), "role"));
  m.role = req.role();
  OPS_ASSIGN_OR_RETURN(m.start, aip::ParseDate(req.start_date(), "start_date"));
  OPS_ASSIGN_OR_RETURN(m.end, OptionalDate(req.end_date(), "end_date"));
  if (m.end && *m.end <= m.start) return InvalidArgument("end_date", "must be after start_date");
  m.id = req.membership_id();
  if (m.id.empty()) {
    m.id = aip::NewId();
  } else {
    OPS_RETURN_IF_ERROR(aip::ValidateId(m.id, "membership_id"));
  }
  return Write("AddGroupMember", req, req.request_id(), resp, [&](pg::Tx& tx) -> absl::Status {
    OPS_ASSIGN_OR_RETURN(*resp->mutable_membership(), AddGroupMemberIn(tx, m));
    return absl::OkStatus();
  });
}

absl::Status OrgLogic::EndGroupMembership(const v1::EndGroupMembershipRequest& req,
                                          v1::EndGroupMembershipResponse* resp) {
  OPS_ASSIGN_OR_RETURN(auto key, ParseMembershipName(req.name(), "name"));
  OPS_ASSIGN_OR_RETURN(CivilDay end, aip::ParseDate(req.end_date(), "end_date"));
  return Write("EndGroupMembership", req, req.request_id(), resp, [&](pg::Tx& tx) -> absl::Status {
    OPS_ASSIGN_OR_RETURN(*resp->mutable_membership(), EndGroupMembershipIn(tx, key.first, key.second, end, req.etag()));
    return absl::OkStatus();
  });
}

absl::Status OrgLogic::ListGroupMemberships(const v1::ListGroupMembershipsRequest& req,
                                            v1::ListGroupMembershipsResponse* resp) {
  OPS_ASSIGN_OR_RETURN(aip::PageRequest page, aip::ParsePage(req));
  std::string group_id, member_id;
  if (!req.project_group().empty()) {
    OPS_ASSIGN_OR_RETURN(group_id, aip::ParseName(req.project_group(), "projectGroups", "project_group"));
  }
  if (!req.member().empty()) {
    OPS_ASSIGN_OR_RETURN(member_id, aip::ParseName(req.member(), "members", "member"));
  }
  if (group_id.empty() && member_id.empty()) {
    return InvalidArgument("project_group", "is required unless member is given");
  }
  OPS_ASSIGN_OR_RETURN(CivilDay day, aip::ParseDate(req.as_of(), "as_of"));
  // The page key is "{group id}/{membership id}".
  std::string after_group, after_id;
  if (!page.after.empty()) {
    std::vector<std::string> parts = absl::StrSplit(page.after, absl::MaxSplits('/', 1));
    if (parts.size() != 2) {
      return InvalidArgument("page_token", "is not a token this list returned", "INVALID_PAGE_TOKEN");
    }
    after_group = std::move(parts[0]);
    after_id = std::move(parts[1]);
  }
  return Read([&](pg::Tx& tx) -> absl::Status {
    if (!group_id.empty()) {
      OPS_ASSIGN_OR_RETURN(auto group, ProjectGroupStore::Get(tx, group_id, day));
      if (!group) return NotFound(req.project_group());
    }
    if (!member_id.empty()) {
      OPS_ASSIGN_OR_RETURN(auto member, org::GetMember(tx, member_id, false));
      if (!member) return NotFound(req.member());
    }
    OPS_ASSIGN_OR_RETURN(auto items, ListMemberships(tx, group_id, member_id, day, after_group, after_id,
                                                     page.size + 1));
    if (static_cast<int>(items.size()) > page.size) {
      items.resize(static_cast<size_t>(page.size));
      OPS_ASSIGN_OR_RETURN(auto last, ParseMembershipName(items.back().name(), "name"));
      resp->set_next_page_token(aip::NextPageToken(req, absl::StrCat(last.first, "/", last.second)));
    }
    for (auto& m : items) *resp->add_memberships() = std::move(m);
    return absl::OkStatus();
  });
}

absl::Status OrgLogic::GetMatrixManagers(const v1::GetMatrixManagersRequest& req,
                                         v1::GetMatrixManagersResponse* resp) {
  OPS_ASSIGN_OR_RETURN(std::string member_id, aip::ParseName(req.member(), "members", "member"));
  OPS_ASSIGN_OR_RETURN(CivilDay day, aip::ParseDate(req.as_of(), "as_of"));
  return Read([&](pg::Tx& tx) -> absl::Status {
    OPS_ASSIGN_OR_RETURN(auto member, org::GetMember(tx, member_id, false));
    if (!member) return NotFound(req.member());
    OPS_ASSIGN_OR_RETURN(OrgSnapshot snap, LoadSnapshot(tx, day));
    OPS_ASSIGN_OR_RETURN(auto manager, FunctionalManager(snap, member_id, day));
    if (manager) *resp->mutable_functional_manager() = std::move(*manager);
    OPS_ASSIGN_OR_RETURN(auto lines, GroupLinesOf(tx, member_id, day));
    for (const auto& line : lines) {
      auto* out = resp->add_project_groups();
      out->set_project_group(aip::Name("projectGroups", line.group_id));
      out->set_role(line.role);
      if (!line.owner_id.empty()) out->set_owner(aip::Name("members", line.owner_id));
    }
    return absl::OkStatus();
  });
}

}  // namespace opsteam::org
