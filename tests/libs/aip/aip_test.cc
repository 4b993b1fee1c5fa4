#include "libs/aip/aip.h"

#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/time/civil_time.h"
#include "gtest/gtest.h"
#include "libs/status/status.h"
#include "opsteam/org/v1/org_service.pb.h"

namespace opsteam::aip {
namespace {

using ::opsteam::org::v1::CreateDepartmentRequest;
using ::opsteam::org::v1::ListDepartmentsRequest;
using ::opsteam::org::v1::ListMembersRequest;
using ::opsteam::org::v1::ListPositionsRequest;

void ExpectInvalid(const absl::Status& status, const std::string& field,
                   const std::string& reason = "INVALID_FIELD") {
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_EQ(ErrorField(status), field) << status;
  EXPECT_EQ(ErrorReason(status), reason) << status;
}

// ---- Ids and names ------------------------------------------------------------------

TEST(IdTest, AcceptsValidIds) {
  for (const std::string& id : std::vector<std::string>{"a", "abc", "abc-123", "a1-b2-c3", "z9", std::string(63, 'x')}) {
    EXPECT_TRUE(IsValidId(id)) << id;
    EXPECT_TRUE(ValidateId(id, "department_id").ok()) << id;
  }
}

TEST(IdTest, RejectsInvalidIds) {
  for (const std::string& id : std::vector<std::string>{"", "Abc", "aBc", "1abc", "-abc", "abc-", "ab_c", "ab c", "ab.c",
                               "ab/c", "é", std::string(64, 'x')}) {
    EXPECT_FALSE(IsValidId(id)) << id;
    ExpectInvalid(ValidateId(id, "department_id"), "department_id");
  }
}

TEST(IdTest, NewIdIsValidAndDistinct) {
  absl::flat_hash_set<std::string> seen;
  for (int i = 0; i < 10000; ++i) {
    const std::string id = NewId();
    ASSERT_TRUE(IsValidId(id)) << id;
    ASSERT_EQ(id.size(), 16u) << id;
    ASSERT_TRUE(seen.insert(id).second) << "duplicate id " << id << " after " << i << " draws";
  }
}

TEST(NameTest, NameJoinsCollectionAndId) {
  EXPECT_EQ(Name("departments", "sales-1"), "departments/sales-1");
}

TEST(NameTest, ParseNameReturnsTheId) {
  auto id = ParseName("departments/sales-1", "departments", "name");
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(*id, "sales-1");
  auto round_trip = ParseName(Name("members", "m1"), "members", "member.name");
  ASSERT_TRUE(round_trip.ok()) << round_trip.status();
  EXPECT_EQ(*round_trip, "m1");
}

TEST(NameTest, ParseNameRejectsBadNamesNamingTheField) {
  for (const std::string& name :
       std::vector<std::string>{"", "positions/sales-1", "departments/sales-1/x", "departments", "departments/",
        "/sales-1", "departments/Sales", "departments/1sales", "departments/sales-",
        "departments//sales", "Departments/sales"}) {
    auto id = ParseName(name, "departments", "department.parent");
    EXPECT_FALSE(id.ok()) << name;
    ExpectInvalid(id.status(), "department.parent");
  }
}

// ---- Dates ----------------------------------------------------------------------------

TEST(DateTest, AcceptsCalendarDates) {
  struct Case {
    std::string text;
    absl::CivilDay day;
  };
  for (const Case& c : {Case{"2026-02-28", absl::CivilDay(2026, 2, 28)},
                        Case{"2024-02-29", absl::CivilDay(2024, 2, 29)},
                        Case{"1900-01-01", absl::CivilDay(1900, 1, 1)},
                        Case{"9999-12-31", absl::CivilDay(9999, 12, 31)}}) {
    auto day = ParseDate(c.text, "effective_date");
    ASSERT_TRUE(day.ok()) << c.text << ": " << day.status();
    EXPECT_EQ(*day, c.day) << c.text;
    EXPECT_EQ(FormatDate(*day), c.text);
  }
}

TEST(DateTest, RejectsMalformedOrImpossibleDates) {
  for (const std::string& text :
       std::vector<std::string>{"2026-02-30", "2025-02-29", "2026-13-01", "2026-00-10", "2026-01-00", "2026-2-3",
        "2026-02-28T00:00", "2026-02-28 ", " 2026-02-28", "2026/02/28", "20260228",
        "1899-12-31", "10000-01-01", "+2026-02-28", "-2026-02-28", "yesterday"}) {
    auto day = ParseDate(text, "effective_date");
    EXPECT_FALSE(day.ok()) << text << " parsed as " << (day.ok() ? FormatDate(*day) : "");
    ExpectInvalid(day.status(), "effective_date");
  }
}

TEST(DateTest, EmptyIsToday) {
  const absl::CivilDay before = Today();
  auto day = ParseDate("", "as_of");
  const absl::CivilDay after = Today();
  ASSERT_TRUE(day.ok()) << day.status();
  // Midnight may pass between the calls.
  EXPECT_TRUE(*day == before || *day == after) << FormatDate(*day);
}

TEST(DateTest, FormatDatePadsFields) {
  EXPECT_EQ(FormatDate(absl::CivilDay(2026, 3, 1)), "2026-03-01");
}

// ---- Paging ---------------------------------------------------------------------------

ListDepartmentsRequest FilteredRequest() {
  ListDepartmentsRequest req;
  req.set_parent("departments/sales");
  req.set_recursive(true);
  req.set_kind(opsteam::org::v1::DEPARTMENT_KIND_BUSINESS);
  req.set_as_of("2026-02-28");
  return req;
}

TEST(PageTest, DefaultsWithoutSizeOrToken) {
  auto page = ParsePage(ListDepartmentsRequest());
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(page->size, 50);
  EXPECT_EQ(page->after, "");
}

TEST(PageTest, PageSizeLimits) {
  struct Case {
    int requested;
    int expected;
  };
  for (const Case& c : {Case{0, 50}, Case{1, 1}, Case{50, 50}, Case{999, 999}, Case{1000, 1000}}) {
    ListDepartmentsRequest req;
    req.set_page_size(c.requested);
    auto page = ParsePage(req);
    ASSERT_TRUE(page.ok()) << c.requested << ": " << page.status();
    EXPECT_EQ(page->size, c.expected) << c.requested;
  }
  for (int bad : {1001, 5000, -1, -50}) {
    ListDepartmentsRequest req;
    req.set_page_size(bad);
    auto page = ParsePage(req);
    EXPECT_FALSE(page.ok()) << bad;
    ExpectInvalid(page.status(), "page_size");
  }
}

TEST(PageTest, NextPageTokenRoundTripsTheLastKey) {
  for (const std::string& key : std::vector<std::string>{"sales-1", "2026-02-28|dept|x", "销售一部", "a b=c/d+e"}) {
    ListDepartmentsRequest req = FilteredRequest();
    req.set_page_size(10);
    const std::string token = NextPageToken(req, key);
    EXPECT_FALSE(token.empty());
    req.set_page_token(token);
    auto page = ParsePage(req);
    ASSERT_TRUE(page.ok()) << key << ": " << page.status();
    EXPECT_EQ(page->after, key);
    EXPECT_EQ(page->size, 10);
  }
}

TEST(PageTest, TokensChainAcrossPages) {
  ListDepartmentsRequest first = FilteredRequest();
  ListDepartmentsRequest second = first;
  second.set_page_token(NextPageToken(first, "k1"));
  auto page2 = ParsePage(second);
  ASSERT_TRUE(page2.ok()) << page2.status();
  EXPECT_EQ(page2->after, "k1");

  ListDepartmentsRequest third = second;
  third.set_page_token(NextPageToken(second, "k2"));
  auto page3 = ParsePage(third);
  ASSERT_TRUE(page3.ok()) << page3.status();
  EXPECT_EQ(page3->after, "k2");
}

TEST(PageTest, ChangingOnlyPageSizeKeepsTheTokenValid) {
  ListDepartmentsRequest req = FilteredRequest();
  req.set_page_size(10);
  const std::string token = NextPageToken(req, "k");
  ListDepartmentsRequest next = req;
  next.set_page_size(200);
  next.set_page_token(token);
  auto page = ParsePage(next);
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(page->after, "k");
  EXPECT_EQ(page->size, 200);
}

TEST(PageTest, TokenIsBoundToTheOtherRequestFields) {
  const ListDepartmentsRequest original = FilteredRequest();
  const std::string token = NextPageToken(original, "k");

  ListDepartmentsRequest other_parent = original;
  other_parent.set_parent("departments/support");
  ListDepartmentsRequest other_as_of = original;
  other_as_of.set_as_of("2026-03-01");
  ListDepartmentsRequest no_as_of = original;
  no_as_of.clear_as_of();
  ListDepartmentsRequest not_recursive = original;
  not_recursive.set_recursive(false);
  ListDepartmentsRequest other_kind = original;
  other_kind.set_kind(opsteam::org::v1::DEPARTMENT_KIND_SUPPORT);

  for (ListDepartmentsRequest req :
       {other_parent, other_as_of, no_as_of, not_recursive, other_kind}) {
    req.set_page_token(token);
    auto page = ParsePage(req);
    EXPECT_FALSE(page.ok()) << req.ShortDebugString();
    ExpectInvalid(page.status(), "page_token", "INVALID_PAGE_TOKEN");
  }
}

TEST(PageTest, TokenIsBoundToTheRequestType) {
  ListPositionsRequest positions;
  positions.set_as_of("2026-02-28");
  ListDepartmentsRequest departments;
  departments.set_as_of("2026-02-28");
  departments.set_page_token(NextPageToken(positions, "k"));
  ExpectInvalid(ParsePage(departments).status(), "page_token", "INVALID_PAGE_TOKEN");

  // Two request types whose fields serialize the same.
  ListMembersRequest members;
  members.set_page_token(NextPageToken(ListPositionsRequest(), "k"));
  ExpectInvalid(ParsePage(members).status(), "page_token", "INVALID_PAGE_TOKEN");
}

TEST(PageTest, GarbageTokensAreRejected) {
  const std::string valid = NextPageToken(ListDepartmentsRequest(), "k");
  std::string raw;
  ASSERT_TRUE(absl::WebSafeBase64Unescape(valid, &raw));
  for (const std::string& token :
       std::vector<std::string>{std::string("garbage!!"), std::string("abc"), std::string("%%%%"),
        absl::WebSafeBase64Escape("p1"), absl::WebSafeBase64Escape("p1|zz|k"),
        absl::WebSafeBase64Escape("p2" + raw.substr(2)), absl::WebSafeBase64Escape("p1|0|k"),
        valid.substr(0, valid.size() / 2) + "!"}) {
    ListDepartmentsRequest req;
    req.set_page_token(token);
    auto page = ParsePage(req);
    EXPECT_FALSE(page.ok()) << token;
    ExpectInvalid(page.status(), "page_token", "INVALID_PAGE_TOKEN");
  }
}

// ---- Request ids ----------------------------------------------------------------------

TEST(RequestIdTest, Limits) {
  for (const std::string& id : std::vector<std::string>{std::string(), std::string("a"), std::string("Req_01-abc"),
                               std::string(64, 'Z')}) {
    EXPECT_TRUE(ValidateRequestId(id).ok()) << id;
  }
  for (const std::string& id : std::vector<std::string>{std::string(65, 'a'), std::string("a b"), std::string("a/b"),
                               std::string("a.b"), std::string("ü"), std::string("a\nb")}) {
    ExpectInvalid(ValidateRequestId(id), "request_id");
  }
}

CreateDepartmentRequest CreateRequest() {
  CreateDepartmentRequest req;
  req.mutable_department()->set_display_name("Sales");
  req.mutable_department()->set_kind(opsteam::org::v1::DEPARTMENT_KIND_BUSINESS);
  req.set_department_id("sales");
  req.set_effective_date("2026-02-28");
  req.set_request_id("r1");
  return req;
}

TEST(RequestDigestTest, IgnoresRequestIdOnly) {
  const CreateDepartmentRequest base = CreateRequest();
  const std::string digest = RequestDigest(base);
  EXPECT_FALSE(digest.empty());
  EXPECT_EQ(RequestDigest(CreateRequest()), digest);

  CreateDepartmentRequest other_id = base;
  other_id.set_request_id("r2");
  EXPECT_EQ(RequestDigest(other_id), digest);
  CreateDepartmentRequest no_id = base;
  no_id.clear_request_id();
  EXPECT_EQ(RequestDigest(no_id), digest);

  CreateDepartmentRequest changed = base;
  changed.mutable_department()->set_display_name("Sales 2");
  EXPECT_NE(RequestDigest(changed), digest);
  changed = base;
  changed.mutable_department()->set_kind(opsteam::org::v1::DEPARTMENT_KIND_SUPPORT);
  EXPECT_NE(RequestDigest(changed), digest);
  changed = base;
  changed.mutable_department()->set_parent("departments/root");
  EXPECT_NE(RequestDigest(changed), digest);
  changed = base;
  changed.set_department_id("sales-2");
  EXPECT_NE(RequestDigest(changed), digest);
  changed = base;
  changed.set_effective_date("2026-03-01");
  EXPECT_NE(RequestDigest(changed), digest);
  changed = base;
  changed.clear_department();
  EXPECT_NE(RequestDigest(changed), digest);
}

}  // namespace
}  // namespace opsteam::aip
