// The rules of docs/rules.md as data: each rule's id, statement, confidence and
// sources; the text of every note a verdict can carry; and the seed's measured table (Apple DTS,
// 2018, iOS 12), which predict() must reproduce row for row.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "kcbackup/model.h"

namespace kcb::oracle {

struct Rule {
  RuleId id;
  std::string_view title;
  std::string_view statement;
  Confidence confidence;  // of the rule as a whole; see predict.cc for per-clause confidence
  std::string_view sources;
  // Which iOS versions those sources cover: what was measured on which version, since when a
  // feature exists, and where a source (Apple's published Security code) has no pinned release.
  // A verdict shows this for each of its rules, so no one reads an iOS 12 measurement as a
  // promise about iOS 17.
  std::string_view ios_versions;
};
std::span<const Rule> rules();
const Rule& rule(RuleId id);

// "R2: measured on iOS 12.0.1 and 12.1.1 (seed); ...; R4: ..." for the rules of a verdict, in
// rule order; "" for none.
std::string ios_versions_text(RuleSet rules);

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
