//! libFuzzer entry for `imgcheck_fuzzing::regf` (see docs/security.md).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    imgcheck_fuzzing::regf(data);
});
