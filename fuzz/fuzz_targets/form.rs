//! Fuzz target `form`: the property lives in `sportello_web::fuzzing::form`, which the corpus replay test also runs.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sportello_web::fuzzing::form(data));
