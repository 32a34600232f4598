//! `sportello payments …` at its edge: a run's summary printed for people, and the benchmark aid that records
//! applications to pay. The runs and the status reports themselves are use cases
//! (`sportello_usecases::payments`).

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use chrono::Utc;
use sportello_domain::law::Decrees;
use sportello_domain::{Cents, Date, IdempotencyKey};
use sportello_store::Store;
use sportello_usecases::payments::RunSummary;

/// Prints a run's summary for people.
pub fn print_summary(out: &mut impl Write, summary: &RunSummary, folder: &Path) -> std::io::Result<()> {
    let what = if summary.new_run { "payment run" } else { "payment run (already made; its files written again)" };
    writeln!(out, "{what} {} for {}:", summary.run, summary.pay_date)?;
    for s in &summary.schemes {
        writeln!(
            out,
            "  {}: {} transfers, {} EUR; {} cash at a post office, {} EUR",
            s.scheme, s.transfers, s.transfers_total, s.cash, s.cash_total
        )?;
    }
    writeln!(
        out,
        "  in all: {} transfers, {} EUR; {} cash, {} EUR",
        summary.transfers, summary.transfers_total, summary.cash, summary.cash_total
    )?;
    for file in &summary.files {
        writeln!(out, "  wrote {}", folder.join(file).display())?;
    }
    Ok(())
}

/// Benchmark aid: records `count` accepted applications of synthetic people (schemes in turn, one in seven paid in
/// cash) through the store's ordinary submission, with limits large enough for all of them recorded first (and
/// marked as such), so that a payment run has `count` payments to make. Returns how many were stored.
pub async fn synthetic(store: std::sync::Arc<dyn Store>, decrees: &Decrees, count: u64) -> anyhow::Result<u64> {
    use sportello_store::{ApplicationStatus, BudgetSeed, NewApplication, Submission};

    let schemes: Vec<(String, String)> =
        decrees.schemes().map(|s| (s.id().to_owned(), s.cumulation().id().to_owned())).collect();
    let now = Utc::now();
    // Submitted on the first click day, so that a run dated after it pays them all.
    let submitted_at = chrono::TimeZone::with_ymd_and_hms(&Utc, 2020, 4, 1, 8, 0, 0)
        .single()
        .context("the first click day is a valid instant")?;
    synthetic_persons(store.as_ref(), count).await?;
    for scheme in decrees.schemes() {
        let limit = scheme
            .amount()
            .get()
            .checked_mul(i64::try_from(count).unwrap_or(i64::MAX))
            .context("too many applications for the limit to be written")?;
        let seed = BudgetSeed {
            scheme: scheme.id().to_owned(),
            amount: scheme.amount(),
            limit: Cents::new(limit),
            legal_ref: "synthetic benchmark data (sportello payments synthetic)".to_owned(),
        };
        store.ensure_budget(&seed, now).await?;
    }
    // Enough submissions in flight to fill the group commit's batches.
    const WORKERS: u64 = 512;
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..WORKERS {
        let (store, schemes) = (store.clone(), schemes.clone());
        tasks.spawn(async move {
            let mut stored = 0u64;
            for n in (worker..count).step_by(WORKERS as usize) {
                // Six letters from n: 26^6 distinct people, each with a valid check character.
                let codice_fiscale = synthetic_person(n)?;
                let payment = if n % 7 == 6 {
                    serde_json::json!({ "method": "domiciliato" })
                } else {
                    serde_json::json!({ "method": "iban", "iban": "IT60X0542811101000000123456" })
                };
                let (scheme, group) = &schemes[usize::try_from(n).unwrap_or_default() % schemes.len()];
                let outcome = store
                    .submit(NewApplication {
                        codice_fiscale,
                        scheme: scheme.clone(),
                        cumulation_group: group.clone(),
                        protocol_prefix: "INPS-COVID-".to_owned(),
                        idempotency_key: IdempotencyKey::parse(&format!("synthetic-{n}"))?,
                        status: ApplicationStatus::Accepted,
                        reasons: Vec::new(),
                        details: serde_json::json!({ "payment": payment, "contact": {} }),
                        submitted_at,
                        hold: None,
                    })
                    .await?;
                stored += u64::from(matches!(outcome, Submission::Created(_)));
            }
            anyhow::Ok(stored)
        });
    }
    let mut stored = 0;
    while let Some(done) = tasks.join_next().await {
        stored += done??;
    }
    Ok(stored)
}

/// Synthetic person `n` of `payments synthetic`: six letters from `n` (26^6 distinct people), born 01/01/1980 in
/// Rome, with a valid check character.
fn synthetic_person(n: u64) -> anyhow::Result<sportello_domain::CodiceFiscale> {
    let mut letters = [b'A'; 6];
    let mut rest = n;
    for slot in letters.iter_mut().rev() {
        *slot = b'A' + (rest % 26) as u8;
        rest /= 26;
    }
    let letters = String::from_utf8_lossy(&letters).into_owned();
    sportello_domain::CodiceFiscale::with_check_character(&format!("{letters}80A01H501"))
        .map_err(|e| anyhow::anyhow!("synthetic codice fiscale: {e}"))
}

/// Replaces the personal records with those of the `count` synthetic people, so that their transfers name them.
async fn synthetic_persons(store: &dyn Store, count: u64) -> anyhow::Result<()> {
    use sportello_domain::persons::PersonRecord;
    let born = Date::from_ymd_opt(1980, 1, 1).context("a valid date")?;
    let mut import = store.begin_persons_import().await?;
    let mut batch = Vec::with_capacity(4_096);
    for n in 0..count {
        let codice_fiscale = synthetic_person(n)?;
        let letters = &codice_fiscale.as_str()[..6];
        batch.push(PersonRecord {
            codice_fiscale,
            cognome: format!("Sintetico {letters}"),
            nome: "Persona".to_owned(),
            data_nascita: born,
            residence: None,
            email: None,
            cellulare: None,
        });
        if batch.len() == batch.capacity() || n + 1 == count {
            import.write(&batch).await?;
            batch.clear();
        }
    }
    import.commit().await?;
    Ok(())
}
