#include "cli/verdict_format.h"

#include <ostream>

#include "kcbackup/names.h"
#include "kcbackup/rules.h"

namespace kcb::cli {

Table seed_rows_table(const std::vector<harness::SeedRow>& rows) {
  const bool engine = !rows.empty() && rows.front().engine;
  Table table{{"accessible", engine ? "backed up by" : "journey", engine ? "restore on" : "target",
               "measured", "oracle"},
              {}};
  if (engine) table.headers.push_back("engine");
  table.headers.push_back("agree");
  for (const harness::SeedRow& r : rows) {
    const oracle::MeasuredRow& m = r.measured;
    std::vector<std::string> row{std::string(names_of(m.accessible).name),
                                 std::string(name_of(m.journey)), std::string(name_of(m.target)),
                                 std::string(name_of(m.measured)),
                                 std::string(name_of(r.oracle.outcome))};
    if (r.engine) row.emplace_back(name_of(*r.engine));
    row.push_back(engine ? (r.agree ? paint("yes", "32") : paint("NO", "31"))
                         : (r.agree ? "yes" : "NO"));
    table.rows.push_back(std::move(row));
  }
  return table;
}

Json seed_rows_json(const std::vector<harness::SeedRow>& rows) {
  Json out = Json::array();
  for (const harness::SeedRow& r : rows) {
    const oracle::MeasuredRow& m = r.measured;
    Json row = {{"accessible", names_of(m.accessible).name},
                {"journey", name_of(m.journey)},
                {"target", name_of(m.target)},
                {"measured", name_of(m.measured)},
                {"oracle", name_of(r.oracle.outcome)}};
    if (r.engine) {
      row["engine"] = name_of(*r.engine);
      row["agree"] = r.agree;
    } else {
      row["rules"] = rules_json(r.oracle.rules);
      row["source"] = m.source;
    }
    out.push_back(row);
  }
  return out;
}

void print_verdict_text(std::ostream& out, const oracle::Question& q, const Verdict& v) {
  const bool restored = v.outcome == Outcome::kRestored;
  std::string head = std::string(name_of(v.outcome));
  if (restored) head += " via " + std::string(name_of(v.road));
  out << paint(head, restored ? "32" : "31") << "\n";
  out << "  item:       " << traits_text(q.traits) << "\n";
  out << "  journey:    " << name_of(q.journey) << " -> " << name_of(q.target) << "\n";
  out << "  rules:     ";
  for (RuleId id : kAllRules) {
    if (v.rules.has(id)) out << " " << name_of(id) << " (" << oracle::rule(id).title << ")";
  }
  out << "\n  confidence: " << name_of(v.confidence) << "\n";
  if (const std::string ios = oracle::ios_versions_text(v.rules); !ios.empty()) {
    out << "  iOS:        " << ios << "\n";
  }
  if (v.notes.empty()) return;
  out << "  notes:\n";
  for (int i = 0; i < kNoteCount; ++i) {
    const Note n = static_cast<Note>(i);
    if (v.notes.has(n)) out << "    - " << oracle::note_text(n) << "\n";
  }
}

}  // namespace kcb::cli
