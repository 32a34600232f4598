//! Fuzz target `registry_row`: the property lives in `sportello::fuzzing::registry_extract`, which the corpus replay test also runs.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sportello::fuzzing::registry_extract(data));
