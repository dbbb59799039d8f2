// The seed's measured table (Apple DTS, 2018, iOS 12) beside the oracle's verdict and, when the
// experiment is run, the engine's outcome: what `kcbackup table --measured` and `kcbackup demo`
// print, compared in one place.
#pragma once

#include <optional>
#include <vector>

#include "kcbackup/model.h"
#include "kcbackup/random.h"
#include "kcbackup/rules.h"
#include "kcbackup/status.h"

namespace kcb::harness {

struct SeedRow {
  oracle::MeasuredRow measured;
  Verdict oracle;
  std::optional<Outcome> engine;  // set when the engine ran the experiment
  bool agree = false;             // the oracle (and the engine, when it ran) say what was measured
};

// The 12 rows with the oracle's verdicts.
std::vector<SeedRow> seed_rows();
// The same, with the engine's outcome of run_seed_experiment(random) in each row.
Result<std::vector<SeedRow>> seed_rows_with_engine(Random& random);
bool all_agree(const std::vector<SeedRow>& rows);

}  // namespace kcb::harness
