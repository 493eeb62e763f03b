//! libFuzzer entry for `imgcheck_fuzzing::os_release` (see docs/security.md).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    imgcheck_fuzzing::os_release(data);
});
