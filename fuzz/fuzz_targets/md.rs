//! libFuzzer entry for `imgcheck_fuzzing::md` (see docs/security.md).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    imgcheck_fuzzing::md(data);
});
