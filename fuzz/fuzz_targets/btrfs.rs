//! libFuzzer entry for `imgcheck_fuzzing::btrfs` (see docs/security.md).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    imgcheck_fuzzing::btrfs(data);
});
