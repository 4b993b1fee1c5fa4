// The org service's events: every change publishes a typed event in its own transaction,
// numbered without gaps; failed and repeated requests publish nothing; WatchChanges replays
// the outbox and then follows it live.

#include <atomic>
#include <thread>

#include "google/protobuf/util/time_util.h"
#include "libs/events/outbox.h"
#include "opsteam/org/v1/events.pb.h"
#include "services/org/org_events.h"
#include "tests/services/org/org_fixture.h"

namespace opsteam::org::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using Stub = v1::OrgService::Stub;
using Event = ::opsteam::events::v1::Event;

class EventsTest : public OrgTest {
 protected:
  // Everything in the outbox after `since`, through WatchChanges (replay only).
  std::vector<Event> Replay(int64_t since = 0, std::vector<std::string> types = {}) {
    v1::WatchChangesRequest req;
    req.set_since_sequence(since);
    req.set_replay_only(true);
    for (auto& t : types) req.add_types(t);
    grpc::ClientContext ctx;
    rpc::PrepareClientContext(&ctx, absl::Seconds(30), admin_token());
    auto reader = stub_->WatchChanges(&ctx, req);
    std::vector<Event> out;
    v1::WatchChangesResponse resp;
    while (reader->Read(&resp)) {
      for (const auto& e : resp.events()) out.push_back(e);
    }
    grpc::Status s = reader->Finish();
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out;
  }

  static std::vector<std::string> Types(const std::vector<Event>& events) {
    std::vector<std::string> out;
    for (const auto& e : events) out.push_back(e.type());
    return out;
  }

  int64_t OutboxRows() {
    int64_t n = -1;
    EXPECT_TRUE(pg::RunStatements(*pool_, [&](pg::Tx& tx) -> absl::Status {
                  auto r = tx.Exec("SELECT count(*) FROM outbox");
                  if (!r.ok()) return r.status();
                  n = r->GetInt64(0, 0);
                  return absl::OkStatus();
                }).ok());
    return n;
  }
};

TEST_F(EventsTest, EveryChangePublishesATypedEventInSequence) {
  MakeDepartment("root", "", "快手");
  MakeDepartment("sales", "root", "销售部");
  MakeDepartment("bi", "root", "数据部");
  MakePosition("sales-manager", "sales", 1);
  MakeMember("m-zhang-wei", "张伟");
  v1::Assignment assignment;
  ASSERT_THAT(Assign("m-zhang-wei", "sales-manager", v1::ASSIGNMENT_KIND_PRIMARY, "2026-01-01", "", &assignment),
              IsOk());

  v1::UpdatePositionRequest update;
  update.mutable_position()->set_name("positions/sales-manager");
  update.mutable_position()->set_headcount(2);
  update.mutable_update_mask()->add_paths("headcount");
  update.set_effective_date("2026-03-01");
  v1::UpdatePositionResponse updated;
  ASSERT_THAT(Call(&Stub::UpdatePosition, update, &updated), IsOk());

  v1::MoveDepartmentRequest move;
  move.set_name("departments/bi");
  move.set_new_parent("departments/sales");
  move.set_effective_date("2026-04-01");
  v1::MoveDepartmentResponse moved;
  ASSERT_THAT(Call(&Stub::MoveDepartment, move, &moved), IsOk());

  v1::EndAssignmentRequest end;
  end.set_name(assignment.name());
  end.set_end_date("2026-06-30");
  v1::EndAssignmentResponse ended;
  ASSERT_THAT(Call(&Stub::EndAssignment, end, &ended), IsOk());

  const auto events = Replay();
  EXPECT_THAT(Types(events), ElementsAre(event_type::kDepartmentCreated, event_type::kDepartmentCreated,
                                         event_type::kDepartmentCreated, event_type::kPositionCreated,
                                         event_type::kMemberCreated, event_type::kAssignmentStarted,
                                         event_type::kPositionChanged, event_type::kDepartmentMoved,
                                         event_type::kAssignmentEnded));
  for (size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i].sequence(), static_cast<int64_t>(i + 1));
    EXPECT_EQ(events[i].id(), absl::StrCat("org-", i + 1));
    EXPECT_EQ(events[i].source(), "org");
    EXPECT_EQ(events[i].actor(), "members/m-admin");  // the token's subject
    EXPECT_GT(events[i].time().seconds(), 0);
  }
  EXPECT_EQ(events[1].subject(), "departments/sales");
  EXPECT_EQ(events[1].method(), "CreateDepartment");
  EXPECT_EQ(events[1].effective_date(), "2026-01-01");
  v1::DepartmentCreated created;
  ASSERT_TRUE(events[1].data().UnpackTo(&created));
  EXPECT_EQ(created.department().display_name(), "销售部");
  EXPECT_EQ(created.department().parent(), "departments/root");

  v1::PositionChanged changed;
  ASSERT_TRUE(events[6].data().UnpackTo(&changed));
  EXPECT_EQ(events[6].effective_date(), "2026-03-01");
  EXPECT_EQ(changed.before().headcount(), 1);
  EXPECT_EQ(changed.after().headcount(), 2);
  EXPECT_THAT(changed.changed_fields(), ElementsAre("headcount"));
  EXPECT_THAT(changed.holders(), ElementsAre("members/m-zhang-wei"));

  v1::DepartmentMoved dept_moved;
  ASSERT_TRUE(events[7].data().UnpackTo(&dept_moved));
  EXPECT_EQ(dept_moved.old_parent(), "departments/root");
  EXPECT_EQ(dept_moved.new_parent(), "departments/sales");

  v1::AssignmentEnded assignment_ended;
  ASSERT_TRUE(events[8].data().UnpackTo(&assignment_ended));
  EXPECT_EQ(assignment_ended.assignment().member(), "members/m-zhang-wei");
  EXPECT_EQ(assignment_ended.assignment().end_date(), "2026-06-30");
  EXPECT_FALSE(assignment_ended.withdrawn());

  // Filtering and resuming.
  EXPECT_THAT(Types(Replay(0, {event_type::kDepartmentMoved, event_type::kAssignmentStarted})),
              ElementsAre(event_type::kAssignmentStarted, event_type::kDepartmentMoved));
  const auto tail = Replay(7);
  ASSERT_EQ(tail.size(), 2u);
  EXPECT_EQ(tail[0].sequence(), 8);
}

TEST_F(EventsTest, FailedAndRepeatedRequestsPublishNothing) {
  MakeDepartment("root", "");
  MakePosition("lead", "root", 1);
  MakeMember("m-a");
  MakeMember("m-b");
  ASSERT_THAT(Assign("m-a", "lead"), IsOk());
  const int64_t before = OutboxRows();
  // Headcount full: the write fails and leaves no event behind.
  EXPECT_THAT(Assign("m-b", "lead"), IsError(grpc::StatusCode::FAILED_PRECONDITION, "HEADCOUNT_FULL", ""));
  // A repeated request_id returns the first answer without acting (or publishing) again.
  v1::CreateDepartmentRequest create;
  create.set_department_id("ops");
  create.set_request_id("create-ops-1");
  create.mutable_department()->set_display_name("运营部");
  create.mutable_department()->set_kind(v1::DEPARTMENT_KIND_FUNCTIONAL_TEAM);
  v1::CreateDepartmentResponse resp;
  ASSERT_THAT(Call(&Stub::CreateDepartment, create, &resp), IsOk());
  ASSERT_THAT(Call(&Stub::CreateDepartment, create, &resp), IsOk());
  EXPECT_EQ(OutboxRows(), before + 1);
  // A dry-run chart publishes nothing either.
  v1::ApplyOrgChartRequest dry;
  dry.set_dry_run(true);
  dry.mutable_chart()->set_effective_date("2026-01-01");
  auto* d = dry.mutable_chart()->add_departments();
  d->set_id("new-media");
  d->set_display_name("新媒体部");
  d->set_kind(v1::DEPARTMENT_KIND_FUNCTIONAL_TEAM);
  v1::ApplyOrgChartResponse planned;
  ASSERT_THAT(Call(&Stub::ApplyOrgChart, dry, &planned), IsOk());
  EXPECT_GT(planned.changes_size(), 0);
  EXPECT_EQ(OutboxRows(), before + 1);
}

TEST_F(EventsTest, ChartApplyPublishesItsChangesThenChartApplied) {
  v1::ApplyOrgChartRequest req;
  req.mutable_chart()->set_effective_date("2026-01-01");
  auto* d = req.mutable_chart()->add_departments();
  d->set_id("new-media");
  d->set_display_name("新媒体部");
  d->set_kind(v1::DEPARTMENT_KIND_FUNCTIONAL_TEAM);
  auto* p = d->add_positions();
  p->set_id("new-media-lead");
  p->set_title("新媒体主管");
  p->set_grade(v1::GRADE_MANAGER);
  p->set_headcount(1);
  v1::ApplyOrgChartResponse resp;
  ASSERT_THAT(Call(&Stub::ApplyOrgChart, req, &resp), IsOk());
  ASSERT_THAT(Call(&Stub::ApplyOrgChart, req, &resp), IsOk());  // unchanged: no events
  const auto events = Replay();
  EXPECT_THAT(Types(events), ElementsAre(event_type::kDepartmentCreated, event_type::kPositionCreated,
                                         event_type::kChartApplied));
  v1::OrgChartApplied applied;
  ASSERT_TRUE(events[2].data().UnpackTo(&applied));
  EXPECT_EQ(applied.created(), 2);
  EXPECT_EQ(applied.change_events(), 2);
  EXPECT_EQ(events[2].sequence() - applied.change_events(), events[0].sequence());
  EXPECT_THAT(applied.departments(), ElementsAre("departments/new-media"));
  EXPECT_EQ(events[0].method(), "ApplyOrgChart");
}

TEST_F(EventsTest, ConcurrentWritersGetGapFreeSequencesInCommitOrder) {
  MakeDepartment("root", "");
  constexpr int kThreads = 6;
  constexpr int kEach = 10;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        v1::CreateDepartmentRequest req;
        req.set_department_id(absl::StrCat("d-", t, "-", i));
        req.mutable_department()->set_display_name("部门");
        req.mutable_department()->set_kind(v1::DEPARTMENT_KIND_FUNCTIONAL_TEAM);
        req.mutable_department()->set_parent("departments/root");
        v1::CreateDepartmentResponse resp;
        EXPECT_THAT(Call(&Stub::CreateDepartment, req, &resp), IsOk());
        // A failing write in between must not burn a sequence number.
        v1::CreateDepartmentResponse dup;
        EXPECT_THAT(Call(&Stub::CreateDepartment, req, &dup), IsError(grpc::StatusCode::ALREADY_EXISTS, "", ""));
      }
    });
  }
  for (auto& t : threads) t.join();
  const auto events = Replay();
  ASSERT_EQ(events.size(), static_cast<size_t>(1 + kThreads * kEach));
  for (size_t i = 0; i < events.size(); ++i) EXPECT_EQ(events[i].sequence(), static_cast<int64_t>(i + 1));
  // Commit order: each event's time is not before the previous one's.
  for (size_t i = 1; i < events.size(); ++i) {
    EXPECT_LE(google::protobuf::util::TimeUtil::TimestampToMicroseconds(events[i - 1].time()),
              google::protobuf::util::TimeUtil::TimestampToMicroseconds(events[i].time()));
  }
}

TEST_F(EventsTest, WatchFollowsLiveAfterReplay) {
  MakeDepartment("root", "");
  v1::WatchChangesRequest req;
  req.set_since_sequence(0);
  grpc::ClientContext ctx;
  rpc::PrepareClientContext(&ctx, absl::Seconds(60), admin_token());
  auto reader = stub_->WatchChanges(&ctx, req);
  v1::WatchChangesResponse resp;
  ASSERT_TRUE(reader->Read(&resp));
  ASSERT_EQ(resp.events_size(), 1);
  EXPECT_EQ(resp.events(0).type(), event_type::kDepartmentCreated);
  EXPECT_EQ(resp.head_sequence(), 1);
  // Written while the stream is caught up: delivered live, in order.
  std::thread writer([&] {
    MakeDepartment("sales", "root");
    MakeMember("m-li-ming", "李明");
  });
  std::vector<std::string> live;
  while (live.size() < 2 && reader->Read(&resp)) {
    for (const auto& e : resp.events()) live.push_back(e.subject());
  }
  writer.join();
  EXPECT_THAT(live, ElementsAre("departments/sales", "members/m-li-ming"));
  ctx.TryCancel();
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
}

TEST_F(EventsTest, CancelledStreamsNeverHoldUpShutdown) {
  MakeDepartment("root", "");
  // Streams cancelled at every stage (reading, writing, parked on the notifier) while
  // changes commit: each must finish, or the server's Stop below would wait forever.
  std::atomic<bool> writing{true};
  std::thread writer([&] {
    for (int i = 0; writing; ++i) MakeMember(absl::StrCat("m-", i));
  });
  for (int i = 0; i < 60; ++i) {
    v1::WatchChangesRequest req;
    grpc::ClientContext ctx;
    rpc::PrepareClientContext(&ctx, absl::Seconds(30), admin_token());
    auto reader = stub_->WatchChanges(&ctx, req);
    v1::WatchChangesResponse resp;
    for (int k = 0; k < i % 3 && reader->Read(&resp); ++k) {
    }
    ctx.TryCancel();
    (void)reader->Finish();
  }
  writing = false;
  writer.join();
  server_->Stop();
}

TEST_F(EventsTest, WatchRejectsBadRequests) {
  for (const auto& [edit, field] : std::vector<std::pair<std::function<void(v1::WatchChangesRequest&)>, std::string>>{
           {[](auto& r) { r.set_since_sequence(-1); }, "since_sequence"},
           {[](auto& r) { r.add_types("opsteam.org.department.created"); r.add_types("DROP TABLE"); }, "types[1]"},
           {[](auto& r) { r.add_types("opsteam.tasks.task.created"); }, "types[0]"},
       }) {
    v1::WatchChangesRequest req;
    edit(req);
    grpc::ClientContext ctx;
    rpc::PrepareClientContext(&ctx, absl::Seconds(30), admin_token());
    auto reader = stub_->WatchChanges(&ctx, req);
    v1::WatchChangesResponse resp;
    EXPECT_FALSE(reader->Read(&resp));
    EXPECT_THAT(reader->Finish(), IsError(grpc::StatusCode::INVALID_ARGUMENT, "", field));
  }
}

}  // namespace
}  // namespace opsteam::org::testing
