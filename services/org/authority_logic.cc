// Authority queries: what a member may do, resolved from the posts they hold on a day.
// A grant with scope OWN_DEPARTMENT covers its post's department; SUBTREE covers that
// department and everything below it. Budget grants carry a limit.

#include <algorithm>
#include <limits>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "libs/aip/aip.h"
#include "libs/status/macros.h"
#include "libs/status/status.h"
#include "services/org/org_logic.h"
#include "services/org/org_store.h"
#include "services/org/validation.h"

namespace opsteam::org {
namespace {

// Grants of `member_id` on `day`, optionally only those of one type that reach `target`
// (a department id). Primary posts first.
constexpr const char* kGrantsSql =
    "WITH RECURSIVE up(id, depth) AS ("
    "  SELECT $3::text, 0 WHERE $3::text IS NOT NULL"
    "  UNION ALL"
    "  SELECT v.parent_id, up.depth + 1 FROM up JOIN department_versions v"
    "   ON v.department_id = up.id AND v.valid_from <= $2 AND v.valid_to > $2"
    "   WHERE v.parent_id IS NOT NULL AND up.depth < 1000)"
    " SELECT a.id, a.kind, a.position_id, p.department_id, g->>'type', g->>'scope',"
    "  coalesce(g->'budget_limit'->>'currency_code', ''),"
    "  coalesce(g->'budget_limit'->>'minor_units', '0')"
    " FROM assignments a"
    " JOIN position_versions p ON p.position_id = a.position_id"
    "  AND p.valid_from <= $2 AND p.valid_to > $2"
    " CROSS JOIN LATERAL jsonb_array_elements(coalesce(p.data->'authorities', '[]'::jsonb)) g"
    " WHERE a.member_id = $1 AND a.valid_from <= $2 AND a.valid_to > $2"
    "  AND ($4::text IS NULL OR g->>'type' = $4)"
    "  AND ($3::text IS NULL OR EXISTS (SELECT 1 FROM up WHERE up.id = p.department_id"
    "       AND (up.depth = 0 OR g->>'scope' = 'AUTHORITY_SCOPE_SUBTREE')))"
    " ORDER BY a.kind, a.position_id";

absl::StatusOr<std::vector<v1::GrantedAuthority>> Grants(pg::Tx& tx, const std::string& member_id,
                                                         absl::CivilDay day, pg::Param target,
                                                         pg::Param type) {
  auto r = tx.Exec(kGrantsSql, {member_id, aip::FormatDate(day), target, type});
  if (!r.ok()) return r.status();
  std::vector<v1::GrantedAuthority> out;
  for (int i = 0; i < r->rows(); ++i) {
    v1::GrantedAuthority g;
    g.set_assignment(aip::Name("assignments", r->Get(i, 0)));
    g.set_assignment_kind(static_cast<v1::AssignmentKind>(r->GetInt64(i, 1)));
    g.set_position(aip::Name("positions", r->Get(i, 2)));
    g.set_department(aip::Name("departments", r->Get(i, 3)));
    v1::AuthorityType t;
    if (v1::AuthorityType_Parse(r->GetString(i, 4), &t)) g.set_type(t);
    v1::AuthorityScope s;
    if (v1::AuthorityScope_Parse(r->GetString(i, 5), &s)) g.set_scope(s);
    if (!r->Get(i, 6).empty()) {
      g.mutable_budget_limit()->set_currency_code(r->GetString(i, 6));
      int64_t units = 0;
      (void)absl::SimpleAtoi(r->Get(i, 7), &units);
      g.mutable_budget_limit()->set_minor_units(units);
    }
    out.push_back(std::move(g));
  }
  return out;
}

}  // namespace

absl::Status OrgLogic::ListAuthorities(const v1::ListAuthoritiesRequest& req,
                                       v1::ListAuthoritiesResponse* resp) {
  OPS_ASSIGN_OR_RETURN(std::string member_id, aip::ParseName(req.member(), "members", "member"));
  OPS_ASSIGN_OR_RETURN(absl::CivilDay day, aip::ParseDate(req.as_of(), "as_of"));
  return pg::RunStatements(pool_, [&](pg::Tx& tx) -> absl::Status {
    OPS_ASSIGN_OR_RETURN(auto member, org::GetMember(tx, member_id, false));
    if (!member) return NotFound(req.member());
    OPS_ASSIGN_OR_RETURN(auto grants, Grants(tx, member_id, day, std::nullopt, std::nullopt));
    for (auto& g : grants) *resp->add_authorities() = std::move(g);
    return absl::OkStatus();
  });
}

absl::Status OrgLogic::CheckAuthority(const v1::CheckAuthorityRequest& req,
                                      v1::CheckAuthorityResponse* resp) {
  OPS_ASSIGN_OR_RETURN(std::string member_id, aip::ParseName(req.member(), "members", "member"));
  OPS_ASSIGN_OR_RETURN(std::string dept_id, aip::ParseName(req.department(), "departments", "department"));
  if (!v1::AuthorityType_IsValid(req.authority())) {
    return InvalidArgument("authority", absl::StrCat("unknown value ", static_cast<int>(req.authority())));
  }
  if (req.authority() == v1::AUTHORITY_TYPE_UNSPECIFIED) return InvalidArgument("authority", "is required");
  const bool budget = req.authority() == v1::AUTHORITY_TYPE_SPEND_BUDGET;
  if (budget) {
    if (!req.has_amount()) return InvalidArgument("amount", "is required for AUTHORITY_TYPE_SPEND_BUDGET");
    OPS_RETURN_IF_ERROR(ValidateMoney(req.amount(), "amount", 0, std::numeric_limits<int64_t>::max()));
  } else if (req.has_amount()) {
    return InvalidArgument("amount", "applies only to AUTHORITY_TYPE_SPEND_BUDGET");
  }
  OPS_ASSIGN_OR_RETURN(absl::CivilDay day, aip::ParseDate(req.as_of(), "as_of"));
  // The hottest read of the service (every write of the other services asks it): two
  // statements, no transaction round trips; a snapshot across them is not needed.
  return pg::RunStatements(pool_, [&](pg::Tx& tx) -> absl::Status {
    auto known = tx.Exec(
        "SELECT (SELECT count(*) FROM members WHERE id = $1),"
        " (SELECT count(*) FROM department_versions WHERE department_id = $2"
        "   AND valid_from <= $3 AND valid_to > $3)",
        {member_id, dept_id, aip::FormatDate(day)});
    if (!known.ok()) return known.status();
    if (known->GetInt64(0, 0) == 0) return NotFound(req.member());
    if (known->GetInt64(0, 1) == 0) return NotFound(req.department());
    OPS_ASSIGN_OR_RETURN(auto grants, Grants(tx, member_id, day, dept_id,
                                             v1::AuthorityType_Name(req.authority())));
    const v1::GrantedAuthority* best = nullptr;
    for (const auto& g : grants) {
      if (!budget) {
        best = &g;
        break;
      }
      if (g.budget_limit().currency_code() != req.amount().currency_code()) continue;
      if (!best || g.budget_limit().minor_units() > best->budget_limit().minor_units()) best = &g;
    }
    if (best && budget && best->budget_limit().minor_units() < req.amount().minor_units()) {
      resp->set_allowed(false);
      resp->set_denial_reason(absl::StrCat(
          "the highest budget limit ", req.member(), " holds over ", req.department(), " is ",
          best->budget_limit().minor_units(), " ", best->budget_limit().currency_code(), " (",
          best->position(), "), below ", req.amount().minor_units()));
      return absl::OkStatus();
    }
    if (!best) {
      resp->set_allowed(false);
      resp->set_denial_reason(absl::StrCat("no post of ", req.member(), " grants ",
                                           v1::AuthorityType_Name(req.authority()), " over ",
                                           req.department(), " on ", aip::FormatDate(day),
                                           budget && !grants.empty() ? " in that currency" : ""));
      return absl::OkStatus();
    }
    resp->set_allowed(true);
    *resp->mutable_granted_by() = *best;
    return absl::OkStatus();
  });
}

}  // namespace opsteam::org
