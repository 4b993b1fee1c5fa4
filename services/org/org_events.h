#pragma once

// The org service's events: what each recorded change publishes. RecordChange (audit.cc)
// hands every change here; OrgLogic::Write appends the collected events to the outbox at the
// end of the write's transaction, so a change and its events commit together or not at all.

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "google/protobuf/message.h"
#include "libs/pg/pg.h"
#include "opsteam/events/v1/event.pb.h"
#include "opsteam/org/v1/org_service.pb.h"

namespace opsteam::org {

inline constexpr char kEventSource[] = "org";

// Event types ("opsteam.org.<resource>.<verb>").
namespace event_type {
inline constexpr char kDepartmentCreated[] = "opsteam.org.department.created";
inline constexpr char kDepartmentChanged[] = "opsteam.org.department.changed";
inline constexpr char kDepartmentMoved[] = "opsteam.org.department.moved";
inline constexpr char kDepartmentDeleted[] = "opsteam.org.department.deleted";
inline constexpr char kPositionCreated[] = "opsteam.org.position.created";
inline constexpr char kPositionChanged[] = "opsteam.org.position.changed";
inline constexpr char kPositionDeleted[] = "opsteam.org.position.deleted";
inline constexpr char kMemberCreated[] = "opsteam.org.member.created";
inline constexpr char kMemberChanged[] = "opsteam.org.member.changed";
inline constexpr char kAssignmentStarted[] = "opsteam.org.assignment.started";
inline constexpr char kAssignmentEnded[] = "opsteam.org.assignment.ended";
inline constexpr char kProjectGroupCreated[] = "opsteam.org.project_group.created";
inline constexpr char kProjectGroupChanged[] = "opsteam.org.project_group.changed";
inline constexpr char kGroupMembershipStarted[] = "opsteam.org.group_membership.started";
inline constexpr char kGroupMembershipChanged[] = "opsteam.org.group_membership.changed";
inline constexpr char kGroupMembershipEnded[] = "opsteam.org.group_membership.ended";
inline constexpr char kPhaseCreated[] = "opsteam.org.phase.created";
inline constexpr char kPhaseChanged[] = "opsteam.org.phase.changed";
inline constexpr char kStaffingPlanSet[] = "opsteam.org.staffing_plan.set";
inline constexpr char kChartApplied[] = "opsteam.org.chart.applied";
}  // namespace event_type

// The events of the write running on this thread; null outside writes (and in dry runs).
std::vector<events::v1::Event>* CurrentEvents();
class ScopedEvents {
 public:
  explicit ScopedEvents(std::vector<events::v1::Event>* events);
  ~ScopedEvents();
  ScopedEvents(const ScopedEvents&) = delete;
  ScopedEvents& operator=(const ScopedEvents&) = delete;

 private:
  std::vector<events::v1::Event>* previous_;
};

// Adds the event of one change to CurrentEvents() (no-op without one). `before` is null for
// a creation, `after` for an end; `changed_fields` are the top-level fields that differ.
absl::Status AddChangeEvent(pg::Tx& tx, absl::string_view method, absl::string_view resource,
                            std::optional<absl::CivilDay> effective, const google::protobuf::Message* before,
                            const google::protobuf::Message* after, const std::vector<std::string>& changed_fields);

// Adds the closing event of an applied chart (after its changes' events).
void AddChartAppliedEvent(const v1::OrgChart& chart, absl::CivilDay day, const v1::ApplyOrgChartResponse& resp);

}  // namespace opsteam::org
