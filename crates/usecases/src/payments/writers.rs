//! A run's files written from its rows as they stream out of the store: the pain.001 transfers and the CSV of cash
//! payments, each written atomically, one page of rows in memory at a time.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use sportello_store::{PaymentMethod, PaymentRow, PaymentRun, Store};
use tokio::sync::mpsc;

use super::PaymentError;
use super::pain001::{ControlSums, CreditTransfers};
use crate::UseCaseError;
use crate::files::{AtomicError, FileError, write_atomically};
use crate::progress::Progress;

/// Payments read from the store per query while a file is written.
const PAGE: u32 = 10_000;

/// The aid's stop, carried through the writer's I/O error to be told apart from a failure.
#[derive(Debug, thiserror::Error)]
#[error("stopped after {0} payments")]
struct Stopped(u64);

/// The writer's failure: the aid's stop as such, anything else as the file error it is.
fn writing_failed(error: AtomicError) -> PaymentError {
    if let AtomicError::Writing(FileError::Io { source, .. }) = &error
        && let Some(stopped) = source.get_ref().and_then(|inner| inner.downcast_ref::<Stopped>())
    {
        return PaymentError::Stopped(stopped.0);
    }
    PaymentError::File(error.into_file_error())
}

/// Streams one method's payments of a run from the store into `write`, on a blocking thread, one page at a time
/// (two pages in flight at most): memory stays the same whatever the size of the run.
async fn stream<F>(store: &dyn Store, run: &PaymentRun, method: PaymentMethod, write: F) -> Result<u64, UseCaseError>
where
    F: FnOnce(mpsc::Receiver<Vec<PaymentRow>>) -> Result<u64, PaymentError> + Send + 'static,
{
    let (pages, receiver) = mpsc::channel(2);
    let writer = tokio::task::spawn_blocking(move || write(receiver));
    let mut after = 0;
    loop {
        let page = store.run_payments(run.id, method, after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        if pages.send(page).await.is_err() {
            // The writer stopped (an error, or the stop asked for): its answer says why.
            break;
        }
    }
    drop(pages);
    Ok(writer.await.map_err(|e| PaymentError::Worker(e.to_string()))??)
}

/// Writes the run's transfers to `target` as pain.001, announcing `sums`; returns how many were written.
pub(super) async fn write_transfers(
    store: &dyn Store,
    run: &PaymentRun,
    sums: ControlSums,
    remittances: &HashMap<String, String>,
    target: &Path,
    progress: Arc<dyn Progress>,
    stop_after: Option<u64>,
) -> Result<u64, UseCaseError> {
    let (run_copy, remittances, target) = (run.clone(), remittances.clone(), target.to_owned());
    stream(store, run, PaymentMethod::Iban, move |mut pages| {
        write_atomically(&target, |out| {
            let mut file = CreditTransfers::begin(out, &run_copy, sums)?;
            while let Some(page) = pages.blocking_recv() {
                for payment in &page {
                    if stop_after == Some(file.written()) {
                        return Err(std::io::Error::other(Stopped(file.written())));
                    }
                    let remittance = remittances.get(&payment.scheme).map_or("Indennita COVID-19", String::as_str);
                    file.transfer(payment, &format!("{remittance} - domanda {}", payment.protocol))?;
                    progress.advance();
                }
            }
            file.finish()?;
            Ok(())
        })
        .map_err(writing_failed)?;
        Ok(sums.count)
    })
    .await
}

/// Writes the run's cash payments to `target` as the postal service's CSV; returns how many were written.
pub(super) async fn write_cash(
    store: &dyn Store,
    run: &PaymentRun,
    remittances: &HashMap<String, String>,
    target: &Path,
    progress: Arc<dyn Progress>,
    stop_after: Option<u64>,
) -> Result<u64, UseCaseError> {
    let (pay_date, remittances, target) =
        (run.pay_date.format("%Y-%m-%d").to_string(), remittances.clone(), target.to_owned());
    stream(store, run, PaymentMethod::Domiciliato, move |mut pages| {
        let mut written = 0u64;
        write_atomically(&target, |out| {
            let mut csv = csv::Writer::from_writer(out);
            csv.write_record([
                "protocollo",
                "codice_fiscale",
                "indennita",
                "importo_eur",
                "data_pagamento",
                "causale",
            ])?;
            while let Some(page) = pages.blocking_recv() {
                for payment in &page {
                    if stop_after == Some(written) {
                        return Err(std::io::Error::other(Stopped(written)));
                    }
                    let remittance = remittances.get(&payment.scheme).map_or("Indennita COVID-19", String::as_str);
                    csv.write_record([
                        payment.protocol.as_str(),
                        payment.codice_fiscale.as_str(),
                        payment.scheme.as_str(),
                        &payment.amount.to_string(),
                        &pay_date,
                        remittance,
                    ])?;
                    written += 1;
                    progress.advance();
                }
            }
            csv.flush()?;
            Ok(())
        })
        .map_err(writing_failed)?;
        Ok(written)
    })
    .await
}
