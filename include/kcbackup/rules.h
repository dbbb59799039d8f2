// The rules of docs/rules.md as data: each rule's id, statement, confidence and
// sources; the text of every note a verdict can carry; and the seed's measured table (Apple DTS,
// 2018, iOS 12), which predict() must reproduce row for row.
#pragma once

#include <span>
#include <string_view>

#include "kcbackup/model.h"

namespace kcb::oracle {

struct Rule {
  RuleId id;
  std::string_view title;
  std::string_view statement;
  Confidence confidence;  // of the rule as a whole; see predict.cc for per-clause confidence
  std::string_view sources;
};
std::span<const Rule> rules();
const Rule& rule(RuleId id);

// A note whose text starts "reported:" is a user report that disagrees with the verdict: kept,
// never decisive.
std::string_view note_text(Note note);

struct MeasuredRow {
  Accessibility
      accessible;   // "Normal" = WhenUnlocked, "ThisDeviceOnly" = WhenUnlockedThisDeviceOnly
  Journey journey;  // iTunes = local, iTunes encrypted = local-encrypted, iCloud = icloud-backup
  Target target;
  Outcome measured;
  std::string_view source;
};
// The 12 rows of the seed's table. Items were genp, not synchronizable, no token or constraint.
std::span<const MeasuredRow> measured_table();

}  // namespace kcb::oracle
