// The reports of the kcbackup commands that ask the oracle, the engine or the harness, rendered for
// people (aligned text) and tools (JSON documents with a "kcbackup.<command>.v1" schema), as
// audit_render.h does for the audit. Pure: every function returns text and prints nothing; the
// caller chooses where it goes. Everything shown may come from a hostile file, so text is made
// safe first: JSON gets valid UTF-8 only (text_or_hex), the terminal no control characters
// (printable_text). Secrets appear only when the caller asks (show_secrets).
//
// The commands' reports, by family: this header (predict, table, rules, demo, simulate),
// device_render.h, backup_render.h (backup, restore, migrate and the backup folder commands),
// inspect_render.h.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "kcbackup/lockstep.h"
#include "kcbackup/oracle.h"
#include "kcbackup/seed_table.h"

namespace kcb::render {

enum class Format {
  kText,      // aligned tables for a terminal
  kJson,      // one JSON document, keys in a fixed order, "schema" first
  kMarkdown,  // GitHub markdown tables (where a command offers tables)
  kCsv,       // RFC 4180 tables
};

// How a report is shown: its format, and ANSI colour in text (the caller decides when a terminal
// can show it).
struct Style {
  Format format = Format::kText;
  bool colour = false;
};

// `predict`: the verdict for one question.
std::string predict_report(const oracle::Question& question, const Verdict& verdict, Style style);

// `table`: every journey and target for `traits`, for each accessibility class (only
// traits.accessible when `one_accessible`).
std::string fates_report(const Traits& traits, const DeviceSettings& settings, bool one_accessible,
                         Style style);

// `rules`: every rule with its statement, confidence and sources.
std::string rules_report(Style style);

// `table --measured` (oracle only) and `demo` (beside the engine): the seed's 12 rows.
std::string measured_report(const std::vector<harness::SeedRow>& rows, Style style);
std::string demo_report(const std::vector<harness::SeedRow>& rows, Style style);

// `simulate`: a step as it runs (text), the final keychains (text), or the whole run (JSON).
struct SimulatedStep {
  size_t index = 0;
  harness::StepResult result;
  harness::Holdings holdings;
};
std::string simulate_step_text(size_t index, const harness::StepResult& step, bool colour);
std::string simulate_final_text(const harness::Holdings& holdings, bool agree);
std::string simulate_json(const std::string& scenario, const std::vector<SimulatedStep>& steps,
                          bool agree);

}  // namespace kcb::render
