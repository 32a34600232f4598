//! After the drill: what the citizens were told, checked against what the store holds and against each other.
//!
//! A receipt is a promise: the application it names must be in the store, once, under the person who got it, and
//! nobody may hold two. And no citizen may have been shown another citizen's codice fiscale or protocol number.

use std::collections::{BTreeSet, HashMap};

use serde::{Deserialize, Serialize};
use sportello_domain::{CodiceFiscale, ProtocolNumber};
use sportello_store::Store;

/// A receipt a simulated citizen got back.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Receipt {
    /// Who applied.
    pub codice_fiscale: CodiceFiscale,
    /// The protocol number the portal answered.
    pub protocol: String,
    /// The key the application was sent with.
    pub idempotency_key: String,
}

/// What the bodies one citizen saw named, besides themselves.
#[derive(Debug, Clone)]
pub struct Sighting {
    /// The citizen.
    pub codice_fiscale: CodiceFiscale,
    /// Codici fiscali other than the citizen's own, in any body they were shown.
    pub other_people: BTreeSet<String>,
    /// Every protocol number in any body they were shown.
    pub protocols: BTreeSet<String>,
    /// The protocol numbers of their own receipts.
    pub own_protocols: BTreeSet<String>,
}

impl Sighting {
    /// Nothing seen yet.
    pub fn new(codice_fiscale: CodiceFiscale) -> Self {
        Sighting {
            codice_fiscale,
            other_people: BTreeSet::new(),
            protocols: BTreeSet::new(),
            own_protocols: BTreeSet::new(),
        }
    }
}

/// Notes every codice fiscale (a 16-character word that passes the check character) other than the citizen's own,
/// and every protocol number (`INPS-COVID-YYYY-NNNNNNNNN`), in `body`.
pub fn scan_body(sighting: &mut Sighting, body: &str) {
    let own = sighting.codice_fiscale.base_form();
    let bytes = body.as_bytes();
    let mut start = 0;
    while start < bytes.len() {
        if !bytes[start].is_ascii_alphanumeric() {
            start += 1;
            continue;
        }
        let end = bytes[start..].iter().position(|b| !b.is_ascii_alphanumeric()).map_or(bytes.len(), |n| start + n);
        let word = &body[start..end];
        // The same person however written: either case, or an omocodic variant of the same code.
        if word.len() == 16
            && let Ok(cf) = CodiceFiscale::parse(word)
            && cf.base_form() != own
        {
            sighting.other_people.insert(cf.to_string());
        }
        if word == "INPS"
            && let Some(protocol) = protocol_at(&body[start..])
        {
            sighting.protocols.insert(protocol.to_owned());
        }
        start = end;
    }
}

/// The protocol number at the start of `text`, if there is one.
fn protocol_at(text: &str) -> Option<&str> {
    let rest = text.strip_prefix("INPS-COVID-")?;
    let year = rest.get(..4).filter(|y| y.bytes().all(|b| b.is_ascii_digit()))?;
    let digits = rest.get(5..)?.bytes().take_while(u8::is_ascii_digit).count();
    (year.len() == 4 && rest.as_bytes().get(4) == Some(&b'-') && digits >= 9)
        .then(|| &text[..("INPS-COVID-".len() + 5 + digits)])
}

/// What the verification found: empty lists when all is well.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Findings {
    /// Receipts checked against the store.
    pub receipts_checked: u64,
    /// Citizens whose bodies were scanned.
    pub citizens_scanned: u64,
    /// Receipts not in the store under their person.
    pub missing: Vec<String>,
    /// Receipts in the store under someone else.
    pub wrong_person: Vec<String>,
    /// Persons with more than one application in the store.
    pub duplicates: Vec<String>,
    /// Citizens shown another person's codice fiscale or protocol number.
    pub leaks: Vec<String>,
}

impl Findings {
    /// Every failure, one per line, or `None` when there is none.
    pub fn failures(&self) -> Option<String> {
        let lines: Vec<String> = [
            ("receipt not in the store", &self.missing),
            ("receipt stored under another person", &self.wrong_person),
            ("more than one application", &self.duplicates),
            ("shown another person's data", &self.leaks),
        ]
        .iter()
        .flat_map(|(what, list)| list.iter().map(move |item| format!("  {what}: {item}")))
        .collect();
        (!lines.is_empty()).then(|| lines.join("\n"))
    }
}

/// Checks every receipt against `store` and every citizen's sightings against the receipts.
pub async fn verify_store(store: &dyn Store, receipts: &[Receipt], sightings: &[Sighting]) -> anyhow::Result<Findings> {
    let mut findings = Findings::default();
    let mut owner: HashMap<&str, CodiceFiscale> = HashMap::new();
    let mut by_person: HashMap<CodiceFiscale, Vec<&Receipt>> = HashMap::new();
    for receipt in receipts {
        if let Some(first) = owner.insert(&receipt.protocol, receipt.codice_fiscale) {
            findings
                .wrong_person
                .push(format!("{} was handed to both {first} and {}", receipt.protocol, receipt.codice_fiscale));
        }
        by_person.entry(receipt.codice_fiscale).or_default().push(receipt);
    }
    let mut people: Vec<_> = by_person.into_iter().collect();
    people.sort_by_key(|(cf, _)| cf.to_string());
    for (cf, theirs) in people {
        let stored = store.applications_of(&cf).await?;
        for receipt in &theirs {
            findings.receipts_checked += 1;
            let copies = stored.iter().filter(|a| a.protocol == receipt.protocol).count();
            match copies {
                1 => {}
                0 => match match ProtocolNumber::parse(&receipt.protocol) {
                    Ok(protocol) => store.application(&cf, &protocol).await?,
                    Err(_) => None,
                } {
                    Some(_) => findings
                        .missing
                        .push(format!("{} of {cf} is not listed among their applications", receipt.protocol)),
                    None => findings.missing.push(format!("{} of {cf}", receipt.protocol)),
                },
                n => findings.duplicates.push(format!("{} of {cf} is stored {n} times", receipt.protocol)),
            }
            if let Some(other) = stored.iter().find(|a| a.protocol == receipt.protocol && a.codice_fiscale != cf) {
                findings
                    .wrong_person
                    .push(format!("{} of {cf} is stored under {}", receipt.protocol, other.codice_fiscale));
            }
        }
        if stored.len() > 1 {
            let protocols: Vec<&str> = stored.iter().map(|a| a.protocol.as_str()).collect();
            findings.duplicates.push(format!("{cf} has {} applications: {}", stored.len(), protocols.join(", ")));
        }
    }
    for sighting in sightings {
        findings.citizens_scanned += 1;
        let who = sighting.codice_fiscale;
        for other in &sighting.other_people {
            findings.leaks.push(format!("{who} was shown the codice fiscale {other}"));
        }
        for protocol in &sighting.protocols {
            let foreign = match owner.get(protocol.as_str()) {
                Some(holder) => *holder != who,
                None => !sighting.own_protocols.contains(protocol),
            };
            if foreign {
                findings.leaks.push(format!("{who} was shown the protocol number {protocol}, not theirs"));
            }
        }
    }
    Ok(findings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_naming_someone_else_is_caught_and_one_naming_only_its_reader_is_not() {
        let me = CodiceFiscale::parse("RSSMRA80A01H501U").unwrap();
        let mut sighting = Sighting::new(me);
        scan_body(&mut sighting, r#"{"codice_fiscale":"RSSMRA80A01H501U","protocol":"INPS-COVID-2020-000000042"}"#);
        assert!(sighting.other_people.is_empty());
        assert_eq!(sighting.protocols.iter().collect::<Vec<_>>(), ["INPS-COVID-2020-000000042"]);
        // A 16-character word that fails the check character is not a person (an IBAN fragment, a token).
        scan_body(&mut sighting, r#"{"email":"rssmra80a01h501u@drill.invalid"}"#);
        assert!(sighting.other_people.is_empty(), "one's own code in lower case is still one's own");
        scan_body(&mut sighting, "token ABCDEFGHIJKLMNOP and MRTMRA83T56A269B");
        assert_eq!(sighting.other_people.iter().collect::<Vec<_>>(), ["MRTMRA83T56A269B"]);
    }

    #[tokio::test]
    async fn a_citizen_shown_another_s_receipt_and_a_receipt_the_store_lacks_are_both_failures() {
        let dir = tempfile::tempdir().unwrap();
        let store = sportello_store::open(&format!("sqlite://{}", dir.path().join("s.db").display())).await.unwrap();
        let (me, other) =
            (CodiceFiscale::parse("RSSMRA80A01H501U").unwrap(), CodiceFiscale::parse("MRTMRA83T56A269B").unwrap());
        let theirs = Receipt {
            codice_fiscale: other,
            protocol: "INPS-COVID-2020-000000007".to_owned(),
            idempotency_key: "k".to_owned(),
        };
        let mut sighting = Sighting::new(me);
        scan_body(&mut sighting, r#"{"applications":[{"protocol":"INPS-COVID-2020-000000007"}]}"#);
        let findings = verify_store(store.as_ref(), &[theirs], &[sighting]).await.unwrap();
        assert_eq!(findings.missing, ["INPS-COVID-2020-000000007 of MRTMRA83T56A269B"]);
        assert_eq!(
            findings.leaks,
            ["RSSMRA80A01H501U was shown the protocol number INPS-COVID-2020-000000007, not theirs"]
        );
        assert!(findings.failures().unwrap().contains("shown another person's data"));
    }
}
