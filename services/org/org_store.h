#pragma once

// SQL of the org service. Effective-dated resources (departments, positions) are a head row
// (revision, timestamps) plus version rows [valid_from, valid_to) holding the resource's
// dated fields as protobuf JSON and the columns queries filter on. A change dated E is made
// by loading every version, rewriting the list in memory (split at E, change what is on or
// after E) and storing it back, all under a row lock on the head.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "libs/pg/pg.h"
#include "opsteam/org/v1/resources.pb.h"

namespace opsteam::org {

using absl::CivilDay;
using v1::Assignment;
using v1::Department;
using v1::Member;
using v1::Position;

// One version of an effective-dated resource; `to` empty = open-ended.
template <typename T>
struct Version {
  CivilDay from;
  std::optional<CivilDay> to;
  T data;
};

// Splits the versions at `day` and applies `change` to every version from `day` on; adjacent
// versions left equal are merged. False when the resource does not exist on `day`.
template <typename T, typename Fn>
bool ChangeFrom(std::vector<Version<T>>& versions, CivilDay day, Fn change);
// Ends the resource at `day`: versions from `day` on are dropped.
template <typename T>
void EndAt(std::vector<Version<T>>& versions, CivilDay day);

// The effective-dated tables. `Derive` gives the filter columns of a version, in the
// order of `kDerivedColumns`.
struct DepartmentTable {
  using Resource = Department;
  static constexpr const char* kHead = "departments";
  static constexpr const char* kVersions = "department_versions";
  static constexpr const char* kKey = "department_id";
  static constexpr const char* kCollection = "departments";
  static constexpr const char* kDerivedColumns = "parent_id, kind, lead_position_id";
  static pg::Params Derive(const Department& d);
  // Clears what is not stored in a version (name, output-only fields).
  static void Strip(Department& d);
  static void SetRange(Department& d, const std::string& from, const std::string& to);
  static void SetHead(Department& d, const std::string& name, const std::string& etag,
                      int64_t create_us, int64_t update_us);
  // The department a change is filed under in the audit trail.
  static std::string DepartmentOf(const Department& d, const std::string& id);
};

struct PositionTable {
  using Resource = Position;
  static constexpr const char* kHead = "positions";
  static constexpr const char* kVersions = "position_versions";
  static constexpr const char* kKey = "position_id";
  static constexpr const char* kCollection = "positions";
  static constexpr const char* kDerivedColumns = "department_id, reports_to_id, headcount";
  static pg::Params Derive(const Position& p);
  static void Strip(Position& p);
  static void SetRange(Position& p, const std::string& from, const std::string& to);
  static void SetHead(Position& p, const std::string& name, const std::string& etag,
                      int64_t create_us, int64_t update_us);
  static std::string DepartmentOf(const Position& p, const std::string& id);
};

// Cross-department project groups: the owner is the one filter column.
struct ProjectGroupTable {
  using Resource = v1::ProjectGroup;
  static constexpr const char* kHead = "project_groups";
  static constexpr const char* kVersions = "project_group_versions";
  static constexpr const char* kKey = "project_group_id";
  static constexpr const char* kCollection = "projectGroups";
  static constexpr const char* kDerivedColumns = "owner_id";
  static pg::Params Derive(const v1::ProjectGroup& g);
  static void Strip(v1::ProjectGroup& g);
  static void SetRange(v1::ProjectGroup& g, const std::string& from, const std::string& to);
  static void SetHead(v1::ProjectGroup& g, const std::string& name, const std::string& etag,
                      int64_t create_us, int64_t update_us);
  // Groups cut across departments: filed under none.
  static std::string DepartmentOf(const v1::ProjectGroup& g, const std::string& id);
};

// The etag of a resource at `revision`.
std::string Etag(int64_t revision);

// Generic access to one effective-dated table (see the tables in org_store.cc).
template <typename Table>
class VersionedStore {
 public:
  using Resource = typename Table::Resource;

  // Creates the head row; ALREADY_EXISTS when the id is taken.
  static absl::Status CreateHead(pg::Tx& tx, const std::string& id);
  // Locks the head row for the rest of the transaction; returns its revision, or nullopt.
  static absl::StatusOr<std::optional<int64_t>> Lock(pg::Tx& tx, const std::string& id);
  static absl::StatusOr<std::vector<Version<Resource>>> Load(pg::Tx& tx, const std::string& id);
  // Replaces all versions, bumps the revision and records the change in the audit trail
  // (the version in force on the write's day, before and after).
  static absl::Status Save(pg::Tx& tx, const std::string& id,
                           const std::vector<Version<Resource>>& versions);
  // The version in force on `day`, with output fields filled (name, range, etag, times).
  static absl::StatusOr<std::optional<Resource>> Get(pg::Tx& tx, const std::string& id,
                                                     CivilDay day);
  // Versions in force on `day` matching `where` (SQL over v.* with $1 = day and `params` as
  // $2...), ordered by id, after `after`, at most `limit`.
  static absl::StatusOr<std::vector<Resource>> Query(pg::Tx& tx, const std::string& where,
                                                     CivilDay day, pg::Params params,
                                                     const std::string& after, int limit);
};

using DepartmentStore = VersionedStore<DepartmentTable>;
using PositionStore = VersionedStore<PositionTable>;
using ProjectGroupStore = VersionedStore<ProjectGroupTable>;

// ---- Department queries.
// Ancestors of `id` on `day`, root first.
absl::StatusOr<std::vector<std::string>> DepartmentAncestors(pg::Tx& tx, const std::string& id,
                                                             CivilDay day);
// Departments (recursively) below `parent` on `day`; `parent` empty = below the roots.
absl::StatusOr<std::vector<Department>> ListDepartmentSubtree(pg::Tx& tx, const std::string& parent,
                                                              int kind, CivilDay day,
                                                              const std::string& after, int limit);
// Days on or after `day` on which any department's version starts (moves, renames).
absl::StatusOr<std::vector<CivilDay>> DepartmentChangeDays(pg::Tx& tx, CivilDay day);

// ---- Positions.
absl::StatusOr<std::vector<Position>> ListPositionsInSubtree(pg::Tx& tx, const std::string& department,
                                                             CivilDay day, const std::string& after,
                                                             int limit);
// Seats filled on `day` for each position id given.
absl::Status FillCounts(pg::Tx& tx, std::vector<Position>& positions, CivilDay day);

// What is still in or under a department from `day` on (for deletes).
struct Dependents {
  int64_t sub_departments = 0;
  int64_t positions = 0;
  int64_t members = 0;
};
absl::StatusOr<Dependents> DepartmentDependents(pg::Tx& tx, const std::string& id, CivilDay day);

// ---- Members (not effective-dated).
absl::Status InsertMember(pg::Tx& tx, const std::string& id, const Member& member);
absl::StatusOr<std::optional<Member>> GetMember(pg::Tx& tx, const std::string& id, bool for_update);
absl::Status SaveMember(pg::Tx& tx, const std::string& id, const Member& member);
absl::StatusOr<std::vector<Member>> ListMembers(pg::Tx& tx, const std::string& after, int limit);

// ---- Assignments.
struct AssignmentRow {
  std::string id;
  std::string member_id;
  std::string position_id;
  int kind = 0;
  CivilDay from;
  std::optional<CivilDay> to;
};
absl::Status InsertAssignment(pg::Tx& tx, const AssignmentRow& row);
absl::StatusOr<std::optional<Assignment>> GetAssignment(pg::Tx& tx, const std::string& id,
                                                        bool for_update);
absl::Status EndAssignmentAt(pg::Tx& tx, const std::string& id, CivilDay end);
// Assignments matching member/position (either may be empty); `day` set = in force then.
absl::StatusOr<std::vector<Assignment>> ListAssignments(pg::Tx& tx, const std::string& member_id,
                                                        const std::string& position_id,
                                                        std::optional<CivilDay> day,
                                                        const std::string& after, int limit);
// Primary assignments of `member_id` overlapping [from, to).
absl::StatusOr<std::vector<Assignment>> OverlappingPrimary(pg::Tx& tx, const std::string& member_id,
                                                           CivilDay from, std::optional<CivilDay> to);
// For every day from `from` on where the count or the headcount changes: seats filled and
// the headcount then (nullopt when the position does not exist that day).
struct SeatCount {
  CivilDay day;
  int64_t filled = 0;
  std::optional<int64_t> headcount;
};
absl::StatusOr<std::vector<SeatCount>> SeatCounts(pg::Tx& tx, const std::string& position_id,
                                                  CivilDay from);

// ---- Reporting lines: the organisation on one day, as far as reporting needs it.
struct OrgSnapshot {
  struct Post {
    std::string department_id;
    std::string reports_to_id;
  };
  struct Unit {
    std::string parent_id;
    std::string lead_position_id;
  };
  struct Holder {
    std::string member_id;
    std::string display_name;
    CivilDay since;
  };
  absl::flat_hash_map<std::string, Post> posts;
  absl::flat_hash_map<std::string, Unit> units;
  absl::flat_hash_map<std::string, std::vector<Holder>> holders;  // by position, earliest first
  absl::flat_hash_map<std::string, std::vector<std::string>> member_posts;  // primary first
};
absl::StatusOr<OrgSnapshot> LoadSnapshot(pg::Tx& tx, CivilDay day);

}  // namespace opsteam::org


// ---- Template definitions.
namespace opsteam::org {

template <typename T, typename Fn>
bool ChangeFrom(std::vector<Version<T>>& versions, CivilDay day, Fn change) {
  std::vector<Version<T>> out;
  bool exists_on_day = false;
  for (auto& v : versions) {
    const bool covers = v.from <= day && (!v.to || *v.to > day);
    if (covers) exists_on_day = true;
    if (covers && v.from < day) {
      Version<T> before = v;
      before.to = day;
      out.push_back(std::move(before));
      v.from = day;
    }
    if (v.from >= day) change(v.data);
    out.push_back(std::move(v));
  }
  if (!exists_on_day) return false;
  // Merge neighbours that became equal, so history holds only real changes.
  std::vector<Version<T>> merged;
  for (auto& v : out) {
    if (!merged.empty() && merged.back().to && *merged.back().to == v.from &&
        merged.back().data.SerializeAsString() == v.data.SerializeAsString()) {
      merged.back().to = v.to;
    } else {
      merged.push_back(std::move(v));
    }
  }
  versions = std::move(merged);
  return true;
}

template <typename T>
void EndAt(std::vector<Version<T>>& versions, CivilDay day) {
  std::vector<Version<T>> out;
  for (auto& v : versions) {
    if (v.from >= day) continue;
    if (!v.to || *v.to > day) v.to = day;
    out.push_back(std::move(v));
  }
  versions = std::move(out);
}

}  // namespace opsteam::org
