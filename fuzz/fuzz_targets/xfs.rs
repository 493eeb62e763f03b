//! libFuzzer entry for `imgcheck_fuzzing::xfs` (see docs/security.md).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    imgcheck_fuzzing::xfs(data);
});
