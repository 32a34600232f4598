//! A PIN asked for at the portal's door (`/pin`, `POST /api/v1/pin`), by anyone who types a codice fiscale and a
//! contact: where its halves go (a contact on file, the contact typed, a letter to the residence), the messages that
//! carry them, and the notices to the contacts on file (docs/SECURITY.md, "A PIN requested in someone else's name").
//! The doors answer the same at once to everyone and run [`request`] apart, so that neither the answer nor its time
//! tells who is registered.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sportello_domain::CodiceFiscale;
use sportello_domain::persons::PersonRecord;
use sportello_store::credentials::slot_for_request;
use sportello_store::{FirstHalfTo, NewPin, OutboxMessage, Store};

use crate::draft::Contact;
use crate::error::UseCaseError;
use crate::language::Language;
use crate::pin::{Pin, PinHasher};

/// The outbox channel a message to `contact` goes by.
fn channel(contact: &Contact) -> &'static str {
    match contact {
        Contact::Email(_) => "email",
        Contact::Sms(_) => "sms",
    }
}

/// The message carrying one half of a PIN: nothing but the half and how to use it (no name, no codice fiscale).
pub fn pin_half_message(
    contact: &Contact,
    lang: Language,
    half: &str,
    first: bool,
    not_before: chrono::DateTime<chrono::Utc>,
) -> OutboxMessage {
    let (subject, body) = match (lang, first) {
        (Language::It, true) => (
            "Il suo PIN INPS: prima parte",
            format!(
                "Ecco la prima parte del suo PIN INPS (PIN semplificato):\n\n{half}\n\nCon questi 8 caratteri può già \
                 accedere a Sportello e chiedere l'indennità da 600 euro: scelga «Accedi» e inserisca il suo codice \
                 fiscale e questi caratteri. La seconda parte del PIN le arriverà separatamente più avanti. Non \
                 comunichi il PIN a nessuno: l'INPS non glielo chiederà mai."
            ),
        ),
        (Language::En, true) => (
            "Your INPS PIN: first half",
            format!(
                "Here is the first half of your INPS PIN (simplified PIN):\n\n{half}\n\nWith these 8 characters you \
                 can already log in to Sportello and apply for the 600 euro allowance: choose \"Log in\" and enter \
                 your codice fiscale and these characters. The second half of the PIN will reach you separately \
                 later. Never tell anyone your PIN: INPS will never ask for it."
            ),
        ),
        (Language::It, false) => (
            "Il suo PIN INPS: seconda parte",
            format!(
                "Ecco la seconda parte del suo PIN INPS:\n\n{half}\n\nScritta dopo la prima parte forma il PIN \
                 completo di 16 caratteri, con cui può accedere a Sportello scegliendo «Accedi». Non comunichi il \
                 PIN a nessuno: l'INPS non glielo chiederà mai."
            ),
        ),
        (Language::En, false) => (
            "Your INPS PIN: second half",
            format!(
                "Here is the second half of your INPS PIN:\n\n{half}\n\nWritten after the first half it makes the \
                 full 16-character PIN, with which you can log in to Sportello by choosing \"Log in\". Never tell \
                 anyone your PIN: INPS will never ask for it."
            ),
        ),
    };
    OutboxMessage {
        channel: channel(contact).to_owned(),
        recipient: contact.recipient().to_owned(),
        subject: subject.to_owned(),
        body,
        not_before,
    }
}

/// Issues a PIN to a person of the registry, keeping every PIN they already use (docs/SECURITY.md, "INPS PIN"):
/// the new PIN takes a free slot, or the slot of a PIN that never opened a session; where every slot holds a PIN in
/// use, none is issued and the person is told.
///
/// Where the first half goes is the institute's choice, not the requester's: to a contact on file when the person
/// has one (the contact typed is then ignored), otherwise to the contact typed; then its second half is posted by
/// letter to the residence on file, and what the PIN does is held for payment until the full PIN confirms it.
/// Every contact on file is told that a PIN was requested.
pub async fn request(
    store: &dyn Store,
    hasher: &PinHasher,
    codice_fiscale: CodiceFiscale,
    contact: &Contact,
    second_half_delay: Duration,
    lang: Language,
    now: DateTime<Utc>,
) -> Result<(), UseCaseError> {
    if store.positions(&codice_fiscale).await?.is_empty() {
        return Ok(());
    }
    let person = store.person(&codice_fiscale).await?;
    let on_file = person.as_ref().map(contacts_on_file).unwrap_or_default();
    let Some(slot) = slot_for_request(&store.pins_of(&codice_fiscale).await?) else {
        let notices = on_file.iter().map(|c| pin_refused_notice(c, lang, now)).collect::<Vec<_>>();
        for notice in notices {
            store.enqueue(notice).await?;
        }
        return Ok(());
    };
    let pin = Pin::generate_for_slot(slot)?;
    let (full_hash, simplified_hash) =
        tokio::join!(hasher.hash_blocking(pin.expose().to_owned()), hasher.hash_blocking(pin.first_half().to_owned()));
    let (full_hash, simplified_hash) = (full_hash?, simplified_hash?);
    let later = chrono::TimeDelta::from_std(second_half_delay)
        .ok()
        .and_then(|delay| now.checked_add_signed(delay))
        .unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC);

    let mut messages = Vec::new();
    let first_half_to = match on_file.split_first() {
        Some((first, others)) => {
            messages.push(pin_half_message(first, lang, pin.first_half(), true, now));
            messages.push(pin_half_message(first, lang, pin.second_half(), false, later));
            messages.extend(others.iter().map(|c| pin_requested_notice(c, lang, now)));
            FirstHalfTo::OnFile
        }
        None => {
            messages.push(pin_half_message(contact, lang, pin.first_half(), true, now));
            if let Some(letter) = person.as_ref().and_then(|p| second_half_letter(p, pin.second_half(), now)) {
                messages.push(letter);
            }
            FirstHalfTo::Given
        }
    };
    let new_pin = NewPin { codice_fiscale, slot, full_hash, simplified_hash, issued_at: now, first_half_to };
    if !store.put_pin(new_pin, &messages).await? {
        tracing::info!("a PIN request met a slot taken meanwhile by a PIN in use; nothing was issued");
    }
    Ok(())
}

/// A fresh PIN for `codice_fiscale` in `slot` (free, or holding a PIN that never opened a session, which it replaces):
/// its first half to `contact` now, its second half to the same contact after `second_half_delay`, and a notice to
/// each of `others`. `contact` must be one on file: this is for the Contact Center's validation of a request whose
/// first half did not arrive (`contact_center::resend_first_half`). `false` when the slot's PIN was used meanwhile
/// (nothing is stored or sent).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn reissue(
    store: &dyn Store,
    hasher: &PinHasher,
    codice_fiscale: CodiceFiscale,
    slot: u8,
    contact: &Contact,
    others: &[Contact],
    second_half_delay: Duration,
    lang: Language,
    now: DateTime<Utc>,
) -> Result<bool, UseCaseError> {
    let pin = Pin::generate_for_slot(slot)?;
    let (full_hash, simplified_hash) =
        tokio::join!(hasher.hash_blocking(pin.expose().to_owned()), hasher.hash_blocking(pin.first_half().to_owned()));
    let later = chrono::TimeDelta::from_std(second_half_delay)
        .ok()
        .and_then(|delay| now.checked_add_signed(delay))
        .unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC);
    let mut messages = vec![
        pin_half_message(contact, lang, pin.first_half(), true, now),
        pin_half_message(contact, lang, pin.second_half(), false, later),
    ];
    messages.extend(others.iter().map(|c| pin_requested_notice(c, lang, now)));
    let new_pin = NewPin {
        codice_fiscale,
        slot,
        full_hash: full_hash?,
        simplified_hash: simplified_hash?,
        issued_at: now,
        first_half_to: FirstHalfTo::OnFile,
    };
    Ok(store.put_pin(new_pin, &messages).await?)
}

/// The contacts on file of a person, the mobile number first (a text message arrives at once).
pub(crate) fn contacts_on_file(person: &PersonRecord) -> Vec<Contact> {
    let sms = person.cellulare.iter().map(|n| Contact::Sms(n.clone()));
    sms.chain(person.email.iter().map(|e| Contact::Email(e.clone()))).collect()
}

/// The notice to a contact on file that a PIN was requested (its first half went to another contact on file).
fn pin_requested_notice(contact: &Contact, lang: Language, now: DateTime<Utc>) -> OutboxMessage {
    let (subject, body) = (
        lang.pick("Richiesta di un PIN INPS", "An INPS PIN was requested"),
        lang.pick(
            "È stato richiesto un nuovo PIN INPS per il Suo codice fiscale. La prima parte è stata inviata all'altro \
             recapito che risulta negli archivi dell'INPS. Se non è stato Lei a chiederlo non deve fare nulla: i PIN \
             che già usa restano validi e nessuno riceve un PIN per Lei a un recapito diverso dai Suoi.",
            "A new INPS PIN was requested for your codice fiscale. Its first half was sent to your other contact in \
             INPS's records. If you did not ask for it, you need do nothing: the PINs you already use stay valid \
             and nobody receives a PIN for you at a contact other than yours.",
        ),
    );
    notice(contact, subject, body, now)
}

/// The notice to a contact on file that a PIN was requested but none was issued: every slot holds a PIN in use.
fn pin_refused_notice(contact: &Contact, lang: Language, now: DateTime<Utc>) -> OutboxMessage {
    let (subject, body) = (
        lang.pick("Richiesta di un PIN INPS non accolta", "An INPS PIN request was not granted"),
        lang.pick(
            "È stato richiesto un nuovo PIN INPS per il Suo codice fiscale, ma Lei ha già quattro PIN in uso: non ne \
             è stato emesso un altro. I PIN che usa restano validi. Se ha bisogno di un nuovo PIN si rivolga a una \
             sede INPS o al Contact Center (803 164).",
            "A new INPS PIN was requested for your codice fiscale, but you already have four PINs in use, so no \
             other was issued. The PINs you use stay valid. If you need a new PIN, go to an INPS office or call \
             the Contact Center (803 164).",
        ),
    );
    notice(contact, subject, body, now)
}

fn notice(contact: &Contact, subject: &str, body: &str, now: DateTime<Utc>) -> OutboxMessage {
    OutboxMessage {
        channel: channel(contact).to_owned(),
        recipient: contact.recipient().to_owned(),
        subject: subject.to_owned(),
        body: body.to_owned(),
        not_before: now,
    }
}

/// The letter carrying the second half of a PIN whose first half went to a contact not on file, posted to the
/// residence on file; `None` when no residence is on file (then only an officer can confirm the person).
fn second_half_letter(person: &PersonRecord, half: &str, now: DateTime<Utc>) -> Option<OutboxMessage> {
    let residence = person.residence.as_ref()?;
    let recipient = format!(
        "{}\n{}\n{} {} {}",
        person.full_name(),
        residence.indirizzo,
        residence.cap,
        residence.comune,
        residence.provincia
    );
    let body = format!(
        "Gentile {name},\n\nè stato richiesto un PIN INPS per il Suo codice fiscale {cf} e la sua prima parte è stata \
         inviata al recapito indicato nella richiesta, che non risulta negli archivi dell'INPS. Ecco la seconda \
         parte del PIN:\n\n{half}\n\nSe la richiesta è Sua, acceda a Sportello con il PIN completo (la prima parte \
         seguita da questa): le domande presentate con questo PIN saranno così confermate e pagate.\n\nSe non è \
         stato Lei, acceda con un Suo PIN (o si faccia riconoscere presso una sede INPS): nella pagina «Le mie \
         domande» potrà annullare la domanda presentata a Suo nome e presentarne una Sua. Nessun pagamento sarà \
         disposto senza la Sua conferma.\n\nNon comunichi il PIN a nessuno: l'INPS non glielo chiederà mai.",
        name = person.full_name(),
        cf = person.codice_fiscale,
    );
    Some(OutboxMessage {
        channel: "letter".to_owned(),
        recipient,
        subject: "PIN INPS: seconda parte".to_owned(),
        body,
        not_before: now,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pin_messages_carry_the_half_and_no_codice_fiscale() {
        let contact = Contact::Sms("+393331234567".into());
        let now = chrono::Utc::now();
        let message = pin_half_message(&contact, Language::It, "ABCD2345", true, now);
        assert_eq!(message.channel, "sms");
        assert!(message.body.lines().any(|line| line == "ABCD2345"));
        let message = pin_half_message(&contact, Language::En, "EFGH6789", false, now);
        assert!(message.body.contains("second half") && message.body.contains("EFGH6789"));
    }
}
