//! SQL text both backends run as it is: the column lists their row readers ([`crate::rows`]) expect, and conditions
//! written the same in both dialects. What differs (placeholders, types, locks) stays in each backend.

/// An application's columns, as [`crate::rows::application`] reads them.
pub(crate) const APPLICATION_COLUMNS: &str = "protocol, codice_fiscale, scheme, cumulation_group, idempotency_key, \
     status, reasons, details, submitted_at, updated_at, hold";

/// A session's columns, as [`crate::rows::session`] reads them.
pub(crate) const SESSION_COLUMNS: &str = "id_hash, kind, actor, codice_fiscale, login_method, channel, created_at, \
     last_seen_at, expires_at, credential, confirmed";

/// An outbox message's columns, as [`crate::rows::outbox_entry`] reads them.
pub(crate) const OUTBOX_COLUMNS: &str = "id, channel, recipient, subject, body, not_before, attempts";

/// A payment run's columns, as [`crate::rows::run`] reads them.
pub(crate) const RUN_COLUMNS: &str = "id, pay_date, debtor_name, debtor_iban, debtor_bic, created_at, completed_at";

/// An audit row's columns (but its id), as [`crate::rows::audit_entry`] reads them and as they are written.
pub(crate) const AUDIT_COLUMNS: &str = "actor, action, subject, object, at, from_addr, login_method, channel, reason";

/// A PIN credential's columns, as [`crate::rows::pin_credential`] reads them.
pub(crate) const PIN_COLUMNS: &str =
    "id, codice_fiscale, slot, full_hash, simplified_hash, issued_at, first_half_to, confirmed_at, last_used_at";

/// A personal record's columns, as [`crate::rows::person`] reads them and as an import writes them.
pub(crate) const PERSON_COLUMNS: &str =
    "codice_fiscale, cognome, nome, data_nascita, indirizzo, cap, comune, provincia, email, cellulare";

/// A budget with its count of suspended applications, as [`crate::rows::budget`] reads it.
pub(crate) const BUDGET_SELECT: &str = "SELECT b.scheme, b.amount_cents, b.limit_cents, b.legal_ref, b.reserved_cents,
    (SELECT count(*) FROM applications a WHERE a.scheme = b.scheme AND a.status = 'suspended_budget') AS suspended
    FROM budgets b";

/// The condition on `applications a` of what a payment run assigns, with the cut-off bound at `cutoff`: accepted,
/// without a hold, last changed (accepted, released, given a new account) before the cut-off, and with no payment
/// that stands (one superseded by a new account does not).
pub(crate) fn payable(cutoff: &str) -> String {
    format!(
        "a.status = 'accepted' AND a.hold IS NULL AND a.updated_at < {cutoff}
         AND NOT EXISTS (SELECT 1 FROM payments p WHERE p.application_id = a.id AND p.status <> 'superseded')"
    )
}

/// The query [`crate::PaymentStore::payment_runs`] runs, `{limit}` its one parameter's placeholder.
pub(crate) fn payment_runs_sql(limit: &str) -> String {
    format!(
        "SELECT {}, n, total, confirmed, returned FROM payment_runs
         LEFT JOIN (SELECT run_id, CAST(count(*) AS BIGINT) AS n, CAST(sum(amount_cents) AS BIGINT) AS total,
                           CAST(sum(CASE WHEN status = 'confirmed' THEN 1 ELSE 0 END) AS BIGINT) AS confirmed,
                           CAST(sum(CASE WHEN status IN ('returned', 'superseded') THEN 1 ELSE 0 END) AS BIGINT)
                               AS returned
                    FROM payments GROUP BY run_id) counted ON counted.run_id = payment_runs.id
         ORDER BY payment_runs.id DESC LIMIT {limit}",
        RUN_COLUMNS
    )
}
