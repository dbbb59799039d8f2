// The reports of predict, table, rules, demo and simulate.
#include "kcbackup/render.h"

#include "kcbackup/backup.h"
#include "kcbackup/names.h"
#include "kcbackup/rules.h"
#include "render/render_util.h"

namespace kcb::render {
namespace {

std::string verdict_text(const oracle::Question& q, const Verdict& v, bool colour) {
  const bool restored = v.outcome == Outcome::kRestored;
  std::string head = std::string(name_of(v.outcome));
  if (restored) head += " via " + std::string(name_of(v.road));
  std::string out = paint(head, restored ? "32" : "31", colour) + "\n";
  out += "  item:       " + report::traits_text(q.traits) + "\n";
  out += "  journey:    " + std::string(name_of(q.journey)) + " -> " +
         std::string(name_of(q.target)) + "\n";
  out += "  rules:     ";
  for (RuleId id : kAllRules) {
    if (v.rules.has(id)) {
      out += " " + std::string(name_of(id)) + " (" + std::string(oracle::rule(id).title) + ")";
    }
  }
  out += "\n  confidence: " + std::string(name_of(v.confidence)) + "\n";
  if (const std::string ios = oracle::ios_versions_text(v.rules); !ios.empty()) {
    out += "  iOS:        " + ios + "\n";
  }
  if (v.notes.empty()) return out;
  out += "  notes:\n";
  for (int i = 0; i < kNoteCount; ++i) {
    const Note n = static_cast<Note>(i);
    if (v.notes.has(n)) out += "    - " + std::string(oracle::note_text(n)) + "\n";
  }
  return out;
}

Table seed_rows_table(const std::vector<harness::SeedRow>& rows, bool colour) {
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
    row.push_back(engine ? (r.agree ? paint("yes", "32", colour) : paint("NO", "31", colour))
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
      row["rules"] = report::rules_json(r.oracle.rules);
      row["source"] = m.source;
    }
    out.push_back(row);
  }
  return out;
}

std::vector<std::string> described(const std::vector<harness::Mismatch>& mismatches) {
  std::vector<std::string> out;
  for (const harness::Mismatch& m : mismatches)
    out.push_back(harness::describe(m));
  return out;
}

Json holdings_json(const harness::Holdings& holdings) {
  Json out = Json::object();
  for (const auto& [device, accounts] : holdings)
    out[device] = accounts;
  return out;
}

// Which iOS versions the sources of the table's rules cover: one line per rule, after the table
// (markdown and CSV stay one table; JSON has ios_versions per row).
std::string ios_footer(RuleSet used) {
  std::string out = "\niOS versions the sources cover:\n";
  for (RuleId id : kAllRules) {
    if (used.has(id)) {
      out += "  " + std::string(name_of(id)) + ": " + std::string(oracle::rule(id).ios_versions) +
             "\n";
    }
  }
  return out;
}

}  // namespace

std::string predict_report(const oracle::Question& q, const Verdict& verdict, Style style) {
  if (style.format != Format::kJson) return verdict_text(q, verdict, style.colour);
  Json doc = envelope("predict");
  doc["item"] = report::traits_json(q.traits);
  doc["journey"] = name_of(q.journey);
  doc["target"] = name_of(q.target);
  doc.update(report::verdict_json(verdict));
  return document(doc);
}

std::string fates_report(const Traits& traits, const DeviceSettings& settings, bool one_accessible,
                         Style style) {
  Table table{{"accessible", "journey", "target", "outcome", "road", "rules", "confidence"}, {}};
  Json rows = Json::array();
  RuleSet used;
  for (Accessibility a : kAllAccessibilities) {
    if (one_accessible && a != traits.accessible) continue;
    Traits row_traits = traits;
    row_traits.accessible = a;
    for (const oracle::Fate& f : oracle::fates(row_traits, settings)) {
      const Verdict& v = f.verdict;
      for (RuleId id : kAllRules)
        if (v.rules.has(id)) used.add(id);
      table.rows.push_back({std::string(names_of(a).name), std::string(name_of(f.form.journey)),
                            std::string(name_of(f.form.target)), std::string(name_of(v.outcome)),
                            std::string(name_of(v.road)), report::rules_text(v.rules),
                            std::string(name_of(v.confidence))});
      Json row = {{"accessible", names_of(a).name},
                  {"journey", name_of(f.form.journey)},
                  {"target", name_of(f.form.target)}};
      row.update(report::verdict_json(v));
      rows.push_back(row);
    }
  }
  if (style.format == Format::kText) return table_text(table, style.format) + ios_footer(used);
  if (style.format != Format::kJson) return table_text(table, style.format);
  Json doc = envelope("table");
  Json item = report::traits_json(traits);
  if (!one_accessible) {
    item.erase("accessible");
    item.erase("pdmn");
  }
  doc["item"] = item;
  doc["rows"] = rows;
  return document(doc);
}

std::string rules_report(Style style) {
  if (style.format != Format::kJson) {
    std::string out;
    for (const auto& r : oracle::rules()) {
      out += paint(std::string(name_of(r.id)) + " " + std::string(r.title), "1", style.colour) +
             "  (" + std::string(name_of(r.confidence)) + ")\n  " + std::string(r.statement) +
             "\n  Sources: " + std::string(r.sources) + "\n  iOS: " + std::string(r.ios_versions) +
             "\n\n";
    }
    return out;
  }
  Json doc = envelope("rules");
  Json list = Json::array();
  for (const auto& r : oracle::rules()) {
    list.push_back({{"id", name_of(r.id)},
                    {"title", r.title},
                    {"statement", r.statement},
                    {"confidence", name_of(r.confidence)},
                    {"sources", r.sources},
                    {"ios_versions", r.ios_versions}});
  }
  doc["rules"] = list;
  return document(doc);
}

std::string measured_report(const std::vector<harness::SeedRow>& rows, Style style) {
  if (style.format == Format::kJson) {
    Json doc = envelope("table.measured");
    doc["rows"] = seed_rows_json(rows);
    doc["agree"] = harness::all_agree(rows);
    return document(doc);
  }
  std::string out = table_text(seed_rows_table(rows, style.colour), style.format);
  if (style.format == Format::kText)
    out += "\nSource: " + std::string(rows[0].measured.source) + "\n";
  return out;
}

std::string demo_report(const std::vector<harness::SeedRow>& rows, Style style) {
  const bool agree = harness::all_agree(rows);
  if (style.format == Format::kJson) {
    Json doc = envelope("demo");
    doc["rows"] = seed_rows_json(rows);
    doc["agree"] = agree;
    doc["kdf"] = {{"iterations", kFastKdf.iterations}, {"dp_iterations", kFastKdf.dp_iterations}};
    return document(doc);
  }
  return "The seed's experiment (Apple DTS, iOS 12), replayed in the simulator: a phone saves a "
         "WhenUnlocked\nand a WhenUnlockedThisDeviceOnly item, is backed up three ways, and each "
         "backup is restored\nonto a different phone and onto the same phone after an erase.\n\n" +
         table_text(seed_rows_table(rows, style.colour), style.format) +
         "\nengine: simulated phones with their own hardware UID, real AES key wrap, AES-GCM and "
         "PBKDF2.\nThe backup password's KDF runs with ITER " +
         std::to_string(kFastKdf.iterations) + " and DPIC " +
         std::to_string(kFastKdf.dp_iterations) +
         " so the demo takes a moment; real backups use\n10,000 and 10,000,000 (kcbackup backup "
         "does too, unless given --fast-kdf).\n" +
         (agree ? "All 12 rows agree: measured = oracle = engine.\n"
                : "DISAGREEMENT: see the rows marked NO.\n");
}

std::string simulate_step_text(size_t index, const harness::StepResult& step, bool colour) {
  const bool ok = step.mismatches.empty();
  std::string out = (ok ? paint("ok  ", "32", colour) : paint("NO  ", "31", colour)) +
                    std::to_string(index) + ". " + display_text(step.line) + "\n";
  for (const std::string& d : described(step.mismatches))
    out += "      " + display_text(d) + "\n";
  return out;
}

std::string simulate_final_text(const harness::Holdings& holdings, bool agree) {
  std::string out = "\nFinal keychains (oracle = engine" +
                    std::string(agree ? "" : " except where marked NO") + "):\n";
  for (const auto& [device, accounts] : holdings) {
    out += "  " + display_text(device) + ": " + (accounts.empty() ? "(empty)" : "");
    for (size_t k = 0; k < accounts.size(); ++k)
      out += (k ? ", " : "") + display_text(accounts[k]);
    out += "\n";
  }
  return out;
}

std::string simulate_json(const std::string& scenario, const std::vector<SimulatedStep>& steps,
                          bool agree) {
  Json doc = envelope("simulate");
  doc["scenario"] = json_text(as_bytes(scenario));
  doc["steps"] = Json::array();
  for (const SimulatedStep& s : steps) {
    doc["steps"].push_back({{"index", s.index},
                            {"step", s.result.line},
                            {"agree", s.result.mismatches.empty()},
                            {"disagreements", described(s.result.mismatches)},
                            {"devices", holdings_json(s.holdings)}});
  }
  doc["agree"] = agree;
  return document(doc);
}

}  // namespace kcb::render
