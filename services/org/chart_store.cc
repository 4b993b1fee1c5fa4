#include "services/org/chart_store.h"

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"
#include "libs/aip/aip.h"
#include "libs/status/macros.h"
#include "libs/status/status.h"
#include "services/org/audit.h"

namespace opsteam::org::chart {
namespace {

std::string DateParam(absl::CivilDay day) { return aip::FormatDate(day); }
std::string EndParam(const std::optional<absl::CivilDay>& to) {
  return to ? aip::FormatDate(*to) : std::string(aip::kOpenEnd);
}
std::string EndText(absl::string_view text) { return text == aip::kOpenEnd ? std::string() : std::string(text); }
absl::CivilDay ParseDay(absl::string_view text) {
  absl::CivilDay day;
  (void)absl::ParseCivilTime(text, &day);
  return day;
}
std::string IdOf(const std::string& name) {
  auto slash = name.find('/');
  return slash == std::string::npos ? std::string() : name.substr(slash + 1);
}

// ---- Phases.

constexpr const char* kSelectPhase = "SELECT id, display_name, ordinal, description, revision FROM phases ";

v1::Phase ReadPhase(const pg::Result& r, int row) {
  v1::Phase p;
  p.set_name(aip::Name("phases", r.Get(row, 0)));
  p.set_display_name(r.GetString(row, 1));
  p.set_ordinal(static_cast<int32_t>(r.GetInt64(row, 2)));
  p.set_description(r.GetString(row, 3));
  p.set_etag(absl::StrCat(r.GetInt64(row, 4)));
  return p;
}

absl::StatusOr<std::optional<v1::Phase>> GetPhase(pg::Tx& tx, const std::string& id) {
  static const std::string sql = absl::StrCat(kSelectPhase, "WHERE id = $1");
  auto r = tx.Exec(sql, {id});
  if (!r.ok()) return r.status();
  if (r->rows() == 0) return std::optional<v1::Phase>();
  return std::optional<v1::Phase>(ReadPhase(*r, 0));
}

absl::Status OrdinalTaken(const std::string& id, int32_t ordinal) {
  return FailedPrecondition("PHASE_ORDINAL_TAKEN",
                            absl::StrCat("another phase already has ordinal ", ordinal, " (wanted by phases/", id, ")"),
                            {{"phase", aip::Name("phases", id)}, {"ordinal", absl::StrCat(ordinal)}});
}

// ---- Staffing plans.

constexpr const char* kSelectPlan =
    "SELECT sp.id, sp.position_id, sp.phase_id, sp.planned_seats, sp.from_date::text, sp.currency_code,"
    " sp.monthly_cost_minor, sp.revision FROM staffing_plans sp JOIN phases ph ON ph.id = sp.phase_id ";

Plan ReadPlan(const pg::Result& r, int row) {
  Plan p;
  p.id = r.GetString(row, 0);
  p.position_id = r.GetString(row, 1);
  p.phase_id = r.GetString(row, 2);
  p.plan.set_name(aip::Name("staffingPlans", p.id));
  p.plan.set_position(aip::Name("positions", p.position_id));
  p.plan.set_phase(aip::Name("phases", p.phase_id));
  p.plan.set_planned_seats(static_cast<int32_t>(r.GetInt64(row, 3)));
  p.plan.set_from_date(r.GetString(row, 4));
  p.plan.mutable_monthly_cost_per_seat()->set_currency_code(r.GetString(row, 5));
  p.plan.mutable_monthly_cost_per_seat()->set_minor_units(r.GetInt64(row, 6));
  p.plan.set_etag(absl::StrCat(r.GetInt64(row, 7)));
  return p;
}

// ---- Project groups.

absl::StatusOr<std::string> GroupJson(const v1::ProjectGroup& g) {
  v1::ProjectGroup stored;
  stored.set_display_name(g.display_name());
  stored.set_description(g.description());
  stored.set_owner(g.owner());
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  std::string out;
  if (!google::protobuf::util::MessageToJsonString(stored, &out, options).ok()) {
    return Internal("encoding a project group");
  }
  return out;
}

const v1::ProjectGroup* OnDay(const std::vector<Version<v1::ProjectGroup>>& versions, absl::CivilDay day) {
  for (const auto& v : versions) {
    if (v.from <= day && (!v.to || *v.to > day)) return &v.data;
  }
  return nullptr;
}

// ---- Memberships.

constexpr const char* kSelectMembership =
    "SELECT m.project_group_id, m.id, m.member_id, m.role, m.valid_from::text, m.valid_to::text, m.revision"
    " FROM group_memberships m ";

v1::GroupMembership ReadMembership(const pg::Result& r, int row) {
  v1::GroupMembership m;
  m.set_name(absl::StrCat("projectGroups/", r.Get(row, 0), "/memberships/", r.Get(row, 1)));
  m.set_member(aip::Name("members", r.Get(row, 2)));
  m.set_role(r.GetString(row, 3));
  m.set_start_date(r.GetString(row, 4));
  m.set_end_date(EndText(r.Get(row, 5)));
  m.set_etag(absl::StrCat(r.GetInt64(row, 6)));
  return m;
}

// "projectGroups/{g}/memberships/{m}" -> {g, m}.
std::pair<std::string, std::string> MembershipKey(const std::string& name) {
  const size_t g_start = name.find('/') + 1;
  const size_t g_end = name.find('/', g_start);
  return {name.substr(g_start, g_end - g_start), name.substr(name.rfind('/') + 1)};
}

}  // namespace

// ---- Phases -----------------------------------------------------------------------------

absl::StatusOr<std::vector<v1::Phase>> LoadPhases(pg::Tx& tx) {
  static const std::string sql = absl::StrCat(kSelectPhase, "ORDER BY ordinal, id");
  auto r = tx.Exec(sql);
  if (!r.ok()) return r.status();
  std::vector<v1::Phase> out;
  for (int i = 0; i < r->rows(); ++i) out.push_back(ReadPhase(*r, i));
  return out;
}

absl::Status InsertPhase(pg::Tx& tx, const std::string& id, const v1::Phase& phase) {
  auto r = tx.Exec("INSERT INTO phases (id, display_name, ordinal, description) VALUES ($1, $2, $3, $4)",
                   {id, phase.display_name(), absl::StrCat(phase.ordinal()), phase.description()});
  if (pg::IsUniqueViolation(r.status(), "phases_pkey")) {
    return AlreadyExists(aip::Name("phases", id), absl::StrCat("phases/", id, " already exists"));
  }
  if (pg::IsUniqueViolation(r.status(), "phases_ordinal_key")) return OrdinalTaken(id, phase.ordinal());
  if (!r.ok()) return r.status();
  if (const WriteScope* write = CurrentWrite()) {
    OPS_ASSIGN_OR_RETURN(auto after, GetPhase(tx, id));
    if (after) return RecordChange(tx, write->method, after->name(), "", std::nullopt, nullptr, &*after);
  }
  return absl::OkStatus();
}

absl::Status UpdatePhase(pg::Tx& tx, const std::string& id, const v1::Phase& before, const v1::Phase& after) {
  auto r = tx.Exec(
      "UPDATE phases SET display_name = $2, ordinal = $3, description = $4, revision = revision + 1,"
      " update_time = now() WHERE id = $1",
      {id, after.display_name(), absl::StrCat(after.ordinal()), after.description()});
  if (pg::IsUniqueViolation(r.status(), "phases_ordinal_key")) return OrdinalTaken(id, after.ordinal());
  if (!r.ok()) return r.status();
  if (const WriteScope* write = CurrentWrite()) {
    OPS_ASSIGN_OR_RETURN(auto now, GetPhase(tx, id));
    if (now) return RecordChange(tx, write->method, now->name(), "", std::nullopt, &before, &*now);
  }
  return absl::OkStatus();
}

absl::Status ParkPhaseOrdinal(pg::Tx& tx, const std::string& id, int32_t temporary) {
  auto r = tx.Exec("UPDATE phases SET ordinal = $2 WHERE id = $1", {id, absl::StrCat(temporary)});
  return r.status();
}

// ---- Staffing plans ---------------------------------------------------------------------

absl::StatusOr<std::vector<Plan>> LoadPlans(pg::Tx& tx, const std::vector<std::string>& position_ids) {
  std::vector<Plan> out;
  if (position_ids.empty()) return out;
  std::string ids = "{";
  for (size_t i = 0; i < position_ids.size(); ++i) absl::StrAppend(&ids, i ? "," : "", "\"", position_ids[i], "\"");
  ids += "}";
  static const std::string sql =
      absl::StrCat(kSelectPlan, "WHERE sp.position_id = ANY($1::text[]) ORDER BY sp.position_id, ph.ordinal, sp.id");
  auto r = tx.Exec(sql, {ids});
  if (!r.ok()) return r.status();
  for (int i = 0; i < r->rows(); ++i) out.push_back(ReadPlan(*r, i));
  return out;
}

absl::StatusOr<bool> PlanIdTaken(pg::Tx& tx, const std::string& id) {
  auto r = tx.Exec("SELECT 1 FROM staffing_plans WHERE id = $1", {id});
  if (!r.ok()) return r.status();
  return r->rows() > 0;
}

absl::Status WritePlan(pg::Tx& tx, const Plan* before, const std::string& id, const std::string& position_id,
                       const std::string& phase_id, const v1::StaffingPlan& content, const std::string& department_id) {
  const pg::Params params = {id,
                             position_id,
                             phase_id,
                             absl::StrCat(content.planned_seats()),
                             content.from_date(),
                             content.monthly_cost_per_seat().currency_code(),
                             absl::StrCat(content.monthly_cost_per_seat().minor_units())};
  absl::StatusOr<pg::Result> r;
  if (before) {
    r = tx.Exec(
        "UPDATE staffing_plans SET planned_seats = $4, from_date = $5, currency_code = $6,"
        " monthly_cost_minor = $7, revision = revision + 1, update_time = now()"
        " WHERE id = $1 AND position_id = $2 AND phase_id = $3",
        params);
  } else {
    r = tx.Exec(
        "INSERT INTO staffing_plans (id, position_id, phase_id, planned_seats, from_date, currency_code,"
        " monthly_cost_minor) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        params);
  }
  const std::string name = aip::Name("staffingPlans", id);
  if (pg::IsUniqueViolation(r.status())) return AlreadyExists(name, absl::StrCat(name, " already exists"));
  if (!r.ok()) return r.status();
  if (const WriteScope* write = CurrentWrite()) {
    static const std::string sql = absl::StrCat(kSelectPlan, "WHERE sp.id = $1");
    auto got = tx.Exec(sql, {id});
    if (!got.ok()) return got.status();
    if (got->rows() > 0) {
      const Plan after = ReadPlan(*got, 0);
      return RecordChange(tx, write->method, name, department_id, ParseDay(content.from_date()),
                          before ? &before->plan : nullptr, &after.plan);
    }
  }
  return absl::OkStatus();
}

// ---- Project groups ---------------------------------------------------------------------

absl::StatusOr<std::optional<std::vector<Version<v1::ProjectGroup>>>> LoadGroup(pg::Tx& tx, const std::string& id,
                                                                               bool lock) {
  using Versions = std::vector<Version<v1::ProjectGroup>>;
  auto head = tx.Exec(lock ? "SELECT revision FROM project_groups WHERE id = $1 FOR UPDATE"
                           : "SELECT revision FROM project_groups WHERE id = $1",
                      {id});
  if (!head.ok()) return head.status();
  if (head->rows() == 0) return std::optional<Versions>();
  auto r = tx.Exec(
      "SELECT valid_from::text, valid_to::text, data::text FROM project_group_versions"
      " WHERE project_group_id = $1 ORDER BY valid_from",
      {id});
  if (!r.ok()) return r.status();
  Versions out;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  for (int i = 0; i < r->rows(); ++i) {
    Version<v1::ProjectGroup> v;
    v.from = ParseDay(r->Get(i, 0));
    if (r->Get(i, 1) != aip::kOpenEnd) v.to = ParseDay(r->Get(i, 1));
    if (!google::protobuf::util::JsonStringToMessage(r->GetString(i, 2), &v.data, options).ok()) {
      return Internal("decoding a project group");
    }
    out.push_back(std::move(v));
  }
  return std::optional<Versions>(std::move(out));
}

absl::Status CreateGroupHead(pg::Tx& tx, const std::string& id) {
  auto r = tx.Exec("INSERT INTO project_groups (id) VALUES ($1) ON CONFLICT (id) DO NOTHING", {id});
  if (!r.ok()) return r.status();
  if (r->affected() == 0) {
    const std::string name = aip::Name("projectGroups", id);
    return AlreadyExists(name, absl::StrCat(name, " already exists"));
  }
  return absl::OkStatus();
}

absl::Status SaveGroup(pg::Tx& tx, const std::string& id, const std::vector<Version<v1::ProjectGroup>>& versions) {
  if (const WriteScope* write = CurrentWrite()) {
    OPS_ASSIGN_OR_RETURN(auto old, LoadGroup(tx, id, false));
    const v1::ProjectGroup* before = old ? OnDay(*old, write->day) : nullptr;
    const v1::ProjectGroup* after = OnDay(versions, write->day);
    if (before || after) {
      OPS_RETURN_IF_ERROR(RecordChange(tx, write->method, aip::Name("projectGroups", id), "", write->day,
                                       before, after));
    }
  }
  if (auto r = tx.Exec("DELETE FROM project_group_versions WHERE project_group_id = $1", {id}); !r.ok()) {
    return r.status();
  }
  for (const auto& v : versions) {
    OPS_ASSIGN_OR_RETURN(std::string json, GroupJson(v.data));
    auto r = tx.Exec(
        "INSERT INTO project_group_versions (project_group_id, valid_from, valid_to, owner_id, data)"
        " VALUES ($1, $2, $3, $4, $5::jsonb)",
        {id, DateParam(v.from), EndParam(v.to), IdOf(v.data.owner()), json});
    if (!r.ok()) return r.status();
  }
  auto r = tx.Exec("UPDATE project_groups SET revision = revision + 1, update_time = now() WHERE id = $1", {id});
  return r.status();
}

absl::StatusOr<std::vector<std::string>> GroupsOn(pg::Tx& tx, absl::CivilDay day) {
  auto r = tx.Exec(
      "SELECT project_group_id FROM project_group_versions WHERE valid_from <= $1 AND valid_to > $1"
      " ORDER BY project_group_id",
      {DateParam(day)});
  if (!r.ok()) return r.status();
  std::vector<std::string> out;
  for (int i = 0; i < r->rows(); ++i) out.push_back(r->GetString(i, 0));
  return out;
}

// ---- Memberships ------------------------------------------------------------------------

absl::StatusOr<std::vector<v1::GroupMembership>> LoadMemberships(pg::Tx& tx, const std::string& group_id,
                                                                absl::CivilDay day) {
  static const std::string sql = absl::StrCat(
      kSelectMembership, "WHERE m.project_group_id = $1 AND m.valid_to > $2 ORDER BY m.valid_from, m.id");
  auto r = tx.Exec(sql, {group_id, DateParam(day)});
  if (!r.ok()) return r.status();
  std::vector<v1::GroupMembership> out;
  for (int i = 0; i < r->rows(); ++i) out.push_back(ReadMembership(*r, i));
  return out;
}

absl::StatusOr<bool> MembershipIdTaken(pg::Tx& tx, const std::string& group_id, const std::string& id) {
  auto r = tx.Exec("SELECT 1 FROM group_memberships WHERE project_group_id = $1 AND id = $2", {group_id, id});
  if (!r.ok()) return r.status();
  return r->rows() > 0;
}

namespace {

absl::StatusOr<std::optional<v1::GroupMembership>> GetMembership(pg::Tx& tx, const std::string& group_id,
                                                                 const std::string& id) {
  static const std::string sql = absl::StrCat(kSelectMembership, "WHERE m.project_group_id = $1 AND m.id = $2");
  auto r = tx.Exec(sql, {group_id, id});
  if (!r.ok()) return r.status();
  if (r->rows() == 0) return std::optional<v1::GroupMembership>();
  return std::optional<v1::GroupMembership>(ReadMembership(*r, 0));
}

}  // namespace

absl::Status InsertMembership(pg::Tx& tx, const std::string& group_id, const std::string& id,
                              const std::string& member_id, const std::string& role, absl::CivilDay from) {
  auto r = tx.Exec(
      "INSERT INTO group_memberships (project_group_id, id, member_id, role, valid_from) VALUES ($1, $2, $3, $4, $5)",
      {group_id, id, member_id, role, DateParam(from)});
  const std::string name = absl::StrCat("projectGroups/", group_id, "/memberships/", id);
  if (pg::IsUniqueViolation(r.status())) return AlreadyExists(name, absl::StrCat(name, " already exists"));
  if (pg::SqlState(r.status()) == "23P01") {  // exclusion_violation: overlapping membership
    return AlreadyExists(name, absl::StrCat("members/", member_id, " is already in projectGroups/", group_id,
                                            " on an overlapping range"));
  }
  if (!r.ok()) return r.status();
  if (const WriteScope* write = CurrentWrite()) {
    OPS_ASSIGN_OR_RETURN(auto after, GetMembership(tx, group_id, id));
    if (after) return RecordChange(tx, write->method, name, "", from, nullptr, &*after);
  }
  return absl::OkStatus();
}

absl::Status SetMembershipRole(pg::Tx& tx, const v1::GroupMembership& before, const std::string& role) {
  const auto [group_id, id] = MembershipKey(before.name());
  auto r = tx.Exec(
      "UPDATE group_memberships SET role = $3, revision = revision + 1, update_time = now()"
      " WHERE project_group_id = $1 AND id = $2",
      {group_id, id, role});
  if (!r.ok()) return r.status();
  if (const WriteScope* write = CurrentWrite()) {
    OPS_ASSIGN_OR_RETURN(auto after, GetMembership(tx, group_id, id));
    if (after) return RecordChange(tx, write->method, before.name(), "", write->day, &before, &*after);
  }
  return absl::OkStatus();
}

absl::Status EndMembership(pg::Tx& tx, const v1::GroupMembership& before, absl::CivilDay end) {
  const auto [group_id, id] = MembershipKey(before.name());
  const bool cancel = DateParam(end) <= before.start_date();
  absl::StatusOr<pg::Result> r =
      cancel ? tx.Exec("DELETE FROM group_memberships WHERE project_group_id = $1 AND id = $2", {group_id, id})
             : tx.Exec(
                   "UPDATE group_memberships SET valid_to = $3, revision = revision + 1, update_time = now()"
                   " WHERE project_group_id = $1 AND id = $2",
                   {group_id, id, DateParam(end)});
  if (!r.ok()) return r.status();
  if (const WriteScope* write = CurrentWrite()) {
    v1::GroupMembership after = before;
    after.set_end_date(DateParam(end));
    return RecordChange(tx, write->method, before.name(), "", end, &before, cancel ? nullptr : &after);
  }
  return absl::OkStatus();
}

// ---- Assignments ------------------------------------------------------------------------

absl::StatusOr<bool> AssignmentIdTaken(pg::Tx& tx, const std::string& id) {
  auto r = tx.Exec("SELECT 1 FROM assignments WHERE id = $1", {id});
  if (!r.ok()) return r.status();
  return r->rows() > 0;
}

absl::Status CancelAssignment(pg::Tx& tx, const v1::Assignment& assignment, absl::CivilDay day) {
  const std::string id = IdOf(assignment.name());
  auto r = tx.Exec("DELETE FROM assignments WHERE id = $1 AND valid_from >= $2", {id, DateParam(day)});
  if (!r.ok()) return r.status();
  if (r->affected() == 0) {
    return FailedPrecondition("ASSIGNMENT_STARTED",
                              absl::StrCat(assignment.name(), " starts before ", DateParam(day)));
  }
  if (const WriteScope* write = CurrentWrite()) {
    return RecordChange(tx, write->method, assignment.name(), IdOf(assignment.department()), day, &assignment,
                        nullptr);
  }
  return absl::OkStatus();
}

}  // namespace opsteam::org::chart
