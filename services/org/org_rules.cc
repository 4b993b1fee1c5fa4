#include "services/org/org_rules.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "libs/aip/aip.h"
#include "libs/status/macros.h"
#include "libs/status/status.h"
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

template <typename T>
bool InEffect(const std::vector<Version<T>>& versions, CivilDay day) {
  return std::any_of(versions.begin(), versions.end(),
                     [&](const auto& v) { return v.from <= day && (!v.to || *v.to > day); });
}

absl::Status NotInEffect(const std::string& name, CivilDay day) {
  return FailedPrecondition("NOT_IN_EFFECT",
                            absl::StrCat(name, " does not exist on ", FormatDate(day)),
                            {{"resource", name}, {"date", FormatDate(day)}});
}

// Creates the head of `id` and its first version from `day`. With `reuse_ended`, an id
// whose versions all end on or before `day` gets a further version instead.
template <typename Store, typename Resource>
absl::Status CreateVersioned(pg::Tx& tx, const std::string& id, const Resource& data, CivilDay day,
                             bool reuse_ended) {
  absl::Status created = Store::CreateHead(tx, id);
  if (created.ok()) return Store::Save(tx, id, {{day, std::nullopt, data}});
  if (!reuse_ended || created.code() != absl::StatusCode::kAlreadyExists) return created;
  OPS_ASSIGN_OR_RETURN(auto revision, Store::Lock(tx, id));
  if (!revision) return created;
  OPS_ASSIGN_OR_RETURN(auto versions, Store::Load(tx, id));
  if (!versions.empty() && (!versions.back().to || *versions.back().to > day)) return created;
  versions.push_back({day, std::nullopt, data});
  return Store::Save(tx, id, versions);
}

absl::StatusOr<Department> ReadDepartment(pg::Tx& tx, const std::string& id, CivilDay day) {
  OPS_ASSIGN_OR_RETURN(auto got, DepartmentStore::Get(tx, id, day));
  if (!got) return Internal("department not readable");
  OPS_ASSIGN_OR_RETURN(auto ancestors, DepartmentAncestors(tx, id, day));
  for (auto& a : ancestors) got->add_ancestors(std::move(a));
  return std::move(*got);
}

absl::StatusOr<Position> ReadPosition(pg::Tx& tx, const std::string& id, CivilDay day) {
  OPS_ASSIGN_OR_RETURN(auto got, PositionStore::Get(tx, id, day));
  if (!got) return Internal("position not readable");
  std::vector<Position> one = {std::move(*got)};
  OPS_RETURN_IF_ERROR(FillCounts(tx, one, day));
  return std::move(one[0]);
}

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

}  // namespace

// ---- Departments --------------------------------------------------------------------

absl::StatusOr<Department> CreateDepartmentIn(pg::Tx& tx, const std::string& id, const Department& d,
                                              CivilDay day, bool reuse_ended) {
  if (!d.parent().empty()) {
    OPS_ASSIGN_OR_RETURN(auto parent, DepartmentStore::Load(tx, Id(d.parent())));
    if (!ExistsFrom(parent, day)) {
      return InvalidArgument("department.parent",
                             absl::StrCat(d.parent(), " does not exist from ", FormatDate(day)),
                             "UNKNOWN_PARENT");
    }
  }
  OPS_RETURN_IF_ERROR((CreateVersioned<DepartmentStore>(tx, id, d, day, reuse_ended)));
  return ReadDepartment(tx, id, day);
}

absl::StatusOr<Department> UpdateDepartmentIn(pg::Tx& tx, const std::string& id, const Department& d,
                                              const std::vector<std::string>& paths, CivilDay day) {
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
  return ReadDepartment(tx, id, day);
}

absl::StatusOr<Department> MoveDepartmentIn(pg::Tx& tx, const std::string& id, const std::string& parent_id,
                                            CivilDay day, const std::string& etag) {
  const std::string name = aip::Name("departments", id);
  const std::string new_parent = parent_id.empty() ? std::string() : aip::Name("departments", parent_id);
  OPS_ASSIGN_OR_RETURN(auto revision, DepartmentStore::Lock(tx, id));
  if (!revision) return NotFound(name);
  OPS_RETURN_IF_ERROR(CheckEtag(etag, *revision, name));
  if (!parent_id.empty()) {
    if (parent_id == id) {
      return FailedPrecondition("DEPARTMENT_CYCLE", absl::StrCat("cannot move ", name, " under itself"));
    }
    OPS_ASSIGN_OR_RETURN(auto parent, DepartmentStore::Load(tx, parent_id));
    if (!ExistsFrom(parent, day)) {
      return InvalidArgument("new_parent", absl::StrCat(new_parent, " does not exist from ", FormatDate(day)),
                             "UNKNOWN_PARENT");
    }
    // The new parent must not lie below the department on the day of the move nor on any
    // later day on which the tree changes.
    OPS_ASSIGN_OR_RETURN(auto days, DepartmentChangeDays(tx, day));
    days.insert(days.begin(), day);
    for (CivilDay d : days) {
      OPS_ASSIGN_OR_RETURN(auto ancestors, DepartmentAncestors(tx, parent_id, d));
      if (std::find(ancestors.begin(), ancestors.end(), name) != ancestors.end()) {
        return FailedPrecondition(
            "DEPARTMENT_CYCLE",
            absl::StrCat("cannot move ", name, " under ", new_parent, ", which is in its own subtree on ",
                         FormatDate(d)),
            {{"department", name}, {"new_parent", new_parent}, {"date", FormatDate(d)}});
      }
    }
  }
  OPS_ASSIGN_OR_RETURN(auto versions, DepartmentStore::Load(tx, id));
  const bool ok = ChangeFrom(versions, day, [&](Department& v) { v.set_parent(new_parent); });
  if (!ok) return NotInEffect(name, day);
  OPS_RETURN_IF_ERROR(DepartmentStore::Save(tx, id, versions));
  return ReadDepartment(tx, id, day);
}

absl::Status DeleteDepartmentIn(pg::Tx& tx, const std::string& id, CivilDay day, const std::string& etag) {
  const std::string name = aip::Name("departments", id);
  OPS_ASSIGN_OR_RETURN(auto revision, DepartmentStore::Lock(tx, id));
  if (!revision) return NotFound(name);
  OPS_RETURN_IF_ERROR(CheckEtag(etag, *revision, name));
  OPS_ASSIGN_OR_RETURN(auto versions, DepartmentStore::Load(tx, id));
  if (!InEffect(versions, day)) return NotInEffect(name, day);
  OPS_ASSIGN_OR_RETURN(Dependents left, DepartmentDependents(tx, id, day));
  if (left.sub_departments || left.positions || left.members) {
    return FailedPrecondition(
        "DEPARTMENT_NOT_EMPTY",
        absl::StrCat(name, " still has ", left.sub_departments, " sub-departments, ", left.positions,
                     " positions and ", left.members, " members on or after ", FormatDate(day),
                     "; move or end them first"),
        {{"sub_departments", absl::StrCat(left.sub_departments)},
         {"positions", absl::StrCat(left.positions)},
         {"members", absl::StrCat(left.members)}});
  }
  EndAt(versions, day);
  return DepartmentStore::Save(tx, id, versions);
}

// ---- Positions ----------------------------------------------------------------------

absl::StatusOr<Position> CreatePositionIn(pg::Tx& tx, const std::string& id, const Position& p, CivilDay day,
                                          bool reuse_ended) {
  OPS_RETURN_IF_ERROR(CheckPositionRefs(tx, p, id, day, true, true));
  OPS_RETURN_IF_ERROR((CreateVersioned<PositionStore>(tx, id, p, day, reuse_ended)));
  return ReadPosition(tx, id, day);
}

absl::StatusOr<Position> UpdatePositionIn(pg::Tx& tx, const std::string& id, const Position& p,
                                          const std::vector<std::string>& paths, CivilDay day) {
  auto has = [&](absl::string_view f) { return std::find(paths.begin(), paths.end(), f) != paths.end(); };
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
            absl::StrCat(p.name(), " has ", c.filled, " members on ", FormatDate(c.day), "; a headcount of ",
                         p.headcount(), " is too low"),
            {{"position", p.name()}, {"filled", absl::StrCat(c.filled)},
             {"headcount", absl::StrCat(p.headcount())}, {"date", FormatDate(c.day)}});
      }
    }
  }
  OPS_RETURN_IF_ERROR(PositionStore::Save(tx, id, versions));
  return ReadPosition(tx, id, day);
}

absl::Status DeletePositionIn(pg::Tx& tx, const std::string& id, CivilDay day, const std::string& etag) {
  const std::string name = aip::Name("positions", id);
  OPS_ASSIGN_OR_RETURN(auto revision, PositionStore::Lock(tx, id));
  if (!revision) return NotFound(name);
  OPS_RETURN_IF_ERROR(CheckEtag(etag, *revision, name));
  OPS_ASSIGN_OR_RETURN(auto versions, PositionStore::Load(tx, id));
  if (!InEffect(versions, day)) return NotInEffect(name, day);
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
        absl::StrCat(name, " still has ", holders, " assignments, ", reports,
                     " positions reporting to it and leads ", leads, " departments on or after ",
                     FormatDate(day)),
        {{"assignments", absl::StrCat(holders)}, {"reporting_positions", absl::StrCat(reports)},
         {"led_departments", absl::StrCat(leads)}});
  }
  EndAt(versions, day);
  return PositionStore::Save(tx, id, versions);
}

// ---- Members ------------------------------------------------------------------------

absl::StatusOr<Member> CreateMemberIn(pg::Tx& tx, const std::string& id, const Member& m) {
  OPS_RETURN_IF_ERROR(InsertMember(tx, id, m));
  OPS_ASSIGN_OR_RETURN(auto got, org::GetMember(tx, id, false));
  if (!got) return Internal("created member not readable");
  return std::move(*got);
}

absl::StatusOr<Member> UpdateMemberIn(pg::Tx& tx, const std::string& id, const Member& m,
                                      const std::vector<std::string>& paths) {
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
  if (!got) return Internal("updated member not readable");
  return std::move(*got);
}

// ---- Assignments --------------------------------------------------------------------

absl::StatusOr<Assignment> AssignMemberIn(pg::Tx& tx, const NewAssignment& a) {
  const std::string member_name = aip::Name("members", a.member_id);
  const std::string position_name = aip::Name("positions", a.position_id);
  const CivilDay start = a.start;
  const std::optional<CivilDay>& end = a.end;
  // Lock order everywhere: member, then position. The position lock serialises the
  // headcount check of concurrent assignments to one post.
  OPS_ASSIGN_OR_RETURN(auto member, org::GetMember(tx, a.member_id, true));
  if (!member) return NotFound(member_name);
  OPS_ASSIGN_OR_RETURN(auto revision, PositionStore::Lock(tx, a.position_id));
  if (!revision) return NotFound(position_name);

  OPS_ASSIGN_OR_RETURN(CivilDay employed_from, aip::ParseDate(member->employment_start_date(), "member"));
  OPS_ASSIGN_OR_RETURN(auto employed_to, OptionalDate(member->employment_end_date(), "member"));
  if (start < employed_from || (employed_to && (!end || *end > *employed_to))) {
    return FailedPrecondition(
        "OUTSIDE_EMPLOYMENT",
        absl::StrCat(member_name, " is employed from ", member->employment_start_date(),
                     employed_to ? absl::StrCat(" until ", member->employment_end_date()) : "",
                     "; the assignment must lie within that"));
  }
  OPS_ASSIGN_OR_RETURN(auto versions, PositionStore::Load(tx, a.position_id));
  if (!InEffect(versions, start)) return NotInEffect(position_name, start);
  if (!versions.empty() && versions.back().to && (!end || *end > *versions.back().to)) {
    return FailedPrecondition("POSITION_ENDS",
                              absl::StrCat(position_name, " ends on ", FormatDate(*versions.back().to),
                                           "; give an end_date no later than that"));
  }
  // Same member, same post, overlapping: already there.
  OPS_ASSIGN_OR_RETURN(auto same, org::ListAssignments(tx, a.member_id, a.position_id, std::nullopt, "", 1000));
  for (const auto& other : same) {
    CivilDay a_from;
    (void)absl::ParseCivilTime(other.start_date(), &a_from);
    absl::CivilDay a_to = absl::CivilDay::max();
    if (!other.end_date().empty()) (void)absl::ParseCivilTime(other.end_date(), &a_to);
    if (a_from < (end ? *end : absl::CivilDay::max()) && start < a_to) {
      return AlreadyExists(other.name(), absl::StrCat(member_name, " already holds ", position_name, " from ",
                                                      other.start_date(), " (", other.name(), ")"));
    }
  }
  if (a.kind == v1::ASSIGNMENT_KIND_PRIMARY) {
    OPS_ASSIGN_OR_RETURN(auto primary, OverlappingPrimary(tx, a.member_id, start, end));
    if (!primary.empty()) {
      const auto& p = primary.front();
      return FailedPrecondition(
          "PRIMARY_POST_TAKEN",
          absl::StrCat(member_name, " already has primary post ", p.position(), " from ", p.start_date(),
                       p.end_date().empty() ? "" : absl::StrCat(" to ", p.end_date()),
                       "; end it or assign this post as secondary"),
          {{"assignment", p.name()}});
    }
  }
  OPS_ASSIGN_OR_RETURN(auto counts, SeatCounts(tx, a.position_id, start));
  for (const auto& c : counts) {
    if (end && c.day >= *end) break;
    const int64_t headcount = c.headcount.value_or(0);
    if (c.filled + 1 > headcount) {
      return FailedPrecondition(
          "HEADCOUNT_FULL",
          absl::StrCat(position_name, " is full on ", FormatDate(c.day), ": ", c.filled, " of ", headcount,
                       " seats filled"),
          {{"position", position_name}, {"headcount", absl::StrCat(headcount)},
           {"filled", absl::StrCat(c.filled)}, {"date", FormatDate(c.day)}});
    }
  }
  absl::Status inserted =
      InsertAssignment(tx, {a.id, a.member_id, a.position_id, static_cast<int>(a.kind), start, end});
  if (pg::IsUniqueViolation(inserted, "assignments_pkey")) {
    return AlreadyExists(aip::Name("assignments", a.id), absl::StrCat("assignments/", a.id, " already exists"));
  }
  OPS_RETURN_IF_ERROR(inserted);
  OPS_ASSIGN_OR_RETURN(auto got, org::GetAssignment(tx, a.id, false));
  if (!got) return Internal("created assignment not readable");
  return std::move(*got);
}

absl::StatusOr<Assignment> EndAssignmentIn(pg::Tx& tx, const std::string& id, CivilDay end,
                                           const std::string& etag) {
  const std::string name = aip::Name("assignments", id);
  OPS_ASSIGN_OR_RETURN(auto current, org::GetAssignment(tx, id, true));
  if (!current) return NotFound(name);
  if (!etag.empty() && etag != current->etag()) {
    return Aborted("ETAG_MISMATCH", absl::StrCat(name, " was changed by someone else; read it again and retry"),
                   {{"resource", name}});
  }
  if (FormatDate(end) <= current->start_date()) {
    return InvalidArgument("end_date", absl::StrCat("must be after the start date ", current->start_date()));
  }
  if (!current->end_date().empty() && FormatDate(end) > current->end_date()) {
    return FailedPrecondition("ASSIGNMENT_ALREADY_ENDS", absl::StrCat(name, " already ends on ", current->end_date()));
  }
  OPS_RETURN_IF_ERROR(EndAssignmentAt(tx, id, end));
  OPS_ASSIGN_OR_RETURN(auto got, org::GetAssignment(tx, id, false));
  if (!got) return Internal("ended assignment not readable");
  return std::move(*got);
}

}  // namespace opsteam::org
