#include "tools/opsteam/chart_loader.h"

#include <atomic>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/text_format.h"

namespace opsteam::cli {
namespace {

namespace v1 = ::opsteam::org::v1;

uint64_t Fnv1a64(absl::string_view s) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

// The chart's bytes, the same for the same content.
std::string Canonical(const v1::OrgChart& chart) {
  std::string out;
  {
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    chart.SerializeToCodedStream(&coded);
  }
  return out;
}

bool Retryable(const absl::Status& s) {
  return s.code() == absl::StatusCode::kUnavailable || s.code() == absl::StatusCode::kAborted ||
         s.code() == absl::StatusCode::kDeadlineExceeded || s.code() == absl::StatusCode::kResourceExhausted;
}

ActionCounts* CountsFor(LoadSummary* summary, absl::string_view resource) {
  if (absl::StartsWith(resource, "departments/")) return &summary->departments;
  if (absl::StartsWith(resource, "positions/")) return &summary->positions;
  if (absl::StartsWith(resource, "members/")) return &summary->members;
  if (absl::StartsWith(resource, "assignments/")) return &summary->assignments;
  if (absl::StartsWith(resource, "phases/")) return &summary->phases;
  if (absl::StartsWith(resource, "staffingPlans/")) return &summary->staffing_plans;
  if (absl::StartsWith(resource, "projectGroups/")) {
    return absl::StrContains(resource, "/memberships/") ? &summary->memberships : &summary->project_groups;
  }
  return nullptr;
}

// The counts by kind and action, one line per kind that has changes.
void PrintCounts(const LoadSummary& summary, std::ostream& out) {
  const std::pair<const char*, const ActionCounts*> rows[] = {
      {"phases", &summary.phases},
      {"departments", &summary.departments},
      {"positions", &summary.positions},
      {"members", &summary.members},
      {"assignments", &summary.assignments},
      {"staffing plans", &summary.staffing_plans},
      {"project groups", &summary.project_groups},
      {"memberships", &summary.memberships},
  };
  out << absl::StrFormat("  %-15s %7s %7s %7s %7s\n", "", "create", "update", "move", "end");
  for (const auto& [label, c] : rows) {
    if (c->total() == 0) continue;
    out << absl::StrFormat("  %-15s %7d %7d %7d %7d\n", label, c->create, c->update, c->move, c->end);
  }
}

class ParseErrors : public google::protobuf::io::ErrorCollector {
 public:
  explicit ParseErrors(std::string path) : path_(std::move(path)) {}
  void AddError(int line, google::protobuf::io::ColumnNumber column, const std::string& message) override {
    if (!text_.empty()) text_ += "; ";
    absl::StrAppend(&text_, path_, ":", line + 1, ":", column + 1, ": ", message);
  }
  const std::string& text() const { return text_; }

 private:
  std::string path_;
  std::string text_;
};

// ReadChart + ApplyChart + the printed outcome; `list` prints every change.
int Run(Client& client, absl::string_view command, const std::string& path, bool dry_run, bool list,
        std::ostream& out) {
  auto chart = ReadChart(path);
  if (!chart.ok()) {
    PrintError(command, chart.status());
    return 1;
  }
  LoadSummary summary;
  if (absl::Status s = ApplyChart(client, *chart, dry_run, &summary); !s.ok()) {
    PrintError(absl::StrCat(command, " ", path), s);
    return 1;
  }
  out << (dry_run ? "planned " : summary.applied ? "applied " : "checked ")
      << (chart->title().empty() ? "chart" : chart->title()) << " from " << path;
  if (!chart->effective_date().empty()) out << " (effective " << chart->effective_date() << ")";
  out << ": " << summary.changes.size() << " changes" << (dry_run ? " (dry run, nothing written)" : "") << "\n";
  if (list) {
    for (const auto& c : summary.changes) out << "  " << c.description() << "\n";
  }
  if (summary.changes.empty()) {
    out << "  nothing to do: the organisation already matches the chart\n";
  } else {
    PrintCounts(summary, out);
  }
  return 0;
}

}  // namespace

std::string ChartRequestId(const v1::OrgChart& chart) {
  static std::atomic<uint64_t> sequence{0};
  const uint64_t unique = Fnv1a64(absl::StrCat(absl::ToUnixNanos(absl::Now()), "/", sequence.fetch_add(1)));
  return absl::StrCat("chart-", absl::Hex(Fnv1a64(Canonical(chart)), absl::kZeroPad16), "-",
                      absl::Hex(unique, absl::kZeroPad16));
}

absl::StatusOr<v1::OrgChart> ReadChart(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  std::stringstream text;
  text << in.rdbuf();
  v1::OrgChart chart;
  google::protobuf::TextFormat::Parser parser;
  ParseErrors errors(path);
  parser.RecordErrorsTo(&errors);
  if (!parser.ParseFromString(text.str(), &chart)) {
    return absl::InvalidArgumentError(errors.text().empty() ? absl::StrCat(path, ": not a text-format OrgChart")
                                                            : errors.text());
  }
  return chart;
}

absl::Status ApplyChart(Client& client, const v1::OrgChart& chart, bool dry_run, LoadSummary* summary) {
  v1::ApplyOrgChartRequest req;
  *req.mutable_chart() = chart;
  req.set_dry_run(dry_run);
  // A dry run writes nothing: it needs no request_id to be repeated safely.
  if (!dry_run) req.set_request_id(ChartRequestId(chart));
  v1::ApplyOrgChartResponse resp;
  absl::Duration backoff = absl::Milliseconds(200);
  for (int attempt = 1;; ++attempt) {
    absl::Status s = client.Run(
        [&](grpc::ClientContext* ctx) { return client.org().ApplyOrgChart(ctx, req, &resp); });
    if (s.ok()) break;
    if (attempt == 3 || !Retryable(s)) return s;
    absl::SleepFor(backoff);
    backoff *= 2;
  }
  *summary = LoadSummary();
  summary->applied = resp.applied();
  for (const auto& c : resp.changes()) {
    summary->changes.push_back(c);
    ActionCounts* counts = CountsFor(summary, c.resource());
    if (!counts) continue;
    switch (c.action()) {
      case v1::CHART_ACTION_CREATE:
        ++counts->create;
        break;
      case v1::CHART_ACTION_UPDATE:
        ++counts->update;
        break;
      case v1::CHART_ACTION_MOVE:
        ++counts->move;
        break;
      case v1::CHART_ACTION_END:
        ++counts->end;
        break;
      default:
        break;
    }
  }
  return absl::OkStatus();
}

absl::Status LoadChart(Client& client, const v1::OrgChart& chart, LoadSummary* summary) {
  return ApplyChart(client, chart, false, summary);
}

int Load(Client& client, const std::string& path, std::ostream& out) {
  return Run(client, "load", path, false, false, out);
}

int Apply(Client& client, const std::string& path, bool dry_run, std::ostream& out) {
  return Run(client, "apply", path, dry_run, true, out);
}

}  // namespace opsteam::cli
