//! An operator files an application for a citizen: only under a mandate of their office in force today, only for a
//! decree whose scheme file lets their kind of intermediary file, decided by the same law and recorded by the same
//! transaction as the citizen's own. The application keeps who filed it (office, kind, operator, mandate), so that
//! the citizen's receipt says it; the audit row names the operator at the office, channel `intermediary`.

use chrono::{DateTime, Utc};
use sportello_domain::CodiceFiscale;
use sportello_domain::law::Decrees;
use sportello_store::{Store, Submission};

use super::mandates::{self, Seat};
use crate::apply::{self, Draft};
use crate::draft::FiledBy;
use crate::error::UseCaseError;

/// Files `draft` for `subject` from the operator's `seat` at `now`, from `from`. Refused with "not found" alike for
/// a citizen without a mandate of this office in force today and a codice fiscale nobody holds; refused as
/// forbidden when the office's kind may not file the decree's applications. Whatever `draft.details.filed_by` held
/// is replaced by the seat and the mandate acted under.
pub async fn file(
    store: &dyn Store,
    decrees: &Decrees,
    seat: &Seat,
    subject: CodiceFiscale,
    mut draft: Draft,
    from: Option<String>,
    now: DateTime<Utc>,
) -> Result<Submission, UseCaseError> {
    let day = now.with_timezone(&chrono_tz::Europe::Rome).date_naive();
    let mandate = mandates::in_force_for(store, seat, subject, day).await?;
    mandates::may_file(decrees, seat, &draft.scheme)?;
    let acting = mandates::acting_under(seat, subject, from);
    draft.details.filed_by = Some(FiledBy {
        office: seat.office.to_string(),
        kind: seat.kind.to_string(),
        operator: seat.operator.to_string(),
        mandate: Some(mandate.id),
        call: None,
    });
    apply::submit(store, decrees, &acting, draft, now).await
}
