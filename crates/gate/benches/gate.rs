//! The waiting room's hot path: signing and verifying tickets (every arrival), verify-and-re-sign (every refresh
//! of every waiting visitor), a whole in-process refresh through the gate, and a drawn place.
//! `cargo bench -p sportello-gate --bench gate`.

use std::hint::black_box;
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sportello_gate::{
    Capacity, Gate, GateSettings, ManualClock, MemoryState, Offer, Proof, RoomId, Signer, Ticket, Visit, WindowId,
    draw, pow,
};

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap_or(DateTime::UNIX_EPOCH)
}

fn ticket() -> Ticket {
    let now = at("2020-04-01T14:05:00Z");
    Ticket {
        room: RoomId(0),
        window: WindowId::opening_at(at("2020-04-01T14:00:00Z")).unwrap_or(WindowId(0)),
        seq: 1_234_567,
        pre_queue: false,
        no_js: false,
        issued_at: now,
        refresh_by: now + TimeDelta::seconds(60),
        promise: Some(now + TimeDelta::seconds(900)),
    }
}

fn tokens(c: &mut Criterion) {
    let Ok(signer) = Signer::new(1, &[7u8; 32]) else { return };
    let t = ticket();
    let mut g = c.benchmark_group("ticket");
    g.throughput(Throughput::Elements(1));
    g.bench_function("issue_and_verify", |b| {
        b.iter(|| {
            let token = signer.sign_ticket(black_box(&t)).unwrap_or_default();
            black_box(signer.verify_ticket(&token).is_ok())
        })
    });
    let Ok(token) = signer.sign_ticket(&t) else { return };
    g.bench_function("refresh_verify_and_resign", |b| {
        b.iter(|| {
            let Ok(mut seen) = signer.verify_ticket(black_box(&token)) else { return String::new() };
            seen.issued_at += TimeDelta::seconds(15);
            seen.refresh_by += TimeDelta::seconds(15);
            black_box(signer.sign_ticket(&seen).unwrap_or_default())
        })
    });
    g.finish();
}

fn gate_refresh(c: &mut Criterion) {
    let text = r#"
        control_cache_ms = 1000
        pow = { min_bits = 1, max_bits = 1 }
        [[rooms]]
        key = "cittadini"
        path = "/"
        windows = [{ from = "2020-04-01T16:00" }]
    "#;
    let Ok(settings) = toml::from_str::<GateSettings>(text) else { return };
    let Ok(mut config) = settings.validate() else { return };
    // Nobody is ever admitted: every refresh takes the waiting path.
    config.rooms[0].capacity = Capacity { max_active: 1, burst: 1, ..Capacity::default() };
    let clock = ManualClock::new(at("2020-04-01T14:05:00Z"));
    let Ok(signer) = Signer::new(1, &[7u8; 32]) else { return };
    let gate = Gate::new(config, signer, Arc::new(MemoryState::new()), clock.clock());
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread().build() else { return };
    let join = || async {
        let Ok(Offer::Challenge(offer)) = gate.challenge(RoomId(0), false).await else { return None };
        let nonce = pow::solve(&offer.token, offer.difficulty);
        gate.enter(&offer.token, Proof::Nonce(nonce)).await.ok()
    };
    runtime.block_on(join());
    let Some(Visit::Waiting(w)) = runtime.block_on(join()) else { return };
    let mut g = c.benchmark_group("gate");
    g.throughput(Throughput::Elements(1));
    g.bench_function("refresh_in_process", |b| {
        b.iter(|| runtime.block_on(async { black_box(gate.refresh(&w.ticket).await.is_ok()) }))
    });
    g.finish();
}

fn drawn_place(c: &mut Criterion) {
    let perm = draw::Permutation::new(&[9u8; 32], 1_000_000);
    let mut i = 0u64;
    let mut g = c.benchmark_group("draw");
    g.throughput(Throughput::Elements(1));
    g.bench_function("place_among_a_million", |b| {
        b.iter(|| {
            i = (i + 7919) % 1_000_000;
            black_box(perm.apply(i))
        })
    });
    g.finish();
}

criterion_group!(benches, tokens, gate_refresh, drawn_place);
criterion_main!(benches);
