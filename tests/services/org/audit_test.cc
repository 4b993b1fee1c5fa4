// The audit trail: every change recorded with who, when, the effective date and the fields
// before and after; listed per resource or per department subtree, by time, in pages.

#include "tests/services/org/org_fixture.h"

namespace opsteam::org::testing {
namespace {

using ::testing::ElementsAre;
using Stub = v1::OrgService::Stub;

class AuditTest : public OrgTest {
 protected:
  std::vector<v1::Change> Changes(const std::string& resource, bool subtree = false) {
    v1::ListChangesRequest req;
    req.set_resource(resource);
    req.set_subtree(subtree);
    req.set_page_size(1000);
    v1::ListChangesResponse resp;
    EXPECT_THAT(Call(&Stub::ListChanges, req, &resp), IsOk());
    return {resp.changes().begin(), resp.changes().end()};
  }
};

std::vector<std::string> Methods(const std::vector<v1::Change>& changes) {
  std::vector<std::string> out;
  for (const auto& c : changes) out.push_back(c.method());
  return out;
}

TEST_F(AuditTest, RecordsWhoWhatWhenAndBeforeAfter) {
  MakeDepartment("root", "");
  MakeDepartment("other", "");
  v1::CreateDepartmentRequest create;
  create.set_department_id("sales");
  create.set_effective_date("2026-01-01");
  create.mutable_department()->set_display_name("销售部");
  create.mutable_department()->set_kind(v1::DEPARTMENT_KIND_FUNCTIONAL_TEAM);
  create.mutable_department()->set_parent("departments/root");
  v1::CreateDepartmentResponse created;
  // The actor is the subject of the caller's token.
  ASSERT_THAT(CallAs(Token("members/m-hr", {"administrator"}), &Stub::CreateDepartment, create, &created), IsOk());

  v1::UpdateDepartmentRequest rename;
  rename.mutable_department()->set_name("departments/sales");
  rename.mutable_department()->set_display_name("销售中心");
  rename.mutable_update_mask()->add_paths("display_name");
  rename.set_effective_date("2026-07-01");
  v1::UpdateDepartmentResponse renamed;
  ASSERT_THAT(CallAs(Token("members/m-gm", {"administrator"}), &Stub::UpdateDepartment, rename, &renamed), IsOk());

  v1::MoveDepartmentRequest move;
  move.set_name("departments/sales");
  move.set_new_parent("departments/other");
  move.set_effective_date("2026-08-01");
  v1::MoveDepartmentResponse moved;
  ASSERT_THAT(Call(&Stub::MoveDepartment, move, &moved), IsOk());

  // A service holding the administrator role (an HR system syncing the organisation).
  v1::UpdateDepartmentRequest describe;
  describe.mutable_department()->set_name("departments/sales");
  describe.mutable_department()->set_description("synced from HR");
  describe.mutable_update_mask()->add_paths("description");
  describe.set_effective_date("2026-09-01");
  v1::UpdateDepartmentResponse described;
  ASSERT_THAT(CallAs(Token("services/hr-sync", {"administrator"}), &Stub::UpdateDepartment, describe, &described),
              IsOk());

  auto changes = Changes("departments/sales");
  ASSERT_THAT(Methods(changes),
              ElementsAre("CreateDepartment", "UpdateDepartment", "MoveDepartment", "UpdateDepartment"));
  EXPECT_EQ(changes[0].actor(), "members/m-hr");
  EXPECT_EQ(changes[0].effective_date(), "2026-01-01");
  EXPECT_EQ(changes[1].actor(), "members/m-gm");
  EXPECT_EQ(changes[2].actor(), "members/m-admin");  // the fixture's default caller
  EXPECT_EQ(changes[3].actor(), "services/hr-sync");
  ASSERT_EQ(changes[1].fields_size(), 1);
  EXPECT_EQ(changes[1].fields(0).field(), "display_name");
  EXPECT_EQ(changes[1].fields(0).before(), "\"销售部\"");
  EXPECT_EQ(changes[1].fields(0).after(), "\"销售中心\"");
  EXPECT_EQ(changes[1].effective_date(), "2026-07-01");
  ASSERT_EQ(changes[2].fields_size(), 1);
  EXPECT_EQ(changes[2].fields(0).field(), "parent");
  EXPECT_EQ(changes[2].fields(0).before(), "\"departments/root\"");
  EXPECT_EQ(changes[2].fields(0).after(), "\"departments/other\"");
  for (const auto& f : changes[0].fields()) EXPECT_EQ(f.before(), "") << f.field();
  EXPECT_LE(changes[0].time().seconds(), changes[2].time().seconds());
}

TEST_F(AuditTest, SubtreeTimeRangeAndPaging) {
  MakeDepartment("monetisation", "");
  MakeDepartment("sales-1", "monetisation");
  MakeDepartment("operations", "");
  MakePosition("s1-manager", "sales-1", 5);
  MakePosition("ops-manager", "operations", 1);
  MakeMember("m-a");
  ASSERT_THAT(Assign("m-a", "s1-manager"), IsOk());

  auto sub = Changes("departments/monetisation", true);
  std::vector<std::string> resources;
  for (const auto& c : sub) resources.push_back(c.resource());
  EXPECT_THAT(resources, ::testing::UnorderedElementsAre("departments/monetisation", "departments/sales-1",
                                                         "positions/s1-manager", ::testing::StartsWith("assignments/")));

  // Page by page, oldest first, to the end.
  v1::ListChangesRequest req;
  req.set_resource("departments/monetisation");
  req.set_subtree(true);
  req.set_page_size(1);
  std::vector<std::string> paged;
  v1::ListChangesResponse resp;
  int pages = 0;
  do {
    resp.Clear();
    ASSERT_THAT(Call(&Stub::ListChanges, req, &resp), IsOk());
    for (const auto& c : resp.changes()) paged.push_back(c.name());
    req.set_page_token(resp.next_page_token());
    ++pages;
  } while (!resp.next_page_token().empty() && pages < 10);
  ASSERT_EQ(paged.size(), sub.size());
  for (size_t i = 0; i < sub.size(); ++i) EXPECT_EQ(paged[i], sub[i].name());

  // From the time of the last change on: only that one.
  v1::ListChangesRequest later;
  later.set_resource("departments/monetisation");
  later.set_subtree(true);
  *later.mutable_start_time() = sub.back().time();
  resp.Clear();
  ASSERT_THAT(Call(&Stub::ListChanges, later, &resp), IsOk());
  ASSERT_GE(resp.changes_size(), 1);
  EXPECT_EQ(resp.changes(resp.changes_size() - 1).name(), sub.back().name());
  EXPECT_LT(resp.changes_size(), static_cast<int>(sub.size()));
}

TEST_F(AuditTest, FailedWritesRecordNothing) {
  MakeDepartment("sales-1", "");
  MakePosition("p", "sales-1", 1);
  MakeMember("m-a");
  MakeMember("m-b");
  ASSERT_THAT(Assign("m-a", "p"), IsOk());
  const size_t before = Changes("departments/sales-1", true).size();
  EXPECT_THAT(Assign("m-b", "p"), IsError(grpc::StatusCode::FAILED_PRECONDITION, "HEADCOUNT_FULL", ""));
  EXPECT_EQ(Changes("departments/sales-1", true).size(), before);
  // A repeated idempotent request records once.
  v1::UpdatePositionRequest update;
  update.mutable_position()->set_name("positions/p");
  update.mutable_position()->set_headcount(3);
  update.mutable_update_mask()->add_paths("headcount");
  update.set_effective_date("2026-02-01");
  update.set_request_id("raise-headcount-1");
  v1::UpdatePositionResponse resp;
  ASSERT_THAT(Call(&Stub::UpdatePosition, update, &resp), IsOk());
  ASSERT_THAT(Call(&Stub::UpdatePosition, update, &resp), IsOk());
  EXPECT_EQ(Changes("positions/p").size(), 2u);  // created, then raised once
}

TEST_F(AuditTest, BadInput) {
  v1::ListChangesRequest req;
  v1::ListChangesResponse resp;
  EXPECT_THAT(Call(&Stub::ListChanges, req, &resp), IsError(grpc::StatusCode::INVALID_ARGUMENT, "", "resource"));
  req.set_resource("positions/p");
  req.set_subtree(true);
  EXPECT_THAT(Call(&Stub::ListChanges, req, &resp), IsError(grpc::StatusCode::INVALID_ARGUMENT, "", "resource"));
  req.set_subtree(false);
  req.set_page_size(5000);
  EXPECT_THAT(Call(&Stub::ListChanges, req, &resp), IsError(grpc::StatusCode::INVALID_ARGUMENT, "", "page_size"));
}

}  // namespace
}  // namespace opsteam::org::testing
