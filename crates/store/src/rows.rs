//! Stored rows read back into the store's types, written once for both backends. A backend says only how it reads a
//! column of each kind ([`StoredRow`]): SQLite keeps timestamps, dates and JSON as text, PostgreSQL in types of their
//! own. Everything built from those columns is here, so the two backends cannot drift apart in what they read.

use chrono::{DateTime, Utc};
use sportello_domain::law::Reason;
use sportello_domain::persons::{PersonRecord, Residence};
use sportello_domain::registry::{Cessation, Position, PositionKind};
use sportello_domain::{Cents, CodiceFiscale, Date, IdempotencyKey, ProtocolNumber};

use crate::credentials::{FirstHalfTo, PinCredential, PinLock};
use crate::{
    Application, ApplicationStatus, AuditEntry, Budget, BudgetEvent, OutboxEntry, OutboxMessage, PaymentMethod,
    PaymentRecord, PaymentRow, PaymentRun, PaymentStatus, RegistrySummary, RunSummary, RunTotal, Session, SessionKind,
    StoreError,
};

/// One row as a backend returned it. A value of the wrong type, or out of range, is corruption, not a driver
/// failure.
pub(crate) trait StoredRow {
    /// A text column that may be NULL.
    fn opt_text(&self, column: &str) -> Result<Option<String>, StoreError>;

    /// An integer column that may be NULL, whatever its width.
    fn opt_int(&self, column: &str) -> Result<Option<i64>, StoreError>;

    /// A boolean column.
    fn flag(&self, column: &str) -> Result<bool, StoreError>;

    /// A timestamp column that may be NULL.
    fn opt_timestamp(&self, column: &str) -> Result<Option<DateTime<Utc>>, StoreError>;

    /// A date column that may be NULL.
    fn opt_date(&self, column: &str) -> Result<Option<Date>, StoreError>;

    /// A JSON column.
    fn json(&self, column: &str) -> Result<serde_json::Value, StoreError>;

    /// A text column.
    fn text(&self, column: &str) -> Result<String, StoreError> {
        self.opt_text(column)?.ok_or_else(|| null(column))
    }

    /// An integer column.
    fn int(&self, column: &str) -> Result<i64, StoreError> {
        self.opt_int(column)?.ok_or_else(|| null(column))
    }

    /// A timestamp column.
    fn timestamp(&self, column: &str) -> Result<DateTime<Utc>, StoreError> {
        self.opt_timestamp(column)?.ok_or_else(|| null(column))
    }

    /// A codice fiscale column.
    fn codice_fiscale(&self, column: &str) -> Result<CodiceFiscale, StoreError> {
        codice_fiscale_from_db(&self.text(column)?)
    }

    /// An amount of money in cents.
    fn cents(&self, column: &str) -> Result<Cents, StoreError> {
        Ok(Cents::new(self.int(column)?))
    }

    /// A non-negative count.
    fn count(&self, column: &str) -> Result<u64, StoreError> {
        let n = self.int(column)?;
        u64::try_from(n).map_err(|_| StoreError::Corrupt(format!("negative {column} {n}")))
    }
}

fn null(column: &str) -> StoreError {
    StoreError::Corrupt(format!("column {column} is NULL"))
}

/// A codice fiscale read back from the database.
pub(crate) fn codice_fiscale_from_db(s: &str) -> Result<CodiceFiscale, StoreError> {
    CodiceFiscale::parse(s).map_err(|e| StoreError::Corrupt(format!("invalid codice fiscale '{s}' stored: {e}")))
}

/// A count (failures, attempts) read back from the database.
fn count_from_db(n: i64, column: &str) -> Result<u32, StoreError> {
    u32::try_from(n).map_err(|_| StoreError::Corrupt(format!("{column} {n} out of range")))
}

/// One position of the registry.
pub(crate) fn position(row: &impl StoredRow) -> Result<Position, StoreError> {
    let kind = row.text("kind")?;
    let kind: PositionKind =
        kind.parse().map_err(|()| StoreError::Corrupt(format!("unknown position kind '{kind}' in the registry")))?;
    let cessation = match row.opt_text("cessation")?.as_deref() {
        None => None,
        Some("involuntary") => Some(Cessation::Involuntary),
        Some("voluntary") => Some(Cessation::Voluntary),
        Some(other) => return Err(StoreError::Corrupt(format!("unknown cessation '{other}' in the registry"))),
    };
    let days = row
        .opt_int("days")?
        .map(|d| {
            u32::try_from(d).map_err(|_| StoreError::Corrupt(format!("day count {d} out of range in the registry")))
        })
        .transpose()?;
    Ok(Position {
        kind,
        start: row.opt_date("start_date")?,
        end: row.opt_date("end_date")?,
        year: row
            .opt_int("year")?
            .map(|y| i32::try_from(y).map_err(|_| StoreError::Corrupt(format!("year {y} out of range"))))
            .transpose()?,
        days,
        income: row.opt_int("income_cents")?.map(Cents::new),
        cessation,
    })
}

/// Figures about the current registry, from `registry_meta`.
pub(crate) fn registry_summary(row: &impl StoredRow) -> Result<RegistrySummary, StoreError> {
    let count = |name: &str| -> Result<u64, StoreError> {
        let n = row.int(name)?;
        u64::try_from(n).map_err(|_| StoreError::Corrupt(format!("negative {name} count {n} in registry_meta")))
    };
    Ok(RegistrySummary {
        persons: count("persons")?,
        positions: count("positions")?,
        imported_at: row.opt_timestamp("imported_at")?,
    })
}

/// An application, from the columns of [`crate::sql::APPLICATION_COLUMNS`].
pub(crate) fn application(row: &impl StoredRow) -> Result<Application, StoreError> {
    Ok(Application {
        protocol: row
            .opt_text("protocol")?
            .ok_or_else(|| StoreError::Corrupt("an application without a protocol number".into()))
            .and_then(|text| {
                ProtocolNumber::parse(&text).map_err(|e| StoreError::Corrupt(format!("an application's {e}")))
            })?,
        codice_fiscale: row.codice_fiscale("codice_fiscale")?,
        scheme: row.text("scheme")?,
        cumulation_group: row.text("cumulation_group")?,
        idempotency_key: IdempotencyKey::stored(&row.text("idempotency_key")?)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?,
        status: ApplicationStatus::from_db(&row.text("status")?)?,
        reasons: reasons(row.json("reasons")?)?,
        details: row.json("details")?,
        submitted_at: row.timestamp("submitted_at")?,
        updated_at: row.timestamp("updated_at")?,
        hold: row.opt_text("hold")?,
    })
}

/// An application's reasons from their stored JSON: a list of objects with `code`, `article`, `it` and `en`, as
/// [`Reason`] serializes, so rows written before the store typed them read the same.
fn reasons(json: serde_json::Value) -> Result<Vec<Reason>, StoreError> {
    serde_json::from_value(json).map_err(|e| StoreError::Corrupt(format!("an application's reasons do not read: {e}")))
}

/// An application's reasons as the JSON text both backends store.
pub(crate) fn reasons_to_db(reasons: &[Reason]) -> String {
    // A reason is four strings: serializing it cannot fail.
    serde_json::to_string(reasons).unwrap_or_else(|_| unreachable!("reasons are plain strings"))
}

/// A spending limit, from [`crate::sql::BUDGET_SELECT`].
pub(crate) fn budget(row: &impl StoredRow) -> Result<Budget, StoreError> {
    Ok(Budget {
        scheme: row.text("scheme")?,
        amount: row.cents("amount_cents")?,
        limit: row.cents("limit_cents")?,
        legal_ref: row.text("legal_ref")?,
        reserved: row.cents("reserved_cents")?,
        suspended: row.count("suspended")?,
    })
}

/// A limit set on a scheme, from `budget_history`.
pub(crate) fn budget_event(row: &impl StoredRow) -> Result<BudgetEvent, StoreError> {
    Ok(BudgetEvent {
        scheme: row.text("scheme")?,
        limit: row.cents("limit_cents")?,
        legal_ref: row.text("legal_ref")?,
        set_at: row.timestamp("set_at")?,
        released: row.count("released")?,
        set_by: row.opt_text("set_by")?,
    })
}

/// A payment run, from the columns of [`crate::sql::RUN_COLUMNS`].
pub(crate) fn run(row: &impl StoredRow) -> Result<PaymentRun, StoreError> {
    Ok(PaymentRun {
        id: row.int("id")?,
        pay_date: row.opt_date("pay_date")?.ok_or_else(|| StoreError::Corrupt("a run without a date".into()))?,
        debtor_name: row.text("debtor_name")?,
        debtor_iban: row.text("debtor_iban")?,
        debtor_bic: row.text("debtor_bic")?,
        created_at: row.timestamp("created_at")?,
        completed_at: row.opt_timestamp("completed_at")?,
    })
}

/// A run's count and total of one scheme by one method (`scheme`, `method`, `n`, `total`).
pub(crate) fn run_total(row: &impl StoredRow) -> Result<RunTotal, StoreError> {
    Ok(RunTotal {
        scheme: row.text("scheme")?,
        method: PaymentMethod::from_db(&row.text("method")?)?,
        count: row.count("n")?,
        total: row.cents("total")?,
    })
}

/// One payment of a run with its holder's name (`holder`).
pub(crate) fn payment_row(row: &impl StoredRow) -> Result<PaymentRow, StoreError> {
    Ok(PaymentRow {
        id: row.int("id")?,
        protocol: row.text("protocol")?,
        codice_fiscale: row.codice_fiscale("codice_fiscale")?,
        scheme: row.text("scheme")?,
        iban: row.opt_text("iban")?,
        amount: row.cents("amount_cents")?,
        holder: row.opt_text("holder")?,
    })
}

/// A payment as its citizen sees it, with its run's `pay_date`.
pub(crate) fn payment_record(row: &impl StoredRow) -> Result<PaymentRecord, StoreError> {
    Ok(PaymentRecord {
        protocol: row.text("protocol")?,
        pay_date: row.opt_date("pay_date")?.ok_or_else(|| StoreError::Corrupt("a run without a date".into()))?,
        method: PaymentMethod::from_db(&row.text("method")?)?,
        iban_last4: row.opt_text("iban")?.as_deref().map(crate::payments::last4),
        amount: row.cents("amount_cents")?,
        status: PaymentStatus::from_db(&row.text("status")?)?,
        reason: row.opt_text("reason")?,
    })
}

/// A session, from the columns of [`crate::sql::SESSION_COLUMNS`].
pub(crate) fn session(row: &impl StoredRow) -> Result<Session, StoreError> {
    Ok(Session {
        id_hash: row.text("id_hash")?,
        kind: SessionKind::from_db(&row.text("kind")?)?,
        actor: row.text("actor")?,
        codice_fiscale: row.codice_fiscale("codice_fiscale")?,
        login_method: row.text("login_method")?,
        channel: row.text("channel")?,
        created_at: row.timestamp("created_at")?,
        last_seen_at: row.timestamp("last_seen_at")?,
        expires_at: row.timestamp("expires_at")?,
        credential: row.opt_text("credential")?,
        confirmed: row.flag("confirmed")?,
    })
}

/// A message claimed for delivery, from the columns of [`crate::sql::OUTBOX_COLUMNS`].
pub(crate) fn outbox_entry(row: &impl StoredRow) -> Result<OutboxEntry, StoreError> {
    Ok(OutboxEntry {
        id: row.int("id")?,
        message: OutboxMessage {
            channel: row.text("channel")?,
            recipient: row.text("recipient")?,
            subject: row.text("subject")?,
            body: row.text("body")?,
            not_before: row.timestamp("not_before")?,
        },
        attempts: count_from_db(row.int("attempts")?, "attempts")?,
    })
}

/// An audit row, from the columns of [`crate::sql::AUDIT_COLUMNS`].
pub(crate) fn audit_entry(row: &impl StoredRow) -> Result<AuditEntry, StoreError> {
    Ok(AuditEntry {
        actor: row.text("actor")?,
        action: row.text("action")?,
        subject: row.codice_fiscale("subject")?,
        object: row.opt_text("object")?,
        at: row.timestamp("at")?,
        from: row.opt_text("from_addr")?,
        login_method: row.opt_text("login_method")?,
        channel: row.text("channel")?,
        reason: row.opt_text("reason")?,
    })
}

/// A PIN credential, from the columns of [`crate::sql::PIN_COLUMNS`].
pub(crate) fn pin_credential(row: &impl StoredRow) -> Result<PinCredential, StoreError> {
    Ok(PinCredential {
        id: row.int("id")?,
        codice_fiscale: row.codice_fiscale("codice_fiscale")?,
        slot: row
            .opt_int("slot")?
            .map(|s| u8::try_from(s).map_err(|_| StoreError::Corrupt(format!("PIN slot {s} out of range"))))
            .transpose()?,
        full_hash: row.text("full_hash")?,
        simplified_hash: row.text("simplified_hash")?,
        issued_at: row.timestamp("issued_at")?,
        first_half_to: FirstHalfTo::from_db(&row.text("first_half_to")?)?,
        confirmed_at: row.opt_timestamp("confirmed_at")?,
        last_used_at: row.opt_timestamp("last_used_at")?,
    })
}

/// The wrong-PIN count of one bucket (`failures`, `locked_until`).
pub(crate) fn pin_lock(row: &impl StoredRow) -> Result<PinLock, StoreError> {
    Ok(PinLock {
        failures: count_from_db(row.int("failures")?, "failures")?,
        locked_until: row.opt_timestamp("locked_until")?,
    })
}

/// A personal record, from the columns of [`crate::sql::PERSON_COLUMNS`].
pub(crate) fn person(row: &impl StoredRow) -> Result<PersonRecord, StoreError> {
    let residence =
        match (row.opt_text("indirizzo")?, row.opt_text("cap")?, row.opt_text("comune")?, row.opt_text("provincia")?) {
            (Some(indirizzo), Some(cap), Some(comune), Some(provincia)) => {
                Some(Residence { indirizzo, cap, comune, provincia })
            }
            _ => None,
        };
    Ok(PersonRecord {
        codice_fiscale: row.codice_fiscale("codice_fiscale")?,
        cognome: row.text("cognome")?,
        nome: row.text("nome")?,
        data_nascita: row
            .opt_date("data_nascita")?
            .ok_or_else(|| StoreError::Corrupt("a person without a birth date".into()))?,
        residence,
        email: row.opt_text("email")?,
        cellulare: row.opt_text("cellulare")?,
    })
}

/// A run and its counts, from the columns of [`payment_runs_sql`].
pub(crate) fn run_summary(row: &impl StoredRow) -> Result<RunSummary, StoreError> {
    let count = |column: &str| -> Result<u64, StoreError> {
        u64::try_from(row.opt_int(column)?.unwrap_or(0)).map_err(|_| StoreError::Corrupt(format!("negative {column}")))
    };
    Ok(RunSummary {
        run: run(row)?,
        payments: count("n")?,
        total: Cents::new(row.opt_int("total")?.unwrap_or(0)),
        confirmed: count("confirmed")?,
        returned: count("returned")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A row's reasons as the portal wrote them before the store typed them (`serde_json::to_value` of the law's
    /// reasons), with one of them verbatim from a stored row.
    const STORED: &str = r#"[{"code":"art27.not_active_on_reference_date","article":"art. 27 c. 1","it":"Nessun rapporto attivo.","en":"No active position."}]"#;

    #[test]
    fn reasons_stored_before_they_were_typed_read_back_and_write_the_same() {
        let read = reasons(serde_json::from_str(STORED).unwrap()).unwrap();
        assert_eq!(read[0].code, "art27.not_active_on_reference_date");
        assert_eq!(read[0].article, "art. 27 c. 1");
        assert_eq!(reasons_to_db(&read), STORED);
    }

    #[test]
    fn reasons_of_another_shape_are_corruption() {
        let err = reasons(serde_json::json!([{ "article": "27", "met": true }])).unwrap_err();
        assert!(matches!(err, StoreError::Corrupt(_)), "{err}");
    }
}
