#include "audit/report_table.h"

#include <algorithm>

namespace kcb::report {
namespace {

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string markdown_cell(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '|') out += '\\';
    out += c == '\n' ? ' ' : c;
  }
  return out;
}

void append_row(std::string& out, const std::vector<std::string>& row, TableStyle style,
                const std::vector<size_t>& widths) {
  for (size_t i = 0; i < row.size(); ++i) {
    switch (style) {
      case TableStyle::kCsv:
        out += (i ? "," : "") + csv_field(row[i]);
        break;
      case TableStyle::kMarkdown:
        out += "| " + markdown_cell(row[i]) + " ";
        break;
      case TableStyle::kText:
        out += row[i];
        if (i + 1 < row.size() && i < widths.size()) {
          out += std::string(widths[i] - std::min(widths[i], text_width(row[i])) + 2, ' ');
        }
        break;
    }
  }
  out += style == TableStyle::kMarkdown ? "|\n" : "\n";
}

}  // namespace

size_t text_width(const std::string& text) {
  // Continuation bytes (10xxxxxx) belong to the character before them.
  return static_cast<size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

std::string table_text(const Table& table, TableStyle style) {
  std::vector<size_t> widths(table.headers.size());
  for (size_t i = 0; i < widths.size(); ++i)
    widths[i] = text_width(table.headers[i]);
  for (const auto& row : table.rows) {
    for (size_t i = 0; i < row.size() && i < widths.size(); ++i) {
      widths[i] = std::max(widths[i], text_width(row[i]));
    }
  }
  std::string out;
  append_row(out, table.headers, style, widths);
  if (style == TableStyle::kMarkdown) {
    for (size_t i = 0; i < widths.size(); ++i)
      out += "|---";
    out += "|\n";
  }
  for (const auto& row : table.rows)
    append_row(out, row, style, widths);
  return out;
}

}  // namespace kcb::report
