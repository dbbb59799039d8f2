// How traits and verdicts are printed, the same way by every command (predict, table, audit,
// restore reports): JSON objects and human text.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "cli/output.h"
#include "kcbackup/model.h"
#include "kcbackup/oracle.h"
#include "kcbackup/seed_table.h"

namespace kcb::cli {

Json traits_json(const Traits& t);
// {"outcome", "road", "rules", "confidence", "notes"}
Json verdict_json(const Verdict& v);
Json rules_json(RuleSet rules);
std::string rules_text(RuleSet rules);  // "R1 R3"
// "WhenUnlocked (ak, class 6) genp, synchronizable"
std::string traits_text(const Traits& t);
// The seed's rows as `table --measured` (oracle only) and `demo` (with the engine) print them.
Table seed_rows_table(const std::vector<harness::SeedRow>& rows);
Json seed_rows_json(const std::vector<harness::SeedRow>& rows);
void print_verdict_text(std::ostream& out, const oracle::Question& q, const Verdict& v);

}  // namespace kcb::cli
