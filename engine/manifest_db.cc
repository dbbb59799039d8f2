// Manifest.db on SQLite's serialize/deserialize interface. The reader's order matters: limits and
// defensive flags before the bytes are attached, the schema compared with the expected text
// before Files is read, each value's type checked before it is used.
#include "engine/manifest_db.h"

// SHA1_Init and friends (see sha1_of_name below).
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>
#include <sqlite3.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <unordered_set>

#include "engine/idle_pool.h"
#include "engine/setup_profile.h"
#include "kcbackup/utf8.h"

namespace kcb {
namespace {

// Apple's schema text, as found in real backups (MVT's iOS 14 test Manifest.db has exactly this).
struct SchemaObject {
  std::string_view type, name, table, sql;  // sql empty: SQLite's own (NULL in sqlite_master)
  bool required;
};
constexpr std::array<SchemaObject, 7> kSchema = {{
    {"table", "Files", "Files",
     "CREATE TABLE Files (fileID TEXT PRIMARY KEY, domain TEXT, relativePath TEXT, flags INTEGER, "
     "file BLOB)",
     true},
    {"index", "sqlite_autoindex_Files_1", "Files", "", true},
    {"index", "FilesDomainIdx", "Files", "CREATE INDEX FilesDomainIdx ON Files(domain)", false},
    {"index", "FilesRelativePathIdx", "Files",
     "CREATE INDEX FilesRelativePathIdx ON Files(relativePath)", false},
    {"index", "FilesFlagsIdx", "Files", "CREATE INDEX FilesFlagsIdx ON Files(flags)", false},
    {"table", "Properties", "Properties",
     "CREATE TABLE Properties (key TEXT PRIMARY KEY, value BLOB)", true},
    {"index", "sqlite_autoindex_Properties_1", "Properties", "", true},
}};
constexpr size_t kMaxSchemaRows = 32;  // far more than kSchema; anything past it is refused

constexpr std::string_view kSqliteMagic{"SQLite format 3\0", 16};

struct DbClose {
  void operator()(sqlite3* db) const { sqlite3_close(db); }
};
using Db = std::unique_ptr<sqlite3, DbClose>;
struct StatementFinalize {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using Statement = std::unique_ptr<sqlite3_stmt, StatementFinalize>;

Status sqlite_status(sqlite3* db, std::string_view what) {
  const int rc = sqlite3_extended_errcode(db);
  // SQLite's message can quote the file (a schema object's name): shown as printable text.
  std::string msg = "Manifest.db: " + std::string(what) + ": " + printable_text(sqlite3_errmsg(db));
  switch (rc & 0xFF) {
    case SQLITE_TOOBIG:
    case SQLITE_NOMEM:
      return Status::ResourceExhausted(std::move(msg));
    case SQLITE_CONSTRAINT:
      return Status::InvalidArgument(std::move(msg));
    default:
      // Anything else on bytes we were handed means they are not the database they claim to be.
      return Status::Corruption(std::move(msg));
  }
}

Db open_memory_db() {
  sqlite3* raw = nullptr;
  const int rc =
      // NOMUTEX: the connection is private to one reader or writer on one thread, so SQLite's
      // per-call connection mutex (a tenth of a Manifest.db scan) guards nothing.
      sqlite3_open_v2(":memory:", &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  Db db(raw);
  KCB_ASSERT(rc == SQLITE_OK);  // only an allocation failure could stop an in-memory open
  return db;
}

Status exec(sqlite3* db, const std::string& sql, std::string_view what) {
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK) return Status::Ok();
  return sqlite_status(db, what);
}

// The pragmas every image is read under. Each is a flag of the connection, not of the database
// loaded into it, and sqlite3_deserialize keeps them: they are set once, when a reader's connection
// is opened (four statements parsed and run per read were 3 % of a Release journey; issue 17),
// and on every read in the baseline set-up. tests/manifest_db_test.cc reads them back on a
// connection's second image.
Status set_reader_pragmas(sqlite3* db) {
  KCB_RETURN_IF_ERROR(exec(db, "PRAGMA cell_size_check=ON", "cell_size_check"));
  KCB_RETURN_IF_ERROR(exec(db, "PRAGMA mmap_size=0", "mmap_size"));
  KCB_RETURN_IF_ERROR(exec(db, "PRAGMA trusted_schema=OFF", "trusted_schema"));
  return exec(db, "PRAGMA query_only=ON", "query_only");
}

// This thread's idle reader connections. Opening one costs about 100 allocations (SQLite registers
// its built-in functions and extensions on every connection: 5 % of a journey's instructions, more
// under ASan; issue 17). Every read sets the limits and flags again and loads its own image; what
// stays is the pragmas above and what the read's set-up would set again. Writers are pooled too
// (below), with their schema.
struct ReaderConnectionsTag;
using ReaderConnections = IdlePool<ReaderConnectionsTag, Db, 2>;

Result<Db> take_reader_connection() {
  if (baseline_setup()) return open_memory_db();
  if (auto idle = ReaderConnections::take()) return std::move(*idle);
  Db db = open_memory_db();
  KCB_RETURN_IF_ERROR(set_reader_pragmas(db.get()));
  return db;
}

// Back to the pool holding no database: the reader's image is the caller's memory, about to be
// wiped and freed. A connection that will not detach (a statement still running) is closed instead.
void release_reader_connection(Db db) {
  if (db == nullptr || baseline_setup() || !ReaderConnections::has_room()) return;
  if (sqlite3_deserialize(db.get(), "main", nullptr, 0, 0, 0) != SQLITE_OK) return;
  ReaderConnections::give(std::move(db));
}

Result<Statement> prepare(sqlite3* db, std::string_view sql, std::string_view what) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &raw, nullptr) !=
      SQLITE_OK) {
    return sqlite_status(db, what);
  }
  return Statement(raw);
}

// ---- writing ----

Status bind_text(sqlite3_stmt* s, int i, std::string_view text) {
  if (!is_valid_utf8(text) || text.find('\0') != std::string_view::npos) {
    return Status::InvalidArgument("Manifest.db: text is not valid UTF-8: " + printable_text(text));
  }
  KCB_ASSERT(sqlite3_bind_text(s, i, text.data(), static_cast<int>(text.size()),
                               SQLITE_TRANSIENT) == SQLITE_OK);
  return Status::Ok();
}

void bind_blob(sqlite3_stmt* s, int i, ByteView b) {
  // A zero-length blob must still be a BLOB, not NULL: sqlite3_bind_blob with a null pointer
  // binds NULL.
  static const uint8_t kNothing = 0;
  KCB_ASSERT(sqlite3_bind_blob64(s, i, b.empty() ? &kNothing : b.data(), b.size(),
                                 SQLITE_TRANSIENT) == SQLITE_OK);
}

constexpr std::string_view kInsertFile =
    "INSERT INTO Files (fileID, domain, relativePath, flags, file) VALUES (?,?,?,?,?)";
constexpr std::string_view kInsertProperty = "INSERT INTO Properties (key, value) VALUES (?,?)";

Status insert_files(sqlite3* db, sqlite3_stmt* s, const std::vector<ManifestFile>& files) {
  for (const ManifestFile& f : files) {
    const std::string id = file_id_of(f.domain, f.relative_path);
    KCB_RETURN_IF_ERROR(bind_text(s, 1, id));
    KCB_RETURN_IF_ERROR(bind_text(s, 2, f.domain));
    KCB_RETURN_IF_ERROR(bind_text(s, 3, f.relative_path));
    sqlite3_bind_int64(s, 4, f.flags);
    bind_blob(s, 5, f.file);
    if (sqlite3_step(s) != SQLITE_DONE) {
      Status st = sqlite_status(db, "file " + printable_text(f.domain) + "-" +
                                        printable_text(f.relative_path) + " (fileID " + id + ")");
      sqlite3_reset(s);  // a reused statement must not stay mid-step (the rollback needs it reset)
      return st;
    }
    sqlite3_reset(s);
  }
  return Status::Ok();
}

Status insert_properties(sqlite3* db, sqlite3_stmt* s,
                         const std::vector<std::pair<std::string, Bytes>>& props) {
  for (const auto& [key, value] : props) {
    KCB_RETURN_IF_ERROR(bind_text(s, 1, key));
    bind_blob(s, 2, value);
    if (sqlite3_step(s) != SQLITE_DONE) {
      Status st = sqlite_status(db, "property " + printable_text(key));
      sqlite3_reset(s);
      return st;
    }
    sqlite3_reset(s);
  }
  return Status::Ok();
}

// ---- reading ----

// The same SQL but for white space and letter case: the schema's text as SQLite stores it may be
// spaced and cased otherwise than kSchema's. Compared in place (it runs for every object of every
// database read), ASCII only: SQL keywords and kSchema's names are ASCII, and a non-ASCII byte
// differs from every byte of kSchema's text either way.
bool same_sql(std::string_view a, std::string_view b) {
  size_t i = 0;
  size_t j = 0;
  for (;;) {
    while (i < a.size() && is_ascii_space(a[i]))
      ++i;
    while (j < b.size() && is_ascii_space(b[j]))
      ++j;
    if (i == a.size() || j == b.size()) return i == a.size() && j == b.size();
    if (ascii_lower(a[i]) != ascii_lower(b[j])) {
      return false;
    }
    ++i;
    ++j;
  }
}

std::string_view column_view(sqlite3_stmt* s, int i) {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s, i));
  return p == nullptr ? std::string_view()
                      : std::string_view(p, static_cast<size_t>(sqlite3_column_bytes(s, i)));
}

std::string_view type_name(int type) {
  switch (type) {
    case SQLITE_INTEGER:
      return "an integer";
    case SQLITE_FLOAT:
      return "a real";
    case SQLITE_TEXT:
      return "text";
    case SQLITE_BLOB:
      return "a blob";
    default:
      return "NULL";
  }
}

// Where a value sits, for error messages only: the text is built when an error needs it, not for
// every row.
struct Where {
  std::string_view table;
  size_t row = 0;
  std::string_view key_name;  // "fileID", "key": empty until the row's key is read
  std::string_view key;
  std::string text() const {
    std::string out = "Manifest.db: " + std::string(table) + " row " + std::to_string(row);
    if (!key_name.empty()) out += " (" + std::string(key_name) + " " + printable_text(key) + ")";
    return out;
  }
};

// SHA-1 of one row's "domain-relativePath", once per row: OpenSSL's low-level SHA1_* calls, which
// OpenSSL 3 marks deprecated but keeps. Through EVP (a context reused, the algorithm fetched once)
// the same hash took 106-204 ns a row against 86-107 ns here: EVP's provider dispatch and context
// reset cost more than hashing a short name (session 11; the listing's target is 2x a bare scan).
FileDigest sha1_of_name(std::string_view domain, std::string_view relative_path) {
  FileDigest out;
  SHA_CTX ctx;
  KCB_ASSERT(SHA1_Init(&ctx) == 1 && SHA1_Update(&ctx, domain.data(), domain.size()) == 1 &&
             SHA1_Update(&ctx, "-", 1) == 1 &&
             SHA1_Update(&ctx, relative_path.data(), relative_path.size()) == 1 &&
             SHA1_Final(out.data(), &ctx) == 1);
  return out;
}

void hex_of(const FileDigest& d, char out[2 * kFileDigestSize]) {
  static constexpr char kDigits[] = "0123456789abcdef";
  for (size_t i = 0; i < d.size(); ++i) {
    out[2 * i] = kDigits[d[i] >> 4];
    out[2 * i + 1] = kDigits[d[i] & 15];
  }
}

class ManifestReader {
 public:
  explicit ManifestReader(const ManifestDbLimits& limits) : limits_(limits) {}
  ~ManifestReader() { release_reader_connection(std::move(db_)); }
  ManifestReader(const ManifestReader&) = delete;
  ManifestReader& operator=(const ManifestReader&) = delete;

  // `image` becomes SQLite's: a caller whose plaintext is done with hands it over, and nothing of
  // the image is copied again.
  Status read(SecretBytes image, const ManifestRowVisitor& visit,
              std::vector<std::pair<std::string, Bytes>>& properties, FileDigestIndex& ids) {
    KCB_RETURN_IF_ERROR(check_header(image.view()));
    image_bytes_ = image.size();
    value_budget_ = 2 * image.size();
    KCB_RETURN_IF_ERROR(open(std::move(image)));
    KCB_RETURN_IF_ERROR(check_schema());
    KCB_RETURN_IF_ERROR(read_files(visit, ids));
    return read_properties(properties);
  }

  // The pragmas SQLite reads `image` under (manifest_reader_pragmas). Not mmap_size: SQLite's
  // in-memory VFS has no value to report for it.
  Result<std::string> pragmas(SecretBytes image) {
    KCB_RETURN_IF_ERROR(check_header(image.view()));
    KCB_RETURN_IF_ERROR(open(std::move(image)));
    std::string out;
    for (std::string_view name : {"cell_size_check", "query_only", "trusted_schema"}) {
      KCB_ASSIGN_OR_RETURN(Statement s, prepare(db_.get(), "PRAGMA " + std::string(name), name));
      if (sqlite3_step(s.get()) != SQLITE_ROW) return sqlite_status(db_.get(), name);
      if (!out.empty()) out += ' ';
      out += std::string(name) + "=" + std::to_string(sqlite3_column_int64(s.get(), 0));
    }
    return out;
  }

 private:
  Status check_header(ByteView bytes) const {
    if (bytes.size() > limits_.max_bytes) {
      return Status::ResourceExhausted("Manifest.db: " + std::to_string(bytes.size()) +
                                       " bytes, over the cap of " +
                                       std::to_string(limits_.max_bytes));
    }
    if (bytes.size() < 100 ||
        std::string_view(reinterpret_cast<const char*>(bytes.data()), 16) != kSqliteMagic) {
      return Status::Corruption(
          "Manifest.db: not an SQLite database (no 'SQLite format 3' header at offset 0)");
    }
    return Status::Ok();
  }

  // Every guard is in place before SQLite sees the bytes (it reads the schema lazily, at the first
  // statement, but the limits also bound that parse).
  Status open(SecretBytes bytes) {
    KCB_ASSIGN_OR_RETURN(db_, take_reader_connection());
    sqlite3* db = db_.get();
    int on = 0;
    for (auto [option, value] : {std::pair{SQLITE_DBCONFIG_DEFENSIVE, 1},
                                 {SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0},
                                 {SQLITE_DBCONFIG_ENABLE_TRIGGER, 0},
                                 {SQLITE_DBCONFIG_ENABLE_VIEW, 0},
                                 {SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0}}) {
      KCB_ASSERT(sqlite3_db_config(db, option, value, &on) == SQLITE_OK && on == value);
    }
    const int value_cap = static_cast<int>(std::min<size_t>(limits_.max_value_bytes, 1 << 30));
    for (auto [limit, value] : {std::pair{SQLITE_LIMIT_LENGTH, value_cap},
                                {SQLITE_LIMIT_SQL_LENGTH, 4096},
                                {SQLITE_LIMIT_COLUMN, 16},
                                {SQLITE_LIMIT_EXPR_DEPTH, 16},
                                {SQLITE_LIMIT_COMPOUND_SELECT, 2},
                                {SQLITE_LIMIT_VDBE_OP, 2000},
                                {SQLITE_LIMIT_FUNCTION_ARG, 4},
                                {SQLITE_LIMIT_ATTACHED, 0},
                                {SQLITE_LIMIT_LIKE_PATTERN_LENGTH, 32},
                                {SQLITE_LIMIT_VARIABLE_NUMBER, 4},
                                {SQLITE_LIMIT_TRIGGER_DEPTH, 1},
                                {SQLITE_LIMIT_WORKER_THREADS, 0}}) {
      sqlite3_limit(db, limit, value);
    }
    // SQLite reads our own copy: a WAL-mode file (header bytes 18 and 19 = 2, as real Manifest.db
    // files are) has to be marked rollback-journal (1) for the in-memory VFS, which cannot open a
    // WAL. The copy is plaintext of an encrypted backup: SecretBytes wipes it after the database
    // is closed (image_ outlives db_), and it never leaves memory.
    image_ = std::move(bytes);
    uint8_t* image = image_.data();
    if (image[18] == 2 && image[19] == 2) image[18] = image[19] = 1;
    const auto size = static_cast<sqlite3_int64>(image_.size());
    if (sqlite3_deserialize(db, "main", image, size, size, SQLITE_DESERIALIZE_READONLY) !=
        SQLITE_OK) {
      return sqlite_status(db, "open");
    }
    return baseline_setup() ? set_reader_pragmas(db) : Status::Ok();
  }

  Status bad_schema(const std::string& what) const {
    return Status::Corruption("Manifest.db: schema: " + what +
                              " (only Files, Properties and their indexes are accepted)");
  }

  // sqlite_master, at most kMaxSchemaRows rows, against kSchema: each object known by type, name,
  // table and text, the required ones present. A view or trigger of any name, a virtual table, a
  // Files with other columns, types or constraints, or an index with an expression is refused.
  Status check_schema() {
    KCB_ASSIGN_OR_RETURN(
        Statement s,
        prepare(db_.get(), "SELECT type, name, tbl_name, sql FROM sqlite_master", "schema"));
    std::array<bool, kSchema.size()> seen{};
    size_t rows = 0;
    for (int rc = sqlite3_step(s.get()); rc != SQLITE_DONE; rc = sqlite3_step(s.get())) {
      if (rc != SQLITE_ROW) return sqlite_status(db_.get(), "schema");
      if (++rows > kMaxSchemaRows) {
        return bad_schema("more than " + std::to_string(kMaxSchemaRows) + " objects");
      }
      // Views into the row (valid until the next step): no copy per object of every database.
      const std::string_view type = column_view(s.get(), 0);
      const std::string_view name = column_view(s.get(), 1);
      const std::string_view table = column_view(s.get(), 2);
      const bool has_sql = sqlite3_column_type(s.get(), 3) != SQLITE_NULL;
      const std::string_view sql = column_view(s.get(), 3);
      const auto known = std::find_if(kSchema.begin(), kSchema.end(),
                                      [&](const SchemaObject& o) { return o.name == name; });
      auto shown = [&] { return printable_text(type) + " " + printable_text(name); };
      if (known == kSchema.end()) return bad_schema("unexpected " + shown());
      if (known->type != type || known->table != table) {
        return bad_schema(shown() + " on " + printable_text(table) + ", expected " +
                          std::string(known->type) + " " + std::string(known->name));
      }
      if (has_sql != !known->sql.empty() || !same_sql(sql, known->sql)) {
        return bad_schema(shown() + " is " + (has_sql ? printable_text(sql) : "SQLite's own") +
                          ", expected " +
                          (known->sql.empty() ? "SQLite's own" : std::string(known->sql)));
      }
      seen[static_cast<size_t>(known - kSchema.begin())] = true;
    }
    for (size_t i = 0; i < kSchema.size(); ++i) {
      if (kSchema[i].required && !seen[i]) {
        return bad_schema("no " + std::string(kSchema[i].type) + " " +
                          std::string(kSchema[i].name));
      }
    }
    return Status::Ok();
  }

  // SQLite stores every text and blob once, verbatim, so an honest image holds at least as many
  // value bytes as it hands out (twice as many allowed: a UTF-16 database's text grows by up to
  // half as UTF-8). Rows whose cells point at one overflow chain would hand out any multiple of
  // the image without SQLite noticing (only integrity_check finds pages used twice, and it reads
  // the whole file): each value is charged against the budget before it is used.
  Status spend(size_t n, std::string_view column, const Where& where) {
    if (n > value_budget_) {
      return Status::Corruption(where.text() + ": " + std::string(column) +
                                ": more text and blob bytes than the image can hold (" +
                                std::to_string(image_bytes_) + " bytes): rows share pages");
    }
    value_budget_ -= n;
    return Status::Ok();
  }

  // A text column's value, checked: type, size, UTF-8. A view into SQLite's row: valid until the
  // next step.
  Result<std::string_view> text(sqlite3_stmt* s, int i, std::string_view column,
                                const Where& where) {
    const int type = sqlite3_column_type(s, i);
    if (type != SQLITE_TEXT) {
      return Status::Corruption(where.text() + ": " + std::string(column) +
                                ": expected text, found " + std::string(type_name(type)));
    }
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s, i));
    const auto n = static_cast<size_t>(sqlite3_column_bytes(s, i));
    KCB_RETURN_IF_ERROR(spend(n, column, where));
    const std::string_view value = p == nullptr ? std::string_view() : std::string_view(p, n);
    if (!is_valid_utf8(value) || value.find('\0') != std::string_view::npos) {
      return Status::Corruption(where.text() + ": " + std::string(column) +
                                ": not valid UTF-8 text: " + printable_text(value));
    }
    return value;
  }

  Result<ByteView> blob(sqlite3_stmt* s, int i, std::string_view column, const Where& where) {
    const int type = sqlite3_column_type(s, i);
    if (type != SQLITE_BLOB) {
      return Status::Corruption(where.text() + ": " + std::string(column) +
                                ": expected a blob, found " + std::string(type_name(type)));
    }
    const auto* p = static_cast<const uint8_t*>(sqlite3_column_blob(s, i));
    const auto n = static_cast<size_t>(sqlite3_column_bytes(s, i));
    KCB_RETURN_IF_ERROR(spend(n, column, where));
    return p == nullptr ? ByteView() : ByteView(p, n);
  }

  // One SHA-1 per row (sha1_of_name), checked against the row's fileID and put in the digest table.
  Status read_files(const ManifestRowVisitor& visit, FileDigestIndex& ids) {
    KCB_ASSIGN_OR_RETURN(
        Statement s,
        prepare(db_.get(), "SELECT fileID, domain, relativePath, flags, file FROM Files", "Files"));
    size_t row = 0;
    for (int rc = sqlite3_step(s.get()); rc != SQLITE_DONE; rc = sqlite3_step(s.get())) {
      if (rc != SQLITE_ROW) {
        return sqlite_status(db_.get(), "Files row " + std::to_string(row + 1));
      }
      if (++row > limits_.max_files) {
        return Status::ResourceExhausted("Manifest.db: Files: more than " +
                                         std::to_string(limits_.max_files) + " rows");
      }
      Where where{"Files", row, "", {}};
      KCB_ASSIGN_OR_RETURN(std::string_view id, text(s.get(), 0, "fileID", where));
      where.key_name = "fileID";
      where.key = id;
      ManifestRowView f;
      f.row = row;
      KCB_ASSIGN_OR_RETURN(f.domain, text(s.get(), 1, "domain", where));
      KCB_ASSIGN_OR_RETURN(f.relative_path, text(s.get(), 2, "relativePath", where));
      const int flags_type = sqlite3_column_type(s.get(), 3);
      if (flags_type != SQLITE_INTEGER) {
        return Status::Corruption(where.text() + ": flags: expected an integer, found " +
                                  std::string(type_name(flags_type)));
      }
      const sqlite3_int64 flags = sqlite3_column_int64(s.get(), 3);
      if (flags != kManifestFile && flags != kManifestDirectory && flags != kManifestSymlink) {
        return Status::Corruption(where.text() + ": flags: " + std::to_string(flags) +
                                  ", expected 1 (file), 2 (directory) or 4 (symlink)");
      }
      f.flags = static_cast<uint32_t>(flags);
      KCB_ASSIGN_OR_RETURN(f.file, blob(s.get(), 4, "file", where));
      const FileDigest digest = sha1_of_name(f.domain, f.relative_path);
      char expected[2 * kFileDigestSize];
      hex_of(digest, expected);
      if (id != std::string_view(expected, sizeof expected)) {
        return Status::Corruption(
            where.text() + ": fileID: not the SHA-1 of domain-relativePath " +
            printable_text(std::string(f.domain) + "-" + std::string(f.relative_path)) + " (" +
            std::string(expected, sizeof expected) + ")");
      }
      if (!ids.insert(digest, row - 1)) {
        return Status::Corruption(where.text() + ": fileID: appears twice");
      }
      f.file_id = id;
      f.digest = digest;
      KCB_RETURN_IF_ERROR(visit(f));
    }
    return Status::Ok();
  }

  Status read_properties(std::vector<std::pair<std::string, Bytes>>& props) {
    KCB_ASSIGN_OR_RETURN(Statement s,
                         prepare(db_.get(), "SELECT key, value FROM Properties", "Properties"));
    std::unordered_set<std::string> keys;
    size_t row = 0;
    for (int rc = sqlite3_step(s.get()); rc != SQLITE_DONE; rc = sqlite3_step(s.get())) {
      if (rc != SQLITE_ROW) {
        return sqlite_status(db_.get(), "Properties row " + std::to_string(row + 1));
      }
      if (++row > limits_.max_properties) {
        return Status::ResourceExhausted("Manifest.db: Properties: more than " +
                                         std::to_string(limits_.max_properties) + " rows");
      }
      Where where{"Properties", row, "", {}};
      KCB_ASSIGN_OR_RETURN(std::string_view key_view, text(s.get(), 0, "key", where));
      std::string key(key_view);
      where.key_name = "key";
      where.key = key_view;
      // The table scan does not consult the key's index, so a file whose table pages were edited
      // can repeat a key the index holds once; the writer (and any reader that looks keys up)
      // would disagree about which one counts.
      if (!keys.insert(key).second) {
        return Status::Corruption(where.text() + ": key: appears twice");
      }
      KCB_ASSIGN_OR_RETURN(ByteView value, blob(s.get(), 1, "value", where));
      props.emplace_back(std::move(key), Bytes(value.begin(), value.end()));
    }
    return Status::Ok();
  }

  ManifestDbLimits limits_;
  size_t image_bytes_ = 0;
  size_t value_budget_ = 0;  // text and blob bytes still allowed (spend)
  SecretBytes image_;        // declared before db_: destroyed after it
  Db db_;
};

}  // namespace

FileDigest file_digest_of(std::string_view domain, std::string_view relative_path) {
  return sha1_of_name(domain, relative_path);
}

std::string file_id_of(std::string_view domain, std::string_view relative_path) {
  char hex[2 * kFileDigestSize];
  hex_of(file_digest_of(domain, relative_path), hex);
  return std::string(hex, sizeof hex);
}

namespace {

std::string schema_sql() {
  std::string schema;
  for (const SchemaObject& o : kSchema) {
    if (!o.sql.empty()) schema += std::string(o.sql) + ";";
  }
  return schema;
}

// A writer: an in-memory database holding the empty schema, and its two INSERT statements.
struct Writer {
  Db db;
  Statement insert_file, insert_property;
};

// Opens one and runs the schema SQL. The baseline set-up (engine/setup_profile.h) does this for
// every Manifest.db and commits the rows, as before issue 17.
Result<std::unique_ptr<Writer>> new_writer() {
  auto w = std::make_unique<Writer>();
  w->db = open_memory_db();
  KCB_RETURN_IF_ERROR(exec(w->db.get(), "BEGIN;" + schema_sql() + "COMMIT;", "schema"));
  KCB_ASSIGN_OR_RETURN(w->insert_file, prepare(w->db.get(), kInsertFile, "insert"));
  KCB_ASSIGN_OR_RETURN(w->insert_property, prepare(w->db.get(), kInsertProperty, "insert"));
  return w;
}

// This thread's idle writers (issue 17: the schema SQL, and SQLite reading it back for the first
// INSERT, were a tenth of a journey's CPU).
struct IdleWritersTag;
using IdleWriters = IdlePool<IdleWritersTag, std::unique_ptr<Writer>, 2>;

// The rows in one transaction and the database as it stands inside it: sqlite3_serialize reads an
// in-memory database's pages through its pager, so it sees the transaction's pages. A ":memory:"
// database never writes the header fields a commit would (the change counter, the
// version-valid-for number, SQLITE_VERSION_NUMBER: they stay 0), so these are the bytes the same
// rows give after COMMIT, which is what the baseline set-up does (tests/device_reuse_test.cc
// compares the two). The transaction is then rolled back, leaving the writer as it was: empty
// schema, statements prepared, schema never read again.
// *reusable: whether that rollback worked (if not, the writer is closed, not kept).
Result<Bytes> write_rows(Writer& w, const ManifestDb& manifest, const ManifestDbSeal& seal,
                         bool* reusable) {
  *reusable = false;
  sqlite3* db = w.db.get();
  KCB_RETURN_IF_ERROR(exec(db, "BEGIN", "begin"));
  Status st = insert_files(db, w.insert_file.get(), manifest.files);
  if (st.ok()) st = insert_properties(db, w.insert_property.get(), manifest.properties);
  if (st.ok() && baseline_setup()) st = exec(db, "COMMIT", "commit");
  Bytes out;
  if (st.ok()) {
    sqlite3_int64 size = 0;
    unsigned char* image = sqlite3_serialize(db, "main", &size, 0);
    if (image != nullptr) {
      Result<Bytes> sealed = seal(ByteView(image, static_cast<size_t>(size)));
      sqlite3_free(image);
      if (sealed.ok()) {
        out = std::move(sealed).value();
      } else {
        st = sealed.status();
      }
    } else {
      st = Status::ResourceExhausted("Manifest.db: out of memory");
    }
  }
  if (sqlite3_get_autocommit(db) == 0) {
    KCB_RETURN_IF_ERROR(exec(db, "ROLLBACK", "rollback"));
    *reusable = true;
  }
  KCB_RETURN_IF_ERROR(st);
  return out;
}

}  // namespace

Result<Bytes> write_manifest_db(const ManifestDb& manifest) {
  return write_manifest_db(manifest, [](ByteView image) -> Result<Bytes> {
    KCB_ASSERT(image.size() >= 100);  // a database has at least its header
    return Bytes(image.begin(), image.end());
  });
}

Result<Bytes> write_manifest_db(const ManifestDb& manifest, const ManifestDbSeal& seal) {
  std::optional<std::unique_ptr<Writer>> idle =
      baseline_setup() ? std::nullopt : IdleWriters::take();
  std::unique_ptr<Writer> w;
  if (idle) {
    w = std::move(*idle);
  } else {
    KCB_ASSIGN_OR_RETURN(w, new_writer());
  }
  bool reusable = false;
  Result<Bytes> out = write_rows(*w, manifest, seal, &reusable);
  if (reusable && !baseline_setup()) IdleWriters::give(std::move(w));
  return out;
}

Result<std::string> manifest_reader_pragmas(ByteView image) {
  return ManifestReader(ManifestDbLimits{}).pragmas(SecretBytes(image));
}

size_t idle_manifest_db_connections() {
  return ReaderConnections::size() + IdleWriters::size();
}

Status scan_manifest_db(ByteView bytes, const ManifestDbLimits& limits,
                        const ManifestRowVisitor& visit,
                        std::vector<std::pair<std::string, Bytes>>* properties,
                        FileDigestIndex* index) {
  return scan_manifest_db(SecretBytes(bytes), limits, visit, properties, index);
}

Status scan_manifest_db(SecretBytes&& image, const ManifestDbLimits& limits,
                        const ManifestRowVisitor& visit,
                        std::vector<std::pair<std::string, Bytes>>* properties,
                        FileDigestIndex* index) {
  std::vector<std::pair<std::string, Bytes>> ignored;
  FileDigestIndex own;
  return ManifestReader(limits).read(std::move(image), visit,
                                     properties != nullptr ? *properties : ignored,
                                     index != nullptr ? *index : own);
}

bool FileDigestIndex::insert(const FileDigest& digest, size_t row) {
  if (2 * (size_ + 1) > slots_.size()) rehash(std::max<size_t>(16, 2 * slots_.size()));
  Slot& slot = slots_[slot_of(digest)];
  if (slot.row_plus_one != 0) return false;
  slot.digest = digest;
  slot.row_plus_one = row + 1;
  ++size_;
  return true;
}

std::optional<size_t> FileDigestIndex::find(const FileDigest& digest) const {
  if (slots_.empty()) return std::nullopt;
  const Slot& slot = slots_[slot_of(digest)];
  if (slot.row_plus_one == 0) return std::nullopt;
  return slot.row_plus_one - 1;
}

void FileDigestIndex::reserve(size_t rows) {
  size_t n = 16;
  while (n < 2 * rows)
    n *= 2;
  if (n > slots_.size()) rehash(n);
}

size_t FileDigestIndex::slot_of(const FileDigest& digest) const {
  uint64_t h = 0;
  std::memcpy(&h, digest.data(), sizeof h);
  const size_t mask = slots_.size() - 1;
  // Linear probing: at most half full, so an empty slot ends every search.
  for (size_t i = static_cast<size_t>(h) & mask;; i = (i + 1) & mask) {
    if (slots_[i].row_plus_one == 0 || slots_[i].digest == digest) return i;
  }
}

void FileDigestIndex::rehash(size_t slot_count) {
  std::vector<Slot> old = std::exchange(slots_, std::vector<Slot>(slot_count));
  for (const Slot& s : old) {
    if (s.row_plus_one != 0) slots_[slot_of(s.digest)] = s;
  }
}

Result<ManifestDb> read_manifest_db(ByteView bytes, const ManifestDbLimits& limits) {
  ManifestDb out;
  KCB_RETURN_IF_ERROR(scan_manifest_db(
      bytes, limits,
      [&](const ManifestRowView& r) {
        out.files.push_back({std::string(r.domain), std::string(r.relative_path), r.flags,
                             Bytes(r.file.begin(), r.file.end())});
        return Status::Ok();
      },
      &out.properties));
  return out;
}

}  // namespace kcb
