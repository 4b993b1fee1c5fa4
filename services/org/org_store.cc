#include "services/org/org_store.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"
#include "libs/aip/aip.h"
#include "libs/status/macros.h"
#include "libs/status/status.h"
#include "services/org/audit.h"

namespace opsteam::org {
namespace {

using google::protobuf::util::TimeUtil;

std::string DateParam(CivilDay day) { return aip::FormatDate(day); }
std::string EndParam(const std::optional<CivilDay>& to) {
  return to ? aip::FormatDate(*to) : std::string(aip::kOpenEnd);
}

// Dates read back from SQL ('infinity' -> open).
CivilDay ParseDay(absl::string_view text) {
  absl::CivilDay day;
  (void)absl::ParseCivilTime(text, &day);
  return day;
}
std::optional<CivilDay> ParseEnd(absl::string_view text) {
  if (text == aip::kOpenEnd) return std::nullopt;
  return ParseDay(text);
}
std::string EndText(absl::string_view text) {
  return text == aip::kOpenEnd ? std::string() : std::string(text);
}

std::string IdOf(const std::string& name) {
  auto slash = name.find('/');
  return slash == std::string::npos ? std::string() : name.substr(slash + 1);
}
pg::Param OptionalId(const std::string& name) {
  if (name.empty()) return std::nullopt;
  return IdOf(name);
}

template <typename M>
absl::StatusOr<std::string> ToJson(const M& message) {
  std::string out;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  auto s = google::protobuf::util::MessageToJsonString(message, &out, options);
  if (!s.ok()) return Internal(absl::StrCat("encoding JSON: ", s.ToString()));
  return out;
}

template <typename M>
absl::Status FromJson(absl::string_view json, M* message) {
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  auto s = google::protobuf::util::JsonStringToMessage(std::string(json), message, options);
  if (!s.ok()) return Internal(absl::StrCat("decoding JSON: ", s.ToString()));
  return absl::OkStatus();
}

google::protobuf::Timestamp FromMicros(int64_t us) { return TimeUtil::MicrosecondsToTimestamp(us); }

// ", $first, $first+1, ..." for each column of a comma-separated column list.
std::string Placeholders(absl::string_view columns, int first) {
  std::string out;
  int n = first;
  for (absl::string_view unused : absl::StrSplit(columns, ',')) {
    (void)unused;
    absl::StrAppend(&out, ", $", n++);
  }
  return out;
}

// Columns every versioned read selects, in this order.
template <typename Table>
std::string SelectVersions() {
  return absl::StrCat("SELECT v.", Table::kKey,
                      ", v.valid_from::text, v.valid_to::text, v.data::text, h.revision,"
                      " (extract(epoch FROM h.create_time) * 1000000)::bigint,"
                      " (extract(epoch FROM h.update_time) * 1000000)::bigint FROM ",
                      Table::kVersions, " v JOIN ", Table::kHead, " h ON h.id = v.", Table::kKey,
                      " ");
}

template <typename Table>
absl::StatusOr<typename Table::Resource> ReadRow(const pg::Result& r, int row) {
  typename Table::Resource res;
  if (auto s = FromJson(r.Get(row, 3), &res); !s.ok()) return s;
  Table::SetRange(res, r.GetString(row, 1), EndText(r.Get(row, 2)));
  Table::SetHead(res, aip::Name(Table::kCollection, r.Get(row, 0)), Etag(r.GetInt64(row, 4)),
                 r.GetInt64(row, 5), r.GetInt64(row, 6));
  return res;
}

template <typename Table>
absl::StatusOr<std::vector<typename Table::Resource>> ReadRows(const pg::Result& r) {
  std::vector<typename Table::Resource> out;
  out.reserve(static_cast<size_t>(r.rows()));
  for (int i = 0; i < r.rows(); ++i) {
    auto res = ReadRow<Table>(r, i);
    if (!res.ok()) return res.status();
    out.push_back(std::move(*res));
  }
  return out;
}

}  // namespace

std::string Etag(int64_t revision) { return absl::StrCat(revision); }

// ---- Tables ---------------------------------------------------------------------------

pg::Params DepartmentTable::Derive(const Department& d) {
  return {OptionalId(d.parent()), absl::StrCat(static_cast<int>(d.kind())),
          OptionalId(d.lead_position())};
}
void DepartmentTable::Strip(Department& d) {
  d.clear_name();
  d.clear_ancestors();
  d.clear_valid_from();
  d.clear_valid_to();
  d.clear_create_time();
  d.clear_update_time();
  d.clear_etag();
}
void DepartmentTable::SetRange(Department& d, const std::string& from, const std::string& to) {
  d.set_valid_from(from);
  d.set_valid_to(to);
}
void DepartmentTable::SetHead(Department& d, const std::string& name, const std::string& etag,
                              int64_t create_us, int64_t update_us) {
  d.set_name(name);
  d.set_etag(etag);
  *d.mutable_create_time() = FromMicros(create_us);
  *d.mutable_update_time() = FromMicros(update_us);
}

std::string DepartmentTable::DepartmentOf(const Department&, const std::string& id) { return id; }
std::string PositionTable::DepartmentOf(const Position& p, const std::string&) {
  return IdOf(p.department());
}

pg::Params PositionTable::Derive(const Position& p) {
  return {IdOf(p.department()), OptionalId(p.reports_to()), absl::StrCat(p.headcount())};
}
void PositionTable::Strip(Position& p) {
  p.clear_name();
  p.clear_filled();
  p.clear_valid_from();
  p.clear_valid_to();
  p.clear_create_time();
  p.clear_update_time();
  p.clear_etag();
}
void PositionTable::SetRange(Position& p, const std::string& from, const std::string& to) {
  p.set_valid_from(from);
  p.set_valid_to(to);
}
void PositionTable::SetHead(Position& p, const std::string& name, const std::string& etag,
                            int64_t create_us, int64_t update_us) {
  p.set_name(name);
  p.set_etag(etag);
  *p.mutable_create_time() = FromMicros(create_us);
  *p.mutable_update_time() = FromMicros(update_us);
}

pg::Params ProjectGroupTable::Derive(const v1::ProjectGroup& g) { return {IdOf(g.owner())}; }
void ProjectGroupTable::Strip(v1::ProjectGroup& g) {
  g.clear_name();
  g.clear_valid_from();
  g.clear_valid_to();
  g.clear_create_time();
  g.clear_update_time();
  g.clear_etag();
}
void ProjectGroupTable::SetRange(v1::ProjectGroup& g, const std::string& from, const std::string& to) {
  g.set_valid_from(from);
  g.set_valid_to(to);
}
void ProjectGroupTable::SetHead(v1::ProjectGroup& g, const std::string& name, const std::string& etag,
                                int64_t create_us, int64_t update_us) {
  g.set_name(name);
  g.set_etag(etag);
  *g.mutable_create_time() = FromMicros(create_us);
  *g.mutable_update_time() = FromMicros(update_us);
}
std::string ProjectGroupTable::DepartmentOf(const v1::ProjectGroup&, const std::string&) { return {}; }

// ---- VersionedStore -------------------------------------------------------------------

template <typename Table>
absl::Status VersionedStore<Table>::CreateHead(pg::Tx& tx, const std::string& id) {
  static const std::string sql =
      absl::StrCat("INSERT INTO ", Table::kHead, " (id) VALUES ($1) ON CONFLICT (id) DO NOTHING");
  auto r = tx.Exec(sql, {id});
  if (!r.ok()) return r.status();
  if (r->affected() == 0) {
    const std::string name = aip::Name(Table::kCollection, id);
    return AlreadyExists(name, absl::StrCat(name, " already exists"));
  }
  return absl::OkStatus();
}

template <typename Table>
absl::StatusOr<std::optional<int64_t>> VersionedStore<Table>::Lock(pg::Tx& tx,
                                                                   const std::string& id) {
  static const std::string sql =
      absl::StrCat("SELECT revision FROM ", Table::kHead, " WHERE id = $1 FOR UPDATE");
  auto r = tx.Exec(sql, {id});
  if (!r.ok()) return r.status();
  if (r->rows() == 0) return std::optional<int64_t>();
  return std::optional<int64_t>(r->GetInt64(0, 0));
}

template <typename Table>
absl::StatusOr<std::vector<Version<typename Table::Resource>>> VersionedStore<Table>::Load(
    pg::Tx& tx, const std::string& id) {
  static const std::string sql =
      absl::StrCat("SELECT valid_from::text, valid_to::text, data::text FROM ", Table::kVersions,
                   " WHERE ", Table::kKey, " = $1 ORDER BY valid_from");
  auto r = tx.Exec(sql, {id});
  if (!r.ok()) return r.status();
  std::vector<Version<Resource>> out;
  for (int i = 0; i < r->rows(); ++i) {
    Version<Resource> v;
    v.from = ParseDay(r->Get(i, 0));
    v.to = ParseEnd(r->Get(i, 1));
    if (auto s = FromJson(r->Get(i, 2), &v.data); !s.ok()) return s;
    out.push_back(std::move(v));
  }
  return out;
}

template <typename Table>
absl::Status VersionedStore<Table>::Save(pg::Tx& tx, const std::string& id,
                                         const std::vector<Version<Resource>>& versions) {
  static const std::string del =
      absl::StrCat("DELETE FROM ", Table::kVersions, " WHERE ", Table::kKey, " = $1");
  static const std::string ins =
      absl::StrCat("INSERT INTO ", Table::kVersions, " (", Table::kKey,
                   ", valid_from, valid_to, data, ", Table::kDerivedColumns,
                   ") VALUES ($1, $2, $3, $4::jsonb", Placeholders(Table::kDerivedColumns, 5), ")");
  static const std::string bump = absl::StrCat(
      "UPDATE ", Table::kHead, " SET revision = revision + 1, update_time = now() WHERE id = $1");
  if (const WriteScope* write = CurrentWrite()) {
    OPS_ASSIGN_OR_RETURN(auto old, Load(tx, id));
    auto on_day = [&](const std::vector<Version<Resource>>& vs) -> const Resource* {
      for (const auto& v : vs) {
        if (v.from <= write->day && (!v.to || *v.to > write->day)) return &v.data;
      }
      return nullptr;
    };
    const Resource* before = on_day(old);
    const Resource* after = on_day(versions);
    if (before || after) {
      OPS_RETURN_IF_ERROR(RecordChange(tx, write->method, aip::Name(Table::kCollection, id),
                                       Table::DepartmentOf(after ? *after : *before, id),
                                       write->day, before, after));
    }
  }
  if (auto r = tx.Exec(del, {id}); !r.ok()) return r.status();
  for (const auto& v : versions) {
    Resource stored = v.data;
    Table::Strip(stored);
    auto json = ToJson(stored);
    if (!json.ok()) return json.status();
    pg::Params params = {id, DateParam(v.from), EndParam(v.to), std::move(*json)};
    for (auto& p : Table::Derive(stored)) params.push_back(std::move(p));
    if (auto r = tx.Exec(ins, params); !r.ok()) return r.status();
  }
  auto r = tx.Exec(bump, {id});
  return r.status();
}

template <typename Table>
absl::StatusOr<std::optional<typename Table::Resource>> VersionedStore<Table>::Get(
    pg::Tx& tx, const std::string& id, CivilDay day) {
  static const std::string sql = absl::StrCat(SelectVersions<Table>(), "WHERE v.", Table::kKey,
                                              " = $1 AND v.valid_from <= $2 AND v.valid_to > $2");
  auto r = tx.Exec(sql, {id, DateParam(day)});
  if (!r.ok()) return r.status();
  if (r->rows() == 0) return std::optional<Resource>();
  auto res = ReadRow<Table>(*r, 0);
  if (!res.ok()) return res.status();
  return std::optional<Resource>(std::move(*res));
}

template <typename Table>
absl::StatusOr<std::vector<typename Table::Resource>> VersionedStore<Table>::Query(
    pg::Tx& tx, const std::string& where, CivilDay day, pg::Params params,
    const std::string& after, int limit) {
  const size_t n = params.size();
  const std::string sql = absl::StrCat(
      SelectVersions<Table>(), "WHERE v.valid_from <= $1 AND v.valid_to > $1", where.empty() ? "" : " AND ",
      where, " AND v.", Table::kKey, " > $", n + 2, " ORDER BY v.", Table::kKey, " LIMIT $", n + 3);
  pg::Params all = {DateParam(day)};
  for (auto& p : params) all.push_back(std::move(p));
  all.push_back(after);
  all.push_back(absl::StrCat(limit));
  auto r = tx.Exec(sql, all);
  if (!r.ok()) return r.status();
  return ReadRows<Table>(*r);
}

template class VersionedStore<DepartmentTable>;
template class VersionedStore<PositionTable>;
template class VersionedStore<ProjectGroupTable>;

// ---- Departments ----------------------------------------------------------------------

absl::StatusOr<std::vector<std::string>> DepartmentAncestors(pg::Tx& tx, const std::string& id,
                                                             CivilDay day) {
  // Depth is capped so a corrupted cycle could never loop forever.
  auto r = tx.Exec(
      "WITH RECURSIVE up(id, parent_id, depth) AS ("
      "  SELECT department_id, parent_id, 0 FROM department_versions"
      "   WHERE department_id = $1 AND valid_from <= $2 AND valid_to > $2"
      "  UNION ALL"
      "  SELECT v.department_id, v.parent_id, up.depth + 1 FROM up"
      "   JOIN department_versions v ON v.department_id = up.parent_id"
      "    AND v.valid_from <= $2 AND v.valid_to > $2 WHERE up.depth < 1000)"
      " SELECT id FROM up WHERE depth > 0 ORDER BY depth DESC",
      {id, DateParam(day)});
  if (!r.ok()) return r.status();
  std::vector<std::string> out;
  for (int i = 0; i < r->rows(); ++i) out.push_back(aip::Name("departments", r->Get(i, 0)));
  return out;
}

absl::StatusOr<std::vector<Department>> ListDepartmentSubtree(pg::Tx& tx, const std::string& parent,
                                                              int kind, CivilDay day,
                                                              const std::string& after, int limit) {
  // Walks down from `parent` (or the roots) only: the cost follows the subtree's size.
  const std::string start = parent.empty() ? "parent_id IS NULL" : "parent_id = $5";
  const std::string sql = absl::StrCat(
      "WITH RECURSIVE sub(id, depth) AS ("
      "  SELECT department_id, 0 FROM department_versions WHERE ", start,
      "   AND valid_from <= $1 AND valid_to > $1"
      "  UNION ALL"
      "  SELECT v.department_id, sub.depth + 1 FROM sub JOIN department_versions v"
      "   ON v.parent_id = sub.id AND v.valid_from <= $1 AND v.valid_to > $1 WHERE sub.depth < 1000) ",
      SelectVersions<DepartmentTable>(),
      "JOIN sub ON sub.id = v.department_id WHERE v.valid_from <= $1 AND v.valid_to > $1"
      " AND ($2 = 0 OR v.kind = $2) AND v.department_id > $3 ORDER BY v.department_id LIMIT $4");
  pg::Params params = {DateParam(day), absl::StrCat(kind), after, absl::StrCat(limit)};
  if (!parent.empty()) params.push_back(parent);
  auto r = tx.Exec(sql, params);
  if (!r.ok()) return r.status();
  return ReadRows<DepartmentTable>(*r);
}

absl::StatusOr<std::vector<CivilDay>> DepartmentChangeDays(pg::Tx& tx, CivilDay day) {
  auto r = tx.Exec(
      "SELECT DISTINCT valid_from::text FROM department_versions WHERE valid_from > $1"
      " ORDER BY 1 LIMIT 10000",
      {DateParam(day)});
  if (!r.ok()) return r.status();
  std::vector<CivilDay> out;
  for (int i = 0; i < r->rows(); ++i) out.push_back(ParseDay(r->Get(i, 0)));
  return out;
}

absl::StatusOr<Dependents> DepartmentDependents(pg::Tx& tx, const std::string& id, CivilDay day) {
  auto r = tx.Exec(
      "SELECT"
      " (SELECT count(DISTINCT department_id) FROM department_versions"
      "   WHERE parent_id = $1 AND valid_to > $2),"
      " (SELECT count(DISTINCT position_id) FROM position_versions"
      "   WHERE department_id = $1 AND valid_to > $2),"
      " (SELECT count(DISTINCT a.member_id) FROM assignments a"
      "   JOIN position_versions p ON p.position_id = a.position_id"
      "   WHERE p.department_id = $1 AND a.valid_to > $2 AND p.valid_to > $2)",
      {id, DateParam(day)});
  if (!r.ok()) return r.status();
  return Dependents{r->GetInt64(0, 0), r->GetInt64(0, 1), r->GetInt64(0, 2)};
}

// ---- Positions ------------------------------------------------------------------------

absl::StatusOr<std::vector<Position>> ListPositionsInSubtree(pg::Tx& tx, const std::string& department,
                                                             CivilDay day, const std::string& after,
                                                             int limit) {
  const std::string sql = absl::StrCat(
      "WITH RECURSIVE sub(id, depth) AS ("
      "  SELECT $2::text, 0"
      "  UNION ALL"
      "  SELECT v.department_id, sub.depth + 1 FROM sub JOIN department_versions v"
      "   ON v.parent_id = sub.id AND v.valid_from <= $1 AND v.valid_to > $1 WHERE sub.depth < 1000) ",
      SelectVersions<PositionTable>(),
      "JOIN sub ON sub.id = v.department_id WHERE v.valid_from <= $1 AND v.valid_to > $1"
      " AND v.position_id > $3 ORDER BY v.position_id LIMIT $4");
  auto r = tx.Exec(sql, {DateParam(day), department, after, absl::StrCat(limit)});
  if (!r.ok()) return r.status();
  return ReadRows<PositionTable>(*r);
}

absl::Status FillCounts(pg::Tx& tx, std::vector<Position>& positions, CivilDay day) {
  if (positions.empty()) return absl::OkStatus();
  std::string ids = "{";
  for (size_t i = 0; i < positions.size(); ++i) {
    absl::StrAppend(&ids, i ? "," : "", "\"", IdOf(positions[i].name()), "\"");
  }
  ids += "}";
  auto r = tx.Exec(
      "SELECT position_id, count(*) FROM assignments WHERE position_id = ANY($1::text[])"
      " AND valid_from <= $2 AND valid_to > $2 GROUP BY position_id",
      {ids, DateParam(day)});
  if (!r.ok()) return r.status();
  absl::flat_hash_map<std::string, int64_t> counts;
  for (int i = 0; i < r->rows(); ++i) counts[r->GetString(i, 0)] = r->GetInt64(i, 1);
  for (auto& p : positions) {
    auto it = counts.find(IdOf(p.name()));
    p.set_filled(it == counts.end() ? 0 : static_cast<int32_t>(it->second));
  }
  return absl::OkStatus();
}

// ---- Members --------------------------------------------------------------------------

namespace {

absl::StatusOr<Member> ReadMember(const pg::Result& r, int row) {
  Member m;
  if (auto s = FromJson(r.Get(row, 1), &m); !s.ok()) return s;
  m.set_name(aip::Name("members", r.Get(row, 0)));
  m.set_etag(Etag(r.GetInt64(row, 2)));
  *m.mutable_create_time() = FromMicros(r.GetInt64(row, 3));
  *m.mutable_update_time() = FromMicros(r.GetInt64(row, 4));
  return m;
}

constexpr const char* kSelectMember =
    "SELECT id, data::text, revision, (extract(epoch FROM create_time) * 1000000)::bigint,"
    " (extract(epoch FROM update_time) * 1000000)::bigint FROM members ";

absl::StatusOr<std::string> MemberJson(Member m) {
  m.clear_name();
  m.clear_etag();
  m.clear_create_time();
  m.clear_update_time();
  return ToJson(m);
}

}  // namespace

absl::Status InsertMember(pg::Tx& tx, const std::string& id, const Member& member) {
  auto json = MemberJson(member);
  if (!json.ok()) return json.status();
  auto r = tx.Exec(
      "INSERT INTO members (id, data) VALUES ($1, $2::jsonb) ON CONFLICT (id) DO NOTHING",
      {id, *json});
  if (!r.ok()) return r.status();
  if (r->affected() == 0) {
    return AlreadyExists(aip::Name("members", id), absl::StrCat("members/", id, " already exists"));
  }
  if (const WriteScope* write = CurrentWrite()) {
    return RecordChange(tx, write->method, aip::Name("members", id), "", std::nullopt, nullptr, &member);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<Member>> GetMember(pg::Tx& tx, const std::string& id,
                                                bool for_update) {
  static const std::string plain = absl::StrCat(kSelectMember, "WHERE id = $1");
  static const std::string locked = absl::StrCat(kSelectMember, "WHERE id = $1 FOR UPDATE");
  auto r = tx.Exec(for_update ? locked : plain, {id});
  if (!r.ok()) return r.status();
  if (r->rows() == 0) return std::optional<Member>();
  auto m = ReadMember(*r, 0);
  if (!m.ok()) return m.status();
  return std::optional<Member>(std::move(*m));
}

absl::Status SaveMember(pg::Tx& tx, const std::string& id, const Member& member) {
  if (const WriteScope* write = CurrentWrite()) {
    OPS_ASSIGN_OR_RETURN(auto before, GetMember(tx, id, false));
    if (before) {
      OPS_RETURN_IF_ERROR(RecordChange(tx, write->method, aip::Name("members", id), "", std::nullopt,
                                       &*before, &member));
    }
  }
  auto json = MemberJson(member);
  if (!json.ok()) return json.status();
  auto r = tx.Exec(
      "UPDATE members SET data = $2::jsonb, revision = revision + 1, update_time = now()"
      " WHERE id = $1",
      {id, *json});
  return r.status();
}

absl::StatusOr<std::vector<Member>> ListMembers(pg::Tx& tx, const std::string& after, int limit) {
  static const std::string sql = absl::StrCat(kSelectMember, "WHERE id > $1 ORDER BY id LIMIT $2");
  auto r = tx.Exec(sql, {after, absl::StrCat(limit)});
  if (!r.ok()) return r.status();
  std::vector<Member> out;
  for (int i = 0; i < r->rows(); ++i) {
    auto m = ReadMember(*r, i);
    if (!m.ok()) return m.status();
    out.push_back(std::move(*m));
  }
  return out;
}

// ---- Assignments ----------------------------------------------------------------------

namespace {

constexpr const char* kSelectAssignment =
    "SELECT a.id, a.member_id, a.position_id, a.kind, a.valid_from::text, a.valid_to::text,"
    " a.revision, (extract(epoch FROM a.create_time) * 1000000)::bigint,"
    " (extract(epoch FROM a.update_time) * 1000000)::bigint,"
    " (SELECT p.department_id FROM position_versions p WHERE p.position_id = a.position_id"
    "   AND p.valid_from <= a.valid_from AND p.valid_to > a.valid_from)"
    " FROM assignments a ";

Assignment ReadAssignment(const pg::Result& r, int row) {
  Assignment a;
  a.set_name(aip::Name("assignments", r.Get(row, 0)));
  a.set_member(aip::Name("members", r.Get(row, 1)));
  a.set_position(aip::Name("positions", r.Get(row, 2)));
  a.set_kind(static_cast<v1::AssignmentKind>(r.GetInt64(row, 3)));
  a.set_start_date(r.GetString(row, 4));
  a.set_end_date(EndText(r.Get(row, 5)));
  a.set_etag(Etag(r.GetInt64(row, 6)));
  *a.mutable_create_time() = FromMicros(r.GetInt64(row, 7));
  *a.mutable_update_time() = FromMicros(r.GetInt64(row, 8));
  if (!r.IsNull(row, 9)) a.set_department(aip::Name("departments", r.Get(row, 9)));
  return a;
}

std::vector<Assignment> ReadAssignments(const pg::Result& r) {
  std::vector<Assignment> out;
  for (int i = 0; i < r.rows(); ++i) out.push_back(ReadAssignment(r, i));
  return out;
}

}  // namespace

absl::Status InsertAssignment(pg::Tx& tx, const AssignmentRow& row) {
  auto r = tx.Exec(
      "INSERT INTO assignments (id, member_id, position_id, kind, valid_from, valid_to)"
      " VALUES ($1, $2, $3, $4, $5, $6)",
      {row.id, row.member_id, row.position_id, absl::StrCat(row.kind), DateParam(row.from),
       EndParam(row.to)});
  if (!r.ok()) return r.status();
  if (const WriteScope* write = CurrentWrite()) {
    OPS_ASSIGN_OR_RETURN(auto after, GetAssignment(tx, row.id, false));
    if (after) {
      return RecordChange(tx, write->method, after->name(), IdOf(after->department()), row.from,
                          nullptr, &*after);
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<Assignment>> GetAssignment(pg::Tx& tx, const std::string& id,
                                                        bool for_update) {
  static const std::string plain = absl::StrCat(kSelectAssignment, "WHERE a.id = $1");
  static const std::string locked = absl::StrCat(kSelectAssignment, "WHERE a.id = $1 FOR UPDATE OF a");
  auto r = tx.Exec(for_update ? locked : plain, {id});
  if (!r.ok()) return r.status();
  if (r->rows() == 0) return std::optional<Assignment>();
  return std::optional<Assignment>(ReadAssignment(*r, 0));
}

absl::Status EndAssignmentAt(pg::Tx& tx, const std::string& id, CivilDay end) {
  if (const WriteScope* write = CurrentWrite()) {
    OPS_ASSIGN_OR_RETURN(auto before, GetAssignment(tx, id, false));
    if (before) {
      Assignment after = *before;
      after.set_end_date(DateParam(end));
      OPS_RETURN_IF_ERROR(RecordChange(tx, write->method, before->name(), IdOf(before->department()),
                                       end, &*before, &after));
    }
  }
  auto r = tx.Exec(
      "UPDATE assignments SET valid_to = $2, revision = revision + 1, update_time = now()"
      " WHERE id = $1",
      {id, DateParam(end)});
  return r.status();
}

absl::StatusOr<std::vector<Assignment>> ListAssignments(pg::Tx& tx, const std::string& member_id,
                                                        const std::string& position_id,
                                                        std::optional<CivilDay> day,
                                                        const std::string& after, int limit) {
  static const std::string sql = absl::StrCat(
      kSelectAssignment,
      "WHERE ($1 = '' OR a.member_id = $1) AND ($2 = '' OR a.position_id = $2)"
      " AND ($3::date IS NULL OR (a.valid_from <= $3::date AND a.valid_to > $3::date))"
      " AND a.id > $4 ORDER BY a.id LIMIT $5");
  pg::Param d = day ? pg::Param(DateParam(*day)) : std::nullopt;
  auto r = tx.Exec(sql, {member_id, position_id, d, after, absl::StrCat(limit)});
  if (!r.ok()) return r.status();
  return ReadAssignments(*r);
}

absl::StatusOr<std::vector<Assignment>> OverlappingPrimary(pg::Tx& tx, const std::string& member_id,
                                                           CivilDay from, std::optional<CivilDay> to) {
  static const std::string sql = absl::StrCat(
      kSelectAssignment,
      "WHERE a.member_id = $1 AND a.kind = 1"
      " AND daterange(a.valid_from, a.valid_to) && daterange($2::date, $3::date) ORDER BY a.valid_from");
  auto r = tx.Exec(sql, {member_id, DateParam(from), EndParam(to)});
  if (!r.ok()) return r.status();
  return ReadAssignments(*r);
}

absl::StatusOr<std::vector<SeatCount>> SeatCounts(pg::Tx& tx, const std::string& position_id,
                                                  CivilDay from) {
  // The count can only rise where an assignment or a position version starts.
  auto r = tx.Exec(
      "WITH days(d) AS ("
      "  SELECT $2::date"
      "  UNION SELECT valid_from FROM assignments WHERE position_id = $1 AND valid_from > $2"
      "  UNION SELECT valid_from FROM position_versions WHERE position_id = $1 AND valid_from > $2)"
      " SELECT d::text,"
      "  (SELECT count(*) FROM assignments a WHERE a.position_id = $1"
      "    AND a.valid_from <= d AND a.valid_to > d),"
      "  (SELECT headcount FROM position_versions p WHERE p.position_id = $1"
      "    AND p.valid_from <= d AND p.valid_to > d)"
      " FROM days ORDER BY d",
      {position_id, DateParam(from)});
  if (!r.ok()) return r.status();
  std::vector<SeatCount> out;
  for (int i = 0; i < r->rows(); ++i) {
    SeatCount c;
    c.day = ParseDay(r->Get(i, 0));
    c.filled = r->GetInt64(i, 1);
    if (!r->IsNull(i, 2)) c.headcount = r->GetInt64(i, 2);
    out.push_back(c);
  }
  return out;
}

// ---- Reporting snapshot ---------------------------------------------------------------

absl::StatusOr<OrgSnapshot> LoadSnapshot(pg::Tx& tx, CivilDay day) {
  OrgSnapshot snap;
  const std::string d = DateParam(day);
  auto units = tx.Exec(
      "SELECT department_id, coalesce(parent_id, ''), coalesce(lead_position_id, '')"
      " FROM department_versions WHERE valid_from <= $1 AND valid_to > $1",
      {d});
  if (!units.ok()) return units.status();
  for (int i = 0; i < units->rows(); ++i) {
    snap.units[units->GetString(i, 0)] = {units->GetString(i, 1), units->GetString(i, 2)};
  }
  auto posts = tx.Exec(
      "SELECT position_id, department_id, coalesce(reports_to_id, '')"
      " FROM position_versions WHERE valid_from <= $1 AND valid_to > $1",
      {d});
  if (!posts.ok()) return posts.status();
  for (int i = 0; i < posts->rows(); ++i) {
    snap.posts[posts->GetString(i, 0)] = {posts->GetString(i, 1), posts->GetString(i, 2)};
  }
  auto held = tx.Exec(
      "SELECT a.position_id, a.member_id, m.data->>'display_name', a.valid_from::text, a.kind"
      " FROM assignments a JOIN members m ON m.id = a.member_id"
      " WHERE a.valid_from <= $1 AND a.valid_to > $1 ORDER BY a.kind, a.valid_from, a.member_id",
      {d});
  if (!held.ok()) return held.status();
  for (int i = 0; i < held->rows(); ++i) {
    snap.holders[held->GetString(i, 0)].push_back(
        {held->GetString(i, 1), held->GetString(i, 2), ParseDay(held->Get(i, 3))});
    snap.member_posts[held->GetString(i, 1)].push_back(held->GetString(i, 0));
  }
  return snap;
}

}  // namespace opsteam::org
