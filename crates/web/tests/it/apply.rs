//! Applying for an indemnity over real HTTP: form, review, submission, receipt and "Le mie domande".

use std::collections::BTreeSet;

use sportello_domain::CodiceFiscale;
use sportello_domain::registry::{Position, PositionKind, RegistryRow};
use sportello_store::ApplicationStatus;

use crate::support::{
    Browser, IBAN, PENSIONATA, PROFESSIONISTA, TEST_PIN, TestApp, apply, assert_private, cf, csrf_of, field, filled,
    hidden_fields, pairs, spawn_app,
};

/// A self-employed professional of the Gestione separata, entitled under art. 27.
fn professional(codice_fiscale: CodiceFiscale) -> RegistryRow {
    let day = chrono::NaiveDate::from_ymd_opt(2015, 3, 1).unwrap();
    RegistryRow { codice_fiscale, position: Position::period(PositionKind::GestioneSeparataProfessionista, day, None) }
}

#[tokio::test]
async fn a_citizen_applies_reviews_submits_and_gets_a_receipt_once_however_often_they_submit() {
    let app = spawn_app().await;
    let me = cf(PROFESSIONISTA);
    let browser = app.logged_in(&me).await;

    let situation = browser.get("/situazione").await;
    assert!(situation.body.contains("/domanda?scheme=art27"), "an eligible indemnity links to its form");
    assert!(situation.body.contains("href=\"/domande\""), "and to Le mie domande");
    let form = browser.get("/domanda?scheme=art27").await;
    assert_eq!(form.status, 200);
    assert_eq!(field(&form.body, "scheme"), "art27");

    let (submitted, confirm) = apply(&browser, "art27").await;
    assert_eq!(submitted.status, 303, "{}", submitted.body);
    assert_private(&submitted);
    assert_private(&form);
    assert!(submitted.location.starts_with("/domande/INPS-COVID-"), "{}", submitted.location);
    let protocol = submitted.location.trim_start_matches("/domande/").to_owned();

    let receipt = browser.get(&submitted.location).await;
    assert_eq!(receipt.status, 200);
    assert_private(&receipt);
    for expected in [protocol.as_str(), me.as_str(), "Accolta", "art. 27 c. 1", "3456", "ora italiana"] {
        assert!(receipt.body.contains(expected), "{expected} missing from the receipt");
    }
    assert!(!receipt.body.contains("X054"), "the receipt shows only the last four characters of the IBAN");

    // A double click, a retry or the back button and "invia" again: the same key, the same application.
    let again = browser.post("/domanda/invia", &pairs(&confirm)).await;
    assert_eq!((again.status, again.location.as_str()), (303, submitted.location.as_str()));
    assert_eq!(app.store.applications_of(&me).await.unwrap().len(), 1);

    let mine = browser.get("/domande").await;
    assert_eq!(mine.status, 200);
    assert!(mine.body.contains(&format!("href=\"/domande/{protocol}\"")) && mine.body.contains("Accolta"));
    let english = browser.get(&format!("/domande/{protocol}?lang=en")).await;
    assert!(english.body.contains("<html lang=\"en\">") && english.body.contains("Accepted"));

    let audit = app.store.audit_of(&me, 20).await.unwrap();
    let actions: BTreeSet<_> = audit.iter().map(|a| a.action.as_str()).collect();
    for action in ["submit_application", "view_application", "list_applications"] {
        assert!(actions.contains(action), "{action} not audited: {actions:?}");
    }
    assert!(audit.iter().any(|a| a.action == "submit_application" && a.object.as_deref() == Some(&protocol)));
}

#[tokio::test]
async fn the_review_shows_the_whole_iban_to_its_owner_and_modifica_brings_the_form_back() {
    let app = spawn_app().await;
    let browser = app.logged_in(&cf(PROFESSIONISTA)).await;
    let form = browser.get("/domanda?scheme=art27&lang=en").await;
    let review = browser.post("/domanda?lang=en", &pairs(&filled(&form))).await;
    assert_eq!(review.status, 200);
    assert_private(&review);
    assert!(review.body.contains(IBAN) && review.body.contains("Confirm and send"), "{}", review.body);
    let edit = hidden_fields(&review.body, "/domanda?lang=en");
    assert!(edit.iter().any(|(k, v)| k == "edit" && v == "1"));
    let back = browser.post("/domanda?lang=en", &pairs(&edit)).await;
    assert_eq!(back.status, 200);
    assert!(back.body.contains("value=\"IT60X0542811101000000123456\"") && back.body.contains("checked"));
    assert_eq!(field(&back.body, "idempotency_key"), field(&form.body, "idempotency_key"), "the same key");
    assert!(app.store.applications_of(&cf(PROFESSIONISTA)).await.unwrap().is_empty(), "nothing sent yet");
}

#[tokio::test]
async fn a_second_indemnity_is_refused_with_409_naming_the_first_application() {
    let app = spawn_app().await;
    let me = cf(PROFESSIONISTA);
    let browser = app.logged_in(&me).await;
    let (first, _) = apply(&browser, "art27").await;
    assert_eq!(first.status, 303);
    let protocol = first.location.trim_start_matches("/domande/").to_owned();

    // The registry now also shows a craft business, which alone would entitle the person under art. 28.
    let day = chrono::NaiveDate::from_ymd_opt(2010, 1, 1).unwrap();
    app.import_registry(vec![RegistryRow {
        codice_fiscale: me,
        position: Position::period(PositionKind::Artigiano, day, None),
    }])
    .await;
    // The refusal comes on the form itself, before anything is filled in.
    let second = browser.get("/domanda?scheme=art28").await;
    assert_eq!(second.status, 409, "{}", second.body);
    assert_private(&second);
    assert!(second.body.contains(&protocol) && second.body.contains("art. 31"), "{}", second.body);
    let first_title = sportello_domain::law::Rulebook::dl18_2020().scheme("art27").unwrap().title_it().to_owned();
    assert!(second.body.contains(&first_title), "names the first indemnity: {}", second.body);
    let stored = app.store.applications_of(&me).await.unwrap();
    assert_eq!(stored.len(), 1, "nothing stored for the second");
    assert_eq!(stored[0].scheme, "art27");
}

#[tokio::test]
async fn an_ineligible_application_is_kept_as_rejected_with_reasons_and_blocks_nothing() {
    let app = spawn_app().await;
    let me = cf(PENSIONATA);
    let browser = app.logged_in(&me).await;
    let (rejected, _) = apply(&browser, "art27").await;
    assert_eq!(rejected.status, 303);
    let receipt = browser.get(&rejected.location).await;
    assert!(receipt.body.contains("Respinta") && receipt.body.contains("art. 27"), "{}", receipt.body);
    let stored = app.store.applications_of(&me).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].status, ApplicationStatus::Rejected);
    assert!(!stored[0].reasons.is_empty(), "reasons are stored");

    // The registry is corrected: she turns out to be a professional too. A new application goes through.
    let mut import = app.store.begin_registry_import().await.unwrap();
    let rows: Vec<RegistryRow> =
        crate::support::registry().into_iter().filter(|r| r.codice_fiscale != me).chain([professional(me)]).collect();
    import.write(&rows).await.unwrap();
    import.commit().await.unwrap();
    let (accepted, _) = apply(&browser, "art27").await;
    assert_eq!(accepted.status, 303, "{}", accepted.body);
    assert_ne!(accepted.location, rejected.location);
    let stored = app.store.applications_of(&me).await.unwrap();
    assert_eq!(
        stored.iter().map(|a| a.status).collect::<Vec<_>>(),
        [ApplicationStatus::Rejected, ApplicationStatus::Accepted]
    );
}

#[tokio::test]
async fn a_wrong_iban_or_missing_declarations_give_the_form_back_with_messages_and_what_was_typed() {
    let app = spawn_app().await;
    let browser = app.logged_in(&cf(PROFESSIONISTA)).await;
    let form = browser.get("/domanda?scheme=art27").await;
    let mut posted = filled(&form);
    posted.retain(|(k, _)| k != "not_reddito_di_cittadinanza" && k != "no_other_compulsory_scheme");
    for (k, v) in &mut posted {
        if k == "iban" {
            *v = "IT60 X054 2811 1010 0000 0123 457".to_owned();
        }
    }
    let page = browser.post("/domanda", &pairs(&posted)).await;
    assert_eq!(page.status, 422, "{}", page.body);
    assert_private(&page);
    assert!(page.body.contains("IBAN non è valido"), "{}", page.body);
    assert!(page.body.contains("value=\"IT60 X054 2811 1010 0000 0123 457\""), "the IBAN as typed");
    assert!(page.body.contains("value=\"mario.rossi@example.it\""), "the e-mail as typed");
    assert!(page.body.contains("id=\"iban-error\"") && page.body.contains("aria-invalid=\"true\""));
    assert!(page.body.contains("non percepire il reddito di cittadinanza"));
    assert!(page.body.contains("id=\"no_other_compulsory_scheme-error\""));
    assert!(
        page.body.contains(
            "deve dichiarare di non essere iscritto ad altre forme previdenziali obbligatorie (art. 27 c. 1)"
        ),
        "the missing declaration is named with its article"
    );
    assert!(!page.body.contains("id=\"not_pension_holder-error\""), "the ticked one is fine");
    assert_eq!(field(&page.body, "idempotency_key"), field(&form.body, "idempotency_key"), "the same key");

    let english = browser.post("/domanda?lang=en", &pairs(&posted)).await;
    assert_eq!(english.status, 422);
    assert!(english.body.contains("The IBAN is not valid"));
    // The submission re-validates: a tampered confirmation is refused the same way.
    let tampered = browser.post("/domanda/invia", &pairs(&posted)).await;
    assert_eq!(tampered.status, 422);
    assert!(app.store.applications_of(&cf(PROFESSIONISTA)).await.unwrap().is_empty());
}

#[tokio::test]
async fn without_the_csrf_token_nothing_is_stored() {
    let app = spawn_app().await;
    let browser = app.logged_in(&cf(PROFESSIONISTA)).await;
    let form = browser.get("/domanda?scheme=art27").await;
    let mut posted = filled(&form);
    posted.retain(|(k, _)| k != "csrf");
    for path in ["/domanda", "/domanda/invia"] {
        let page = browser.post(path, &pairs(&posted)).await;
        assert_eq!(page.status, 403, "{path}");
        assert_private(&page);
    }
    let other = app.logged_in(&cf(PENSIONATA)).await;
    let foreign = csrf_of(&other.get("/domanda?scheme=art27").await.body);
    posted.push(("csrf".to_owned(), foreign));
    assert_eq!(browser.post("/domanda/invia", &pairs(&posted)).await.status, 403, "another session's token");
    assert!(app.store.applications_of(&cf(PROFESSIONISTA)).await.unwrap().is_empty());
}

#[tokio::test]
async fn another_citizens_protocol_is_not_found_and_pages_need_a_session() {
    let app = spawn_app().await;
    let a = app.logged_in(&cf(PROFESSIONISTA)).await;
    let (submitted, _) = apply(&a, "art27").await;
    let b = app.logged_in(&cf(PENSIONATA)).await;
    let page = b.get(&submitted.location).await;
    assert_eq!(page.status, 404);
    assert_private(&page);
    assert!(!page.body.contains(cf(PROFESSIONISTA).as_str()) && !page.body.contains("3456"));
    assert_eq!(b.get("/domande/INPS-COVID-2020-999999999").await.status, 404);
    assert!(!b.get("/domande").await.body.contains("INPS-COVID-"), "B has no applications");

    let anonymous = Browser::new(&app);
    for path in ["/domanda?scheme=art27", "/domande", submitted.location.as_str()] {
        let page = anonymous.get(path).await;
        assert_eq!((page.status, page.location.as_str()), (303, "/accedi"), "{path}");
        assert_private(&page);
    }
    assert_eq!(a.get("/domanda?scheme=art99").await.status, 404);
}

/// The codici fiscali in `text`: every 16-character run that parses as one.
fn codici_in(text: &str) -> BTreeSet<String> {
    let bytes = text.as_bytes();
    (0..bytes.len().saturating_sub(15))
        .filter(|&i| bytes[i..i + 6].iter().all(u8::is_ascii_uppercase) && bytes[i + 15].is_ascii_uppercase())
        .filter_map(|i| std::str::from_utf8(&bytes[i..i + 16]).ok())
        .filter(|candidate| CodiceFiscale::parse(candidate).is_ok())
        .map(str::to_owned)
        .collect()
}

/// The protocol numbers in `text`.
fn protocols_in(text: &str) -> BTreeSet<String> {
    text.match_indices("INPS-COVID-")
        .map(|(at, _)| text[at..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-').collect())
        .collect()
}

/// 500 people, each logging in and applying at the same moment through the pages, then reading the same through the
/// JSON API: every page and JSON body each one receives names only them, and each has exactly one application.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn five_hundred_citizens_applying_at_once_each_see_only_themselves_and_get_one_application() {
    const LETTERS: &[u8; 26] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let app = spawn_app().await;
    let people: Vec<CodiceFiscale> = (0..500)
        .map(|i| {
            let (a, b) = (char::from(LETTERS[i / 26]), char::from(LETTERS[i % 26]));
            cf(&format!("TS{a}{b}PR80A01H501"))
        })
        .collect();
    app.import_registry(people.iter().copied().map(professional).collect()).await;

    let journeys = people.iter().map(|person| {
        let app: &TestApp = &app;
        async move {
            let browser = app.logged_in(person).await;
            let situation = browser.get("/situazione").await;
            let form = browser.get("/domanda?scheme=art27").await;
            let review = browser.post("/domanda", &pairs(&filled(&form))).await;
            let confirm = hidden_fields(&review.body, "/domanda/invia");
            let submitted = browser.post("/domanda/invia", &pairs(&confirm)).await;
            assert_eq!(submitted.status, 303, "{person}: {}", submitted.body);
            let again = browser.post("/domanda/invia", &pairs(&confirm)).await;
            assert_eq!(again.location, submitted.location, "{person}: the same receipt");
            let receipt = browser.get(&submitted.location).await;
            let list = browser.get("/domande").await;
            // The same person through the JSON API, with a bearer token of its own.
            let login = serde_json::json!({"codice_fiscale": person.as_str(), "pin": &TEST_PIN[..8]});
            let session = app.client.post(app.url("/api/v1/sessions")).json(&login).send().await.unwrap();
            assert_eq!(session.status(), 201, "{person}");
            let token = session.json::<serde_json::Value>().await.unwrap()["token"].as_str().unwrap().to_owned();
            let api_receipt = format!("/api/v1/applications/{}", submitted.location.trim_start_matches("/domande/"));
            let mut json = Vec::new();
            for path in ["/api/v1/situation", "/api/v1/applications", api_receipt.as_str()] {
                let answer = app.client.get(app.url(path)).bearer_auth(&token).send().await.unwrap();
                assert_eq!(answer.status(), 200, "{person}: {path}");
                assert_eq!(answer.headers()["cache-control"], "no-store, private", "{person}: {path}");
                json.push(answer.text().await.unwrap());
            }
            let pages = [situation, form, review, submitted, again, receipt, list];
            for page in &pages {
                assert!(page.status == 200 || page.status == 303, "{person}: {} {}", page.status, page.body);
                assert_private(page);
            }
            let mut bodies: Vec<String> = pages.into_iter().map(|page| page.body).collect();
            bodies.extend(json);
            (*person, bodies)
        }
    });
    let seen = futures::future::join_all(journeys).await;

    let mut protocols = BTreeSet::new();
    for (person, pages) in &seen {
        let stored = app.store.applications_of(person).await.unwrap();
        assert_eq!(stored.len(), 1, "{person}: exactly one application");
        let own_protocol = &stored[0].protocol;
        assert!(pages[5].contains(person.as_str()) && pages[5].contains(own_protocol.as_str()), "{person}'s receipt");
        assert!(pages[9].contains(own_protocol.as_str()), "{person}'s receipt in JSON");
        for body in pages {
            let named = codici_in(body);
            assert!(named.iter().all(|c| c == person.as_str()), "{person} was shown {named:?}");
            let quoted = protocols_in(body);
            assert!(quoted.iter().all(|p| p == own_protocol), "{person} was shown {quoted:?}");
        }
        protocols.insert(own_protocol.clone());
    }
    assert_eq!(protocols.len(), 500, "five hundred distinct protocol numbers");
}
