// How traits and verdicts are printed, the same way by every command (predict, table, audit,
// restore reports): JSON objects and human text.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "audit/report_json.h"
#include "cli/output.h"
#include "kcbackup/model.h"
#include "kcbackup/oracle.h"
#include "kcbackup/seed_table.h"

namespace kcb::cli {

// traits_json, verdict_json, rules_json, rules_text, traits_text: one implementation, shared with
// the audit's reports (audit/report_json.h).
using report::rules_json;
using report::rules_text;
using report::traits_json;
using report::traits_text;
using report::verdict_json;
// The seed's rows as `table --measured` (oracle only) and `demo` (with the engine) print them.
Table seed_rows_table(const std::vector<harness::SeedRow>& rows);
Json seed_rows_json(const std::vector<harness::SeedRow>& rows);
void print_verdict_text(std::ostream& out, const oracle::Question& q, const Verdict& v);

}  // namespace kcb::cli
