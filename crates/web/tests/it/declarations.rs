//! The declarations are the law's: each indemnity asks for the conditions its article sets (DL 18/2020 arts. 27, 28,
//! 29, 30, 31 and 38), shown with the article on the form and the review, checked on submission by both doors and
//! stored with the application.

use serde_json::{Value, json};

use crate::support::{PROFESSIONISTA, TEST_PIN, apply, cf, filled, hidden_fields, pairs, spawn_app};

/// The checkbox labels of a form page, in order.
fn declarations_of(html: &str) -> Vec<(String, String)> {
    html.split("<input type=\"checkbox\" id=\"")
        .skip(1)
        .map(|rest| {
            let id = rest.split('"').next().unwrap().to_owned();
            let label = rest.split("\">").nth(1).unwrap().split("</label>").next().unwrap().to_owned();
            (id, label)
        })
        .collect()
}

#[tokio::test]
async fn each_form_asks_for_the_conditions_of_its_article_and_no_other() {
    let app = spawn_app().await;
    let browser = app.logged_in(&cf(PROFESSIONISTA)).await;
    let label = |ids: &[(&str, &str)]| -> Vec<(String, String)> {
        ids.iter().map(|(id, label)| ((*id).to_owned(), (*label).to_owned())).collect()
    };
    let pension = |art: &str| ("not_pension_holder", format!("di non essere titolare di pensione (art. {art} c. 1)"));
    let rdc = ("not_reddito_di_cittadinanza", "di non percepire il reddito di cittadinanza (art. 31 c. 1)".to_owned());
    let employed = |at: &str| {
        (
            "not_employed",
            format!("di non essere titolare di rapporto di lavoro dipendente alla data del 17/03/2020 ({at})"),
        )
    };
    let cases: [(&str, Vec<(&str, String)>); 5] = [
        (
            "art27",
            vec![
                pension("27"),
                ("no_other_compulsory_scheme", "di non essere iscritto ad altre forme previdenziali obbligatorie (art. 27 c. 1)".to_owned()),
                rdc.clone(),
            ],
        ),
        (
            "art28",
            vec![
                pension("28"),
                (
                    "no_other_compulsory_scheme",
                    "di non essere iscritto ad altre forme previdenziali obbligatorie, esclusa la Gestione separata (art. 28 c. 1)".to_owned(),
                ),
                rdc.clone(),
            ],
        ),
        ("art29", vec![pension("29"), employed("art. 29 c. 1"), rdc.clone()]),
        ("art30", vec![pension("30"), rdc.clone()]),
        ("art38", vec![pension("38"), employed("art. 38 c. 2"), rdc.clone()]),
    ];
    for (scheme, expected) in cases {
        let form = browser.get(&format!("/domanda?scheme={scheme}")).await;
        assert_eq!(form.status, 200, "{scheme}");
        let expected: Vec<(&str, &str)> = expected.iter().map(|(id, l)| (*id, l.as_str())).collect();
        assert_eq!(declarations_of(&form.body), label(&expected), "{scheme}");
        assert!(!form.body.contains("5.000"), "{scheme}: occasional work is no condition to declare");
    }
}

#[tokio::test]
async fn the_declarations_made_are_reviewed_with_their_articles_and_stored() {
    let app = spawn_app().await;
    let me = cf(PROFESSIONISTA);
    let browser = app.logged_in(&me).await;
    let form = browser.get("/domanda?scheme=art27").await;
    let review = browser.post("/domanda", &pairs(&filled(&form))).await;
    assert_eq!(review.status, 200, "{}", review.body);
    assert!(
        review
            .body
            .contains("<li>di non essere iscritto ad altre forme previdenziali obbligatorie (art. 27 c. 1)</li>")
    );
    let carried: Vec<String> = hidden_fields(&review.body, "/domanda/invia").into_iter().map(|(k, _)| k).collect();
    assert!(
        carried.contains(&"no_other_compulsory_scheme".to_owned()) && !carried.contains(&"not_employed".to_owned())
    );
    let (submitted, _) = apply(&browser, "art27").await;
    assert_eq!(submitted.status, 303, "{}", submitted.body);
    let stored = app.store.applications_of(&me).await.unwrap();
    let declared = &stored[0].details["declarations"];
    assert_eq!(
        declared,
        &json!({"not_pension_holder": true, "no_other_compulsory_scheme": true, "not_employed": false,
                "not_reddito_di_cittadinanza": true}),
        "exactly the scheme's declarations, though the browser ticked every box"
    );
}

#[tokio::test]
async fn the_example_iban_of_the_hint_is_refused() {
    let app = spawn_app().await;
    let browser = app.logged_in(&cf(PROFESSIONISTA)).await;
    let form = browser.get("/domanda?scheme=art27").await;
    let hint = form.body.split("id=\"iban-hint\"").nth(1).unwrap().split("</small>").next().unwrap();
    let at =
        hint.match_indices("IT").map(|(i, _)| i).find(|&i| hint[i + 2..].starts_with(|c: char| c.is_ascii_digit()));
    let example: String = hint[at.expect("an example IBAN in the hint")..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == ' ')
        .collect();
    assert_eq!(example.trim().len(), 33, "an Italian IBAN in groups of four: {example:?}");
    let mut posted = filled(&form);
    for (k, v) in &mut posted {
        if k == "iban" {
            *v = example.trim().to_owned();
        }
    }
    let page = browser.post("/domanda", &pairs(&posted)).await;
    assert_eq!(page.status, 422, "the example must not pass for a real account");
    assert!(page.body.contains("id=\"iban-error\""));
}

#[tokio::test]
async fn the_api_names_a_missing_declaration_of_the_scheme_and_lists_them() {
    let app = spawn_app().await;
    let schemes: Value = app.client.get(app.url("/api/v1/schemes")).send().await.unwrap().json().await.unwrap();
    let art38 = schemes["schemes"].as_array().unwrap().iter().find(|s| s["id"] == "art38").unwrap();
    let asked: Vec<(&str, &str)> = art38["declarations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["id"].as_str().unwrap(), d["legal_ref"].as_str().unwrap()))
        .collect();
    assert_eq!(
        asked,
        [
            ("not_pension_holder", "art. 38 c. 1"),
            ("not_employed", "art. 38 c. 2"),
            ("not_reddito_di_cittadinanza", "art. 31 c. 1")
        ]
    );

    let me = cf(PROFESSIONISTA);
    app.logged_in(&me).await;
    let login = json!({"codice_fiscale": me.as_str(), "pin": &TEST_PIN[..8]});
    let session = app.client.post(app.url("/api/v1/sessions")).json(&login).send().await.unwrap();
    let token = session.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_owned();
    let application = json!({
        "scheme": "art38",
        "payment": {"method": "domiciliato"},
        "contact": {"email": "mario.rossi@example.it"},
        "declarations": {"not_pension_holder": true, "no_other_compulsory_scheme": true,
                         "not_reddito_di_cittadinanza": true}
    });
    let answer = app
        .client
        .post(app.url("/api/v1/applications"))
        .bearer_auth(&token)
        .header("idempotency-key", "missing-not-employed")
        .json(&application)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 422);
    let problem: Value = answer.json().await.unwrap();
    assert_eq!(problem["errors"].as_array().unwrap().len(), 1, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "/declarations/not_employed");
    let message = problem["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("lavoro dipendente") && message.contains("(art. 38 c. 2)"), "{message}");
    assert!(app.store.applications_of(&me).await.unwrap().is_empty());
}
