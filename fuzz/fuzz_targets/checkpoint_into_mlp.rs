#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| curvature_fuzz::checkpoint_into_mlp(data));
