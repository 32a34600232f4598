//! `sportello demo`: a registry of synthetic people in the embedded database, and their decisions on screen.
//!
//! This is what a newcomer runs first: it shows the whole foundation at work — a registry and its persons file
//! generated, imported by the same paths as real ones, the law deciding for a few people of different kinds, and the
//! portal open for them, with names and contacts on file for most (and none for some, whose PIN requests are held
//! until they confirm).

use std::collections::HashSet;
use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use sportello_domain::law::{Decision, Decrees, Facts};

use crate::pins;
use crate::synthetic::{self, Generator, Profile};
use sportello_usecases::registry::{ImportOptions, import};

/// Arguments of `demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// How many people the demo registry holds.
    #[arg(long, default_value_t = 5_000)]
    pub persons: u64,
    /// The seed of the demo registry.
    #[arg(long, default_value_t = 2020)]
    pub seed: u64,
    /// The language of the reasons shown.
    #[arg(long, value_enum, default_value_t = Lang::It)]
    pub lang: Lang,
    /// Where the demo portal listens.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: std::net::SocketAddr,
    /// Only import and show decisions; do not issue PINs or start the portal.
    #[arg(long)]
    pub no_serve: bool,
}

/// A language the reasons of a decision are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Lang {
    /// Italiano.
    It,
    /// English.
    En,
}

/// The kinds of people the demo shows, in this order.
const SHOWN: [Profile; 6] = [
    Profile::Professionista,
    Profile::Autonomo,
    Profile::StagionaleEAgricolo,
    Profile::Pensionato,
    Profile::PercettoreRdc,
    Profile::CassaPrivata,
];

/// Generates the demo registry, imports it into `database_url` and prints decisions.
pub async fn run(database_url: &str, args: &DemoArgs) -> anyhow::Result<()> {
    let dir = PathBuf::from("sportello-data");
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let path = dir.join("demo-registry.csv");
    let persons_path = dir.join("demo-persons.csv");
    let (persons, seed, out_path, persons_out) = (args.persons, args.seed, path.clone(), persons_path.clone());
    let (rows, _) =
        tokio::task::spawn_blocking(move || synthetic::write_files(&out_path, &persons_out, persons, seed)).await??;

    let store = sportello_store::open(database_url)
        .await
        .with_context(|| format!("cannot open the database {}", sportello_store::redact(database_url)))?;
    let options =
        ImportOptions { path: path.clone(), skip_invalid: false, rejects: None, max_invalid: None, dry_run: false };
    let report =
        import(Some(store.as_ref()), &options, Box::new(std::io::stderr()), crate::progress::importing()).await?;
    crate::persons::import(Some(store.as_ref()), &persons_path).await?;

    let decrees = Decrees::embedded();
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "Sportello demo: {} people ({rows} registry rows) generated into {} and imported into {} in {:.1} s.\n",
        report.summary.persons,
        path.display(),
        sportello_store::redact(database_url),
        report.elapsed.as_secs_f64()
    )?;

    let mut generator = Generator::new(seed);
    let mut shown = HashSet::new();
    let mut example = None;
    let mut people = Vec::new();
    let mut without_contact = None;
    for index in 0..persons {
        let person = generator.person();
        // The first entitled person with no contact on file, in case none of those shown lacks one.
        if without_contact.is_none() && person.profile == Profile::Professionista && !synthetic::has_contact(index) {
            without_contact = Some(person.codice_fiscale);
        }
        if shown.len() == SHOWN.len() {
            if without_contact.is_some() {
                break;
            }
            continue;
        }
        if !SHOWN.contains(&person.profile) || !shown.insert(person.profile) {
            continue;
        }
        let positions = store.positions(&person.codice_fiscale).await?;
        let decision = decrees.decide(person.codice_fiscale, &positions, &Facts::none());
        print_decision(&mut out, &decision, &positions, args.lang)?;
        example.get_or_insert(person.codice_fiscale);
        let entitled: Vec<String> = decision.schemes.iter().filter(|s| s.eligible).map(|s| s.scheme.clone()).collect();
        people.push((person.codice_fiscale, entitled));
    }
    if let Some(cf) = example {
        writeln!(out, "The same decision as JSON, for programs:  sportello check --cf {cf}")?;
    }
    if args.no_serve {
        return Ok(());
    }

    // The portal, with PINs for the people above; PINs asked for on the portal land in the mailbox file. Someone with
    // no contact on file shows the held path: a PIN asked for on the portal goes to the contact typed, and what it
    // submits is held for payment until the full PIN, or an officer (`sportello pin confirm`), confirms the person.
    let mut lacking = Vec::new();
    for (cf, _) in &people {
        lacking.push(store.person(cf).await?.is_none_or(|p| !p.has_contact()));
    }
    if !lacking.contains(&true)
        && let Some(cf) = without_contact
    {
        people.push((cf, vec!["art27".to_owned()]));
        lacking.push(true);
    }
    let cfs: Vec<_> = people.iter().map(|(cf, _)| *cf).collect();
    let hasher = sportello_web::pin::PinHasher::new()?;
    let issued = pins::issue(store.as_ref(), &hasher, &cfs).await?;
    let mut config = sportello_web::config::Config::default();
    config.http.listen = args.listen;
    config.notify.mailbox = Some(dir.join("mailbox.jsonl"));
    config.notify.letters_dir = Some(dir.join("letters"));
    let listener = crate::portal::bind(&config).await?;
    let url = format!("http://{}/", listener.local_addr()?);
    writeln!(out, "\nThe portal is open at {url}  (Ctrl-C stops it)")?;
    writeln!(
        out,
        "Demo identities (log in at {url}accedi with the codice fiscale and the PIN, or its first 8 characters):"
    )?;
    for (((cf, pin), (_, entitled)), lacks) in issued.iter().zip(&people).zip(&lacking) {
        let entitled = if entitled.is_empty() { "none".to_owned() } else { entitled.join(", ") };
        let name = store.person(cf).await?.map_or_else(|| "no personal record".to_owned(), |p| p.full_name());
        let contact = if *lacks { "no contact on file" } else { "contact on file" };
        writeln!(
            out,
            "  {cf}  PIN {}  (simplified {})  {name}, {contact}; entitled: {entitled}",
            pin.expose(),
            pin.first_half()
        )?;
    }

    writeln!(out, "PINs requested on the portal are delivered to {}", dir.join("mailbox.jsonl").display())?;
    writeln!(out, "and letters to post (second halves of PINs) are written to {}", dir.join("letters").display())?;
    writeln!(
        out,
        "Someone with no contact on file who asks for a new one there gets its first half at the contact given, and \
         what it submits is held for payment until they confirm (or an officer does: sportello pin confirm --cf CF \
         --by NAME)."
    )?;
    out.flush()?;
    drop(out);
    crate::portal::run_portal(listener, store.into(), decrees, config).await
}

fn print_decision(
    out: &mut impl Write,
    decision: &Decision,
    positions: &[sportello_domain::registry::Position],
    lang: Lang,
) -> std::io::Result<()> {
    let text =
        |r: &sportello_domain::law::Reason| format!("{}: {}", r.article, if lang == Lang::It { &r.it } else { &r.en });
    let (yes, no) = if lang == Lang::It { ("spetta", "non spetta") } else { ("entitled", "not entitled") };
    let kinds: Vec<&str> = positions.iter().map(|p| p.kind.as_str()).collect();
    writeln!(out, "{}  ({})", decision.codice_fiscale, kinds.join(", "))?;
    for scheme in &decision.schemes {
        let verdict = if scheme.eligible { yes } else { no };
        let first = scheme.reasons.first().map(text).unwrap_or_default();
        writeln!(out, "  {:<6} {verdict:<12}  {first}", scheme.scheme)?;
        for reason in scheme.reasons.iter().skip(1) {
            writeln!(out, "  {:<6} {:<12}  {}", "", "", text(reason))?;
        }
    }
    writeln!(out)
}
