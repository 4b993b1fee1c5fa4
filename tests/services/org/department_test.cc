// Departments: create/get/list/update/move/delete, effective dating, paging, bad input.

#include <latch>
#include <set>
#include <thread>

#include "tests/services/org/org_fixture.h"

namespace opsteam::org::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::SizeIs;
using Stub = v1::OrgService::Stub;

std::vector<std::string> Names(const v1::ListDepartmentsResponse& r) {
  std::vector<std::string> out;
  for (const auto& d : r.departments()) out.push_back(d.name());
  return out;
}

class DepartmentTest : public OrgTest {
 protected:
  // Every department below the roots on `as_of`, all pages.
  std::vector<std::string> AllDepartments(const std::string& as_of = "2026-06-01") {
    v1::ListDepartmentsRequest req;
    req.set_recursive(true);
    req.set_as_of(as_of);
    req.set_page_size(1000);
    v1::ListDepartmentsResponse resp;
    EXPECT_THAT(Call(&Stub::ListDepartments, req, &resp), IsOk());
    return Names(resp);
  }

  v1::Department Get(const std::string& id, const std::string& as_of, grpc::Status* status = nullptr) {
    v1::GetDepartmentRequest req;
    req.set_name("departments/" + id);
    req.set_as_of(as_of);
    v1::GetDepartmentResponse resp;
    grpc::Status s = Call(&Stub::GetDepartment, req, &resp);
    if (status) {
      *status = s;
    } else {
      EXPECT_THAT(s, IsOk());
    }
    return resp.department();
  }
};

TEST_F(DepartmentTest, CreateThenGetShowsFieldsAndAncestorPath) {
  MakeDepartment("kuaishou", "", "快手项目组", v1::DEPARTMENT_KIND_PROJECT_GROUP);
  MakeDepartment("monetisation", "kuaishou", "商业变现部", v1::DEPARTMENT_KIND_BUSINESS);
  v1::Department created = MakeDepartment("sales-1", "monetisation", "销售一部");
  EXPECT_EQ(created.name(), "departments/sales-1");
  EXPECT_EQ(created.valid_from(), "2026-01-01");
  EXPECT_EQ(created.valid_to(), "");
  EXPECT_FALSE(created.etag().empty());

  v1::Department got = Get("sales-1", "2026-03-01");
  EXPECT_EQ(got.display_name(), "销售一部");
  EXPECT_EQ(got.kind(), v1::DEPARTMENT_KIND_FUNCTIONAL_TEAM);
  EXPECT_EQ(got.parent(), "departments/monetisation");
  EXPECT_THAT(got.ancestors(), ElementsAre("departments/kuaishou", "departments/monetisation"));
  EXPECT_EQ(got.etag(), created.etag());
}

TEST_F(DepartmentTest, ServerAssignsAnIdWhenNoneIsGiven) {
  v1::CreateDepartmentRequest req;
  req.mutable_department()->set_display_name("运营部");
  req.mutable_department()->set_kind(v1::DEPARTMENT_KIND_SUPPORT);
  v1::CreateDepartmentResponse resp;
  ASSERT_THAT(Call(&Stub::CreateDepartment, req, &resp), IsOk());
  EXPECT_THAT(resp.department().name(), ::testing::MatchesRegex("departments/[a-z][a-z0-9]{15}"));
  // No effective date: in force from today.
  v1::GetDepartmentRequest get;
  get.set_name(resp.department().name());
  v1::GetDepartmentResponse got;
  EXPECT_THAT(Call(&Stub::GetDepartment, get, &got), IsOk());
}

struct BadDepartment {
  std::string label;
  std::function<void(v1::CreateDepartmentRequest&)> edit;
  std::string field;
};

TEST_F(DepartmentTest, BadInputNamesTheFieldAndWritesNothing) {
  MakeDepartment("root", "");
  const std::vector<BadDepartment> cases = {
      {"empty name", [](auto& r) { r.mutable_department()->set_display_name("  "); }, "department.display_name"},
      {"name too long", [](auto& r) { r.mutable_department()->set_display_name(std::string(201, 'x')); },
       "department.display_name"},
      {"no kind", [](auto& r) { r.mutable_department()->set_kind(v1::DEPARTMENT_KIND_UNSPECIFIED); },
       "department.kind"},
      {"unknown kind", [](auto& r) { r.mutable_department()->set_kind(static_cast<v1::DepartmentKind>(99)); },
       "department.kind"},
      {"unknown parent", [](auto& r) { r.mutable_department()->set_parent("departments/nope"); },
       "department.parent"},
      {"malformed parent", [](auto& r) { r.mutable_department()->set_parent("depts/root"); },
       "department.parent"},
      {"parent with bad id", [](auto& r) { r.mutable_department()->set_parent("departments/Root"); },
       "department.parent"},
      {"bad id", [](auto& r) { r.set_department_id("Sales_1"); }, "department_id"},
      {"bad date", [](auto& r) { r.set_effective_date("2026-13-01"); }, "effective_date"},
      {"bad request id", [](auto& r) { r.set_request_id("no spaces allowed"); }, "request_id"},
      {"lead on create", [](auto& r) { r.mutable_department()->set_lead_position("positions/x"); },
       "department.lead_position"},
  };
  for (const auto& c : cases) {
    v1::CreateDepartmentRequest req;
    req.set_department_id("child");
    req.set_effective_date("2026-01-01");
    req.mutable_department()->set_display_name("child");
    req.mutable_department()->set_kind(v1::DEPARTMENT_KIND_SUPPORT);
    req.mutable_department()->set_parent("departments/root");
    c.edit(req);
    v1::CreateDepartmentResponse resp;
    EXPECT_THAT(Call(&Stub::CreateDepartment, req, &resp),
                IsError(grpc::StatusCode::INVALID_ARGUMENT, "", c.field))
        << c.label;
  }
  v1::CreateDepartmentRequest missing;
  v1::CreateDepartmentResponse resp;
  EXPECT_THAT(Call(&Stub::CreateDepartment, missing, &resp),
              IsError(grpc::StatusCode::INVALID_ARGUMENT, "INVALID_FIELD", "department"));
  EXPECT_THAT(AllDepartments(), ElementsAre("departments/root"));
}

TEST_F(DepartmentTest, DuplicateIdIsAlreadyExists) {
  MakeDepartment("sales", "");
  v1::CreateDepartmentRequest req;
  req.set_department_id("sales");
  req.mutable_department()->set_display_name("again");
  req.mutable_department()->set_kind(v1::DEPARTMENT_KIND_SUPPORT);
  v1::CreateDepartmentResponse resp;
  EXPECT_THAT(Call(&Stub::CreateDepartment, req, &resp),
              IsError(grpc::StatusCode::ALREADY_EXISTS, "ALREADY_EXISTS", ""));
  EXPECT_EQ(Get("sales", "2026-02-01").display_name(), "sales");
}

TEST_F(DepartmentTest, MalformedAndUnknownNamesOnGet) {
  for (std::string name : {"", "departments/", "departments/A", "departments/a/b", "positions/a"}) {
    v1::GetDepartmentRequest req;
    req.set_name(name);
    v1::GetDepartmentResponse resp;
    EXPECT_THAT(Call(&Stub::GetDepartment, req, &resp),
                IsError(grpc::StatusCode::INVALID_ARGUMENT, "", "name"))
        << name;
  }
  grpc::Status s;
  Get("ghost", "2026-01-01", &s);
  EXPECT_THAT(s, IsError(grpc::StatusCode::NOT_FOUND, "RESOURCE_NOT_FOUND", ""));
  v1::GetDepartmentRequest bad_date;
  bad_date.set_name("departments/ghost");
  bad_date.set_as_of("yesterday");
  v1::GetDepartmentResponse resp;
  EXPECT_THAT(Call(&Stub::GetDepartment, bad_date, &resp),
              IsError(grpc::StatusCode::INVALID_ARGUMENT, "", "as_of"));
}

TEST_F(DepartmentTest, ListChildrenSubtreeKindFilterAndPagingToTheEnd) {
  MakeDepartment("root", "", "root", v1::DEPARTMENT_KIND_PROJECT_GROUP);
  std::set<std::string> expected;
  for (int i = 0; i < 3; ++i) {
    const std::string mid = absl::StrCat("mid-", i);
    MakeDepartment(mid, "root", mid, v1::DEPARTMENT_KIND_BUSINESS);
    expected.insert("departments/" + mid);
    for (int j = 0; j < 4; ++j) {
      const std::string leaf = absl::StrCat("leaf-", i, "-", j);
      MakeDepartment(leaf, mid);
      expected.insert("departments/" + leaf);
    }
  }
  MakeDepartment("other-root", "");

  v1::ListDepartmentsRequest children;
  children.set_parent("departments/root");
  children.set_as_of("2026-02-01");
  v1::ListDepartmentsResponse resp;
  ASSERT_THAT(Call(&Stub::ListDepartments, children, &resp), IsOk());
  EXPECT_THAT(Names(resp), ElementsAre("departments/mid-0", "departments/mid-1", "departments/mid-2"));
  EXPECT_TRUE(resp.next_page_token().empty());

  v1::ListDepartmentsRequest roots;
  roots.set_as_of("2026-02-01");
  resp.Clear();
  ASSERT_THAT(Call(&Stub::ListDepartments, roots, &resp), IsOk());
  EXPECT_THAT(Names(resp), ElementsAre("departments/other-root", "departments/root"));

  // The subtree, five at a time, to the end: every department once.
  v1::ListDepartmentsRequest sub;
  sub.set_parent("departments/root");
  sub.set_recursive(true);
  sub.set_as_of("2026-02-01");
  sub.set_page_size(5);
  std::vector<std::string> seen;
  int pages = 0;
  do {
    resp.Clear();
    ASSERT_THAT(Call(&Stub::ListDepartments, sub, &resp), IsOk());
    EXPECT_LE(resp.departments_size(), 5);
    for (auto& n : Names(resp)) seen.push_back(n);
    sub.set_page_token(resp.next_page_token());
    ++pages;
  } while (!resp.next_page_token().empty() && pages < 10);
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()), expected);
  EXPECT_THAT(seen, SizeIs(15));

  v1::ListDepartmentsRequest business;
  business.set_parent("departments/root");
  business.set_recursive(true);
  business.set_kind(v1::DEPARTMENT_KIND_BUSINESS);
  business.set_as_of("2026-02-01");
  resp.Clear();
  ASSERT_THAT(Call(&Stub::ListDepartments, business, &resp), IsOk());
  EXPECT_THAT(Names(resp), SizeIs(3));
}

TEST_F(DepartmentTest, ListRejectsBadPagingAndUnknownParent) {
  MakeDepartment("root", "");
  MakeDepartment("a", "root");
  MakeDepartment("b", "root");
  v1::ListDepartmentsResponse resp;
  v1::ListDepartmentsRequest big;
  big.set_page_size(1001);
  EXPECT_THAT(Call(&Stub::ListDepartments, big, &resp),
              IsError(grpc::StatusCode::INVALID_ARGUMENT, "", "page_size"));
  v1::ListDepartmentsRequest negative;
  negative.set_page_size(-1);
  EXPECT_THAT(Call(&Stub::ListDepartments, negative, &resp),
              IsError(grpc::StatusCode::INVALID_ARGUMENT, "", "page_size"));
  v1::ListDepartmentsRequest garbage;
  garbage.set_page_token("not-a-token");
  EXPECT_THAT(Call(&Stub::ListDepartments, garbage, &resp),
              IsError(grpc::StatusCode::INVALID_ARGUMENT, "INVALID_PAGE_TOKEN", "page_token"));

  v1::ListDepartmentsRequest first;
  first.set_parent("departments/root");
  first.set_page_size(1);
  first.set_as_of("2026-02-01");
  ASSERT_THAT(Call(&Stub::ListDepartments, first, &resp), IsOk());
  ASSERT_FALSE(resp.next_page_token().empty());
  v1::ListDepartmentsRequest other = first;
  other.set_as_of("2026-03-01");
  other.set_page_token(resp.next_page_token());
  EXPECT_THAT(Call(&Stub::ListDepartments, other, &resp),
              IsError(grpc::StatusCode::INVALID_ARGUMENT, "INVALID_PAGE_TOKEN", "page_token"));

  v1::ListDepartmentsRequest unknown;
  unknown.set_parent("departments/nope");
  EXPECT_THAT(Call(&Stub::ListDepartments, unknown, &resp),
              IsError(grpc::StatusCode::NOT_FOUND, "RESOURCE_NOT_FOUND", ""));
  v1::ListDepartmentsRequest bad_kind;
  bad_kind.set_kind(static_cast<v1::DepartmentKind>(42));
  EXPECT_THAT(Call(&Stub::ListDepartments, bad_kind, &resp),
              IsError(grpc::StatusCode::INVALID_ARGUMENT, "", "kind"));
}

TEST_F(DepartmentTest, UpdateWithMaskEtagAndEffectiveDate) {
  v1::Department d = MakeDepartment("sales", "", "销售部");
  v1::UpdateDepartmentRequest req;
  req.mutable_department()->set_name("departments/sales");
  req.mutable_department()->set_display_name("销售中心");
  req.mutable_department()->set_description("ignored: not in the mask");
  req.mutable_department()->set_etag(d.etag());
  req.mutable_update_mask()->add_paths("display_name");
  req.set_effective_date("2026-07-01");
  v1::UpdateDepartmentResponse resp;
  ASSERT_THAT(Call(&Stub::UpdateDepartment, req, &resp), IsOk());
  EXPECT_EQ(resp.department().display_name(), "销售中心");
  EXPECT_EQ(resp.department().description(), "");
  EXPECT_EQ(resp.department().valid_from(), "2026-07-01");
  EXPECT_NE(resp.department().etag(), d.etag());

  // History: the old name before the change, the new one after.
  EXPECT_EQ(Get("sales", "2026-06-30").display_name(), "销售部");
  EXPECT_EQ(Get("sales", "2026-06-30").valid_to(), "2026-07-01");
  EXPECT_EQ(Get("sales", "2026-07-01").display_name(), "销售中心");

  // The etag read before the change is stale now.
  EXPECT_THAT(Call(&Stub::UpdateDepartment, req, &resp),
              IsError(grpc::StatusCode::ABORTED, "ETAG_MISMATCH", ""));

  v1::UpdateDepartmentRequest parent = req;
  parent.mutable_department()->clear_etag();
  parent.mutable_update_mask()->set_paths(0, "parent");
  EXPECT_THAT(Call(&Stub::UpdateDepartment, parent, &resp),
              IsError(grpc::StatusCode::INVALID_ARGUMENT, "", "update_mask"));
  v1::UpdateDepartmentRequest unknown = parent;
  unknown.mutable_update_mask()->set_paths(0, "create_time");
  EXPECT_THAT(Call(&Stub::UpdateDepartment, unknown, &resp),
              IsError(grpc::StatusCode::INVALID_ARGUMENT, "", "update_mask"));
  v1::UpdateDepartmentRequest empty_mask = parent;
  empty_mask.clear_update_mask();
  EXPECT_THAT(Call(&Stub::UpdateDepartment, empty_mask, &resp),
              IsError(grpc::StatusCode::INVALID_ARGUMENT, "", "update_mask"));
  v1::UpdateDepartmentRequest blank = parent;
  blank.mutable_update_mask()->set_paths(0, "display_name");
  blank.mutable_department()->set_display_name("");
  EXPECT_THAT(Call(&Stub::UpdateDepartment, blank, &resp),
              IsError(grpc::StatusCode::INVALID_ARGUMENT, "", "department.display_name"));
  v1::UpdateDepartmentRequest before_creation = blank;
  before_creation.mutable_department()->set_display_name("x");
  before_creation.set_effective_date("2025-01-01");
  EXPECT_THAT(Call(&Stub::UpdateDepartment, before_creation, &resp),
              IsError(grpc::StatusCode::FAILED_PRECONDITION, "NOT_IN_EFFECT", ""));
  EXPECT_EQ(Get("sales", "2026-07-02").display_name(), "销售中心");
}

TEST_F(DepartmentTest, LeadMustBeAPositionOfTheDepartment) {
  MakeDepartment("a", "");
  MakeDepartment("b", "");
  MakePosition("a-lead", "a", 1);
  v1::UpdateDepartmentRequest req;
  req.mutable_department()->set_name("departments/b");
  req.mutable_department()->set_lead_position("positions/a-lead");
  req.mutable_update_mask()->add_paths("lead_position");
  req.set_effective_date("2026-02-01");
  v1::UpdateDepartmentResponse resp;
  EXPECT_THAT(Call(&Stub::UpdateDepartment, req, &resp),
              IsError(grpc::StatusCode::INVALID_ARGUMENT, "LEAD_NOT_IN_DEPARTMENT", "department.lead_position"));
  req.mutable_department()->set_name("departments/a");
  ASSERT_THAT(Call(&Stub::UpdateDepartment, req, &resp), IsOk());
  EXPECT_EQ(resp.department().lead_position(), "positions/a-lead");
}

TEST_F(DepartmentTest, TwoWritersOnOneEtagExactlyOneWins) {
  for (int round = 0; round < 5; ++round) {
    const std::string id = absl::StrCat("dept-", round);
    v1::Department d = MakeDepartment(id, "");
    std::latch start(2);
    grpc::Status results[2];
    std::vector<std::thread> writers;
    for (int w = 0; w < 2; ++w) {
      writers.emplace_back([&, w] {
        v1::UpdateDepartmentRequest req;
        req.mutable_department()->set_name(d.name());
        req.mutable_department()->set_display_name(absl::StrCat("writer-", w));
        req.mutable_department()->set_etag(d.etag());
        req.mutable_update_mask()->add_paths("display_name");
        req.set_effective_date("2026-03-01");
        v1::UpdateDepartmentResponse resp;
        start.arrive_and_wait();
        results[w] = Call(&Stub::UpdateDepartment, req, &resp);
      });
    }
    for (auto& t : writers) t.join();
    const int ok = results[0].ok() + results[1].ok();
    EXPECT_EQ(ok, 1) << results[0].error_message() << " / " << results[1].error_message();
    const int aborted = (results[0].error_code() == grpc::StatusCode::ABORTED) +
                        (results[1].error_code() == grpc::StatusCode::ABORTED);
    EXPECT_EQ(aborted, 1);
    const std::string winner = results[0].ok() ? "writer-0" : "writer-1";
    EXPECT_EQ(Get(id, "2026-03-01").display_name(), winner);
  }
}

TEST_F(DepartmentTest, MoveChangesAncestorsAndRejectsCycles) {
  MakeDepartment("root", "");
  MakeDepartment("monetisation", "root");
  MakeDepartment("sales", "monetisation");
  MakeDepartment("sales-1", "sales");
  MakeDepartment("operations", "root");

  v1::MoveDepartmentRequest move;
  move.set_name("departments/sales");
  move.set_new_parent("departments/operations");
  move.set_effective_date("2026-02-01");
  v1::MoveDepartmentResponse resp;
  ASSERT_THAT(Call(&Stub::MoveDepartment, move, &resp), IsOk());
  EXPECT_EQ(resp.department().parent(), "departments/operations");
  EXPECT_THAT(Get("sales-1", "2026-02-01").ancestors(),
              ElementsAre("departments/root", "departments/operations", "departments/sales"));
  EXPECT_THAT(Get("sales-1", "2026-01-31").ancestors(),
              ElementsAre("departments/root", "departments/monetisation", "departments/sales"));

  v1::MoveDepartmentRequest cycle;
  cycle.set_name("departments/operations");
  cycle.set_new_parent("departments/sales-1");
  cycle.set_effective_date("2026-03-01");
  EXPECT_THAT(Call(&Stub::MoveDepartment, cycle, &resp),
              IsError(grpc::StatusCode::FAILED_PRECONDITION, "DEPARTMENT_CYCLE", ""));
  cycle.set_new_parent("departments/operations");
  EXPECT_THAT(Call(&Stub::MoveDepartment, cycle, &resp),
              IsError(grpc::StatusCode::FAILED_PRECONDITION, "DEPARTMENT_CYCLE", ""));
  // Before sales moved under operations there was no cycle: dated then, it is allowed.
  EXPECT_EQ(Get("operations", "2026-03-01").parent(), "departments/root");

  v1::MoveDepartmentRequest unknown;
  unknown.set_name("departments/sales");
  unknown.set_new_parent("departments/nope");
  EXPECT_THAT(Call(&Stub::MoveDepartment, unknown, &resp),
              IsError(grpc::StatusCode::INVALID_ARGUMENT, "UNKNOWN_PARENT", "new_parent"));
  v1::MoveDepartmentRequest to_root;
  to_root.set_name("departments/sales");
  to_root.set_effective_date("2026-04-01");
  ASSERT_THAT(Call(&Stub::MoveDepartment, to_root, &resp), IsOk());
  EXPECT_THAT(Get("sales-1", "2026-04-01").ancestors(), ElementsAre("departments/sales"));
}

TEST_F(DepartmentTest, CycleThroughAFutureMoveIsRejected) {
  MakeDepartment("root", "");
  MakeDepartment("a", "root");
  MakeDepartment("b", "root");
  // Next month a moves under b ...
  v1::MoveDepartmentRequest later;
  later.set_name("departments/a");
  later.set_new_parent("departments/b");
  later.set_effective_date("2026-08-01");
  v1::MoveDepartmentResponse resp;
  ASSERT_THAT(Call(&Stub::MoveDepartment, later, &resp), IsOk());
  // ... so b cannot move under a from today on: on 2026-08-01 they would contain each other.
  v1::MoveDepartmentRequest now;
  now.set_name("departments/b");
  now.set_new_parent("departments/a");
  now.set_effective_date("2026-07-01");
  EXPECT_THAT(Call(&Stub::MoveDepartment, now, &resp),
              IsError(grpc::StatusCode::FAILED_PRECONDITION, "DEPARTMENT_CYCLE", ""));
  EXPECT_EQ(Get("b", "2026-07-15").parent(), "departments/root");
}

TEST_F(DepartmentTest, FutureReorganisationShowsOnlyFromItsDate) {
  MakeDepartment("root", "", "快手项目组", v1::DEPARTMENT_KIND_PROJECT_GROUP, "2025-01-01");
  MakeDepartment("ecommerce", "root", "电商部", v1::DEPARTMENT_KIND_BUSINESS, "2025-01-01");
  MakeDepartment("data", "ecommerce", "数据部", v1::DEPARTMENT_KIND_FUNCTIONAL_TEAM, "2025-01-01");
  const std::string today = absl::FormatCivilTime(absl::ToCivilDay(absl::Now(), absl::UTCTimeZone()));
  const std::string next_month =
      absl::FormatCivilTime(absl::ToCivilDay(absl::Now(), absl::UTCTimeZone()) + 31);
  const std::string yesterday =
      absl::FormatCivilTime(absl::ToCivilDay(absl::Now(), absl::UTCTimeZone()) - 1);

  // A new department and a move, both dated next month.
  MakeDepartment("bi", "root", "BI中心", v1::DEPARTMENT_KIND_SUPPORT, next_month);
  v1::MoveDepartmentRequest move;
  move.set_name("departments/data");
  move.set_new_parent("departments/bi");
  move.set_effective_date(next_month);
  v1::MoveDepartmentResponse resp;
  ASSERT_THAT(Call(&Stub::MoveDepartment, move, &resp), IsOk());

  // Today (no as_of): as before.
  v1::GetDepartmentRequest now;
  now.set_name("departments/data");
  v1::GetDepartmentResponse got;
  ASSERT_THAT(Call(&Stub::GetDepartment, now, &got), IsOk());
  EXPECT_EQ(got.department().parent(), "departments/ecommerce");
  grpc::Status s;
  Get("bi", today, &s);
  EXPECT_THAT(s, IsError(grpc::StatusCode::NOT_FOUND, "", ""));
  EXPECT_THAT(AllDepartments(today),
              ElementsAre("departments/data", "departments/ecommerce", "departments/root"));

  // Next month: the new chart.
  EXPECT_EQ(Get("data", next_month).parent(), "departments/bi");
  EXPECT_THAT(AllDepartments(next_month),
              ElementsAre("departments/bi", "departments/data", "departments/ecommerce", "departments/root"));
  // Yesterday's chart is still answerable.
  EXPECT_EQ(Get("data", yesterday).parent(), "departments/ecommerce");
}

TEST_F(DepartmentTest, DeleteOnlyWhenEmptyAndHistoryStays) {
  MakeDepartment("root", "");
  MakeDepartment("sales", "root");
  MakeDepartment("sales-1", "sales");
  MakePosition("sales-director", "sales", 1);
  MakeMember("m-li");
  ASSERT_THAT(Assign("m-li", "sales-director"), IsOk());

  v1::DeleteDepartmentRequest del;
  del.set_name("departments/sales");
  del.set_effective_date("2026-06-01");
  v1::DeleteDepartmentResponse resp;
  grpc::Status s = Call(&Stub::DeleteDepartment, del, &resp);
  EXPECT_THAT(s, IsError(grpc::StatusCode::FAILED_PRECONDITION, "DEPARTMENT_NOT_EMPTY", ""));
  EXPECT_THAT(s.error_message(), ::testing::HasSubstr("1 sub-departments, 1 positions and 1 members"));

  v1::DeleteDepartmentRequest leaf;
  leaf.set_name("departments/sales-1");
  leaf.set_effective_date("2026-06-01");
  ASSERT_THAT(Call(&Stub::DeleteDepartment, leaf, &resp), IsOk());
  Get("sales-1", "2026-06-01", &s);
  EXPECT_THAT(s, IsError(grpc::StatusCode::NOT_FOUND, "", ""));
  EXPECT_EQ(Get("sales-1", "2026-05-31").valid_to(), "2026-06-01");
  EXPECT_THAT(Call(&Stub::DeleteDepartment, leaf, &resp),
              IsError(grpc::StatusCode::FAILED_PRECONDITION, "NOT_IN_EFFECT", ""));
  v1::DeleteDepartmentRequest ghost;
  ghost.set_name("departments/ghost");
  EXPECT_THAT(Call(&Stub::DeleteDepartment, ghost, &resp), IsError(grpc::StatusCode::NOT_FOUND, "", ""));
}

TEST_F(DepartmentTest, RequestIdMakesCreateIdempotent) {
  v1::CreateDepartmentRequest req;
  req.set_request_id("create-sales-7f3a");
  req.mutable_department()->set_display_name("销售部");
  req.mutable_department()->set_kind(v1::DEPARTMENT_KIND_FUNCTIONAL_TEAM);
  req.set_effective_date("2026-01-01");
  v1::CreateDepartmentResponse first, second;
  ASSERT_THAT(Call(&Stub::CreateDepartment, req, &first), IsOk());
  ASSERT_THAT(Call(&Stub::CreateDepartment, req, &second), IsOk());
  EXPECT_EQ(first.department().name(), second.department().name());
  EXPECT_EQ(first.SerializeAsString(), second.SerializeAsString());
  EXPECT_THAT(AllDepartments(), SizeIs(1));

  v1::CreateDepartmentRequest other = req;
  other.mutable_department()->set_display_name("别的");
  v1::CreateDepartmentResponse resp;
  EXPECT_THAT(Call(&Stub::CreateDepartment, other, &resp),
              IsError(grpc::StatusCode::INVALID_ARGUMENT, "REQUEST_ID_REUSED", "request_id"));
  EXPECT_THAT(AllDepartments(), SizeIs(1));
}

TEST_F(DepartmentTest, ConcurrentRepeatsOfOneRequestCreateOnce) {
  for (int round = 0; round < 5; ++round) {
    v1::CreateDepartmentRequest req;
    req.set_request_id(absl::StrCat("concurrent-", round));
    req.mutable_department()->set_display_name(absl::StrCat("部门", round));
    req.mutable_department()->set_kind(v1::DEPARTMENT_KIND_SUPPORT);
    req.set_effective_date("2026-01-01");
    constexpr int kCallers = 4;
    std::latch start(kCallers);
    std::vector<v1::CreateDepartmentResponse> out(kCallers);
    std::vector<grpc::Status> status(kCallers);
    std::vector<std::thread> callers;
    for (int i = 0; i < kCallers; ++i) {
      callers.emplace_back([&, i] {
        start.arrive_and_wait();
        status[i] = Call(&Stub::CreateDepartment, req, &out[i]);
      });
    }
    for (auto& t : callers) t.join();
    for (int i = 0; i < kCallers; ++i) {
      EXPECT_THAT(status[i], IsOk());
      EXPECT_EQ(out[i].department().name(), out[0].department().name());
    }
  }
  EXPECT_THAT(AllDepartments(), SizeIs(5));
}

}  // namespace
}  // namespace opsteam::org::testing
