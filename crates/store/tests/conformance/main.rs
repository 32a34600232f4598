//! The store's conformance suite: every test is written once against the `Store` trait and runs on every backend,
//! each time on a fresh database (a SQLite file in a temporary folder; a PostgreSQL database created for the test).
//!
//! PostgreSQL is found at `SPORTELLO_TEST_POSTGRES_URL`, else `DATABASE_URL` if it names PostgreSQL, else
//! `postgres://postgres@127.0.0.1:5432/postgres`. If it cannot be reached the PostgreSQL variants say so and pass,
//! except under CI (`CI=true`), where they fail.

mod applications;
mod harness;
mod opening;
mod registry;

/// Generates one `#[tokio::test]` per backend for each listed test function (`module::function`).
macro_rules! conformance {
    ($($module:ident :: $test:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    crate::harness::on_sqlite(crate::$module::$test).await;
                }
            )*
        }

        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    crate::harness::on_postgres(crate::$module::$test).await;
                }
            )*
        }
    };
}

conformance! {
    opening::migrations_are_idempotent,
    opening::data_survives_reopening,
    registry::an_empty_registry_has_nothing,
    registry::import_round_trips_every_kind_and_column,
    registry::summary_counts_persons_and_positions,
    registry::reimport_replaces_the_whole_registry,
    registry::abort_keeps_the_old_registry,
    registry::readers_see_the_old_registry_during_an_import,
    registry::a_dropped_import_leaves_the_old_registry_and_the_next_one_works,
    registry::an_interrupted_write_cannot_be_committed,
    registry::many_batches_cross_statement_boundaries,
    registry::registry_persons_pages_in_order,
    registry::a_bad_stored_value_is_reported_as_corrupt,
    applications::created_then_duplicate_returns_the_original,
    applications::another_key_while_holding_gives_already_holds,
    applications::rejected_applications_are_kept_and_never_block,
    applications::concurrent_submissions_of_one_person_grant_one_indemnity,
    applications::concurrent_double_submits_share_one_protocol,
    applications::protocol_numbers_are_unique_and_formatted,
    applications::an_application_is_visible_only_to_its_owner,
    applications::applications_of_lists_oldest_first,
}
