//! PIN hashing and verification rates with Sportello's Argon2id parameters, on one core:
//! `cargo bench -p sportello-web --bench pin`. Throughput is reported per element, i.e. hashes or
//! verifications per second; a login costs one verification, issuing a PIN two hashes (full and simplified).

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sportello_web::pin::{Pin, PinHasher};

fn pin_hashing(c: &mut Criterion) {
    let hasher = PinHasher::new().expect("a hasher with Sportello's parameters");
    let pin = Pin::generate().expect("the OS random number generator");
    let simplified_hash = hasher.hash(pin.first_half()).expect("a hash");

    let mut group = c.benchmark_group(format!(
        "argon2id m={}KiB t={} p={}",
        PinHasher::M_COST_KIB,
        PinHasher::T_COST,
        PinHasher::P_COST
    ));
    group.throughput(Throughput::Elements(1));
    group.bench_function("hash", |b| b.iter(|| hasher.hash(black_box(pin.first_half()))));
    group.bench_function("verify (right PIN)", |b| {
        b.iter(|| assert!(hasher.verify(black_box(pin.first_half()), black_box(&simplified_hash))))
    });
    group.bench_function("verify_or_dummy (unknown person)", |b| {
        b.iter(|| assert!(!hasher.verify_or_dummy(black_box(pin.first_half()), None)))
    });
    group.finish();
}

criterion_group!(benches, pin_hashing);
criterion_main!(benches);
