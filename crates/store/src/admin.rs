//! Looking after the database itself: its schema and whether it answers.

use async_trait::async_trait;

use crate::StoreError;

/// The database's schema and health.
#[async_trait]
pub trait Admin: Send + Sync {
    /// Applies pending migrations.
    async fn migrate(&self) -> Result<(), StoreError>;

    /// How many of this program's migrations the database has not applied (all of them when it has none), without
    /// applying any.
    async fn pending_migrations(&self) -> Result<usize, StoreError>;

    /// Whether the database answers.
    async fn ping(&self) -> Result<(), StoreError>;
}

/// How many of `migrator`'s migrations are missing from `applied` (the versions a database records as applied).
pub(crate) fn pending(migrator: &sqlx::migrate::Migrator, applied: &[i64]) -> usize {
    migrator.iter().filter(|m| !m.migration_type.is_down_migration() && !applied.contains(&m.version)).count()
}
