// CacheDependencies for every org event type, decoded from the typed payloads the org
// service publishes.

#include "libs/orgclient/org_invalidation.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "opsteam/org/v1/events.pb.h"

namespace opsteam::orgclient {
namespace {

namespace v1 = ::opsteam::org::v1;
using ::opsteam::events::v1::Event;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

Event Make(const std::string& type, const google::protobuf::Message& payload) {
  Event e;
  e.set_id("org-7");
  e.set_type(type);
  e.set_source("org");
  e.set_sequence(7);
  e.mutable_data()->PackFrom(payload);
  return e;
}

v1::Department Dept(const std::string& id, const std::string& parent = "") {
  v1::Department d;
  d.set_name("departments/" + id);
  if (!parent.empty()) d.set_parent("departments/" + parent);
  return d;
}

v1::Assignment Assignment(const std::string& member) {
  v1::Assignment a;
  a.set_name("assignments/a1");
  a.set_member(member);
  a.set_position("positions/sales-manager");
  return a;
}

v1::GroupMembership Membership(const std::string& member) {
  v1::GroupMembership m;
  m.set_name("projectGroups/g618/memberships/x1");
  m.set_member("members/" + member);
  return m;
}

TEST(CacheDependenciesTest, DepartmentEventsInvalidateTheTree) {
  v1::DepartmentCreated created;
  *created.mutable_department() = Dept("sales-3", "sales");
  EXPECT_THAT(CacheDependencies(Make("opsteam.org.department.created", created)), ElementsAre("tree"));
  v1::DepartmentChanged changed;
  *changed.mutable_before() = Dept("sales");
  *changed.mutable_after() = Dept("sales");
  changed.add_changed_fields("display_name");
  EXPECT_THAT(CacheDependencies(Make("opsteam.org.department.changed", changed)), ElementsAre("tree"));
  v1::DepartmentMoved moved;
  *moved.mutable_before() = Dept("sales", "monetisation");
  *moved.mutable_after() = Dept("sales", "operations");
  moved.set_old_parent("departments/monetisation");
  moved.set_new_parent("departments/operations");
  EXPECT_THAT(CacheDependencies(Make("opsteam.org.department.moved", moved)), ElementsAre("tree"));
  v1::DepartmentDeleted deleted;
  *deleted.mutable_department() = Dept("sales-3");
  EXPECT_THAT(CacheDependencies(Make("opsteam.org.department.deleted", deleted)), ElementsAre("tree"));
}

TEST(CacheDependenciesTest, PositionChangesInvalidateTheirHolders) {
  v1::PositionChanged changed;
  changed.mutable_before()->set_name("positions/sales-manager");
  changed.mutable_after()->set_name("positions/sales-manager");
  changed.add_changed_fields("authorities");
  changed.add_holders("members/m-zhang-wei");
  changed.add_holders("members/m-li");
  changed.add_holders("members/m-li");
  EXPECT_THAT(CacheDependencies(Make("opsteam.org.position.changed", changed)),
              ElementsAre("member:m-zhang-wei", "member:m-li"));

  v1::PositionDeleted deleted;
  deleted.mutable_position()->set_name("positions/sales-manager");
  deleted.add_holders("members/m-wang");
  EXPECT_THAT(CacheDependencies(Make("opsteam.org.position.deleted", deleted)), ElementsAre("member:m-wang"));

  // Nobody holds it: nothing cached changes.
  v1::PositionChanged vacant;
  vacant.mutable_after()->set_name("positions/sales-assistant");
  EXPECT_THAT(CacheDependencies(Make("opsteam.org.position.changed", vacant)), IsEmpty());

  v1::PositionCreated created;
  created.mutable_position()->set_name("positions/new");
  EXPECT_THAT(CacheDependencies(Make("opsteam.org.position.created", created)), IsEmpty());
}

TEST(CacheDependenciesTest, AssignmentEventsInvalidateTheirMember) {
  v1::AssignmentStarted started;
  *started.mutable_assignment() = Assignment("members/m-zhang-wei");
  EXPECT_THAT(CacheDependencies(Make("opsteam.org.assignment.started", started)),
              ElementsAre("member:m-zhang-wei"));
  v1::AssignmentEnded ended;
  *ended.mutable_assignment() = Assignment("members/m-li");
  ended.set_withdrawn(true);
  EXPECT_THAT(CacheDependencies(Make("opsteam.org.assignment.ended", ended)), ElementsAre("member:m-li"));
}

TEST(CacheDependenciesTest, MemberEventsInvalidateTheMember) {
  v1::MemberCreated created;
  created.mutable_member()->set_name("members/m-new");
  EXPECT_THAT(CacheDependencies(Make("opsteam.org.member.created", created)), ElementsAre("member:m-new"));
  v1::MemberChanged changed;
  changed.mutable_before()->set_name("members/m-li");
  changed.mutable_after()->set_name("members/m-li");
  changed.add_changed_fields("display_name");
  EXPECT_THAT(CacheDependencies(Make("opsteam.org.member.changed", changed)), ElementsAre("member:m-li"));
}

TEST(CacheDependenciesTest, GroupMembershipEventsInvalidateTheMember) {
  v1::GroupMembershipChanged started;
  *started.mutable_after() = Membership("m-li");
  EXPECT_THAT(CacheDependencies(Make("opsteam.org.group_membership.started", started)),
              ElementsAre("member:m-li"));
  v1::GroupMembershipChanged changed;
  *changed.mutable_before() = Membership("m-li");
  *changed.mutable_after() = Membership("m-li");
  changed.add_changed_fields("role");
  EXPECT_THAT(CacheDependencies(Make("opsteam.org.group_membership.changed", changed)),
              ElementsAre("member:m-li"));
  v1::GroupMembershipChanged ended;
  *ended.mutable_before() = Membership("m-wang");
  EXPECT_THAT(CacheDependencies(Make("opsteam.org.group_membership.ended", ended)),
              ElementsAre("member:m-wang"));
}

TEST(CacheDependenciesTest, EventsOfUncachedResourcesInvalidateNothing) {
  v1::ProjectGroupCreated group;
  group.mutable_project_group()->set_name("projectGroups/g618");
  EXPECT_THAT(CacheDependencies(Make("opsteam.org.project_group.created", group)), IsEmpty());
  v1::ProjectGroupChanged group_changed;
  group_changed.mutable_after()->set_owner("members/m-li");
  EXPECT_THAT(CacheDependencies(Make("opsteam.org.project_group.changed", group_changed)), IsEmpty());
  v1::PhaseChanged phase;
  phase.mutable_after()->set_name("phases/initial-user");
  EXPECT_THAT(CacheDependencies(Make("opsteam.org.phase.created", phase)), IsEmpty());
  EXPECT_THAT(CacheDependencies(Make("opsteam.org.phase.changed", phase)), IsEmpty());
  v1::StaffingPlanSet plan;
  plan.mutable_after()->set_position("positions/sales-manager");
  EXPECT_THAT(CacheDependencies(Make("opsteam.org.staffing_plan.set", plan)), IsEmpty());
  v1::OrgChartApplied applied;
  applied.set_change_events(3);
  EXPECT_THAT(CacheDependencies(Make("opsteam.org.chart.applied", applied)), IsEmpty());
  // Another service's events.
  EXPECT_THAT(CacheDependencies(Make("opsteam.tasks.task.assigned", applied)), IsEmpty());
  EXPECT_THAT(CacheDependencies(Event()), IsEmpty());
}

// What changed is unknown when the payload cannot be read: everything is invalidated.
TEST(CacheDependenciesTest, UnreadablePayloadsOfCachedResourcesInvalidateEverything) {
  v1::DepartmentCreated wrong_type;
  for (const char* type : {"opsteam.org.assignment.started", "opsteam.org.member.changed",
                           "opsteam.org.position.changed", "opsteam.org.group_membership.ended"}) {
    EXPECT_THAT(CacheDependencies(Make(type, wrong_type)), ElementsAre("all")) << type;
    Event no_payload;
    no_payload.set_type(type);
    EXPECT_THAT(CacheDependencies(no_payload), ElementsAre("all")) << type;
  }
  // A verb this version does not know, of a resource it caches.
  v1::AssignmentStarted started;
  *started.mutable_assignment() = Assignment("members/m-li");
  EXPECT_THAT(CacheDependencies(Make("opsteam.org.assignment.transferred", started)), ElementsAre("all"));
  // A member payload without the member.
  EXPECT_THAT(CacheDependencies(Make("opsteam.org.assignment.started", v1::AssignmentStarted())),
              ElementsAre("all"));
  // Department events need no payload to be understood.
  Event moved;
  moved.set_type("opsteam.org.department.moved");
  EXPECT_THAT(CacheDependencies(moved), ElementsAre("tree"));
}

TEST(CacheDependenciesTest, NamesAndConstants) {
  EXPECT_EQ(MemberDependency("members/m-li"), "member:m-li");
  EXPECT_EQ(MemberDependency("m-li"), "member:m-li");
  EXPECT_STREQ(kOrgCachePrefix, "opsteam:org:v1:");
  EXPECT_STREQ(kOrgEventsStream, "opsteam.org.events");
}

}  // namespace
}  // namespace opsteam::orgclient
