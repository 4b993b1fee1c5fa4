#include "services/org/group_store.h"

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"
#include "libs/aip/aip.h"
#include "libs/status/macros.h"
#include "libs/status/status.h"
#include "services/org/audit.h"

namespace opsteam::org {
namespace {

using google::protobuf::util::TimeUtil;

std::string DateParam(absl::CivilDay day) { return aip::FormatDate(day); }
std::string EndParam(const std::optional<absl::CivilDay>& to) {
  return to ? aip::FormatDate(*to) : std::string(aip::kOpenEnd);
}
std::string EndText(absl::string_view text) {
  return text == aip::kOpenEnd ? std::string() : std::string(text);
}

constexpr const char* kSelectMembership =
    "SELECT m.project_group_id, m.id, m.member_id, m.role, m.valid_from::text, m.valid_to::text,"
    " m.revision, (extract(epoch FROM m.create_time) * 1000000)::bigint,"
    " (extract(epoch FROM m.update_time) * 1000000)::bigint"
    " FROM group_memberships m ";

v1::GroupMembership ReadMembership(const pg::Result& r, int row) {
  v1::GroupMembership m;
  m.set_name(MembershipName(r.GetString(row, 0), r.GetString(row, 1)));
  m.set_member(aip::Name("members", r.Get(row, 2)));
  m.set_role(r.GetString(row, 3));
  m.set_start_date(r.GetString(row, 4));
  m.set_end_date(EndText(r.Get(row, 5)));
  m.set_etag(absl::StrCat(r.GetInt64(row, 6)));
  *m.mutable_create_time() = TimeUtil::MicrosecondsToTimestamp(r.GetInt64(row, 7));
  *m.mutable_update_time() = TimeUtil::MicrosecondsToTimestamp(r.GetInt64(row, 8));
  return m;
}

std::vector<v1::GroupMembership> ReadMemberships(const pg::Result& r) {
  std::vector<v1::GroupMembership> out;
  out.reserve(static_cast<size_t>(r.rows()));
  for (int i = 0; i < r.rows(); ++i) out.push_back(ReadMembership(r, i));
  return out;
}

}  // namespace

std::string MembershipName(const std::string& group_id, const std::string& id) {
  return absl::StrCat("projectGroups/", group_id, "/memberships/", id);
}

absl::Status InsertMembership(pg::Tx& tx, const MembershipRow& row) {
  auto r = tx.Exec(
      "INSERT INTO group_memberships (project_group_id, id, member_id, role, valid_from, valid_to)"
      " VALUES ($1, $2, $3, $4, $5, $6)",
      {row.group_id, row.id, row.member_id, row.role, DateParam(row.from), EndParam(row.to)});
  const std::string name = MembershipName(row.group_id, row.id);
  if (pg::IsUniqueViolation(r.status(), "group_memberships_pkey")) {
    return AlreadyExists(name, absl::StrCat(name, " already exists"));
  }
  if (pg::SqlState(r.status()) == "23P01") {  // exclusion_violation: overlapping membership
    return AlreadyExists(name, absl::StrCat("members/", row.member_id, " is already in projectGroups/",
                                            row.group_id, " on an overlapping range"));
  }
  if (!r.ok()) return r.status();
  if (const WriteScope* write = CurrentWrite()) {
    OPS_ASSIGN_OR_RETURN(auto after, GetMembership(tx, row.group_id, row.id, false));
    if (after) {
      return RecordChange(tx, write->method, name, "", row.from, nullptr, &*after);
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<v1::GroupMembership>> GetMembership(pg::Tx& tx, const std::string& group_id,
                                                                 const std::string& id, bool for_update) {
  static const std::string plain =
      absl::StrCat(kSelectMembership, "WHERE m.project_group_id = $1 AND m.id = $2");
  static const std::string locked =
      absl::StrCat(kSelectMembership, "WHERE m.project_group_id = $1 AND m.id = $2 FOR UPDATE");
  auto r = tx.Exec(for_update ? locked : plain, {group_id, id});
  if (!r.ok()) return r.status();
  if (r->rows() == 0) return std::optional<v1::GroupMembership>();
  return std::optional<v1::GroupMembership>(ReadMembership(*r, 0));
}

absl::Status EndMembershipAt(pg::Tx& tx, const std::string& group_id, const std::string& id,
                             absl::CivilDay end) {
  if (const WriteScope* write = CurrentWrite()) {
    OPS_ASSIGN_OR_RETURN(auto before, GetMembership(tx, group_id, id, false));
    if (before) {
      v1::GroupMembership after = *before;
      after.set_end_date(DateParam(end));
      OPS_RETURN_IF_ERROR(RecordChange(tx, write->method, before->name(), "", end, &*before, &after));
    }
  }
  auto r = tx.Exec(
      "UPDATE group_memberships SET valid_to = $3, revision = revision + 1, update_time = now()"
      " WHERE project_group_id = $1 AND id = $2",
      {group_id, id, DateParam(end)});
  return r.status();
}

absl::StatusOr<std::vector<v1::GroupMembership>> OverlappingMemberships(pg::Tx& tx, const std::string& group_id,
                                                                        const std::string& member_id,
                                                                        absl::CivilDay from,
                                                                        std::optional<absl::CivilDay> to) {
  static const std::string sql = absl::StrCat(
      kSelectMembership,
      "WHERE m.project_group_id = $1 AND m.member_id = $2"
      " AND daterange(m.valid_from, m.valid_to) && daterange($3::date, $4::date) ORDER BY m.valid_from");
  auto r = tx.Exec(sql, {group_id, member_id, DateParam(from), EndParam(to)});
  if (!r.ok()) return r.status();
  return ReadMemberships(*r);
}

absl::StatusOr<std::vector<v1::GroupMembership>> ListMemberships(pg::Tx& tx, const std::string& group_id,
                                                                 const std::string& member_id, absl::CivilDay day,
                                                                 const std::string& after_group,
                                                                 const std::string& after_id, int limit) {
  static const std::string sql = absl::StrCat(
      kSelectMembership,
      "WHERE ($1 = '' OR m.project_group_id = $1) AND ($2 = '' OR m.member_id = $2)"
      " AND m.valid_from <= $3 AND m.valid_to > $3"
      " AND (m.project_group_id, m.id) > ($4::text, $5::text)"
      " ORDER BY m.project_group_id, m.id LIMIT $6");
  auto r = tx.Exec(sql, {group_id, member_id, DateParam(day), after_group, after_id, absl::StrCat(limit)});
  if (!r.ok()) return r.status();
  return ReadMemberships(*r);
}

absl::StatusOr<std::vector<GroupLineRow>> GroupLinesOf(pg::Tx& tx, const std::string& member_id,
                                                       absl::CivilDay day) {
  auto r = tx.Exec(
      "SELECT m.project_group_id, m.id, m.role, coalesce(g.owner_id, '')"
      " FROM group_memberships m"
      " LEFT JOIN project_group_versions g ON g.project_group_id = m.project_group_id"
      "  AND g.valid_from <= $2 AND g.valid_to > $2"
      " WHERE m.member_id = $1 AND m.valid_from <= $2 AND m.valid_to > $2"
      " ORDER BY m.project_group_id, m.id",
      {member_id, DateParam(day)});
  if (!r.ok()) return r.status();
  std::vector<GroupLineRow> out;
  for (int i = 0; i < r->rows(); ++i) {
    out.push_back({r->GetString(i, 0), r->GetString(i, 1), r->GetString(i, 2), r->GetString(i, 3)});
  }
  return out;
}

}  // namespace opsteam::org
