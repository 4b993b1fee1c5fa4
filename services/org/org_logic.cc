#include "services/org/org_logic.h"

#include <algorithm>
#include <optional>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "libs/aip/aip.h"
#include "libs/status/macros.h"
#include "libs/status/status.h"
#include "libs/events/idempotent_write.h"
#include "services/org/audit.h"
#include "services/org/org_events.h"
#include "services/org/org_rules.h"
#include "services/org/org_store.h"
#include "services/org/reporting.h"
#include "services/org/validation.h"

namespace opsteam::org {
namespace {

using aip::FormatDate;

std::string Id(const std::string& name) {
  auto slash = name.find('/');
  return slash == std::string::npos ? name : name.substr(slash + 1);
}

absl::StatusOr<std::optional<CivilDay>> OptionalDate(const std::string& text, absl::string_view field) {
  if (text.empty()) return std::optional<CivilDay>();
  OPS_ASSIGN_OR_RETURN(CivilDay day, aip::ParseDate(text, field));
  return std::optional<CivilDay>(day);
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
  return events::IdempotentWrite(
      pool_, {.source = kEventSource, .method = method, .request = &req, .request_id = request_id, .response = resp},
      [&](pg::Tx& tx, std::vector<events::v1::Event>& events) {
        // The store's changes add their events here (AddChangeEvent).
        ScopedEvents collect(&events);
        return body(tx);
      });
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
  OPS_ASSIGN_OR_RETURN(std::string id, IdOrNew(req.department_id(), "department_id"));
  OPS_ASSIGN_OR_RETURN(CivilDay day, aip::ParseDate(req.effective_date(), "effective_date"));

  return Write("CreateDepartment", req, req.request_id(), resp, [&](pg::Tx& tx) -> absl::Status {
    OPS_ASSIGN_OR_RETURN(*resp->mutable_department(), CreateDepartmentIn(tx, id, d, day));
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
    OPS_ASSIGN_OR_RETURN(*resp->mutable_department(), UpdateDepartmentIn(tx, id, d, paths, day));
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
    OPS_ASSIGN_OR_RETURN(*resp->mutable_department(), MoveDepartmentIn(tx, id, parent_id, day, req.etag()));
    return absl::OkStatus();
  });
}

absl::Status OrgLogic::DeleteDepartment(const v1::DeleteDepartmentRequest& req,
                                        v1::DeleteDepartmentResponse* resp) {
  OPS_ASSIGN_OR_RETURN(std::string id, aip::ParseName(req.name(), "departments", "name"));
  OPS_ASSIGN_OR_RETURN(CivilDay day, aip::ParseDate(req.effective_date(), "effective_date"));
  return Write("DeleteDepartment", req, req.request_id(), resp, [&](pg::Tx& tx) -> absl::Status {
    return DeleteDepartmentIn(tx, id, day, req.etag());
  });
}

// ---- Positions ----------------------------------------------------------------------

absl::Status OrgLogic::CreatePosition(const v1::CreatePositionRequest& req,
                                      v1::CreatePositionResponse* resp) {
  if (!req.has_position()) return InvalidArgument("position", "is required");
  const auto& p = req.position();
  OPS_RETURN_IF_ERROR(aip::ParseName(p.department(), "departments", "position.department").status());
  OPS_RETURN_IF_ERROR(ValidatePosition(p, "position", kPositionFields));
  OPS_ASSIGN_OR_RETURN(std::string id, IdOrNew(req.position_id(), "position_id"));
  OPS_ASSIGN_OR_RETURN(CivilDay day, aip::ParseDate(req.effective_date(), "effective_date"));
  return Write("CreatePosition", req, req.request_id(), resp, [&](pg::Tx& tx) -> absl::Status {
    OPS_ASSIGN_OR_RETURN(*resp->mutable_position(), CreatePositionIn(tx, id, p, day));
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
  return Write("UpdatePosition", req, req.request_id(), resp, [&](pg::Tx& tx) -> absl::Status {
    OPS_ASSIGN_OR_RETURN(*resp->mutable_position(), UpdatePositionIn(tx, id, p, paths, day));
    return absl::OkStatus();
  });
}

absl::Status OrgLogic::DeletePosition(const v1::DeletePositionRequest& req,
                                      v1::DeletePositionResponse* resp) {
  OPS_ASSIGN_OR_RETURN(std::string id, aip::ParseName(req.name(), "positions", "name"));
  OPS_ASSIGN_OR_RETURN(CivilDay day, aip::ParseDate(req.effective_date(), "effective_date"));
  return Write("DeletePosition", req, req.request_id(), resp, [&](pg::Tx& tx) -> absl::Status {
    return DeletePositionIn(tx, id, day, req.etag());
  });
}

// ---- Members ------------------------------------------------------------------------

absl::Status OrgLogic::CreateMember(const v1::CreateMemberRequest& req, v1::CreateMemberResponse* resp) {
  if (!req.has_member()) return InvalidArgument("member", "is required");
  OPS_RETURN_IF_ERROR(ValidateMember(req.member(), "member", kMemberFields));
  OPS_ASSIGN_OR_RETURN(std::string id, IdOrNew(req.member_id(), "member_id"));
  return Write("CreateMember", req, req.request_id(), resp, [&](pg::Tx& tx) -> absl::Status {
    OPS_ASSIGN_OR_RETURN(*resp->mutable_member(), CreateMemberIn(tx, id, req.member()));
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
    OPS_ASSIGN_OR_RETURN(*resp->mutable_member(), UpdateMemberIn(tx, id, m, paths));
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
  OPS_ASSIGN_OR_RETURN(std::string id, IdOrNew(req.assignment_id(), "assignment_id"));

  return Write("AssignMember", req, req.request_id(), resp, [&](pg::Tx& tx) -> absl::Status {
    OPS_ASSIGN_OR_RETURN(*resp->mutable_assignment(),
                         AssignMemberIn(tx, {id, member_id, position_id, req.kind(), start, end}));
    return absl::OkStatus();
  });
}

absl::Status OrgLogic::EndAssignment(const v1::EndAssignmentRequest& req, v1::EndAssignmentResponse* resp) {
  OPS_ASSIGN_OR_RETURN(std::string id, aip::ParseName(req.name(), "assignments", "name"));
  OPS_ASSIGN_OR_RETURN(CivilDay end, aip::ParseDate(req.end_date(), "end_date"));
  return Write("EndAssignment", req, req.request_id(), resp, [&](pg::Tx& tx) -> absl::Status {
    OPS_ASSIGN_OR_RETURN(*resp->mutable_assignment(), EndAssignmentIn(tx, id, end, req.etag()));
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
    OPS_ASSIGN_OR_RETURN(auto manager, FunctionalManager(snap, member_id, day));
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
