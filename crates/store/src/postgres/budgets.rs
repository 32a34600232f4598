//! Spending limits on PostgreSQL: a change locks the scheme's row (`FOR UPDATE`), as the submissions do, so no
//! reservation happens between a read and the write that depends on it.

use async_trait::async_trait;
use chrono::{DateTime, SubsecRound, Utc};
use sportello_domain::Cents;
use sqlx::{AssertSqlSafe, Row};

use super::PgStore;
use super::outbox::enqueue_on;
use crate::budgets::{fit_under, reserved_at_start};
use crate::notices::Addressee;
use crate::rows;
use crate::sql::BUDGET_SELECT;
use crate::{Budget, BudgetChange, BudgetEvent, BudgetSeed, BudgetStore, StoreError};

#[async_trait]
impl BudgetStore for PgStore {
    async fn ensure_budget(&self, seed: &BudgetSeed, at: DateTime<Utc>) -> Result<(), StoreError> {
        // Every start after the first finds the limit recorded: one indexed read, no lock, no count.
        let known = |conn| {
            sqlx::query_scalar::<_, i64>("SELECT 1::bigint FROM budgets WHERE scheme = $1")
                .bind(&seed.scheme)
                .fetch_optional(conn)
        };
        if known(&self.pool).await?.is_some() {
            return Ok(());
        }
        let mut tx = self.pool.begin().await?;
        // What is already accepted counts as reserved.
        let accepted: i64 =
            sqlx::query_scalar("SELECT count(*) FROM applications WHERE scheme = $1 AND status = 'accepted'")
                .bind(&seed.scheme)
                .fetch_one(&mut *tx)
                .await?;
        let reserved = reserved_at_start(seed, accepted)?;
        // A concurrent start may have recorded it meanwhile: then this one records nothing.
        let inserted = sqlx::query(
            "INSERT INTO budgets (scheme, amount_cents, limit_cents, legal_ref, reserved_cents)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (scheme) DO NOTHING",
        )
        .bind(&seed.scheme)
        .bind(seed.amount.get())
        .bind(seed.limit.get())
        .bind(&seed.legal_ref)
        .bind(reserved)
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() > 0 {
            sqlx::query(
                "INSERT INTO budget_history (scheme, limit_cents, legal_ref, set_at, released) VALUES ($1, $2, $3, $4, 0)",
            )
            .bind(&seed.scheme)
            .bind(seed.limit.get())
            .bind(&seed.legal_ref)
            .bind(at.trunc_subsecs(6))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn set_budget_limit(
        &self,
        scheme: &str,
        limit: Cents,
        legal_ref: &str,
        set_by: &str,
        at: DateTime<Utc>,
    ) -> Result<BudgetChange, StoreError> {
        let at = at.trunc_subsecs(6);
        // The budget's row lock, as the submissions take it: no reservation happens between the read and the release.
        let mut tx = self.pool.begin().await?;
        let (amount, reserved): (i64, i64) =
            sqlx::query_as("SELECT amount_cents, reserved_cents FROM budgets WHERE scheme = $1 FOR UPDATE")
                .bind(scheme)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or_else(|| StoreError::UnknownBudget(scheme.to_owned()))?;
        let fit = fit_under(scheme, limit, amount, reserved)?;
        // The applications released, in order of submission, with where to tell their owners.
        let chosen = sqlx::query(
            "SELECT a.id, a.protocol, a.details, p.email, p.cellulare
             FROM applications a LEFT JOIN persons p ON p.codice_fiscale = a.codice_fiscale
             WHERE a.scheme = $1 AND a.status = 'suspended_budget'
             ORDER BY a.submitted_at, a.id LIMIT $2",
        )
        .bind(scheme)
        .bind(fit)
        .fetch_all(&mut *tx)
        .await?;
        let ids: Vec<i64> = chosen.iter().map(|row| row.try_get("id")).collect::<Result<_, _>>()?;
        sqlx::query("UPDATE applications SET status = 'accepted', updated_at = $2 WHERE id = ANY($1)")
            .bind(&ids)
            .bind(at)
            .execute(&mut *tx)
            .await?;
        let mut told = Vec::with_capacity(chosen.len());
        for row in &chosen {
            let details: serde_json::Value = row.try_get("details")?;
            told.push(Addressee::of(
                row.try_get("protocol")?,
                &details,
                row.try_get("email")?,
                row.try_get("cellulare")?,
            ));
        }
        for message in told.iter().flat_map(|addressee| addressee.released(legal_ref, at)) {
            enqueue_on(&mut tx, &message).await?;
        }
        let released = chosen.len() as u64;
        let released_cents =
            i64::try_from(released).map_err(|_| StoreError::Corrupt("too many released".into()))? * amount;
        sqlx::query(
            "UPDATE budgets SET limit_cents = $2, legal_ref = $3, reserved_cents = reserved_cents + $4 WHERE scheme = $1",
        )
        .bind(scheme)
        .bind(limit.get())
        .bind(legal_ref)
        .bind(released_cents)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO budget_history (scheme, limit_cents, legal_ref, set_at, released, set_by)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(scheme)
        .bind(limit.get())
        .bind(legal_ref)
        .bind(at)
        .bind(released_cents / amount)
        .bind(set_by)
        .execute(&mut *tx)
        .await?;
        let row = sqlx::query(AssertSqlSafe(format!("{BUDGET_SELECT} WHERE b.scheme = $1")))
            .bind(scheme)
            .fetch_one(&mut *tx)
            .await?;
        let budget = rows::budget(&row)?;
        tx.commit().await?;
        Ok(BudgetChange { budget, released })
    }

    async fn budgets(&self) -> Result<Vec<Budget>, StoreError> {
        let rows =
            sqlx::query(AssertSqlSafe(format!("{BUDGET_SELECT} ORDER BY b.scheme"))).fetch_all(&self.pool).await?;
        rows.iter().map(rows::budget).collect()
    }

    async fn budget_history(&self) -> Result<Vec<BudgetEvent>, StoreError> {
        let rows = sqlx::query(
            "SELECT scheme, limit_cents, legal_ref, set_at, released, set_by FROM budget_history ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(rows::budget_event).collect()
    }
}
