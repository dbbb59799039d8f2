// How much per-device set-up the engine repeats (issue 17). A simulated in-memory device used to
// build its keychain schema from SQL and prepare ~50 statements every time one was created, and the
// journey runner derived the iCloud escrow key with 1,000 PBKDF2 rounds three times per case: 85 %
// of a journey's CPU time went there. Now an in-memory KeychainStore comes from a per-thread pool
// of connections whose schema and statements are already built, emptied when they come back
// (keychain_store.cc), and the journey runner uses a small escrow KDF cost, as backups in tests use
// kFastKdf. Since then (session 7 and 14): a new keybag's fields are set as it is written instead
// of parsed back, Manifest.db readers reuse a thread's idle SQLite connections, a thread's
// Manifest.db writer keeps its schema (each backup's rows are rolled back once the image is
// taken), and PBKDF2 runs on the hash with its HMAC pads prepared once (OpenSSL's
// PKCS5_PBKDF2_HMAC set up a KDF per call; the loop is checked against it in
// tests/crypto_test.cc). Same SQLite, same hash and cipher code, same code paths; less set-up.
//
// The baseline switch brings the old set-up back so that a benchmark can put both side by side in
// one run (bench/fuzz_speed.sh): KCB_BASELINE_SETUP=1 in the environment
// (read at the first call), or set_baseline_setup(true). Verdicts never depend on it.
#pragma once

namespace kcb {

bool baseline_setup();
void set_baseline_setup(bool on);

}  // namespace kcb
