// How traits and verdicts are shown, the same way by every report (the audit's, and the CLI's
// predict, table and restore reports): JSON objects and one-line text. Private to audit/ and cli/:
// nlohmann stays out of the public headers.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "kcbackup/model.h"

namespace kcb::report {

// JSON documents keep their keys in insertion order, so "schema" comes first.
using Json = nlohmann::ordered_json;

// {"schema": "kcbackup.<command>.v1", "version": VERSION}: every JSON document starts from this.
Json json_envelope(std::string_view command, std::string_view version);
// Indented by 2, newline-terminated; text that is not UTF-8 (which no reader lets through) would
// be replaced, never thrown.
std::string json_text(const Json& doc);

// {"accessible", "pdmn", "class", "synchronizable", "token", "auth_constraint"}
Json traits_json(const Traits& t);
// {"outcome", "road", "rules", "confidence", "notes", "ios_versions"}: ios_versions maps each of
// the verdict's rules to the iOS versions its sources cover (oracle::Rule::ios_versions).
Json verdict_json(const Verdict& v);
Json rules_json(RuleSet rules);
std::string rules_text(RuleSet rules);  // "R1 R3", "-" for none
// "WhenUnlocked (ak, class 6) genp, synchronizable"
std::string traits_text(const Traits& t);

}  // namespace kcb::report
