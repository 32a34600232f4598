//! The apply use case on a real (SQLite) store: what no door may ask for is an input error, and an application is
//! recorded once with the audit row naming its principal.

use sportello_domain::law::Decrees;
use sportello_domain::principal::{LoginMethod, Principal};
use sportello_domain::{CodiceFiscale, IdempotencyKey};
use sportello_store::Submission;
use sportello_usecases::apply::{Draft, submit};
use sportello_usecases::draft::{Contacts, Declarations, Details, Payment};
use sportello_usecases::{Acting, ErrorKind, UseCaseError};

fn draft(scheme: &str, key: &str) -> Draft {
    let details = Details {
        payment: Payment::Domiciliato,
        contact: Contacts::default(),
        declarations: Declarations::default(),
        figures: Default::default(),
        filed_by: None,
    };
    Draft { scheme: scheme.to_owned(), idempotency_key: IdempotencyKey::parse(key).unwrap(), details }
}

/// A citizen acting for themself with a confirmed credential, from `from`.
fn acting(principal: Principal, from: Option<&str>) -> Acting {
    Acting { principal, credential: None, confirmed: true, from: from.map(str::to_owned) }
}

#[tokio::test]
async fn april_is_refused_as_input_and_an_application_is_recorded_once_with_its_principal() {
    let dir = std::env::temp_dir().join(format!("sportello-usecases-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("apply.db").display());
    let store = sportello_store::open(&url).await.unwrap();
    let decrees = Decrees::embedded();
    let cf = CodiceFiscale::parse("RSSMRA80A01H501U").unwrap();
    let principal = Principal::citizen(cf, LoginMethod::PinFull);
    let now = chrono::Utc::now();

    let april =
        submit(store.as_ref(), &decrees, &acting(principal, None), draft("art84c1", "a"), now).await.unwrap_err();
    assert!(matches!(april, UseCaseError::NotOnApplication(_)), "{april}");
    assert_eq!((april.kind(), april.exit_status()), (ErrorKind::Input, 2));
    let unknown =
        submit(store.as_ref(), &decrees, &acting(principal, None), draft("art99", "b"), now).await.unwrap_err();
    assert_eq!(unknown.to_string(), "there is no scheme 'art99' in the decrees in force");

    // Nobody in the registry: decided and recorded, rejected with its reasons; the same key finds it again.
    let from = acting(principal, Some("192.0.2.1"));
    let first = submit(store.as_ref(), &decrees, &from, draft("art27", "k"), now);
    let Submission::Created(first) = first.await.unwrap() else { panic!("recorded") };
    assert_eq!(first.cumulation_group, "dl18-2020-marzo");
    let again = submit(store.as_ref(), &decrees, &acting(principal, None), draft("art27", "k"), now).await.unwrap();
    assert!(matches!(again, Submission::Duplicate(ref a) if a.protocol == first.protocol), "{again:?}");
    let audit = store.audit_of(&cf, 10).await.unwrap();
    let row = audit.iter().find(|a| a.action == "submit_application").unwrap();
    assert_eq!(row.actor, "citizen:RSSMRA80A01H501U");
    assert_eq!((row.login_method.as_deref(), row.channel.as_str()), (Some("pin_full"), "citizen"));
    let first_row = audit.iter().rfind(|a| a.action == "submit_application").unwrap();
    assert_eq!(first_row.from.as_deref(), Some("192.0.2.1"), "the first, from the client's address");
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn the_protocol_number_starts_with_the_prefix_of_the_decrees_scheme_file() {
    let schemes = concat!(env!("CARGO_MANIFEST_DIR"), "/../../schemes/dl18-2020.toml");
    let text = std::fs::read_to_string(schemes).unwrap().replacen(
        "protocol_prefix = \"INPS-COVID-\"",
        "protocol_prefix = \"INPS-CURA-ITALIA-\"",
        1,
    );
    let decrees = Decrees::from_files(&[("dl18-2020.toml", text.as_str())]).unwrap();
    let dir = std::env::temp_dir().join(format!("sportello-usecases-prefix-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let store = sportello_store::open(&format!("sqlite://{}", dir.join("prefix.db").display())).await.unwrap();
    let cf = CodiceFiscale::parse("RSSMRA80A01H501U").unwrap();
    let principal = Principal::citizen(cf, LoginMethod::PinSimplified);
    let who = acting(principal, None);
    let submitted = submit(store.as_ref(), &decrees, &who, draft("art28", "p"), chrono::Utc::now());
    let Submission::Created(application) = submitted.await.unwrap() else { panic!("recorded") };
    assert!(application.protocol.starts_with("INPS-CURA-ITALIA-"), "{}", application.protocol);
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}
