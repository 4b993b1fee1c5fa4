#include "services/org/org_logic.h"

#include <algorithm>
#include <optional>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "libs/aip/aip.h"
#include "libs/status/macros.h"
#include "libs/status/status.h"
#include "services/org/audit.h"
#include "services/org/org_store.h"
#include "services/org/validation.h"

namespace opsteam::org {
namespace {

using aip::FormatDate;

std::string Id(const std::string& name) {
  auto slash = name.find('/');
  return slash == std::string::npos ? name : name.substr(slash + 1);
}

absl::Status CheckEtag(const std::string& given, int64_t revision, const std::string& name) {
  if (given.empty() || given == Etag(revision)) return absl::OkStatus();
  return Aborted("ETAG_MISMATCH",
                 absl::StrCat(name, " was changed by someone else; read it again and retry"),
                 {{"resource", name}});
}

absl::StatusOr<std::optional<CivilDay>> OptionalDate(const std::string& text, absl::string_view field) {
  if (text.empty()) return std::optional<CivilDay>();
  OPS_ASSIGN_OR_RETURN(CivilDay day, aip::ParseDate(text, field));
  return std::optional<CivilDay>(day);
}

// Whether the last version runs open-ended: a parent or department a change points at must
// not be scheduled to end.
template <typename T>
bool ExistsFrom(const std::vector<Version<T>>& versions, CivilDay day) {
  if (versions.empty() || versions.back().to) return false;
  for (const auto& v : versions) {
    if (v.from <= day && (!v.to || *v.to > day)) {
      return true;
    }
  }
  return false;
}

// ---- Reporting lines over a snapshot ------------------------------------------------

// The post `post_id` reports to: its reports-to post, else the lead of its department,
// else of the nearest department above that has one. A lead reports to the lead above.
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

// The first person above `post_id` (vacant posts are passed over), not `self`.
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

absl::Status NotInEffect(const std::string& name, CivilDay day) {
  return FailedPrecondition("NOT_IN_EFFECT",
                            absl::StrCat(name, " does not exist on ", FormatDate(day)),
                            {{"resource", name}, {"date", FormatDate(day)}});
}

}  // namespace

// ---- Transactions -------------------------------------------------------------------

absl::Status OrgLogic::Write(absl::string_view method, const google::protobuf::Message& req,
                             const std::string& request_id, google::protobuf::Message* resp,
                             const std::function<absl::Status(pg::Tx&)>& body) {
  OPS_RETURN_IF_ERROR(aip::ValidateRequestId(request_id));
  // What the store records in the audit trail: this method, dated by the request's
  // effective_date when it has one.
  absl::CivilDay day = aip::Today();
  if (const auto* f = req.GetDescriptor()->FindFieldByName("effective_date")) {
    if (auto d = aip::ParseDate(req.GetReflection()->GetString(req, f), "effective_date"); d.ok()) day = *d;
  }
  ScopedWrite scope({std::string(method), day});
  const std::string digest = request_id.empty() ? std::string() : aip::RequestDigest(req);
  // Returns true when the request was done before and `resp` now holds its response.
  auto replay = [&](pg::Tx& tx) -> absl::StatusOr<bool> {
    OPS_ASSIGN_OR_RETURN(auto logged, FindRequest(tx, request_id));
    if (!logged) return false;
    if (logged->method != method || logged->digest != digest) {
      return InvalidArgument("request_id", "was already used for a different request",
                             "REQUEST_ID_REUSED");
    }
    if (!resp->ParseFromString(logged->response)) return Internal("unreadable logged response");
    return true;
  };
  absl::Status s = pg::RunInTransaction(pool_, {}, [&](pg::Tx& tx) -> absl::Status {
    resp->Clear();
    if (!request_id.empty()) {
      OPS_ASSIGN_OR_RETURN(bool done, replay(tx));
      if (done) return absl::OkStatus();
    }
    OPS_RETURN_IF_ERROR(body(tx));
    if (request_id.empty()) return absl::OkStatus();
    return LogRequest(tx, request_id, {std::string(method), digest, resp->SerializeAsString()});
  });
  if (s.ok() || request_id.empty() || s.code() == absl::StatusCode::kInvalidArgument) return s;
  // A concurrent request with the same id may have committed first: answer as it did.
  absl::Status first = s;
  bool replayed = false;
  absl::Status again = pg::RunInTransaction(pool_, {.read_only = true}, [&](pg::Tx& tx) -> absl::Status {
    OPS_ASSIGN_OR_RETURN(replayed, replay(tx));
    return absl::OkStatus();
  });
  if (!again.ok()) return again.code() == absl::StatusCode::kInvalidArgument ? again : first;
  return replayed ? absl::OkStatus() : first;
}

absl::Status OrgLogic::Read(const std::function<absl::Status(pg::Tx&)>& body) {
  return pg::RunInTransaction(
      pool_, {.isolation = pg::Isolation::kRepeatableRead, .read_only = true}, body);
}

// ---- Departments --------------------------------------------------------------------

absl::Status OrgLogic::CreateDepartment(const v1::CreateDepartmentRequest& req,
                                        v1::CreateDepartmentResponse* resp) {
  if (!req.has_department()) return InvalidArgument("department", "is required");
  const auto& d = req.department();
  OPS_RETURN_IF_ERROR(ValidateDepartment(d, "department", kDepartmentFields));
  if (!d.lead_position().empty()) {
    return InvalidArgument("department.lead_position",
                           "set it with UpdateDepartment once the lead position exists");
  }
  std::string parent_id;
  if (!d.parent().empty()) {
    OPS_ASSIGN_OR_RETURN(parent_id, aip::ParseName(d.parent(), "departments", "department.parent"));
  }
  std::string id = req.department_id();
  if (id.empty()) {
    id = aip::NewId();
  } else {
    OPS_RETURN_IF_ERROR(aip::ValidateId(id, "department_id"));
  }
  OPS_ASSIGN_OR_RETURN(CivilDay day, aip::ParseDate(req.effective_date(), "effective_date"));

  return Write("CreateDepartment", req, req.request_id(), resp, [&](pg::Tx& tx) -> absl::Status {
    if (!parent_id.empty()) {
      OPS_ASSIGN_OR_RETURN(auto parent, DepartmentStore::Load(tx, parent_id));
      if (!ExistsFrom(parent, day)) {
        return InvalidArgument("department.parent",
                               absl::StrCat(d.parent(), " does not exist from ", FormatDate(day)),
                               "UNKNOWN_PARENT");
      }
    }
    OPS_RETURN_IF_ERROR(DepartmentStore::CreateHead(tx, id));
    Department stored = d;
    OPS_RETURN_IF_ERROR(DepartmentStore::Save(tx, id, {{day, std::nullopt, stored}}));
    OPS_ASSIGN_OR_RETURN(auto got, DepartmentStore::Get(tx, id, day));
    if (!got) return Internal("created department not readable");
    OPS_ASSIGN_OR_RETURN(auto ancestors, DepartmentAncestors(tx, id, day));
    for (auto& a : ancestors) got->add_ancestors(std::move(a));
    *resp->mutable_department() = std::move(*got);
    return absl::OkStatus();
  });
}

absl::Status OrgLogic::GetDepartment(const v1::GetDepartmentRequest& req,
                                     v1::GetDepartmentResponse* resp) {
  OPS_ASSIGN_OR_RETURN(std::string id, aip::ParseName(req.name(), "departments", "name"));
  OPS_ASSIGN_OR_RETURN(CivilDay day, aip::ParseDate(req.as_of(), "as_of"));
  return Read([&](pg::Tx& tx) -> absl::Status {
    OPS_ASSIGN_OR_RETURN(auto got, DepartmentStore::Get(tx, id, day));
    if (!got) return NotFound(req.name());
    OPS_ASSIGN_OR_RETURN(auto ancestors, DepartmentAncestors(tx, id, day));
    for (auto& a : ancestors) got->add_ancestors(std::move(a));
    *resp->mutable_department() = std::move(*got);
    return absl::OkStatus();
  });
}

absl::Status OrgLogic::ListDepartments(const v1::ListDepartmentsRequest& req,
                                       v1::ListDepartmentsResponse* resp) {
  OPS_ASSIGN_OR_RETURN(aip::PageRequest page, aip::ParsePage(req));
  std::string parent_id;
  if (!req.parent().empty()) {
    OPS_ASSIGN_OR_RETURN(parent_id, aip::ParseName(req.parent(), "departments", "parent"));
  }
  if (!v1::DepartmentKind_IsValid(req.kind())) {
    return InvalidArgument("kind", absl::StrCat("unknown value ", static_cast<int>(req.kind())));
  }
  OPS_ASSIGN_OR_RETURN(CivilDay day, aip::ParseDate(req.as_of(), "as_of"));
  return Read([&](pg::Tx& tx) -> absl::Status {
    if (!parent_id.empty()) {
      OPS_ASSIGN_OR_RETURN(auto parent, DepartmentStore::Get(tx, parent_id, day));
      if (!parent) return NotFound(req.parent());
    }
    std::vector<Department> items;
    if (req.recursive()) {
      OPS_ASSIGN_OR_RETURN(items, ListDepartmentSubtree(tx, parent_id, req.kind(), day, page.after,
                                                        page.size + 1));
    } else if (parent_id.empty()) {
      OPS_ASSIGN_OR_RETURN(items, DepartmentStore::Query(tx, "v.parent_id IS NULL AND ($2 = 0 OR v.kind = $2)",
                                                         day, {absl::StrCat(static_cast<int>(req.kind()))},
                                                         page.after, page.size + 1));
    } else {
      OPS_ASSIGN_OR_RETURN(items, DepartmentStore::Query(tx, "v.parent_id = $2 AND ($3 = 0 OR v.kind = $3)",
                                                         day, {parent_id, absl::StrCat(static_cast<int>(req.kind()))},
                                                         page.after, page.size + 1));
    }
    if (static_cast<int>(items.size()) > page.size) {
      items.resize(static_cast<size_t>(page.size));
      resp->set_next_page_token(aip::NextPageToken(req, Id(items.back().name())));
    }
    for (auto& d : items) *resp->add_departments() = std::move(d);
    return absl::OkStatus();
  });
}

absl::Status OrgLogic::UpdateDepartment(const v1::UpdateDepartmentRequest& req,
                                        v1::UpdateDepartmentResponse* resp) {
  if (!req.has_department()) return InvalidArgument("department", "is required");
  const auto& d = req.department();
  OPS_ASSIGN_OR_RETURN(std::string id, aip::ParseName(d.name(), "departments", "department.name"));
  OPS_ASSIGN_OR_RETURN(auto paths, MaskPaths(req.update_mask(), kDepartmentFields,
                                             {{"parent", "the parent is changed with MoveDepartment"}}));
  OPS_RETURN_IF_ERROR(ValidateDepartment(d, "department", paths));
  OPS_ASSIGN_OR_RETURN(CivilDay day, aip::ParseDate(req.effective_date(), "effective_date"));

  return Write("UpdateDepartment", req, req.request_id(), resp, [&](pg::Tx& tx) -> absl::Status {
    OPS_ASSIGN_OR_RETURN(auto revision, DepartmentStore::Lock(tx, id));
    if (!revision) return NotFound(d.name());
    OPS_RETURN_IF_ERROR(CheckEtag(d.etag(), *revision, d.name()));
    OPS_ASSIGN_OR_RETURN(auto versions, DepartmentStore::Load(tx, id));
    const bool sets_lead = std::count(paths.begin(), paths.end(), "lead_position") > 0;
    if (sets_lead && !d.lead_position().empty()) {
      OPS_ASSIGN_OR_RETURN(auto lead, PositionStore::Get(tx, Id(d.lead_position()), day));
      if (!lead || lead->department() != d.name()) {
        return InvalidArgument("department.lead_position",
                               absl::StrCat(d.lead_position(), " is not a position of ", d.name(),
                                            " on ", FormatDate(day)),
                               "LEAD_NOT_IN_DEPARTMENT");
      }
    }
    const bool ok = ChangeFrom(versions, day, [&](Department& v) {
      for (const auto& p : paths) {
        if (p == "display_name") v.set_display_name(d.display_name());
        if (p == "kind") v.set_kind(d.kind());
        if (p == "description") v.set_description(d.description());
        if (p == "lead_position") v.set_lead_position(d.lead_position());
      }
    });
    if (!ok) return NotInEffect(d.name(), day);
    OPS_RETURN_IF_ERROR(DepartmentStore::Save(tx, id, versions));
    OPS_ASSIGN_OR_RETURN(auto got, DepartmentStore::Get(tx, id, day));
    OPS_ASSIGN_OR_RETURN(auto ancestors, DepartmentAncestors(tx, id, day));
    for (auto& a : ancestors) got->add_ancestors(std::move(a));
    *resp->mutable_department() = std::move(*got);
    return absl::OkStatus();
  });
}

absl::Status OrgLogic::MoveDepartment(const v1::MoveDepartmentRequest& req,
                                      v1::MoveDepartmentResponse* resp) {
  OPS_ASSIGN_OR_RETURN(std::string id, aip::ParseName(req.name(), "departments", "name"));
  std::string parent_id;
  if (!req.new_parent().empty()) {
    OPS_ASSIGN_OR_RETURN(parent_id, aip::ParseName(req.new_parent(), "departments", "new_parent"));
  }
  OPS_ASSIGN_OR_RETURN(CivilDay day, aip::ParseDate(req.effective_date(), "effective_date"));

  return Write("MoveDepartment", req, req.request_id(), resp, [&](pg::Tx& tx) -> absl::Status {
    OPS_ASSIGN_OR_RETURN(auto revision, DepartmentStore::Lock(tx, id));
    if (!revision) return NotFound(req.name());
    OPS_RETURN_IF_ERROR(CheckEtag(req.etag(), *revision, req.name()));
    if (!parent_id.empty()) {
      if (parent_id == id) {
        return FailedPrecondition("DEPARTMENT_CYCLE",
                                  absl::StrCat("cannot move ", req.name(), " under itself"));
      }
      OPS_ASSIGN_OR_RETURN(auto parent, DepartmentStore::Load(tx, parent_id));
      if (!ExistsFrom(parent, day)) {
        return InvalidArgument("new_parent",
                               absl::StrCat(req.new_parent(), " does not exist from ", FormatDate(day)),
                               "UNKNOWN_PARENT");
      }
      // The new parent must not lie below the department on the day of the move nor on any
      // later day on which the tree changes.
      OPS_ASSIGN_OR_RETURN(auto days, DepartmentChangeDays(tx, day));
      days.insert(days.begin(), day);
      for (CivilDay d : days) {
        OPS_ASSIGN_OR_RETURN(auto ancestors, DepartmentAncestors(tx, parent_id, d));
        if (std::find(ancestors.begin(), ancestors.end(), req.name()) != ancestors.end()) {
          return FailedPrecondition(
              "DEPARTMENT_CYCLE",
              absl::StrCat("cannot move ", req.name(), " under ", req.new_parent(),
                           ", which is in its own subtree on ", FormatDate(d)),
              {{"department", req.name()}, {"new_parent", req.new_parent()}, {"date", FormatDate(d)}});
        }
      }
    }
    OPS_ASSIGN_OR_RETURN(auto versions, DepartmentStore::Load(tx, id));
    const bool ok = ChangeFrom(versions, day, [&](Department& v) { v.set_parent(req.new_parent()); });
    if (!ok) return NotInEffect(req.name(), day);
    OPS_RETURN_IF_ERROR(DepartmentStore::Save(tx, id, versions));
    OPS_ASSIGN_OR_RETURN(auto got, DepartmentStore::Get(tx, id, day));
    OPS_ASSIGN_OR_RETURN(auto ancestors, DepartmentAncestors(tx, id, day));
    for (auto& a : ancestors) got->add_ancestors(std::move(a));
    *resp->mutable_department() = std::move(*got);
    return absl::OkStatus();
  });
}

absl::Status OrgLogic::DeleteDepartment(const v1::DeleteDepartmentRequest& req,
                                        v1::DeleteDepartmentResponse* resp) {
  OPS_ASSIGN_OR_RETURN(std::string id, aip::ParseName(req.name(), "departments", "name"));
  OPS_ASSIGN_OR_RETURN(CivilDay day, aip::ParseDate(req.effective_date(), "effective_date"));
  return Write("DeleteDepartment", req, req.request_id(), resp, [&](pg::Tx& tx) -> absl::Status {
    OPS_ASSIGN_OR_RETURN(auto revision, DepartmentStore::Lock(tx, id));
    if (!revision) return NotFound(req.name());
    OPS_RETURN_IF_ERROR(CheckEtag(req.etag(), *revision, req.name()));
    OPS_ASSIGN_OR_RETURN(auto versions, DepartmentStore::Load(tx, id));
    if (!std::any_of(versions.begin(), versions.end(),
                     [&](const auto& v) { return v.from <= day && (!v.to || *v.to > day); })) {
      return NotInEffect(req.name(), day);
    }
    OPS_ASSIGN_OR_RETURN(Dependents left, DepartmentDependents(tx, id, day));
    if (left.sub_departments || left.positions || left.members) {
      return FailedPrecondition(
          "DEPARTMENT_NOT_EMPTY",
          absl::StrCat(req.name(), " still has ", left.sub_departments, " sub-departments, ",
                       left.positions, " positions and ", left.members, " members on or after ",
                       FormatDate(day), "; move or end them first"),
          {{"sub_departments", absl::StrCat(left.sub_departments)},
           {"positions", absl::StrCat(left.positions)},
           {"members", absl::StrCat(left.members)}});
    }
    EndAt(versions, day);
    return DepartmentStore::Save(tx, id, versions);
  });
}

// ---- Positions ----------------------------------------------------------------------

namespace {

// Checks what a position points at, as of `day`: its department and reports-to post.
absl::Status CheckPositionRefs(pg::Tx& tx, const Position& p, const std::string& self_id, CivilDay day,
                               bool check_department, bool check_reports_to) {
  if (check_department) {
    OPS_ASSIGN_OR_RETURN(auto dept, DepartmentStore::Load(tx, Id(p.department())));
    if (!ExistsFrom(dept, day)) {
      return InvalidArgument("position.department",
                             absl::StrCat(p.department(), " does not exist from ", FormatDate(day)),
                             "UNKNOWN_DEPARTMENT");
    }
  }
  if (check_reports_to && !p.reports_to().empty()) {
    const std::string target = Id(p.reports_to());
    if (target == self_id) return InvalidArgument("position.reports_to", "a position cannot report to itself");
    OPS_ASSIGN_OR_RETURN(auto boss, PositionStore::Load(tx, target));
    if (!ExistsFrom(boss, day)) {
      return InvalidArgument("position.reports_to",
                             absl::StrCat(p.reports_to(), " does not exist from ", FormatDate(day)),
                             "UNKNOWN_POSITION");
    }
    // Follow the line up: it must not come back to this position.
    std::string cur = target;
    for (int hops = 0; hops < 1000 && !cur.empty(); ++hops) {
      OPS_ASSIGN_OR_RETURN(auto up, PositionStore::Get(tx, cur, day));
      if (!up || up->reports_to().empty()) break;
      cur = Id(up->reports_to());
      if (cur == self_id) {
        return FailedPrecondition("REPORTING_CYCLE",
                                  absl::StrCat(p.reports_to(), " already reports (indirectly) to ",
                                               aip::Name("positions", self_id)));
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<Position> ReadPosition(pg::Tx& tx, const std::string& id, CivilDay day) {
  OPS_ASSIGN_OR_RETURN(auto got, PositionStore::Get(tx, id, day));
  if (!got) return Internal("position not readable");
  std::vector<Position> one = {std::move(*got)};
  OPS_RETURN_IF_ERROR(FillCounts(tx, one, day));
  return std::move(one[0]);
}

}  // namespace

absl::Status OrgLogic::CreatePosition(const v1::CreatePositionRequest& req,
                                      v1::CreatePositionResponse* resp) {
  if (!req.has_position()) return InvalidArgument("position", "is required");
  const auto& p = req.position();
  OPS_RETURN_IF_ERROR(aip::ParseName(p.department(), "departments", "position.department").status());
  OPS_RETURN_IF_ERROR(ValidatePosition(p, "position", kPositionFields));
  std::string id = req.position_id();
  if (id.empty()) {
    id = aip::NewId();
  } else {
    OPS_RETURN_IF_ERROR(aip::ValidateId(id, "position_id"));
  }
  OPS_ASSIGN_OR_RETURN(CivilDay day, aip::ParseDate(req.effective_date(), "effective_date"));
  return Write("CreatePosition", req, req.request_id(), resp, [&](pg::Tx& tx) -> absl::Status {
    OPS_RETURN_IF_ERROR(CheckPositionRefs(tx, p, id, day, true, true));
    OPS_RETURN_IF_ERROR(PositionStore::CreateHead(tx, id));
    OPS_RETURN_IF_ERROR(PositionStore::Save(tx, id, {{day, std::nullopt, p}}));
    OPS_ASSIGN_OR_RETURN(*resp->mutable_position(), ReadPosition(tx, id, day));
    return absl::OkStatus();
  });
}

absl::Status OrgLogic::GetPosition(const v1::GetPositionRequest& req, v1::GetPositionResponse* resp) {
  OPS_ASSIGN_OR_RETURN(std::string id, aip::ParseName(req.name(), "positions", "name"));
  OPS_ASSIGN_OR_RETURN(CivilDay day, aip::ParseDate(req.as_of(), "as_of"));
  return Read([&](pg::Tx& tx) -> absl::Status {
    OPS_ASSIGN_OR_RETURN(auto got, PositionStore::Get(tx, id, day));
    if (!got) return NotFound(req.name());
    std::vector<Position> one = {std::move(*got)};
    OPS_RETURN_IF_ERROR(FillCounts(tx, one, day));
    *resp->mutable_position() = std::move(one[0]);
    return absl::OkStatus();
  });
}

absl::Status OrgLogic::ListPositions(const v1::ListPositionsRequest& req,
                                     v1::ListPositionsResponse* resp) {
  OPS_ASSIGN_OR_RETURN(aip::PageRequest page, aip::ParsePage(req));
  std::string dept_id;
  if (!req.department().empty()) {
    OPS_ASSIGN_OR_RETURN(dept_id, aip::ParseName(req.department(), "departments", "department"));
  }
  OPS_ASSIGN_OR_RETURN(CivilDay day, aip::ParseDate(req.as_of(), "as_of"));
  return Read([&](pg::Tx& tx) -> absl::Status {
    std::vector<Position> items;
    if (dept_id.empty()) {
      OPS_ASSIGN_OR_RETURN(items, PositionStore::Query(tx, "", day, {}, page.after, page.size + 1));
    } else {
      OPS_ASSIGN_OR_RETURN(auto dept, DepartmentStore::Get(tx, dept_id, day));
      if (!dept) return NotFound(req.department());
      if (req.recursive()) {
        OPS_ASSIGN_OR_RETURN(items, ListPositionsInSubtree(tx, dept_id, day, page.after, page.size + 1));
      } else {
        OPS_ASSIGN_OR_RETURN(items, PositionStore::Query(tx, "v.department_id = $2", day, {dept_id},
                                                         page.after, page.size + 1));
      }
    }
    if (static_cast<int>(items.size()) > page.size) {
      items.resize(static_cast<size_t>(page.size));
      resp->set_next_page_token(aip::NextPageToken(req, Id(items.back().name())));
    }
    OPS_RETURN_IF_ERROR(FillCounts(tx, items, day));
    for (auto& p : items) *resp->add_positions() = std::move(p);
    return absl::OkStatus();
  });
}

absl::Status OrgLogic::UpdatePosition(const v1::UpdatePositionRequest& req,
                                      v1::UpdatePositionResponse* resp) {
  if (!req.has_position()) return InvalidArgument("position", "is required");
  const auto& p = req.position();
  OPS_ASSIGN_OR_RETURN(std::string id, aip::ParseName(p.name(), "positions", "position.name"));
  OPS_ASSIGN_OR_RETURN(auto paths,
                       MaskPaths(req.update_mask(), kPositionFields,
                                 {{"department", "a position stays in its department; create a new one"}}));
  OPS_RETURN_IF_ERROR(ValidatePosition(p, "position", paths));
  OPS_ASSIGN_OR_RETURN(CivilDay day, aip::ParseDate(req.effective_date(), "effective_date"));
  auto has = [&](absl::string_view f) { return std::find(paths.begin(), paths.end(), f) != paths.end(); };

  return Write("UpdatePosition", req, req.request_id(), resp, [&](pg::Tx& tx) -> absl::Status {
    OPS_ASSIGN_OR_RETURN(auto revision, PositionStore::Lock(tx, id));
    if (!revision) return NotFound(p.name());
    OPS_RETURN_IF_ERROR(CheckEtag(p.etag(), *revision, p.name()));
    OPS_RETURN_IF_ERROR(CheckPositionRefs(tx, p, id, day, false, has("reports_to")));
    OPS_ASSIGN_OR_RETURN(auto versions, PositionStore::Load(tx, id));
    const bool ok = ChangeFrom(versions, day, [&](Position& v) {
      const auto* desc = v.GetDescriptor();
      const auto* refl = v.GetReflection();
      for (const auto& path : paths) {
        const auto* field = desc->FindFieldByName(path);
        refl->ClearField(&v, field);
        if (field->is_repeated()) {
          for (int i = 0; i < refl->FieldSize(p, field); ++i) {
            if (field->cpp_type() == google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE) {
              refl->AddMessage(&v, field)->CopyFrom(refl->GetRepeatedMessage(p, field, i));
            } else {
              refl->AddString(&v, field, refl->GetRepeatedString(p, field, i));
            }
          }
        } else if (field->cpp_type() == google::protobuf::FieldDescriptor::CPPTYPE_STRING) {
          refl->SetString(&v, field, refl->GetString(p, field));
        } else if (field->cpp_type() == google::protobuf::FieldDescriptor::CPPTYPE_ENUM) {
          refl->SetEnumValue(&v, field, refl->GetEnumValue(p, field));
        } else if (field->cpp_type() == google::protobuf::FieldDescriptor::CPPTYPE_INT32) {
          refl->SetInt32(&v, field, refl->GetInt32(p, field));
        }
      }
    });
    if (!ok) return NotInEffect(p.name(), day);
    if (has("headcount")) {
      OPS_ASSIGN_OR_RETURN(auto counts, SeatCounts(tx, id, day));
      for (const auto& c : counts) {
        if (c.filled > p.headcount()) {
          return FailedPrecondition(
              "HEADCOUNT_BELOW_FILLED",
              absl::StrCat(p.name(), " has ", c.filled, " members on ", FormatDate(c.day),
                           "; a headcount of ", p.headcount(), " is too low"),
              {{"position", p.name()}, {"filled", absl::StrCat(c.filled)},
               {"headcount", absl::StrCat(p.headcount())}, {"date", FormatDate(c.day)}});
        }
      }
    }
    OPS_RETURN_IF_ERROR(PositionStore::Save(tx, id, versions));
    OPS_ASSIGN_OR_RETURN(*resp->mutable_position(), ReadPosition(tx, id, day));
    return absl::OkStatus();
  });
}

absl::Status OrgLogic::DeletePosition(const v1::DeletePositionRequest& req,
                                      v1::DeletePositionResponse* resp) {
  OPS_ASSIGN_OR_RETURN(std::string id, aip::ParseName(req.name(), "positions", "name"));
  OPS_ASSIGN_OR_RETURN(CivilDay day, aip::ParseDate(req.effective_date(), "effective_date"));
  return Write("DeletePosition", req, req.request_id(), resp, [&](pg::Tx& tx) -> absl::Status {
    OPS_ASSIGN_OR_RETURN(auto revision, PositionStore::Lock(tx, id));
    if (!revision) return NotFound(req.name());
    OPS_RETURN_IF_ERROR(CheckEtag(req.etag(), *revision, req.name()));
    OPS_ASSIGN_OR_RETURN(auto versions, PositionStore::Load(tx, id));
    if (!std::any_of(versions.begin(), versions.end(),
                     [&](const auto& v) { return v.from <= day && (!v.to || *v.to > day); })) {
      return NotInEffect(req.name(), day);
    }
    auto r = tx.Exec(
        "SELECT"
        " (SELECT count(*) FROM assignments WHERE position_id = $1 AND valid_to > $2),"
        " (SELECT count(DISTINCT position_id) FROM position_versions"
        "   WHERE reports_to_id = $1 AND valid_to > $2),"
        " (SELECT count(DISTINCT department_id) FROM department_versions"
        "   WHERE lead_position_id = $1 AND valid_to > $2)",
        {id, FormatDate(day)});
    if (!r.ok()) return r.status();
    const int64_t holders = r->GetInt64(0, 0), reports = r->GetInt64(0, 1), leads = r->GetInt64(0, 2);
    if (holders || reports || leads) {
      return FailedPrecondition(
          "POSITION_IN_USE",
          absl::StrCat(req.name(), " still has ", holders, " assignments, ", reports,
                       " positions reporting to it and leads ", leads, " departments on or after ",
                       FormatDate(day)),
          {{"assignments", absl::StrCat(holders)}, {"reporting_positions", absl::StrCat(reports)},
           {"led_departments", absl::StrCat(leads)}});
    }
    EndAt(versions, day);
    return PositionStore::Save(tx, id, versions);
  });
}

// ---- Members ------------------------------------------------------------------------

absl::Status OrgLogic::CreateMember(const v1::CreateMemberRequest& req, v1::CreateMemberResponse* resp) {
  if (!req.has_member()) return InvalidArgument("member", "is required");
  OPS_RETURN_IF_ERROR(ValidateMember(req.member(), "member", kMemberFields));
  std::string id = req.member_id();
  if (id.empty()) {
    id = aip::NewId();
  } else {
    OPS_RETURN_IF_ERROR(aip::ValidateId(id, "member_id"));
  }
  return Write("CreateMember", req, req.request_id(), resp, [&](pg::Tx& tx) -> absl::Status {
    OPS_RETURN_IF_ERROR(InsertMember(tx, id, req.member()));
    OPS_ASSIGN_OR_RETURN(auto got, org::GetMember(tx, id, false));
    *resp->mutable_member() = std::move(*got);
    return absl::OkStatus();
  });
}

absl::Status OrgLogic::GetMember(const v1::GetMemberRequest& req, v1::GetMemberResponse* resp) {
  OPS_ASSIGN_OR_RETURN(std::string id, aip::ParseName(req.name(), "members", "name"));
  return Read([&](pg::Tx& tx) -> absl::Status {
    OPS_ASSIGN_OR_RETURN(auto got, org::GetMember(tx, id, false));
    if (!got) return NotFound(req.name());
    *resp->mutable_member() = std::move(*got);
    return absl::OkStatus();
  });
}

absl::Status OrgLogic::ListMembers(const v1::ListMembersRequest& req, v1::ListMembersResponse* resp) {
  OPS_ASSIGN_OR_RETURN(aip::PageRequest page, aip::ParsePage(req));
  return Read([&](pg::Tx& tx) -> absl::Status {
    OPS_ASSIGN_OR_RETURN(auto items, org::ListMembers(tx, page.after, page.size + 1));
    if (static_cast<int>(items.size()) > page.size) {
      items.resize(static_cast<size_t>(page.size));
      resp->set_next_page_token(aip::NextPageToken(req, Id(items.back().name())));
    }
    for (auto& m : items) *resp->add_members() = std::move(m);
    return absl::OkStatus();
  });
}

absl::Status OrgLogic::UpdateMember(const v1::UpdateMemberRequest& req, v1::UpdateMemberResponse* resp) {
  if (!req.has_member()) return InvalidArgument("member", "is required");
  const auto& m = req.member();
  OPS_ASSIGN_OR_RETURN(std::string id, aip::ParseName(m.name(), "members", "member.name"));
  OPS_ASSIGN_OR_RETURN(auto paths, MaskPaths(req.update_mask(), kMemberFields));
  return Write("UpdateMember", req, req.request_id(), resp, [&](pg::Tx& tx) -> absl::Status {
    OPS_ASSIGN_OR_RETURN(auto current, org::GetMember(tx, id, true));
    if (!current) return NotFound(m.name());
    if (!m.etag().empty() && m.etag() != current->etag()) {
      return Aborted("ETAG_MISMATCH", absl::StrCat(m.name(), " was changed by someone else; read it again and retry"),
                     {{"resource", m.name()}});
    }
    Member next = *current;
    for (const auto& p : paths) {
      if (p == "display_name") next.set_display_name(m.display_name());
      if (p == "development_directions") *next.mutable_development_directions() = m.development_directions();
      if (p == "employment_start_date") next.set_employment_start_date(m.employment_start_date());
      if (p == "employment_end_date") next.set_employment_end_date(m.employment_end_date());
    }
    OPS_RETURN_IF_ERROR(ValidateMember(next, "member", paths));
    OPS_RETURN_IF_ERROR(SaveMember(tx, id, next));
    OPS_ASSIGN_OR_RETURN(auto got, org::GetMember(tx, id, false));
    *resp->mutable_member() = std::move(*got);
    return absl::OkStatus();
  });
}

// ---- Assignments --------------------------------------------------------------------

absl::Status OrgLogic::AssignMember(const v1::AssignMemberRequest& req, v1::AssignMemberResponse* resp) {
  OPS_ASSIGN_OR_RETURN(std::string member_id, aip::ParseName(req.member(), "members", "member"));
  OPS_ASSIGN_OR_RETURN(std::string position_id, aip::ParseName(req.position(), "positions", "position"));
  if (!v1::AssignmentKind_IsValid(req.kind())) {
    return InvalidArgument("kind", absl::StrCat("unknown value ", static_cast<int>(req.kind())));
  }
  if (req.kind() == v1::ASSIGNMENT_KIND_UNSPECIFIED) return InvalidArgument("kind", "is required");
  OPS_ASSIGN_OR_RETURN(CivilDay start, aip::ParseDate(req.start_date(), "start_date"));
  OPS_ASSIGN_OR_RETURN(auto end, OptionalDate(req.end_date(), "end_date"));
  if (end && *end <= start) return InvalidArgument("end_date", "must be after start_date");
  std::string id = req.assignment_id();
  if (id.empty()) {
    id = aip::NewId();
  } else {
    OPS_RETURN_IF_ERROR(aip::ValidateId(id, "assignment_id"));
  }

  return Write("AssignMember", req, req.request_id(), resp, [&](pg::Tx& tx) -> absl::Status {
    // Lock order everywhere: member, then position. The position lock serialises the
    // headcount check of concurrent assignments to one post.
    OPS_ASSIGN_OR_RETURN(auto member, org::GetMember(tx, member_id, true));
    if (!member) return NotFound(req.member());
    OPS_ASSIGN_OR_RETURN(auto revision, PositionStore::Lock(tx, position_id));
    if (!revision) return NotFound(req.position());

    OPS_ASSIGN_OR_RETURN(CivilDay employed_from, aip::ParseDate(member->employment_start_date(), "member"));
    OPS_ASSIGN_OR_RETURN(auto employed_to, OptionalDate(member->employment_end_date(), "member"));
    if (start < employed_from || (employed_to && (!end || *end > *employed_to))) {
      return FailedPrecondition(
          "OUTSIDE_EMPLOYMENT",
          absl::StrCat(req.member(), " is employed from ", member->employment_start_date(),
                       employed_to ? absl::StrCat(" until ", member->employment_end_date()) : "",
                       "; the assignment must lie within that"));
    }
    OPS_ASSIGN_OR_RETURN(auto versions, PositionStore::Load(tx, position_id));
    if (!std::any_of(versions.begin(), versions.end(),
                     [&](const auto& v) { return v.from <= start && (!v.to || *v.to > start); })) {
      return NotInEffect(req.position(), start);
    }
    if (!versions.empty() && versions.back().to && (!end || *end > *versions.back().to)) {
      return FailedPrecondition("POSITION_ENDS",
                                absl::StrCat(req.position(), " ends on ", FormatDate(*versions.back().to),
                                             "; give an end_date no later than that"));
    }
    // Same member, same post, overlapping: already there.
    OPS_ASSIGN_OR_RETURN(auto same, org::ListAssignments(tx, member_id, position_id, std::nullopt, "", 1000));
    for (const auto& a : same) {
      CivilDay a_from;
      (void)absl::ParseCivilTime(a.start_date(), &a_from);
      absl::CivilDay a_to = absl::CivilDay::max();
      if (!a.end_date().empty()) (void)absl::ParseCivilTime(a.end_date(), &a_to);
      if (a_from < (end ? *end : absl::CivilDay::max()) && start < a_to) {
        return AlreadyExists(a.name(), absl::StrCat(req.member(), " already holds ", req.position(),
                                                    " from ", a.start_date(), " (", a.name(), ")"));
      }
    }
    if (req.kind() == v1::ASSIGNMENT_KIND_PRIMARY) {
      OPS_ASSIGN_OR_RETURN(auto primary, OverlappingPrimary(tx, member_id, start, end));
      if (!primary.empty()) {
        const auto& p = primary.front();
        return FailedPrecondition(
            "PRIMARY_POST_TAKEN",
            absl::StrCat(req.member(), " already has primary post ", p.position(), " from ",
                         p.start_date(), p.end_date().empty() ? "" : absl::StrCat(" to ", p.end_date()),
                         "; end it or assign this post as secondary"),
            {{"assignment", p.name()}});
      }
    }
    OPS_ASSIGN_OR_RETURN(auto counts, SeatCounts(tx, position_id, start));
    for (const auto& c : counts) {
      if (end && c.day >= *end) break;
      const int64_t headcount = c.headcount.value_or(0);
      if (c.filled + 1 > headcount) {
        return FailedPrecondition(
            "HEADCOUNT_FULL",
            absl::StrCat(req.position(), " is full on ", FormatDate(c.day), ": ", c.filled, " of ",
                         headcount, " seats filled"),
            {{"position", req.position()}, {"headcount", absl::StrCat(headcount)},
             {"filled", absl::StrCat(c.filled)}, {"date", FormatDate(c.day)}});
      }
    }
    absl::Status inserted = InsertAssignment(tx, {id, member_id, position_id, static_cast<int>(req.kind()), start, end});
    if (pg::IsUniqueViolation(inserted, "assignments_pkey")) {
      return AlreadyExists(aip::Name("assignments", id), absl::StrCat("assignments/", id, " already exists"));
    }
    OPS_RETURN_IF_ERROR(inserted);
    OPS_ASSIGN_OR_RETURN(auto got, org::GetAssignment(tx, id, false));
    *resp->mutable_assignment() = std::move(*got);
    return absl::OkStatus();
  });
}

absl::Status OrgLogic::EndAssignment(const v1::EndAssignmentRequest& req, v1::EndAssignmentResponse* resp) {
  OPS_ASSIGN_OR_RETURN(std::string id, aip::ParseName(req.name(), "assignments", "name"));
  OPS_ASSIGN_OR_RETURN(CivilDay end, aip::ParseDate(req.end_date(), "end_date"));
  return Write("EndAssignment", req, req.request_id(), resp, [&](pg::Tx& tx) -> absl::Status {
    OPS_ASSIGN_OR_RETURN(auto current, org::GetAssignment(tx, id, true));
    if (!current) return NotFound(req.name());
    if (!req.etag().empty() && req.etag() != current->etag()) {
      return Aborted("ETAG_MISMATCH", absl::StrCat(req.name(), " was changed by someone else; read it again and retry"),
                     {{"resource", req.name()}});
    }
    if (FormatDate(end) <= current->start_date()) {
      return InvalidArgument("end_date", absl::StrCat("must be after the start date ", current->start_date()));
    }
    if (!current->end_date().empty() && FormatDate(end) > current->end_date()) {
      return FailedPrecondition("ASSIGNMENT_ALREADY_ENDS",
                                absl::StrCat(req.name(), " already ends on ", current->end_date()));
    }
    OPS_RETURN_IF_ERROR(EndAssignmentAt(tx, id, end));
    OPS_ASSIGN_OR_RETURN(auto got, org::GetAssignment(tx, id, false));
    *resp->mutable_assignment() = std::move(*got);
    return absl::OkStatus();
  });
}

absl::Status OrgLogic::GetAssignment(const v1::GetAssignmentRequest& req, v1::GetAssignmentResponse* resp) {
  OPS_ASSIGN_OR_RETURN(std::string id, aip::ParseName(req.name(), "assignments", "name"));
  return Read([&](pg::Tx& tx) -> absl::Status {
    OPS_ASSIGN_OR_RETURN(auto got, org::GetAssignment(tx, id, false));
    if (!got) return NotFound(req.name());
    *resp->mutable_assignment() = std::move(*got);
    return absl::OkStatus();
  });
}

absl::Status OrgLogic::ListAssignments(const v1::ListAssignmentsRequest& req,
                                       v1::ListAssignmentsResponse* resp) {
  OPS_ASSIGN_OR_RETURN(aip::PageRequest page, aip::ParsePage(req));
  std::string member_id, position_id;
  if (!req.member().empty()) {
    OPS_ASSIGN_OR_RETURN(member_id, aip::ParseName(req.member(), "members", "member"));
  }
  if (!req.position().empty()) {
    OPS_ASSIGN_OR_RETURN(position_id, aip::ParseName(req.position(), "positions", "position"));
  }
  std::optional<CivilDay> day;
  if (!req.include_history()) {
    OPS_ASSIGN_OR_RETURN(day, aip::ParseDate(req.as_of(), "as_of"));
  } else if (!req.as_of().empty()) {
    return InvalidArgument("as_of", "cannot be combined with include_history");
  }
  return Read([&](pg::Tx& tx) -> absl::Status {
    OPS_ASSIGN_OR_RETURN(auto items, org::ListAssignments(tx, member_id, position_id, day, page.after,
                                                          page.size + 1));
    if (static_cast<int>(items.size()) > page.size) {
      items.resize(static_cast<size_t>(page.size));
      resp->set_next_page_token(aip::NextPageToken(req, Id(items.back().name())));
    }
    for (auto& a : items) *resp->add_assignments() = std::move(a);
    return absl::OkStatus();
  });
}

// ---- Reporting lines ----------------------------------------------------------------

absl::Status OrgLogic::GetManager(const v1::GetManagerRequest& req, v1::GetManagerResponse* resp) {
  OPS_ASSIGN_OR_RETURN(std::string member_id, aip::ParseName(req.member(), "members", "member"));
  OPS_ASSIGN_OR_RETURN(CivilDay day, aip::ParseDate(req.as_of(), "as_of"));
  return Read([&](pg::Tx& tx) -> absl::Status {
    OPS_ASSIGN_OR_RETURN(auto member, org::GetMember(tx, member_id, false));
    if (!member) return NotFound(req.member());
    OPS_ASSIGN_OR_RETURN(OrgSnapshot snap, LoadSnapshot(tx, day));
    auto posts = snap.member_posts.find(member_id);
    if (posts == snap.member_posts.end()) {
      return FailedPrecondition("NO_POST", absl::StrCat(req.member(), " holds no post on ", FormatDate(day)));
    }
    auto manager = ManagerOf(snap, posts->second.front(), member_id);
    if (!manager) return absl::OkStatus();
    auto skip = ManagerOf(snap, Id(manager->position()), Id(manager->member()));
    *resp->mutable_manager() = std::move(*manager);
    if (skip && skip->member() != req.member()) *resp->mutable_skip_level_manager() = std::move(*skip);
    return absl::OkStatus();
  });
}

absl::Status OrgLogic::ListDirectReports(const v1::ListDirectReportsRequest& req,
                                         v1::ListDirectReportsResponse* resp) {
  OPS_ASSIGN_OR_RETURN(aip::PageRequest page, aip::ParsePage(req));
  OPS_ASSIGN_OR_RETURN(std::string member_id, aip::ParseName(req.member(), "members", "member"));
  OPS_ASSIGN_OR_RETURN(CivilDay day, aip::ParseDate(req.as_of(), "as_of"));
  return Read([&](pg::Tx& tx) -> absl::Status {
    OPS_ASSIGN_OR_RETURN(auto member, org::GetMember(tx, member_id, false));
    if (!member) return NotFound(req.member());
    OPS_ASSIGN_OR_RETURN(OrgSnapshot snap, LoadSnapshot(tx, day));
    // Direct reports are exactly the members whose GetManager answer is this member.
    std::vector<std::pair<std::string, v1::ReportingLink>> reports;
    const std::string me = aip::Name("members", member_id);
    for (const auto& [other, posts] : snap.member_posts) {
      if (other == member_id || other <= page.after) continue;
      auto manager = ManagerOf(snap, posts.front(), other);
      if (!manager || manager->member() != me) continue;
      v1::ReportingLink link;
      link.set_member(aip::Name("members", other));
      link.set_position(aip::Name("positions", posts.front()));
      for (const auto& h : snap.holders[posts.front()]) {
        if (h.member_id == other) link.set_display_name(h.display_name);
      }
      reports.emplace_back(other, std::move(link));
    }
    std::sort(reports.begin(), reports.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    if (static_cast<int>(reports.size()) > page.size) {
      reports.resize(static_cast<size_t>(page.size));
      resp->set_next_page_token(aip::NextPageToken(req, reports.back().first));
    }
    for (auto& [id, link] : reports) *resp->add_direct_reports() = std::move(link);
    return absl::OkStatus();
  });
}

}  // namespace opsteam::org
