//! Fuzz target `codice_fiscale`: the property lives in `sportello_domain::fuzzing::codice_fiscale`, which the corpus replay test also runs.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sportello_domain::fuzzing::codice_fiscale(data));
