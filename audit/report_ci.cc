// SARIF 2.1.0 and JUnit XML (audit/report_ci.h). SARIF: OASIS "Static Analysis Results
// Interchange Format Version 2.1.0" (tests/sarif/ holds its schema, which ctest validates
// against). JUnit: the de-facto schema that junitparser, Jenkins and GitLab read.
#include "audit/report_ci.h"

#include <algorithm>
#include <cctype>

#include "audit/report_json.h"
#include "audit/report_kinds.h"
#include "kcbackup/names.h"
#include "kcbackup/rules.h"
#include "kcbackup/utf8.h"

namespace kcb::report {
namespace {

using oracle::Fate;

std::string item_path(size_t index) {
  return "items[" + std::to_string(index) + "]";
}

// "lost via none, rules R4 (iCloud Backup), confidence documented; iOS: R4: measured on ..."
std::string verdict_detail(const Verdict& v) {
  std::string out =
      std::string(name_of(v.outcome)) + " via " + std::string(name_of(v.road)) + ", rules";
  bool any = false;
  for (RuleId id : kAllRules) {
    if (!v.rules.has(id)) continue;
    out += (any ? ", " : " ") + std::string(name_of(id)) + " (" +
           std::string(oracle::rule(id).title) + ")";
    any = true;
  }
  if (!any) out += " none";
  out += ", confidence " + std::string(name_of(v.confidence));
  const std::string ios = oracle::ios_versions_text(v.rules);
  return ios.empty() ? out : out + "; iOS: " + ios;
}

// ---- SARIF ----

// A path as a URI reference (RFC 3986): unreserved characters and '/' as they are, every other
// byte percent-encoded, so "my items.json" is "my%20items.json".
std::string uri_reference(std::string_view path) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : path) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '/') {
      out += static_cast<char>(c);
    } else {
      out += {'%', kHex[c >> 4], kHex[c & 15]};
    }
  }
  return out;
}

Json sarif_rule(std::string_view id, std::string_view description, std::string_view level,
                std::string_view category) {
  return {{"id", id},
          {"shortDescription", {{"text", description}}},
          {"fullDescription", {{"text", description}}},
          {"defaultConfiguration", {{"level", level}}},
          {"help",
           {{"text", "kcbackup audit: see docs/audit.md, \"" + std::string(category) +
                         "s\", kind '" + std::string(id) + "'"}}},
          {"properties", {{"category", category}}}};
}

struct SarifRules {
  Json list = Json::array();
  std::vector<std::string> ids;
  size_t index_of(std::string_view id) const {
    return static_cast<size_t>(std::find(ids.begin(), ids.end(), id) - ids.begin());
  }
};

SarifRules sarif_rules() {
  SarifRules rules;
  for (ViolationKind kind : all_violation_kinds()) {
    rules.ids.emplace_back(name_of(kind));
    rules.list.push_back(sarif_rule(name_of(kind), description_of(kind), "error", "expectation"));
  }
  for (WarningKind kind : all_warning_kinds()) {
    rules.ids.emplace_back(name_of(kind));
    rules.list.push_back(
        sarif_rule(name_of(kind), description_of(kind), sarif_level(kind), "warning"));
  }
  return rules;
}

Json sarif_location(const ItemReport& r, size_t index, const RenderOptions& o) {
  Json location = Json::object();
  if (!o.source.empty() && o.source != "-") {
    location["physicalLocation"] = {
        {"artifactLocation", {{"uri", uri_reference(o.source)}, {"index", 0}}}};
    if (r.item.line > 0) {
      location["physicalLocation"]["region"] = {{"startLine", r.item.line},
                                                {"startColumn", r.item.column}};
    }
  }
  location["logicalLocations"] = Json::array(
      {{{"name", r.item.name}, {"fullyQualifiedName", item_path(index)}, {"kind", "object"}}});
  return location;
}

Json sarif_result(const SarifRules& rules, std::string_view id, std::string_view level,
                  const std::string& message, Json location, Json properties) {
  return {{"ruleId", id},
          {"ruleIndex", rules.index_of(id)},
          {"level", level},
          {"message", {{"text", message}}},
          {"locations", Json::array({std::move(location)})},
          {"properties", std::move(properties)}};
}

// ---- JUnit ----

// Text for an XML attribute or element: the five specials escaped, control characters (which XML
// 1.0 cannot carry at all) shown as \xNN by printable_text, line breaks kept.
std::string xml_text(std::string_view text) {
  std::string shown;
  for (size_t start = 0; start <= text.size();) {
    const size_t end = std::min(text.find('\n', start), text.size());
    shown += printable_text(text.substr(start, end - start));
    if (end < text.size()) shown += '\n';
    start = end + 1;
  }
  std::string out;
  append_xml_escaped(out, shown, true);
  return out;
}

struct TestCase {
  std::string classname;
  std::string name;
  std::string failure_type;  // empty: passed
  std::string failure_message;
  std::string failure_text;
  std::string output;  // <system-out>
};

std::string failure_text_of(const std::vector<const Violation*>& violations) {
  std::string out;
  for (const Violation* v : violations) {
    out += form_name(v->fate.form) + ": " + verdict_detail(v->fate.verdict) +
           " [rule ids: " + rules_text(v->fate.verdict.rules) + "]\n";
  }
  return out;
}

std::vector<TestCase> item_cases(const ItemReport& r, const RenderOptions& o) {
  std::vector<TestCase> cases;
  for (const Form& form : r.item.survives) {
    TestCase c{r.item.name, "survives " + form_name(form), "", "", "", ""};
    for (const Violation& v : r.violations) {
      if (v.kind != ViolationKind::kSurvives || !(v.fate.form == form)) continue;
      c.failure_type = name_of(v.kind);
      c.failure_message = v.message;
      c.failure_text = failure_text_of({&v});
    }
    cases.push_back(c);
  }
  if (r.item.never_leaves_device) {
    TestCase c{r.item.name, "never-leaves-device", "", "", "", ""};
    std::vector<const Violation*> violated;
    for (const Violation& v : r.violations) {
      if (v.kind == ViolationKind::kNeverLeavesDevice) violated.push_back(&v);
    }
    if (!violated.empty()) {
      c.failure_type = name_of(ViolationKind::kNeverLeavesDevice);
      c.failure_message = violated.front()->message;
      if (violated.size() > 1) {
        c.failure_message += " (and " + std::to_string(violated.size() - 1) + " more forms)";
      }
      c.failure_text = failure_text_of(violated);
    }
    cases.push_back(c);
  }
  if (!r.warnings.empty()) {
    TestCase c{r.item.name, "warnings", "", "", "", ""};
    std::string kinds;
    for (const Warning& w : r.warnings) {
      c.output += std::string(name_of(w.kind)) + ": " + w.message + "\n";
      kinds += (kinds.empty() ? "" : " ") + std::string(name_of(w.kind));
    }
    if (o.fail_on == FailOn::kWarning) {
      c.failure_type = "warning";
      c.failure_message = count_of(r.warnings.size(), "warning") + ": " + kinds;
      c.failure_text = c.output;
    }
    cases.push_back(c);
  }
  return cases;
}

}  // namespace

std::string sarif_report(const AuditReport& report, const RenderOptions& o) {
  const SarifRules rules = sarif_rules();
  Json results = Json::array();
  for (size_t i = 0; i < report.items.size(); ++i) {
    const ItemReport& r = report.items[i];
    for (const Violation& v : r.violations) {
      Json properties = {{"item", r.item.name},
                         {"journey", name_of(v.fate.form.journey)},
                         {"target", name_of(v.fate.form.target)}};
      properties.update(verdict_json(v.fate.verdict));
      results.push_back(sarif_result(rules, name_of(v.kind), "error",
                                     r.item.name + ": " + v.message, sarif_location(r, i, o),
                                     std::move(properties)));
    }
    for (const Warning& w : r.warnings) {
      results.push_back(sarif_result(rules, name_of(w.kind), sarif_level(w.kind),
                                     r.item.name + ": " + w.message, sarif_location(r, i, o),
                                     {{"item", r.item.name}}));
    }
  }
  Json run = {{"tool",
               {{"driver",
                 {{"name", "kcbackup"},
                  {"version", o.version},
                  {"semanticVersion", o.version},
                  {"rules", rules.list}}}}}};
  if (!o.source.empty() && o.source != "-") {
    run["artifacts"] = Json::array({{{"location", {{"uri", uri_reference(o.source)}}}}});
  }
  // The reader counts columns in code points, not SARIF's default UTF-16 code units.
  run["columnKind"] = "unicodeCodePoints";
  run["results"] = std::move(results);
  run["properties"] = {{"icloud_keychain", name_of(report.icloud_keychain)},
                       {"wrapper", o.wrapper ? Json(o.wrapper->name) : Json(nullptr)},
                       {"fail_on", o.fail_on == FailOn::kWarning ? "warning" : "violation"},
                       {"ignored_warning_count", o.ignored_warnings}};
  const Json log = {{"$schema", "https://json.schemastore.org/sarif-2.1.0.json"},
                    {"version", "2.1.0"},
                    {"runs", Json::array({std::move(run)})}};
  return json_text(log);
}

std::string junit_report(const AuditReport& report, const RenderOptions& o) {
  std::vector<TestCase> cases;
  for (const ItemReport& r : report.items) {
    for (TestCase& c : item_cases(r, o))
      cases.push_back(std::move(c));
  }
  const size_t failures = static_cast<size_t>(std::count_if(
      cases.begin(), cases.end(), [](const TestCase& c) { return !c.failure_type.empty(); }));
  const std::string suite = o.source.empty() ? "kcbackup audit" : o.source;
  const std::string counts = " tests=\"" + std::to_string(cases.size()) + "\" failures=\"" +
                             std::to_string(failures) + "\" errors=\"0\"";
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out += "<testsuites name=\"kcbackup audit\"" + counts + ">\n";
  out += "  <testsuite name=\"" + xml_text(suite) + "\"" + counts + " skipped=\"0\">\n";
  out += "    <properties>\n";
  out += "      <property name=\"kcbackup.version\" value=\"" + xml_text(o.version) + "\"/>\n";
  out += "      <property name=\"icloud_keychain\" value=\"" +
         std::string(name_of(report.icloud_keychain)) + "\"/>\n";
  out += "      <property name=\"fail_on\" value=\"" +
         std::string(o.fail_on == FailOn::kWarning ? "warning" : "violation") + "\"/>\n";
  out += "    </properties>\n";
  for (const TestCase& c : cases) {
    out += "    <testcase classname=\"" + xml_text(c.classname) + "\" name=\"" + xml_text(c.name) +
           "\"";
    if (c.failure_type.empty() && c.output.empty()) {
      out += "/>\n";
      continue;
    }
    out += ">\n";
    if (!c.failure_type.empty()) {
      out += "      <failure type=\"" + xml_text(c.failure_type) + "\" message=\"" +
             xml_text(c.failure_message) + "\">" + xml_text(c.failure_text) + "</failure>\n";
    }
    if (!c.output.empty()) out += "      <system-out>" + xml_text(c.output) + "</system-out>\n";
    out += "    </testcase>\n";
  }
  out += "  </testsuite>\n</testsuites>\n";
  return out;
}

}  // namespace kcb::report
