#include "kcbackup/seed_table.h"

#include <algorithm>

#include "kcbackup/oracle.h"
#include "kcbackup/seed_experiment.h"

namespace kcb::harness {

std::vector<SeedRow> seed_rows() {
  std::vector<SeedRow> rows;
  for (const oracle::MeasuredRow& m : oracle::measured_table()) {
    // The seed's items: generic passwords, not synchronizable, no token, no constraint.
    auto verdict = oracle::predict({{m.accessible, ItemClass::kGenp}, m.journey, m.target, {}});
    KCB_ASSERT(verdict.ok());  // the measured journeys all have the forms they were asked with
    rows.push_back({m, *verdict, std::nullopt, verdict->outcome == m.measured});
  }
  return rows;
}

Result<std::vector<SeedRow>> seed_rows_with_engine(Random& random) {
  KCB_ASSIGN_OR_RETURN(SeedExperimentResults results, run_seed_experiment(random));
  std::vector<SeedRow> rows = seed_rows();
  for (SeedRow& row : rows) {
    const oracle::MeasuredRow& m = row.measured;
    const auto found = results.find({m.accessible, m.journey, m.target});
    KCB_ASSERT(found != results.end());  // the experiment runs every measured (class, journey)
    row.engine = found->second ? Outcome::kRestored : Outcome::kLost;
    row.agree = row.agree && *row.engine == m.measured;
  }
  return rows;
}

bool all_agree(const std::vector<SeedRow>& rows) {
  return std::all_of(rows.begin(), rows.end(), [](const SeedRow& r) { return r.agree; });
}

}  // namespace kcb::harness
