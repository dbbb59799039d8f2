// The tables of the audit reports: aligned text, GitHub markdown or RFC 4180 CSV. Private to
// audit/ and cli/ (the commands print their tables with it too).
#pragma once

#include <string>
#include <vector>

namespace kcb::report {

enum class TableStyle { kText, kMarkdown, kCsv };

struct Table {
  std::vector<std::string> headers;
  std::vector<std::vector<std::string>> rows;
};

// Text columns are aligned by characters, not bytes, so a name in UTF-8 ("café", "🔑") does not
// push the columns after it out of line. Markdown escapes '|' and turns newlines into spaces; CSV
// quotes a field holding ',', '"', CR or LF.
std::string table_text(const Table& table, TableStyle style);

// The number of characters (code points) of UTF-8 text; a byte that is not UTF-8 counts as one.
size_t text_width(const std::string& text);

}  // namespace kcb::report
