//! The store's conformance suite: every test is written once against the `Store` trait and runs on every backend,
//! each time on a fresh database (a SQLite file in a temporary folder; a PostgreSQL database created for the test).
//!
//! PostgreSQL is found at `SPORTELLO_TEST_POSTGRES_URL`, else `DATABASE_URL` if it names PostgreSQL, else
//! `postgres://postgres@127.0.0.1:5432/postgres`. If it cannot be reached the PostgreSQL variants say so and pass,
//! except under CI (`CI=true`), where they fail.

mod applications;
mod audit;
mod budgets;
mod cumulation;
mod group_commit;
mod harness;
mod intermediaries;
mod notices;
mod office;
mod opening;
mod outbox;
mod payments;
mod persons;
mod pins;
mod rate;
mod registry;
mod reminders;
mod sessions;

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
    cumulation::a_march_beneficiary_also_gets_april_but_never_two_of_one_group,
    cumulation::a_rejected_application_does_not_block_its_group,
    cumulation::concurrent_submissions_in_two_groups_grant_one_indemnity_each,
    cumulation::a_batch_in_two_groups_grants_one_indemnity_each_together_or_one_at_a_time,
    group_commit::a_batch_decides_as_one_submission_after_another,
    group_commit::one_failing_submission_fails_alone,
    group_commit::many_concurrent_submissions_get_their_own_outcome_in_few_commits,
    group_commit::a_submission_is_durable_when_acknowledged,
    group_commit::a_nul_in_a_text_is_kept_or_refused_never_cut,
    group_commit::audited_submissions_get_their_rows_in_their_batch,
    persons::persons_import_round_trips_and_replaces_the_whole_file,
    intermediaries::a_roster_import_replaces_the_whole_roster,
    intermediaries::a_mandate_is_recorded_once_with_its_notice_and_revoked_only_by_its_citizen,
    intermediaries::a_call_code_matches_once_until_it_expires_or_is_tried_too_often,
    persons::an_aborted_or_failed_persons_import_changes_nothing,
    pins::a_new_pin_takes_a_free_slot_and_never_one_in_use,
    pins::put_pin_enqueues_its_messages_in_the_same_transaction,
    pins::a_login_is_checked_against_its_slot_alone,
    pins::the_full_pin_confirms_and_releases_what_its_pin_holds,
    pins::an_officer_confirms_a_person_and_releases_every_hold,
    pins::the_rightful_person_annuls_what_another_pin_made_and_applies_again,
    pins::five_wrong_pins_lock_and_restart_the_count,
    pins::concurrent_wrong_pins_lock_exactly_as_sequential_ones,
    pins::failures_while_locked_neither_count_nor_extend_the_lock,
    pins::clear_login_failures_restarts_the_count,
    pins::a_lock_too_long_to_represent_lasts_for_ever,
    sessions::sessions_are_created_read_touched_and_deleted,
    sessions::an_unknown_session_is_none,
    sessions::a_session_id_is_never_stored_twice,
    sessions::expired_sessions_go_by_idleness_or_absolute_expiry,
    sessions::a_session_keeps_its_kind_actor_login_method_and_channel,
    sessions::a_login_method_or_channel_outside_the_list_is_refused,
    outbox::a_claim_takes_due_messages_in_order,
    outbox::a_lease_keeps_a_message_until_it_expires,
    outbox::concurrent_claims_never_share_a_message,
    outbox::a_delivered_message_is_wiped_and_never_claimed_again,
    outbox::a_failed_delivery_is_retried_at_its_time,
    outbox::one_recipients_messages_go_out_one_at_a_time_in_order,
    outbox::a_message_due_later_holds_back_no_message_due_sooner,
    audit::audit_of_lists_one_persons_rows_newest_first,
    audit::audit_rows_at_the_same_instant_keep_their_order,
    audit::an_audit_row_keeps_the_login_method_and_channel,
    budgets::past_the_limit_an_application_is_suspended_and_a_raise_releases_in_order,
    budgets::ensure_budget_keeps_a_raised_limit_and_counts_what_is_accepted,
    budgets::concurrent_submissions_at_the_edge_never_overshoot,
    budgets::a_raise_tells_each_released_applicant_once_in_order,
    notices::each_payment_state_change_is_told_once_in_order,
    payments::a_run_pays_every_accepted_application_once_and_a_rerun_nothing_new,
    payments::concurrent_runs_never_pay_an_application_twice,
    payments::a_returned_payment_is_paid_again_once_after_a_new_iban,
    payments::a_run_pays_only_what_was_payable_before_its_cut_off,
    payments::run_numbers_follow_each_other_without_gaps,
    payments::transfers_carry_the_holders_name_and_those_without_one_are_counted,
    opening::a_read_only_open_needs_an_up_to_date_database,
    office::an_officer_is_stored_once_by_user_name_and_read_back,
    office::an_officer_is_found_by_codice_fiscale_and_one_person_has_one_account,
    office::five_wrong_passwords_lock_an_officer_and_a_lock_is_not_extended,
    office::office_sessions_are_apart_from_citizens_sessions,
    office::a_case_is_found_by_protocol_alone,
    office::submissions_are_counted_by_minute_scheme_status_and_channel,
    office::the_audit_is_read_per_person_and_per_window_and_purged_by_age,
    office::a_dead_letter_is_claimed_no_more_until_revived_and_delivered_ones_are_purged,
    reminders::a_visitor_is_told_once_when_their_place_comes_near,
    reminders::nodes_telling_at_once_never_tell_a_visitor_twice,
}
