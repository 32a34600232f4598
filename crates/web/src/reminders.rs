//! "Avvisami" (`[gate.reminders]`): a waiting visitor leaves an e-mail address or a mobile number at
//! `POST /attesa/avvisami` and may close the page. Their place is held by the gate (`Gate::hold`) and the contact kept
//! in the store (`waiting_reminders`) only until, about `lead_minutes` before their estimated turn, every node's
//! [`run`] puts one message with a link back to the place into the outbox and deletes the row in the same
//! transaction. Apart from `gate/` because it needs the database; the waiting room itself does not, and stands
//! without it.

use std::sync::Arc;
use std::time::Duration;

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, TimeDelta, Utc};
use serde::Deserialize;
use sportello_domain::persons::{parse_email, parse_mobile};
use sportello_gate::{RoomStatus, Visit};
use sportello_store::{OutboxMessage, Reminder, Store};

use crate::gate::cookies;
use crate::gate::{GateApp, RemindersSection, TICKET_COOKIE, TICKET_HEADER, waiting_room_url};
use crate::i18n::Lang;
use crate::render::{LAST_UPDATE, lang_suffix, render_with};
use crate::routes::{Audience, Routes};

/// How often each node looks for visitors to tell.
const EVERY: Duration = Duration::from_secs(5);
/// Messages put in the outbox per statement.
const BATCH: u32 = 500;
/// The longest a place is held for someone away.
const MAX_HOLD_HOURS: i64 = 24;

/// What the reminder's page and its sender reach.
#[derive(Clone)]
pub struct RemindApp {
    gate: GateApp,
    store: Arc<dyn Store>,
}

/// The route, when the gate offers reminders.
pub fn routes<S: Clone + Send + Sync + 'static>(
    gate: GateApp,
    store: Arc<dyn Store>,
    limits: Arc<crate::limits::RateLimits>,
) -> Routes<S> {
    let limited = axum::middleware::from_fn_with_state(limits, crate::limits::guard);
    Routes::new()
        .add(Audience::Personal, "/attesa/avvisami", "POST", axum::routing::post(remind).layer(limited))
        .with_state(RemindApp { gate, store })
}

/// The form on the waiting page. No `Debug` with the contact in it.
#[derive(Deserialize)]
pub struct RemindForm {
    #[serde(default)]
    contatto: String,
    #[serde(default)]
    dopo: Option<String>,
    #[serde(default)]
    lang: Option<String>,
}

impl std::fmt::Debug for RemindForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemindForm").field("dopo", &self.dopo).finish_non_exhaustive()
    }
}

#[derive(Template)]
#[template(path = "gate_remind.html")]
struct RemindPage {
    lang: Lang,
    switch_url: String,
    lang_suffix: &'static str,
    last_update: &'static str,
    title: &'static str,
    message: String,
    done: bool,
    back_url: String,
}

/// The channel and the recipient `input` names: an e-mail address, or a mobile number (spaces, dots and dashes
/// dropped; an Italian number without its country code gets `+39`).
pub fn contact(input: &str) -> Option<(&'static str, String)> {
    let input = input.trim();
    if input.contains('@') {
        return parse_email(input).map(|email| ("email", email));
    }
    let compact: String = input.chars().filter(|c| !matches!(c, ' ' | '.' | '-' | '/' | '(' | ')')).collect();
    let international = match compact.strip_prefix("00") {
        Some(rest) => format!("+{rest}"),
        None if compact.starts_with('+') => compact,
        None => format!("+39{compact}"),
    };
    parse_mobile(&international).filter(|n| n.starts_with('+')).map(|n| ("sms", n))
}

/// `POST /attesa/avvisami`: holds the visitor's place and keeps their contact until their turn is near.
pub async fn remind(State(app): State<RemindApp>, headers: HeaderMap, Form(form): Form<RemindForm>) -> Response {
    let lang = if form.lang.as_deref() == Some("en") { Lang::En } else { Lang::It };
    let back = form.dopo.clone().filter(|d| d.starts_with('/') && !d.starts_with("//")).unwrap_or_else(|| "/".into());
    let back_url = waiting_room_url(&if lang == Lang::En { format!("{back}?lang=en") } else { back.clone() });
    let page = |status: StatusCode, title: &'static str, message: String, done: bool| {
        let switch_url = waiting_room_url(&back);
        let page = RemindPage {
            lang,
            switch_url,
            lang_suffix: lang_suffix(lang),
            last_update: LAST_UPDATE,
            title,
            message,
            done,
            back_url: back_url.clone(),
        };
        render_with(status, &page)
    };
    let Some(settings) = app.gate.reminders.clone() else { return StatusCode::NOT_FOUND.into_response() };
    let Some((channel, recipient)) = contact(&form.contatto) else {
        let shown: String = form.contatto.trim().chars().take(60).collect();
        return page(
            StatusCode::UNPROCESSABLE_ENTITY,
            lang.pick("Recapito non valido", "Contact not valid"),
            format!(
                "{} «{shown}» {}",
                lang.pick("Il recapito", "The contact"),
                lang.pick(
                    "non è un indirizzo e-mail né un numero di cellulare. Scriva ad esempio nome@esempio.it oppure 333 123 4567. Il Suo posto in coda non cambia.",
                    "is neither an e-mail address nor a mobile number. Write, for example, name@example.com or +39 333 123 4567. Your place in the queue is unchanged."
                )
            ),
            false,
        );
    };
    let Some(ticket) = cookies::token(&headers, TICKET_HEADER, TICKET_COOKIE) else {
        return page(
            StatusCode::CONFLICT,
            lang.pick("Nessun posto in coda", "No place in the queue"),
            lang.pick(
                "In questo browser non c'è un posto in coda da tenere: torni alla sala d'attesa per prenderne uno, poi chieda l'avviso.",
                "There is no place in the queue in this browser to keep: go back to the waiting room to take one, then ask to be told.",
            )
            .to_owned(),
            false,
        );
    };
    let now = app.gate.now();
    let lead = settings.lead_minutes;
    let held = match app.gate.gate.hold(ticket, |w| hold_until(now, w.eta_secs.unwrap_or(0), lead)).await {
        Ok((Visit::Waiting(waiting), Some(held))) => (waiting, held),
        // It is the visitor's turn already, in the pre-queue, or the place was lost: the waiting room says which.
        Ok(_) | Err(sportello_gate::GateError::Token(_)) => return Redirect::to(&back_url).into_response(),
        Err(e) => return unavailable(&page, lang, &e.to_string()),
    };
    let (waiting, ticket) = held;
    let Some(room) = app.gate.gate.config().room(ticket.room) else { return Redirect::to(&back_url).into_response() };
    let reminder = Reminder {
        room: room.key.clone(),
        window: ticket.window.0,
        place: ticket.seq,
        channel: channel.to_owned(),
        recipient: recipient.clone(),
        ticket: waiting.ticket.clone(),
        created_at: now,
        expires_at: ticket.refresh_by,
    };
    if let Err(e) = app.store.add_reminder(reminder).await {
        return unavailable(&page, lang, &e.to_string());
    }
    tracing::info!(room = %room.key, channel, "a waiting visitor asked to be told");
    let position = waiting.position.unwrap_or(1);
    let message = match lang {
        Lang::It => format!(
            "Le scriveremo a {recipient} quando mancheranno circa {} minuti al Suo turno (ora è in posizione {position}). \
             Il Suo posto resta tenuto per Lei: può chiudere questa pagina. Quando riceve il messaggio, apra il link entro \
             pochi minuti; se torna prima, ritrova il Suo posto nella sala d'attesa.",
            settings.lead_minutes
        ),
        Lang::En => format!(
            "We will write to {recipient} when your turn is about {} minutes away (you are now in position {position}). \
             Your place is kept for you: you may close this page. When the message arrives, open its link within a few \
             minutes; if you come back earlier, your place is in the waiting room.",
            settings.lead_minutes
        ),
    };
    let mut response = page(StatusCode::OK, lang.pick("La avviseremo", "We will tell you"), message, true);
    cookies::set(response.headers_mut(), TICKET_COOKIE, &waiting.ticket, Some(ticket.refresh_by), now);
    response
}

fn unavailable(page: &impl Fn(StatusCode, &'static str, String, bool) -> Response, lang: Lang, why: &str) -> Response {
    tracing::warn!(error = %why, "a reminder could not be recorded");
    let mut response = page(
        StatusCode::SERVICE_UNAVAILABLE,
        lang.pick("Avviso non disponibile", "Reminder not available"),
        lang.pick(
            "In questo momento non è possibile registrare l'avviso. Il Suo posto in coda non cambia: tenga aperta la sala d'attesa, oppure riprovi tra qualche minuto.",
            "The reminder cannot be recorded right now. Your place in the queue is unchanged: keep the waiting room open, or try again in a few minutes.",
        )
        .to_owned(),
        false,
    );
    response.headers_mut().insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from_static("60"));
    response
}

/// Until when a place is held for a visitor away: half as long again as the estimated wait, plus the lead and half
/// an hour to come back, at most a day.
fn hold_until(now: DateTime<Utc>, eta_secs: u64, lead_minutes: u32) -> DateTime<Utc> {
    let eta = i64::try_from(eta_secs).unwrap_or(i64::MAX / 4);
    let secs = eta.saturating_add(eta / 2).saturating_add(i64::from(lead_minutes) * 60).saturating_add(30 * 60);
    now + TimeDelta::seconds(secs.min(MAX_HOLD_HOURS * 3600))
}

/// The message telling a visitor their turn is near.
pub fn message(settings: &RemindersSection, reminder: &Reminder, now: DateTime<Utc>) -> OutboxMessage {
    let link = settings.resume_url(&reminder.ticket);
    let minutes = settings.lead_minutes;
    let body = if reminder.channel == "sms" {
        format!("Sportello: tra circa {minutes} minuti e' il Suo turno. Torni al Suo posto: {link}")
    } else {
        format!(
            "Tra circa {minutes} minuti è il Suo turno nella sala d'attesa di Sportello.\n\
             Apra questo link per tornare al Suo posto; se arriva dopo il Suo turno, il posto può essere perso:\n\
             {link}\n\n\
             Your turn in Sportello's waiting room is about {minutes} minutes away. Open the link above to go back to \
             your place.\n\n\
             Ha ricevuto questo messaggio perché il recapito è stato lasciato nella sala d'attesa. Se non è stato Lei, \
             lo ignori: il recapito è già stato cancellato."
        )
    };
    OutboxMessage {
        channel: reminder.channel.clone(),
        recipient: reminder.recipient.clone(),
        subject: "Sportello: tra poco è il Suo turno".to_owned(),
        body,
        not_before: now,
    }
}

/// Tells the visitors whose turn is within `lead_minutes` in every open room, and forgets the reminders whose hold
/// has ended: how many were told.
pub async fn tell(gate: &GateApp, store: &dyn Store) -> Result<u64, String> {
    let Some(settings) = &gate.reminders else { return Ok(0) };
    let now = gate.now();
    store.purge_reminders(now).await.map_err(|e| e.to_string())?;
    let lead_secs = u64::from(settings.lead_minutes) * 60;
    let compose = |reminder: &Reminder| message(settings, reminder, now);
    let mut told = 0;
    for room in &gate.gate.config().rooms {
        let view = gate.gate.status(room.id).await.map_err(|e| e.to_string())?;
        let (Some(window), RoomStatus::Open { .. }) = (view.window, &view.status) else { continue };
        // Position p is place admitted + p − 1: within the lead, p ≤ rate × lead.
        let below = view.admitted.saturating_add(view.planning_rate_milli.saturating_mul(lead_secs) / 1000);
        loop {
            let sent = store.send_reminders(&room.key, window.0, below, BATCH, &compose).await;
            let sent = sent.map_err(|e| e.to_string())?;
            told += sent;
            if sent < u64::from(BATCH) {
                break;
            }
        }
    }
    if told > 0 {
        metrics::counter!("sportello_gate_reminders_sent_total").increment(told);
    }
    Ok(told)
}

/// Every few seconds, [`tell`], until `shutdown`.
pub async fn run(gate: GateApp, store: Arc<dyn Store>, shutdown: impl std::future::Future<Output = ()>) {
    let mut ticks = tokio::time::interval(EVERY);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => return,
            _ = ticks.tick() => {
                if let Err(e) = tell(&gate, store.as_ref()).await {
                    tracing::warn!(error = %e, "waiting visitors could not be told");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_contact_is_an_email_address_or_a_mobile_number_in_international_form() {
        assert_eq!(contact(" anna@example.it "), Some(("email", "anna@example.it".into())));
        assert_eq!(contact("333 123 4567"), Some(("sms", "+393331234567".into())));
        assert_eq!(contact("+39 333-123.4567"), Some(("sms", "+393331234567".into())));
        assert_eq!(contact("0041 79 123 45 67"), Some(("sms", "+41791234567".into())));
        for bad in ["", "anna@", "anna@example", "12", "333 123 abc", "a@b.it, c@d.it"] {
            assert_eq!(contact(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_place_is_held_for_the_wait_and_half_again_plus_the_lead_and_half_an_hour_at_most_a_day() {
        let now = DateTime::<Utc>::UNIX_EPOCH;
        assert_eq!(hold_until(now, 600, 10) - now, TimeDelta::seconds(900 + 600 + 1800));
        assert_eq!(hold_until(now, u64::MAX, 10) - now, TimeDelta::hours(24));
    }
}
