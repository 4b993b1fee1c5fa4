#include "services/org/org_events.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "libs/aip/aip.h"
#include "libs/events/outbox.h"
#include "libs/status/status.h"
#include "services/org/org_logic.h"
#include "libs/rpc/call_context.h"
#include "opsteam/org/v1/events.pb.h"

namespace opsteam::org {
namespace {

thread_local std::vector<events::v1::Event>* current_events = nullptr;

template <typename T>
const T* As(const google::protobuf::Message* m) {
  return m == nullptr ? nullptr : dynamic_cast<const T*>(m);
}

template <typename Fields>
void SetFields(Fields* out, const std::vector<std::string>& changed) {
  for (const auto& f : changed) out->Add(std::string(f));
}

// Members holding `position_id` on or after `day`: their posts change with the position.
absl::StatusOr<std::vector<std::string>> Holders(pg::Tx& tx, const std::string& position_id,
                                                 std::optional<absl::CivilDay> day) {
  auto r = tx.Exec(
      "SELECT DISTINCT member_id FROM assignments WHERE position_id = $1 AND valid_to > $2::date"
      " ORDER BY member_id",
      {position_id, day ? aip::FormatDate(*day) : std::string("-infinity")});
  if (!r.ok()) return r.status();
  std::vector<std::string> out;
  for (int i = 0; i < r->rows(); ++i) out.push_back(aip::Name("members", r->Get(i, 0)));
  return out;
}

std::string IdOf(absl::string_view name) {
  const size_t slash = name.rfind('/');
  return std::string(slash == absl::string_view::npos ? name : name.substr(slash + 1));
}

}  // namespace

std::vector<events::v1::Event>* CurrentEvents() { return current_events; }

ScopedEvents::ScopedEvents(std::vector<events::v1::Event>* events) : previous_(current_events) {
  current_events = events;
}
ScopedEvents::~ScopedEvents() { current_events = previous_; }

absl::Status AddChangeEvent(pg::Tx& tx, absl::string_view method, absl::string_view resource,
                            std::optional<absl::CivilDay> effective, const google::protobuf::Message* before,
                            const google::protobuf::Message* after, const std::vector<std::string>& changed) {
  std::vector<events::v1::Event>* out = CurrentEvents();
  if (out == nullptr) return absl::OkStatus();
  events::v1::Event e;
  e.set_subject(std::string(resource));
  e.set_method(std::string(method));
  e.set_actor(rpc::CurrentCall().actor);
  if (effective) e.set_effective_date(aip::FormatDate(*effective));
  auto* data = e.mutable_data();

  if (absl::StartsWith(resource, "departments/")) {
    const auto* b = As<v1::Department>(before);
    const auto* a = As<v1::Department>(after);
    if (b == nullptr && a != nullptr) {
      v1::DepartmentCreated p;
      *p.mutable_department() = *a;
      e.set_type(event_type::kDepartmentCreated);
      data->PackFrom(p);
    } else if (b != nullptr && a == nullptr) {
      v1::DepartmentDeleted p;
      *p.mutable_department() = *b;
      e.set_type(event_type::kDepartmentDeleted);
      data->PackFrom(p);
    } else if (b != nullptr && b->parent() != a->parent()) {
      v1::DepartmentMoved p;
      *p.mutable_before() = *b;
      *p.mutable_after() = *a;
      p.set_old_parent(b->parent());
      p.set_new_parent(a->parent());
      SetFields(p.mutable_changed_fields(), changed);
      e.set_type(event_type::kDepartmentMoved);
      data->PackFrom(p);
    } else if (b != nullptr) {
      v1::DepartmentChanged p;
      *p.mutable_before() = *b;
      *p.mutable_after() = *a;
      SetFields(p.mutable_changed_fields(), changed);
      e.set_type(event_type::kDepartmentChanged);
      data->PackFrom(p);
    }
  } else if (absl::StartsWith(resource, "positions/")) {
    const auto* b = As<v1::Position>(before);
    const auto* a = As<v1::Position>(after);
    if (b == nullptr && a != nullptr) {
      v1::PositionCreated p;
      *p.mutable_position() = *a;
      e.set_type(event_type::kPositionCreated);
      data->PackFrom(p);
    } else if (b != nullptr) {
      auto holders = Holders(tx, IdOf(resource), effective);
      if (!holders.ok()) return holders.status();
      if (a == nullptr) {
        v1::PositionDeleted p;
        *p.mutable_position() = *b;
        for (auto& h : *holders) p.add_holders(std::move(h));
        e.set_type(event_type::kPositionDeleted);
        data->PackFrom(p);
      } else {
        v1::PositionChanged p;
        *p.mutable_before() = *b;
        *p.mutable_after() = *a;
        SetFields(p.mutable_changed_fields(), changed);
        for (auto& h : *holders) p.add_holders(std::move(h));
        e.set_type(event_type::kPositionChanged);
        data->PackFrom(p);
      }
    }
  } else if (absl::StartsWith(resource, "members/")) {
    const auto* b = As<v1::Member>(before);
    const auto* a = As<v1::Member>(after);
    if (b == nullptr && a != nullptr) {
      v1::MemberCreated p;
      *p.mutable_member() = *a;
      e.set_type(event_type::kMemberCreated);
      data->PackFrom(p);
    } else if (b != nullptr && a != nullptr) {
      v1::MemberChanged p;
      *p.mutable_before() = *b;
      *p.mutable_after() = *a;
      SetFields(p.mutable_changed_fields(), changed);
      e.set_type(event_type::kMemberChanged);
      data->PackFrom(p);
    }
  } else if (absl::StartsWith(resource, "assignments/")) {
    const auto* b = As<v1::Assignment>(before);
    const auto* a = As<v1::Assignment>(after);
    if (b == nullptr && a != nullptr) {
      v1::AssignmentStarted p;
      *p.mutable_assignment() = *a;
      e.set_type(event_type::kAssignmentStarted);
      data->PackFrom(p);
    } else if (b != nullptr) {
      v1::AssignmentEnded p;
      *p.mutable_assignment() = a ? *a : *b;
      p.set_withdrawn(a == nullptr);
      e.set_type(event_type::kAssignmentEnded);
      data->PackFrom(p);
    }
  } else if (absl::StrContains(resource, "/memberships/")) {
    const auto* b = As<v1::GroupMembership>(before);
    const auto* a = As<v1::GroupMembership>(after);
    v1::GroupMembershipChanged p;
    if (b) *p.mutable_before() = *b;
    if (a) *p.mutable_after() = *a;
    SetFields(p.mutable_changed_fields(), changed);
    const bool ended = a == nullptr || (b != nullptr && a->end_date() != b->end_date());
    e.set_type(b == nullptr ? event_type::kGroupMembershipStarted
                            : ended ? event_type::kGroupMembershipEnded : event_type::kGroupMembershipChanged);
    data->PackFrom(p);
  } else if (absl::StartsWith(resource, "projectGroups/")) {
    const auto* b = As<v1::ProjectGroup>(before);
    const auto* a = As<v1::ProjectGroup>(after);
    if (b == nullptr && a != nullptr) {
      v1::ProjectGroupCreated p;
      *p.mutable_project_group() = *a;
      e.set_type(event_type::kProjectGroupCreated);
      data->PackFrom(p);
    } else if (b != nullptr && a != nullptr) {
      v1::ProjectGroupChanged p;
      *p.mutable_before() = *b;
      *p.mutable_after() = *a;
      SetFields(p.mutable_changed_fields(), changed);
      e.set_type(event_type::kProjectGroupChanged);
      data->PackFrom(p);
    }
  } else if (absl::StartsWith(resource, "phases/")) {
    v1::PhaseChanged p;
    if (const auto* b = As<v1::Phase>(before)) *p.mutable_before() = *b;
    if (const auto* a = As<v1::Phase>(after)) *p.mutable_after() = *a;
    SetFields(p.mutable_changed_fields(), changed);
    e.set_type(before == nullptr ? event_type::kPhaseCreated : event_type::kPhaseChanged);
    data->PackFrom(p);
  } else if (absl::StartsWith(resource, "staffingPlans/")) {
    v1::StaffingPlanSet p;
    if (const auto* b = As<v1::StaffingPlan>(before)) *p.mutable_before() = *b;
    if (const auto* a = As<v1::StaffingPlan>(after)) *p.mutable_after() = *a;
    SetFields(p.mutable_changed_fields(), changed);
    e.set_type(event_type::kStaffingPlanSet);
    data->PackFrom(p);
  }
  if (e.type().empty()) {
    return absl::InternalError(absl::StrCat("no event type for a change of ", resource));
  }
  out->push_back(std::move(e));
  return absl::OkStatus();
}

void AddChartAppliedEvent(const v1::OrgChart& chart, absl::CivilDay day, const v1::ApplyOrgChartResponse& resp) {
  std::vector<events::v1::Event>* out = CurrentEvents();
  if (out == nullptr) return;
  v1::OrgChartApplied p;
  p.set_effective_date(aip::FormatDate(day));
  for (const auto& d : chart.departments()) p.add_departments(aip::Name("departments", d.id()));
  for (const auto& c : resp.changes()) {
    switch (c.action()) {
      case v1::CHART_ACTION_CREATE: p.set_created(p.created() + 1); break;
      case v1::CHART_ACTION_UPDATE: p.set_updated(p.updated() + 1); break;
      case v1::CHART_ACTION_MOVE: p.set_moved(p.moved() + 1); break;
      case v1::CHART_ACTION_END: p.set_ended(p.ended() + 1); break;
      default: break;
    }
  }
  p.set_change_events(static_cast<int32_t>(out->size()));
  events::v1::Event e;
  e.set_type(event_type::kChartApplied);
  e.set_subject(p.departments_size() == 1 ? p.departments(0) : std::string("departments"));
  e.set_method("ApplyOrgChart");
  e.set_actor(rpc::CurrentCall().actor);
  e.set_effective_date(p.effective_date());
  e.mutable_data()->PackFrom(p);
  out->push_back(std::move(e));
}

absl::Status OrgLogic::ValidateWatch(const v1::WatchChangesRequest& req) {
  if (req.since_sequence() < 0) return InvalidArgument("since_sequence", "must not be negative");
  if (req.types_size() > 50) return InvalidArgument("types", "at most 50 types");
  for (int i = 0; i < req.types_size(); ++i) {
    const std::string& t = req.types(i);
    const bool known = absl::StartsWith(t, "opsteam.org.") && t.size() <= 100 &&
                       std::all_of(t.begin(), t.end(), [](char c) {
                         return (c >= 'a' && c <= 'z') || c == '.' || c == '_';
                       });
    if (!known) {
      return InvalidArgument(absl::StrCat("types[", i, "]"),
                             absl::StrCat("not an org event type (\"opsteam.org.<resource>.<verb>\"): \"", t, "\""));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<events::v1::Event>> OrgLogic::ReadEvents(const v1::WatchChangesRequest& req,
                                                                     int64_t after, int limit) {
  const std::vector<std::string> types(req.types().begin(), req.types().end());
  std::vector<events::v1::Event> out;
  absl::Status s = pg::RunStatements(pool_, [&](pg::Tx& tx) -> absl::Status {
    auto got = events::ReadOutbox(tx, after, limit, types);
    if (!got.ok()) return got.status();
    out = std::move(*got);
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return out;
}

}  // namespace opsteam::org
