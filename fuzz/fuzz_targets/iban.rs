//! Fuzz target `iban`: the property lives in `sportello_domain::fuzzing::iban`, which the corpus replay test also runs.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sportello_domain::fuzzing::iban(data));
