// Assignments: headcount enforcement (including the race for the last seat), primary posts,
// ending, listing, idempotent retries.

#include <latch>
#include <thread>

#include "tests/services/org/org_fixture.h"

namespace opsteam::org::testing {
namespace {

using Stub = v1::OrgService::Stub;

class AssignmentTest : public OrgTest {
 protected:
  void SetUp() override {
    OrgTest::SetUp();
    MakeDepartment("sales-1", "", "销售一部");
  }
  int Filled(const std::string& position_id, const std::string& as_of) {
    v1::GetPositionRequest req;
    req.set_name("positions/" + position_id);
    req.set_as_of(as_of);
    v1::GetPositionResponse resp;
    EXPECT_THAT(Call(&Stub::GetPosition, req, &resp), IsOk());
    return resp.position().filled();
  }
};

TEST_F(AssignmentTest, HeadcountIsEnforcedWithTheNumbersInTheError) {
  MakePosition("sales-manager", "sales-1", 2);
  for (const char* m : {"m-a", "m-b", "m-c"}) MakeMember(m);
  ASSERT_THAT(Assign("m-a", "sales-manager"), IsOk());
  ASSERT_THAT(Assign("m-b", "sales-manager"), IsOk());
  grpc::Status full = Assign("m-c", "sales-manager");
  EXPECT_THAT(full, IsError(grpc::StatusCode::FAILED_PRECONDITION, "HEADCOUNT_FULL", ""));
  EXPECT_THAT(full.error_message(), ::testing::HasSubstr("2 of 2 seats filled"));
  auto info = GetErrorInfo(FromGrpcStatus(full));
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->metadata().at("headcount"), "2");
  EXPECT_EQ(info->metadata().at("filled"), "2");
  EXPECT_EQ(info->metadata().at("position"), "positions/sales-manager");
  EXPECT_EQ(Filled("sales-manager", "2026-02-01"), 2);

  // A seat freed in the future can be taken from then on, not before.
  v1::ListAssignmentsRequest list;
  list.set_member("members/m-a");
  list.set_as_of("2026-02-01");
  v1::ListAssignmentsResponse held;
  ASSERT_THAT(Call(&Stub::ListAssignments, list, &held), IsOk());
  ASSERT_EQ(held.assignments_size(), 1);
  v1::EndAssignmentRequest end;
  end.set_name(held.assignments(0).name());
  end.set_end_date("2026-09-01");
  v1::EndAssignmentResponse ended;
  ASSERT_THAT(Call(&Stub::EndAssignment, end, &ended), IsOk());
  EXPECT_EQ(ended.assignment().end_date(), "2026-09-01");
  EXPECT_THAT(Assign("m-c", "sales-manager", v1::ASSIGNMENT_KIND_PRIMARY, "2026-08-01"),
              IsError(grpc::StatusCode::FAILED_PRECONDITION, "HEADCOUNT_FULL", ""));
  EXPECT_THAT(Assign("m-c", "sales-manager", v1::ASSIGNMENT_KIND_PRIMARY, "2026-09-01"), IsOk());
  EXPECT_EQ(Filled("sales-manager", "2026-08-31"), 2);
  EXPECT_EQ(Filled("sales-manager", "2026-09-01"), 2);

  // Headcount cannot drop below the seats filled.
  v1::UpdatePositionRequest shrink;
  shrink.mutable_position()->set_name("positions/sales-manager");
  shrink.mutable_position()->set_headcount(1);
  shrink.mutable_update_mask()->add_paths("headcount");
  shrink.set_effective_date("2026-03-01");
  v1::UpdatePositionResponse resp;
  EXPECT_THAT(Call(&Stub::UpdatePosition, shrink, &resp),
              IsError(grpc::StatusCode::FAILED_PRECONDITION, "HEADCOUNT_BELOW_FILLED", ""));
}

TEST_F(AssignmentTest, AZeroHeadcountPostTakesNobody) {
  MakePosition("planned", "sales-1", 0);
  MakeMember("m-a");
  EXPECT_THAT(Assign("m-a", "planned"), IsError(grpc::StatusCode::FAILED_PRECONDITION, "HEADCOUNT_FULL", ""));
}

TEST_F(AssignmentTest, ConcurrentAssignmentsToTheLastSeatExactlyOneWins) {
  constexpr int kContenders = 8;
  for (int i = 0; i < kContenders; ++i) MakeMember(absl::StrCat("m-", i));
  for (int round = 0; round < 4; ++round) {
    const std::string post = absl::StrCat("post-", round);
    MakePosition(post, "sales-1", 3);
    // Two seats taken by earlier hires, one left.
    MakeMember(absl::StrCat("early-a-", round));
    MakeMember(absl::StrCat("early-b-", round));
    ASSERT_THAT(Assign(absl::StrCat("early-a-", round), post), IsOk());
    ASSERT_THAT(Assign(absl::StrCat("early-b-", round), post), IsOk());

    std::latch start(kContenders);
    std::vector<grpc::Status> results(kContenders);
    std::vector<std::thread> managers;
    for (int i = 0; i < kContenders; ++i) {
      managers.emplace_back([&, i] {
        start.arrive_and_wait();
        results[i] = Assign(absl::StrCat("m-", i), post, v1::ASSIGNMENT_KIND_SECONDARY);
      });
    }
    for (auto& t : managers) t.join();
    int ok = 0, full = 0;
    for (const auto& r : results) {
      if (r.ok()) ++ok;
      if (r.error_code() == grpc::StatusCode::FAILED_PRECONDITION) ++full;
    }
    EXPECT_EQ(ok, 1) << "round " << round;
    EXPECT_EQ(full, kContenders - 1) << "round " << round;
    EXPECT_EQ(Filled(post, "2026-02-01"), 3);
  }
}

TEST_F(AssignmentTest, OnePrimaryPostAtATimeAndNoDoubleSeat) {
  MakePosition("a", "sales-1", 5);
  MakePosition("b", "sales-1", 5);
  MakeMember("m-zhang");
  ASSERT_THAT(Assign("m-zhang", "a"), IsOk());
  EXPECT_THAT(Assign("m-zhang", "b"), IsError(grpc::StatusCode::FAILED_PRECONDITION, "PRIMARY_POST_TAKEN", ""));
  EXPECT_THAT(Assign("m-zhang", "b", v1::ASSIGNMENT_KIND_SECONDARY), IsOk());
  EXPECT_THAT(Assign("m-zhang", "a", v1::ASSIGNMENT_KIND_SECONDARY, "2026-03-01"),
              IsError(grpc::StatusCode::ALREADY_EXISTS, "", ""));
  // A primary post that starts after the current one ends is fine.
  MakeMember("m-li");
  ASSERT_THAT(Assign("m-li", "a", v1::ASSIGNMENT_KIND_PRIMARY, "2026-01-01", "2026-06-01"), IsOk());
  EXPECT_THAT(Assign("m-li", "b", v1::ASSIGNMENT_KIND_PRIMARY, "2026-06-01"), IsOk());
}

TEST_F(AssignmentTest, BadInputAndUnknownReferences) {
  MakePosition("a", "sales-1", 5);
  MakeMember("m-a", "", "2026-03-01");
  EXPECT_THAT(Assign("m-a", "a", v1::ASSIGNMENT_KIND_UNSPECIFIED), IsError(grpc::StatusCode::INVALID_ARGUMENT, "", "kind"));
  EXPECT_THAT(Assign("m-a", "a", static_cast<v1::AssignmentKind>(9)), IsError(grpc::StatusCode::INVALID_ARGUMENT, "", "kind"));
  EXPECT_THAT(Assign("m-a", "a", v1::ASSIGNMENT_KIND_PRIMARY, "2026-05-01", "2026-04-01"),
              IsError(grpc::StatusCode::INVALID_ARGUMENT, "", "end_date"));
  EXPECT_THAT(Assign("m-a", "a", v1::ASSIGNMENT_KIND_PRIMARY, "2026-5-1"),
              IsError(grpc::StatusCode::INVALID_ARGUMENT, "", "start_date"));
  EXPECT_THAT(Assign("M-A", "a"), IsError(grpc::StatusCode::INVALID_ARGUMENT, "", "member"));
  EXPECT_THAT(Assign("m-ghost", "a"), IsError(grpc::StatusCode::NOT_FOUND, "", ""));
  EXPECT_THAT(Assign("m-a", "ghost"), IsError(grpc::StatusCode::NOT_FOUND, "", ""));
  // Before the member is employed, or before the position exists.
  EXPECT_THAT(Assign("m-a", "a", v1::ASSIGNMENT_KIND_PRIMARY, "2026-02-01"),
              IsError(grpc::StatusCode::FAILED_PRECONDITION, "OUTSIDE_EMPLOYMENT", ""));
  MakePosition("later", "sales-1", 1, "", "2026-10-01");
  EXPECT_THAT(Assign("m-a", "later", v1::ASSIGNMENT_KIND_PRIMARY, "2026-04-01"),
              IsError(grpc::StatusCode::FAILED_PRECONDITION, "NOT_IN_EFFECT", ""));
  v1::ListAssignmentsRequest list;
  list.set_include_history(true);
  v1::ListAssignmentsResponse resp;
  ASSERT_THAT(Call(&Stub::ListAssignments, list, &resp), IsOk());
  EXPECT_EQ(resp.assignments_size(), 0);
}

TEST_F(AssignmentTest, EndAssignmentRulesAndListingOverTime) {
  MakePosition("a", "sales-1", 5);
  MakeMember("m-a");
  v1::Assignment a;
  ASSERT_THAT(Assign("m-a", "a", v1::ASSIGNMENT_KIND_PRIMARY, "2026-02-01", "", &a), IsOk());
  EXPECT_EQ(a.department(), "departments/sales-1");
  EXPECT_EQ(a.start_date(), "2026-02-01");

  v1::EndAssignmentRequest end;
  end.set_name(a.name());
  end.set_end_date("2026-02-01");
  v1::EndAssignmentResponse resp;
  EXPECT_THAT(Call(&Stub::EndAssignment, end, &resp), IsError(grpc::StatusCode::INVALID_ARGUMENT, "", "end_date"));
  end.set_end_date("2026-07-01");
  end.set_etag("999");
  EXPECT_THAT(Call(&Stub::EndAssignment, end, &resp), IsError(grpc::StatusCode::ABORTED, "ETAG_MISMATCH", ""));
  end.set_etag(a.etag());
  ASSERT_THAT(Call(&Stub::EndAssignment, end, &resp), IsOk());
  end.clear_etag();
  end.set_end_date("2026-08-01");
  EXPECT_THAT(Call(&Stub::EndAssignment, end, &resp),
              IsError(grpc::StatusCode::FAILED_PRECONDITION, "ASSIGNMENT_ALREADY_ENDS", ""));

  auto count = [&](const std::string& as_of) {
    v1::ListAssignmentsRequest req;
    req.set_position("positions/a");
    req.set_as_of(as_of);
    v1::ListAssignmentsResponse out;
    EXPECT_THAT(Call(&Stub::ListAssignments, req, &out), IsOk());
    return out.assignments_size();
  };
  EXPECT_EQ(count("2026-01-31"), 0);
  EXPECT_EQ(count("2026-02-01"), 1);
  EXPECT_EQ(count("2026-06-30"), 1);
  EXPECT_EQ(count("2026-07-01"), 0);

  v1::GetAssignmentRequest get;
  get.set_name(a.name());
  v1::GetAssignmentResponse got;
  ASSERT_THAT(Call(&Stub::GetAssignment, get, &got), IsOk());
  EXPECT_EQ(got.assignment().end_date(), "2026-07-01");
  v1::ListAssignmentsRequest both;
  both.set_include_history(true);
  both.set_as_of("2026-01-01");
  v1::ListAssignmentsResponse out;
  EXPECT_THAT(Call(&Stub::ListAssignments, both, &out), IsError(grpc::StatusCode::INVALID_ARGUMENT, "", "as_of"));
}

TEST_F(AssignmentTest, RetriedAssignmentWithRequestIdTakesOneSeat) {
  MakePosition("a", "sales-1", 5);
  MakeMember("m-a");
  v1::AssignMemberRequest req;
  req.set_member("members/m-a");
  req.set_position("positions/a");
  req.set_kind(v1::ASSIGNMENT_KIND_PRIMARY);
  req.set_start_date("2026-02-01");
  req.set_request_id("hr-sync-000123");
  v1::AssignMemberResponse first, second;
  ASSERT_THAT(Call(&Stub::AssignMember, req, &first), IsOk());
  ASSERT_THAT(Call(&Stub::AssignMember, req, &second), IsOk());
  EXPECT_EQ(first.assignment().name(), second.assignment().name());
  EXPECT_EQ(Filled("a", "2026-02-01"), 1);
}

TEST_F(AssignmentTest, ListAssignmentsPagesToTheEnd) {
  MakePosition("big", "sales-1", 30);
  for (int i = 0; i < 23; ++i) {
    MakeMember(absl::StrCat("m-", i));
    ASSERT_THAT(Assign(absl::StrCat("m-", i), "big"), IsOk());
  }
  v1::ListAssignmentsRequest req;
  req.set_position("positions/big");
  req.set_as_of("2026-02-01");
  req.set_page_size(10);
  std::set<std::string> seen;
  int pages = 0;
  v1::ListAssignmentsResponse resp;
  do {
    resp.Clear();
    ASSERT_THAT(Call(&Stub::ListAssignments, req, &resp), IsOk());
    for (const auto& a : resp.assignments()) seen.insert(a.name());
    req.set_page_token(resp.next_page_token());
    ++pages;
  } while (!resp.next_page_token().empty() && pages < 10);
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(seen.size(), 23u);
}

}  // namespace
}  // namespace opsteam::org::testing
