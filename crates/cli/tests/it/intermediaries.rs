//! `sportello intermediaries import`: the roster replaced from its file, or every wrong line listed with exit
//! status 2 and nothing written.

use crate::support::{Sandbox, stderr};

const HEADER: &str = "ente,denominazione,tipo,ufficio,sede,codice_fiscale,ruolo,valido_dal,valido_al\n";

#[test]
fn a_roster_is_imported_or_refused_whole_with_its_lines_named() {
    let sandbox = Sandbox::new();
    let good = sandbox.file(
        "roster.csv",
        &format!(
            "{HEADER}INCA,INCA CGIL,patronato,INCA-RM-01,\"Roma, Via Nizza 59\",RSSMRA80A01H501U,responsabile,2019-01-01,\n\
             CC,Contact Center INPS,contact_center,CC-01,803 164,MRTMRA83T56A269B,operatore,2020-01-01,\n"
        ),
    );
    let out = sandbox.run(&["intermediaries", "import", "--dry-run", good.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("is valid: 2 rows checked"), "{}", stderr(&out));
    let out = sandbox.run(&["intermediaries", "import", good.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("2 operator(s) in 2 office(s)"), "{}", stderr(&out));

    let bad = sandbox.file(
        "bad.csv",
        &format!("{HEADER}INCA,INCA CGIL,sindacato,INCA-RM-01,Roma,RSSMRA80A01H501X,operatore,2020-01-01,2019-12-31\n"),
    );
    let out = sandbox.run(&["intermediaries", "import", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    for expected in [
        "line 2, column 3: tipo: 'sindacato' is not a kind of intermediary",
        "line 2, column 6: codice_fiscale:",
        "1 invalid row(s)",
        "the roster is unchanged",
    ] {
        assert!(err.contains(expected), "missing {expected:?} in:\n{err}");
    }
}
