// Reading backups from disk (issue #15): is every step linear in the size of keychain-backup.plist?
// All timed in thread CPU time, ours and its peer interleaved iteration by iteration.
//   restore_from_disk/N: restore_backup of an N-item local-encrypted backup folder on disk (real
//       layout: Manifest.plist, Status.plist, encrypted Manifest.db and keychain blob) into a fresh
//       device folder on disk (created untimed; kFastKdf). Floor: the folder's four files read from
//       disk through the Env, the two encrypted ones decrypted (AES-256-CBC), the per-item crypto
//       of the restore floor and a prepared INSERT of each row (keychain_fixture.h). Target:
//       <= 2.5x, per-item spread <= 1.3x from 1k to 1M.
//   junk_items/N: an unencrypted folder whose keychain's genp array holds N one-item dictionaries
//   with a 1-byte v_Data
//       (valid structure, nothing decrypts: each entry is parsed, tried and reported lost), read
//       from disk and restored. Peer: the reader as it was before (plist_array_get_item(array, i)
//       for i < N over the same parsed file), run up to N = 50,000 only: it is quadratic. Also
//       timed: the same folder with an empty genp array (the restore's fixed cost), so that
//       marginal_us_per_entry = (ours - fixed) / N is what an entry costs.
//   folder_open/N: OpenedBackup::open of a local-encrypted folder on disk holding N app files (a
//       few bytes each) and a 10-item keychain, after unlock (the password key derived once,
//       untimed, as `unlock --key-out` / `--key-file` do; the class keys are still unwrapped in
//       every open), every file listed (fileID, domain, path, flags),
//       then the keychain opened, each MBFile record decoded
//       only when its file is read (decode_records = false). folder_open_records/N: the same with
//       every record decoded and checked by the open (the default; what inspect and restore do).
//       Floor of both: Manifest.db read from disk, one AES-256-CBC
//       pass over it, deserialized into SQLite and every Files row stepped with its five columns
//       read. Target (performance.md, "reading a real backup folder"): <= 2x the floor, linear in
//       N.
//   junk_keys/N: a keychain-backup.plist with N unknown top-level keys, read (warnings bounded).
// Counters: ours_us_per_entry (and floor/peer beside it), ratio; the same of the best iteration
// (best_ratio; junk_items: marginal_best_us_per_entry), the figure flatness is judged on.
#include <benchmark/benchmark.h>
#include <spawn.h>
#include <sqlite3.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>
#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>

#include "bench/keychain_fixture.h"
#include "engine/binary_plist_writer.h"
#include "engine/crypto.h"
#include "engine/file_crypto.h"
#include "engine/keybag.h"
#include "engine/manifest_db.h"
#include "input/property_list.h"
#include "kcbackup/backup_folder.h"
#include "kcbackup/env.h"
#include "kcbackup/names.h"

namespace kcb::bench {
namespace {

namespace fs = std::filesystem;

double seconds_since(double start) {
  return thread_cpu_seconds() - start;
}

std::string keychain_blob_name() {
  const std::string id = file_id_of(kKeychainDomain, kKeychainRelativePath);
  return id.substr(0, 2) + "/" + id;
}

fs::path scratch(const std::string& name) {
  return fs::temp_directory_path() / ("kcb-archive-bench-" + std::to_string(getpid())) / name;
}

// ---- restore from disk ----

struct DiskCorpus {
  size_t n = 0;
  std::unique_ptr<Random> random;
  fs::path bundle_dir;  // the backup folder
  FloorCopy floor;      // the floor's copy of the same items (keychain_fixture.h)
};

std::unique_ptr<DiskCorpus>& current_disk_corpus() {
  static std::unique_ptr<DiskCorpus> corpus;
  return corpus;
}

DiskCorpus& disk_corpus_for(size_t n) {
  std::unique_ptr<DiskCorpus>& c = current_disk_corpus();
  if (c && c->n == n) return *c;
  if (c) fs::remove_all(c->bundle_dir);
  c.reset();
  c = std::make_unique<DiskCorpus>();
  c->n = n;
  c->random = make_seeded_random(kSeed + n);
  c->bundle_dir = scratch("bundle-" + std::to_string(n));
  fs::remove_all(c->bundle_dir);
  fs::create_directories(c->bundle_dir.parent_path());
  {
    std::unique_ptr<Device> source = make_populated_device(n, *c->random);
    const BackupFolder folder =
        take(make_backup(*source, bench_backup_options(), *c->random), "make_backup");
    check(write_backup_folder(default_env(), c->bundle_dir, folder), "write_backup_folder");
    c->floor = make_floor_copy(*source, *c->random);
  }
  return *c;
}

double run_disk_floor(const DiskCorpus& c, GcmFloor& floor) {
  SqliteFloor db;
  const double start = thread_cpu_seconds();
  size_t read = 0;
  static const uint8_t key[kFileKeySize] = {7};
  for (const std::string& file : {std::string(kManifestPlistName), std::string(kStatusPlistName),
                                  std::string(kManifestDbName), keychain_blob_name()}) {
    const Bytes bytes = take(default_env().read_file(c.bundle_dir / file, kMaxPlistBytes), "read");
    // The two encrypted files cost one CBC pass each (the padding check is in the noise).
    if (file == kManifestDbName || file == keychain_blob_name()) {
      static const std::array<uint8_t, 16> zero_iv{};
      read +=
          take(aes256_cbc_decrypt_blocks(ByteView(key, sizeof key), zero_iv, bytes), "cbc").size();
    }
    read += bytes.size();
  }
  benchmark::DoNotOptimize(read);
  restore_floor_copy(c.floor, floor, db);
  return seconds_since(start);
}

std::unique_ptr<Device> fresh_device_folder(const fs::path& dir, Random& random) {
  fs::remove_all(dir);
  DeviceConfig config;
  config.uid = bench_uid();
  return take(Device::create_at(default_env(), dir, config, random), "create_at");
}

// Thread CPU seconds of each iteration, kept so that the best one can be reported beside the
// mean: on a shared machine an iteration is slowed by whatever else runs, never sped up, so the
// minimum of a few is the figure least disturbed by the load (and the one compared across sizes).
struct Samples {
  double sum = 0;
  double best = 0;
  size_t count = 0;
  void add(double t) {
    best = count == 0 ? t : std::min(best, t);
    sum += t;
    ++count;
  }
};

// Counters: ours_us_per_entry (mean) and ours_best_us_per_entry (best iteration); with a peer,
// <peer>_us_per_entry, <peer>_best_us_per_entry, ratio (of the means) and best_ratio (of the best).
void report(benchmark::State& state, size_t n, const Samples& ours, const Samples& other,
            const char* other_name) {
  const double per_entry = 1e6 / static_cast<double>(n);
  state.counters["ours_us_per_entry"] = ours.sum / static_cast<double>(ours.count) * per_entry;
  state.counters["ours_best_us_per_entry"] = ours.best * per_entry;
  state.counters["entries"] = static_cast<double>(n);
  if (other.count > 0 && other.sum > 0) {
    const std::string name(other_name);
    state.counters[name + "_us_per_entry"] =
        other.sum / static_cast<double>(other.count) * per_entry;
    state.counters[name + "_best_us_per_entry"] = other.best * per_entry;
    state.counters["ratio"] =
        ours.sum / other.sum * static_cast<double>(other.count) / static_cast<double>(ours.count);
    state.counters["best_ratio"] = ours.best / other.best;
  }
}

// fixed_us: the empty folder's restore; marginal_us_per_entry (mean) and
// marginal_best_us_per_entry (best iteration minus best empty one): what each entry adds.
void report_marginal(benchmark::State& state, size_t n, const Samples& ours, const Samples& empty) {
  const double iters = static_cast<double>(ours.count);
  state.counters["fixed_us"] = empty.sum / iters * 1e6;
  state.counters["marginal_us_per_entry"] =
      (ours.sum - empty.sum) / iters / static_cast<double>(n) * 1e6;
  state.counters["marginal_best_us_per_entry"] =
      (ours.best - empty.best) / static_cast<double>(n) * 1e6;
}

void BM_restore_from_disk(benchmark::State& state, size_t n) {
  DiskCorpus& c = disk_corpus_for(n);
  GcmFloor floor;
  const fs::path target_dir = scratch("target");
  Samples ours, floor_s;
  for (auto _ : state) {
    std::unique_ptr<Device> target = fresh_device_folder(target_dir, *c.random);
    const double start = thread_cpu_seconds();
    const DiskFolder folder(default_env(), c.bundle_dir);
    RestoreReport r =
        take(restore_backup(folder, *target, {kPassword, {}, {}}, *c.random), "restore");
    const double t = seconds_since(start);
    state.SetIterationTime(t);
    ours.add(t);
    if (r.restored_count() != n) check(Status::DataLoss("items lost"), "restore");
    target.reset();
    floor_s.add(run_disk_floor(c, floor));
  }
  fs::remove_all(target_dir);
  report(state, n, ours, floor_s, "floor");
}

// ---- hostile sizes ----

// A real (empty) unencrypted backup folder of the bench device, so the keybag unlocks and the
// keychain file lies on disk as it is: the old reader's peer reads the same bytes.
const BackupFolder& real_folder() {
  static const BackupFolder folder = [] {
    auto random = make_seeded_random(kSeed);
    std::unique_ptr<Device> d = make_device(*random);
    return take(make_backup(*d, {Journey::kLocal, "", kFastKdf}, *random), "backup");
  }();
  return folder;
}

Bytes junk_items_archive(size_t n) {
  BinaryPlistWriter w;
  using Ref = BinaryPlistWriter::Ref;
  static const uint8_t one_byte[] = {0x42};
  const Ref v_data = w.string("v_Data");
  std::vector<Ref> entries;
  entries.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    const std::pair<Ref, Ref> fields[] = {{v_data, w.data(ByteView(one_byte, 1))}};
    entries.push_back(w.dict(fields));
  }
  const std::pair<Ref, Ref> root[] = {{w.string("genp"), w.array(entries)}};
  return w.finish(w.dict(root));
}

Bytes junk_keys_archive(size_t n) {
  BinaryPlistWriter w;
  using Ref = BinaryPlistWriter::Ref;
  const Ref value = w.boolean(true);
  std::vector<std::pair<Ref, Ref>> root;
  root.reserve(n);
  for (size_t i = 0; i < n; ++i)
    root.emplace_back(w.string("junk-" + std::to_string(i)), value);
  return w.finish(w.dict(root));
}

// The reader's loop as it was before (read_class_array, until this change): index i walks the
// list from its start. Only the walk and the field look-ups, over an already parsed file.
size_t old_indexed_read(plist_t root) {
  plist_t array = plist_dict_get_item(root, "genp");
  size_t bytes = 0;
  const uint32_t n = plist_array_get_size(array);
  for (uint32_t i = 0; i < n; ++i) {
    plist_t entry = plist_array_get_item(array, i);
    uint64_t len = 0;
    plist_get_data_ptr(plist_dict_get_item(entry, "v_Data"), &len);
    bytes += len;
  }
  return bytes;
}

constexpr size_t kMaxOldPath = 50'000;

// Writes an unencrypted folder whose keychain holds n junk entries; returns where.
fs::path write_junk_folder(size_t n) {
  const fs::path dir = scratch("junk-" + std::to_string(n));
  fs::remove_all(dir);
  fs::create_directories(dir.parent_path());
  const BackupFolder folder =
      take(with_keychain_file(real_folder(), junk_items_archive(n), {}), "junk folder");
  check(write_backup_folder(default_env(), dir, folder), "write_backup_folder");
  return dir;
}

// CPU seconds of one restore of the folder at dir onto a fresh device folder (created untimed);
// every entry must come back lost.
double junk_restore_seconds(const fs::path& dir, size_t n, Random& random) {
  std::unique_ptr<Device> target = fresh_device_folder(scratch("junk-target"), random);
  const double start = thread_cpu_seconds();
  const DiskFolder disk(default_env(), dir);
  RestoreReport r = take(restore_backup(disk, *target, {kPassword, {}, {}}, random), "restore");
  const double t = seconds_since(start);
  if (r.items.size() != n || r.restored_count() != 0)
    check(Status::DataLoss("unexpected fates"), "junk");
  return t;
}

// Besides ours per entry: `marginal_us_per_entry`, what each entry adds over restoring the same
// folder with an empty genp array (timed in the same iterations). A restore has a fixed cost
// (keybag, Manifest.db, the device's transaction) that dominates at small N; flatness is a
// question about the per-entry part.
void BM_junk_items(benchmark::State& state, size_t n) {
  const fs::path dir = write_junk_folder(n);
  const fs::path empty_dir = write_junk_folder(0);
  auto random = make_seeded_random(kSeed);
  Samples ours, empty, old;
  for (auto _ : state) {
    const double t = junk_restore_seconds(dir, n, *random);
    state.SetIterationTime(t);
    ours.add(t);
    empty.add(junk_restore_seconds(empty_dir, 0, *random));
    if (n <= kMaxOldPath) {
      // The old path's whole read: the file from disk, parsed, walked by index.
      const double start = thread_cpu_seconds();
      const Bytes bytes =
          take(default_env().read_file(dir / keychain_blob_name(), kMaxPlistBytes), "r");
      PlistPtr root = take(parse_plist(bytes, "old"), "parse");
      benchmark::DoNotOptimize(old_indexed_read(root.get()));
      old.add(seconds_since(start));
    }
  }
  fs::remove_all(dir);
  fs::remove_all(empty_dir);
  fs::remove_all(scratch("junk-target"));
  report(state, n, ours, old, "old_reader");
  report_marginal(state, n, ours, empty);
}

#ifdef KCB_CLI_PATH
extern "C" char** environ;

// CPU seconds (user + system) of one `kcbackup restore DIR TARGET --format json` in a process of
// its own, its output to /dev/null: what a user's restore costs, in a heap that starts cold at
// every size (in-process iterations reuse the heap of the one before at small sizes only).
double cli_restore_seconds(const fs::path& dir, const fs::path& target) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  std::string cli = KCB_CLI_PATH, verb = "restore", from = dir.string(), to = target.string(),
              format = "--format", json = "json";
  std::array<char*, 7> argv = {cli.data(),    verb.data(), from.data(), to.data(),
                               format.data(), json.data(), nullptr};
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, cli.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) check(Status::IOError("posix_spawn " + cli), "junk_cli");
  int status = 0;
  rusage usage{};
  if (wait4(pid, &status, 0, &usage) != pid || !WIFEXITED(status) || WEXITSTATUS(status) > 1) {
    check(Status::IOError("kcbackup restore failed"), "junk_cli");
  }
  const auto seconds = [](const timeval& t) { return t.tv_sec + t.tv_usec * 1e-6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

// junk_items through the program: each iteration a fresh target device folder (untimed), then
// the restore of the junk folder and of the empty one, each in a new process; marginal as above.
void BM_junk_cli(benchmark::State& state, size_t n) {
  const fs::path dir = write_junk_folder(n);
  const fs::path empty_dir = write_junk_folder(0);
  auto random = make_seeded_random(kSeed);
  Samples ours, empty;
  for (auto _ : state) {
    (void)fresh_device_folder(scratch("junk-cli-target"), *random);
    const double t = cli_restore_seconds(dir, scratch("junk-cli-target"));
    state.SetIterationTime(t);
    ours.add(t);
    (void)fresh_device_folder(scratch("junk-cli-target"), *random);
    empty.add(cli_restore_seconds(empty_dir, scratch("junk-cli-target")));
  }
  fs::remove_all(dir);
  fs::remove_all(empty_dir);
  fs::remove_all(scratch("junk-cli-target"));
  report(state, n, ours, {}, "");
  report_marginal(state, n, ours, empty);
}
#endif

void BM_junk_keys(benchmark::State& state, size_t n) {
  const Bytes archive = junk_keys_archive(n);
  Samples ours;
  for (auto _ : state) {
    const double start = thread_cpu_seconds();
    KeychainArchive a = take(read_keychain_archive(archive), "read");
    const double t = seconds_since(start);
    state.SetIterationTime(t);
    ours.add(t);
    if (a.warnings.size() != (n > 8 ? 9u : n))
      check(Status::DataLoss("unexpected warnings"), "junk keys");
  }
  report(state, n, ours, {}, "");
}

// ---- opening a real folder ----

struct FolderCorpus {
  size_t n = 0;
  fs::path dir;
  std::unique_ptr<Device> source;
  Bytes plain_db;            // Manifest.db decrypted, for the floor's scan
  SecretBytes password_key;  // the unlock, done once: what `--key-file` hands every command
};

// Manifest.db's plaintext, decrypted the long way round (keybag, ManifestKey) once, untimed.
Bytes manifest_db_plaintext(const BackupFolder& folder) {
  const Manifest m = take(read_folder_manifest(folder), "manifest");
  const Keybag bag = take(parse_keybag(m.backup_keybag), "bag");
  const UnlockedKeybag keys = take(unlock_keybag(bag, as_bytes(kPassword), std::nullopt), "unlock");
  const SecretBytes db_key =
      take(aes_key_unwrap(*keys.kek_for(4), ByteView(*m.manifest_key).subspan(4)), "unwrap");
  const SecretBytes plain =
      take(decrypt_file_blob(db_key.view(), folder.files.at(kManifestDbName), "db"), "decrypt");
  return Bytes(plain.view().begin(), plain.view().end());
}

FolderCorpus& folder_corpus_for(size_t n) {
  static std::unique_ptr<FolderCorpus> c;
  if (c && c->n == n) return *c;
  if (c) fs::remove_all(c->dir);
  c = std::make_unique<FolderCorpus>();
  c->n = n;
  auto random = make_seeded_random(kSeed + 7 * n);
  c->source = make_populated_device(10, *random);
  // Names in ascending order: each put appends (the list is kept sorted).
  char path[32];
  for (size_t i = 0; i < n; ++i) {
    std::snprintf(path, sizeof path, "Documents/f%09zu", i);
    check(c->source->put_app_file({"AppDomain-com.example.bench", path, 3, Bytes(24, 0x61)}),
          "put_app_file");
  }
  const BackupFolder folder =
      take(make_backup(*c->source, bench_backup_options(), *random), "make_backup");
  c->dir = scratch("folder-" + std::to_string(n));
  fs::remove_all(c->dir);
  fs::create_directories(c->dir.parent_path());
  check(write_backup_folder(default_env(), c->dir, folder), "write_backup_folder");
  c->plain_db = manifest_db_plaintext(folder);
  BackupOpenOptions o;
  o.password = kPassword;
  o.device = c->source.get();
  c->password_key = take(OpenedBackup::open(folder, o), "unlock").password_key();
  return *c;
}

// The floor's scan: every Files row's five columns, as SQLite hands them over.
size_t scan_files(ByteView db_image) {
  sqlite3* db = nullptr;
  sqlite3_open_v2(":memory:", &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
  auto* copy = static_cast<unsigned char*>(sqlite3_malloc64(db_image.size()));
  std::memcpy(copy, db_image.data(), db_image.size());
  sqlite3_deserialize(db, "main", copy, static_cast<sqlite3_int64>(db_image.size()),
                      static_cast<sqlite3_int64>(db_image.size()),
                      SQLITE_DESERIALIZE_FREEONCLOSE | SQLITE_DESERIALIZE_READONLY);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db, "SELECT fileID, domain, relativePath, flags, file FROM Files", -1, &st,
                     nullptr);
  size_t bytes = 0;
  while (sqlite3_step(st) == SQLITE_ROW) {
    for (int col = 0; col < 5; ++col)
      bytes += static_cast<size_t>(sqlite3_column_bytes(st, col));
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return bytes;
}

// decode_records: every MBFile record decoded at the open (the default: inspect and restore);
// false: listed (fileID, domain, path, flags) and each record decoded when a file is read
// (extract, audit --backup, unlock).
void BM_folder_open(benchmark::State& state, size_t n, bool decode_records) {
  FolderCorpus& c = folder_corpus_for(n);
  Samples ours, floor_s;
  static const uint8_t key[kFileKeySize] = {7};
  static const std::array<uint8_t, 16> zero_iv{};
  for (auto _ : state) {
    double start = thread_cpu_seconds();
    BackupOpenOptions o;
    o.password_key = c.password_key;  // "after unlock" (performance.md): the KDF is not timed
    o.device = c.source.get();
    o.decode_records = decode_records;
    const DiskFolder disk(default_env(), c.dir);
    OpenedBackup backup = take(OpenedBackup::open(disk, o), "open");
    size_t listed = 0;
    for (const BackupFileEntry& e : backup.files())
      listed += e.flags == 1;
    KeychainArchive keychain = take(backup.read_keychain(), "keychain");
    const double t = seconds_since(start);
    state.SetIterationTime(t);
    ours.add(t);
    if (listed != n + 1 || keychain.items[0].size() + keychain.items[1].size() == 0) {
      check(Status::DataLoss("unexpected folder"), "folder_open");
    }
    // The floor: the same bytes from disk, one CBC pass over them (a fixed key: the cost is the
    // same), and a full scan of the plaintext image the corpus decrypted once.
    start = thread_cpu_seconds();
    const Bytes db = take(default_env().read_file(c.dir / kManifestDbName, size_t{1} << 31), "r");
    const SecretBytes cbc =
        take(aes256_cbc_decrypt_blocks(ByteView(key, sizeof key), zero_iv, db), "cbc");
    benchmark::DoNotOptimize(cbc.data());
    benchmark::DoNotOptimize(scan_files(c.plain_db));
    floor_s.add(seconds_since(start));
  }
  report(state, n, ours, floor_s, "floor");
}

struct Size {
  size_t n;
  int iterations;
};

// name/N, its own fixed iteration count, timed by the benchmark itself (thread CPU time).
template <typename... Args>
void register_sized(const std::string& name, Size s, void (*fn)(benchmark::State&, Args...),
                    Args... args) {
  benchmark::RegisterBenchmark((name + "/" + std::to_string(s.n)).c_str(), fn, args...)
      ->Iterations(s.iterations)
      ->UseManualTime()
      ->Unit(benchmark::kMillisecond);
}

void register_benchmarks(size_t max_items) {
  // First, in a process whose heap is as a user's is when it starts: after the million-item
  // restore glibc keeps its pages and the floor's image-sized buffers stop costing page faults.
  for (Size s : {Size{1000, 20}, Size{100'000, 3}}) {
    if (s.n > max_items) continue;
    register_sized("folder_open", s, BM_folder_open, s.n, false);
    register_sized("folder_open_records", s, BM_folder_open, s.n, true);
  }
  for (Size s : {Size{1000, 20}, Size{10'000, 5}, Size{100'000, 3}, Size{1'000'000, 2}}) {
    if (s.n <= max_items) register_sized("restore_from_disk", s, BM_restore_from_disk, s.n);
  }
  for (Size s :
       {Size{1000, 20}, Size{10'000, 5}, Size{50'000, 2}, Size{100'000, 3}, Size{1'000'000, 3}}) {
    if (s.n > max_items) continue;
    register_sized("junk_items", s, BM_junk_items, s.n);
    register_sized("junk_keys", s, BM_junk_keys, s.n);
  }
#ifdef KCB_CLI_PATH
  for (Size s : {Size{1000, 10}, Size{10'000, 5}, Size{100'000, 3}, Size{1'000'000, 3}}) {
    if (s.n <= max_items) register_sized("junk_cli", s, BM_junk_cli, s.n);
  }
#endif
}

}  // namespace
}  // namespace kcb::bench

// KCB_BENCH_MAX_ITEMS (default 1000000) caps N, for a quick run.
int main(int argc, char** argv) {
  const int rc = kcb::bench::run_capped_benchmarks(argc, argv, kcb::bench::register_benchmarks);
  std::error_code ec;
  std::filesystem::remove_all(kcb::bench::scratch("").parent_path(), ec);
  return rc;
}
