//! Who may see whom, walked from the route table: every personal route and API operation, with every path parameter
//! set to each person's object in turn, asked by each actor — a citizen for themself, a patronato operator (whose
//! office holds one mandate in force, one revoked, one expired, and none for a citizen another office holds one for),
//! a Contact Center operator with a caller identified through the door and another without one (who presents the
//! first one's call), and a call's session presented at every other door. Each answer is scanned: no actor ever
//! receives the codice fiscale or the protocol number of a person they may not see. A route added tomorrow is walked
//! here without anyone remembering to list it. Key answers are checked by status too.

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::Method;
use sportello_domain::CodiceFiscale;
use sportello_domain::intermediaries::CallId;
use sportello_domain::principal::{LoginMethod, Principal};
use sportello_store::SessionKind;
use sportello_usecases::sessions::{self, NewSession};
use sportello_web::routes::Audience;

use crate::contact_center::{CALL, CC_OPERATOR, CC_OTHER, identify, roster_with_contact_center};
use crate::intermediaries::{OPERATOR, OPERATORE, mandate, operator_login, operator_login_as};
use crate::support::{PENSIONATA, PROFESSIONISTA, SESSION, TEST_PIN, TestApp, cf, spawn_app};

/// An actor as the walk presents them: their cookies, their bearer token, whom they may see.
struct Actor {
    name: &'static str,
    cookies: Vec<(&'static str, String)>,
    bearer: Option<String>,
    /// The codici fiscali whose data (and applications) this actor may receive.
    may_see: Vec<CodiceFiscale>,
}

/// A session opened straight in the store for `principal`: its id.
async fn session_for(app: &TestApp, principal: Principal, kind: SessionKind) -> String {
    let new = NewSession { principal, kind, credential: None, confirmed: true };
    let opened =
        sessions::open(app.store.as_ref(), new, None, Duration::from_secs(3600), app.clock.now()).await.unwrap();
    opened.id.expose().to_owned()
}

/// `template` with each `{param}` set to each of `values` in turn; the template itself when it has none.
fn filled(template: &str, values: &BTreeMap<&str, Vec<String>>) -> Vec<String> {
    let mut paths = vec![String::new()];
    for segment in template.split('/').skip(1) {
        let options: Vec<String> = match values.get(segment) {
            Some(values) => values.clone(),
            None if segment.starts_with('{') => panic!("{template}: give this test sample values for {segment}"),
            None => vec![segment.to_owned()],
        };
        paths = paths.iter().flat_map(|p| options.iter().map(move |o| format!("{p}/{o}"))).collect();
    }
    if template == "/" { vec!["/".to_owned()] } else { paths }
}

#[tokio::test]
async fn no_actor_ever_receives_a_person_they_may_not_see_on_any_route() {
    let app = spawn_app().await;
    let citizen = cf(PROFESSIONISTA);
    let in_force = cf("BNCLRA65C41F205");
    let revoked = cf(PENSIONATA);
    let expired = cf("GLLMRC72D12L219");
    let other_office = cf("VRDLGU75E15F839");
    let caller = cf("NREGNN81H41A944");
    let nobody = cf("PLLSRA90M50L736");
    let operator = cf(OPERATORE);
    let cc_operator = cf(CC_OPERATOR);
    let cc_other = cf(CC_OTHER);
    let persons = [citizen, in_force, revoked, expired, other_office, caller, nobody];

    let mut protocols = BTreeMap::new();
    for person in persons {
        protocols.insert(person, app.application_of(person, &format!("access-{person}")).await.protocol.to_string());
    }
    roster_with_contact_center(&app).await;
    // The caller's PIN, issued as anyone's is.
    drop(app.logged_in(&caller).await);
    let mut mandates = vec![mandate(&app, in_force, "INCA-RM01", 30).await];
    let id = mandate(&app, revoked, "INCA-RM01", 30).await;
    assert!(app.store.revoke_mandate(id, &revoked, &format!("citizen:{revoked}"), app.clock.now()).await.unwrap());
    mandates.push(id);
    mandates.push(mandate(&app, expired, "INCA-RM01", -1).await);
    mandates.push(mandate(&app, other_office, "INCA-RM02", 30).await);

    let own = app.logged_in(&citizen).await;
    let (desk, _) = operator_login(&app, "INCA-RM01").await;
    let call = CallId::parse("CALL-20200401-0001").unwrap();
    let stored_call = Principal::contact_center(cc_operator, call, caller, LoginMethod::PinFull);
    let citizen_bearer =
        session_for(&app, Principal::citizen(citizen, LoginMethod::PinFull), SessionKind::Bearer).await;
    let (on_call, _) = operator_login_as(&app, cc_operator, "CC-RM01").await;
    let opened = identify(&on_call, "CALL-20200401-0001", &caller, &TEST_PIN[..8], true).await;
    assert_eq!(opened.status, 303, "{}", opened.body);
    let call_cookie = on_call.cookie(CALL).expect("the call's session");
    let (no_caller, _) = operator_login_as(&app, cc_other, "CC-RM01").await;
    let mut actors = vec![
        Actor {
            name: "citizen",
            cookies: vec![(SESSION, own.cookie(SESSION).unwrap())],
            bearer: Some(citizen_bearer),
            may_see: vec![citizen],
        },
        Actor {
            name: "patronato operator",
            cookies: vec![(OPERATOR, desk.cookie(OPERATOR).unwrap()), (CALL, call_cookie.clone())],
            bearer: desk.cookie(OPERATOR),
            may_see: vec![in_force, operator],
        },
        Actor {
            name: "contact center, caller identified",
            cookies: vec![(OPERATOR, on_call.cookie(OPERATOR).unwrap()), (CALL, call_cookie.clone())],
            bearer: Some(call_cookie.clone()),
            may_see: vec![caller, cc_operator],
        },
        // Another operator of the same office, presenting the first one's call: it opens nothing for them.
        Actor {
            name: "contact center, no caller",
            cookies: vec![(OPERATOR, no_caller.cookie(OPERATOR).unwrap()), (CALL, call_cookie.clone())],
            bearer: Some(call_cookie.clone()),
            may_see: vec![cc_other],
        },
    ];
    // A call's session, presented in every cookie a door reads and as a bearer token: no other door opens it.
    let cookie = session_for(&app, stored_call, SessionKind::Cookie).await;
    let bearer = session_for(&app, stored_call, SessionKind::Bearer).await;
    let cookies = vec![(SESSION, cookie.clone()), (OPERATOR, cookie.clone()), (CALL, cookie)];
    actors.push(Actor { name: "a call's session at the other doors", cookies, bearer: Some(bearer), may_see: vec![] });

    let mut values: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    values.insert("{protocol}", protocols.values().cloned().collect());
    values.insert("{id}", mandates.iter().map(i64::to_string).collect());
    let routes: Vec<_> = app.routes.iter().filter(|r| r.audience == Audience::Personal).collect();
    assert!(routes.len() >= 20, "the table lists the personal routes: {routes:?}");
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let mut statuses: BTreeMap<(String, String), u16> = BTreeMap::new();
    let mut asked = 0;
    for actor in &actors {
        let cookie = actor.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
        for route in &routes {
            // Logging out of the API takes no token but the session's own: it would end the walk's bearer session.
            // Its answer is an empty 204 or a 401 (tested in api.rs).
            if route.path == "/api/v1/sessions/current" {
                continue;
            }
            let mut paths = filled(route.path, &values);
            // The operators' pages that take the citizen in the query: each person in turn.
            if matches!(route.path, "/intermediari/cittadino" | "/intermediari/domanda") {
                paths = persons.iter().map(|p| format!("{}?cf={p}", route.path)).collect();
                if route.path == "/intermediari/domanda" {
                    paths.extend(persons.iter().map(|p| format!("/intermediari/domanda?cf={p}&scheme=art27")));
                }
            }
            if route.path == "/intermediari/chiamata/domanda" {
                paths.push("/intermediari/chiamata/domanda?scheme=art27".to_owned());
            }
            for path in paths {
                for method in &route.methods {
                    // No form token is sent: a post changes nothing, and its answer is scanned all the same.
                    let mut request = client.request(method.clone(), app.url(&path)).header("cookie", &cookie);
                    if path.starts_with("/api/")
                        && let Some(token) = &actor.bearer
                    {
                        request = request.bearer_auth(token);
                    }
                    if *method != Method::GET {
                        request = request.header("content-type", "application/x-www-form-urlencoded").body("");
                    }
                    let response = request.send().await.unwrap();
                    let status = response.status().as_u16();
                    let body = response.text().await.unwrap();
                    let what = format!("{} {method} {path}", actor.name);
                    assert!(status < 500, "{what}: {status} {body}");
                    for person in persons.iter().chain([&operator, &cc_operator, &cc_other]) {
                        if actor.may_see.contains(person) {
                            continue;
                        }
                        assert!(!body.contains(person.as_str()), "{what}: {status}, the body holds {person}: {body}");
                        if let Some(protocol) = protocols.get(person) {
                            assert!(!body.contains(protocol.as_str()), "{what}: {status}, the body holds {protocol}");
                        }
                    }
                    statuses.insert((actor.name.to_owned(), format!("{method} {path}")), status);
                    asked += 1;
                }
            }
        }
    }
    assert!(asked > 400, "the walk asked {asked} times");

    // Key answers, by status.
    let status = |actor: &str, request: String| {
        *statuses.get(&(actor.to_owned(), request.clone())).unwrap_or_else(|| panic!("not asked: {actor} {request}"))
    };
    for person in persons {
        let protocol = &protocols[&person];
        let mine = person == citizen;
        assert_eq!(status("citizen", format!("GET /domande/{protocol}")), if mine { 200 } else { 404 }, "{person}");
        let api = status("citizen", format!("GET /api/v1/applications/{protocol}"));
        assert_eq!(api, if mine { 200 } else { 404 }, "{person}");
        let reads = status("patronato operator", format!("GET /intermediari/cittadino?cf={person}"));
        assert_eq!(reads, if person == in_force { 200 } else { 404 }, "operator reading {person}");
        let files = status("patronato operator", format!("GET /intermediari/domanda?cf={person}&scheme=art27"));
        assert_eq!(files, if person == in_force { 200 } else { 404 }, "operator filing for {person}");
        // The operator's session opens no citizen page and no API call.
        assert_eq!(status("patronato operator", format!("GET /domande/{protocol}")), 303);
        assert_eq!(status("patronato operator", format!("GET /api/v1/applications/{protocol}")), 401);
        for cc in
            ["contact center, caller identified", "contact center, no caller", "a call's session at the other doors"]
        {
            assert_eq!(status(cc, format!("GET /domande/{protocol}")), 303, "{cc}");
            assert_eq!(status(cc, format!("GET /api/v1/applications/{protocol}")), 401, "{cc}");
        }
        for cc in ["contact center, caller identified", "contact center, no caller"] {
            // No mandate stands behind a call: the mandate pages find nobody.
            assert_eq!(status(cc, format!("GET /intermediari/cittadino?cf={person}")), 404, "{cc}");
        }
        let other_doors = "a call's session at the other doors";
        assert_eq!(status(other_doors, format!("GET /intermediari/cittadino?cf={person}")), 303);
    }
    // The call's pages: the caller for the operator on the call; the form for their colleague; nothing for the
    // patronato, the citizen, or a call's session without the operator's.
    assert_eq!(status("contact center, caller identified", "GET /intermediari/chiamata".to_owned()), 200);
    let filing = "GET /intermediari/chiamata/domanda?scheme=art27".to_owned();
    assert_eq!(status("contact center, caller identified", filing.clone()), 200);
    assert_eq!(status("contact center, no caller", "GET /intermediari/chiamata".to_owned()), 200);
    assert_eq!(status("contact center, no caller", filing.clone()), 403);
    assert_eq!(status("patronato operator", "GET /intermediari/chiamata".to_owned()), 403);
    assert_eq!(status("citizen", "GET /intermediari/chiamata".to_owned()), 303);
    assert_eq!(status("a call's session at the other doors", filing), 303);
    assert_eq!(status("citizen", "GET /intermediari".to_owned()), 303, "a citizen's session opens no operator page");
    assert_eq!(status("citizen", "GET /situazione".to_owned()), 200);
    assert_eq!(status("patronato operator", "GET /intermediari".to_owned()), 200);
}
