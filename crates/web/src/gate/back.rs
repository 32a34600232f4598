//! Where the waiting room sends a visitor back to: a page the portal's route table serves, with an optional plain
//! query, and nothing else. Anything else — another origin (`//host`, `/\host`, `https://host`), a path a browser
//! would rewrite into one (a tab or a line break, which browsers drop: `/\t/host` becomes `//host`), a control
//! character (which cannot stand in a `Location` header), a path the portal does not serve — sends the visitor to the
//! home page. Checking syntax alone is how `/%09/evil.example/` once left the site; a path that must match the table
//! cannot.

use axum::http::Method;

use crate::routes::Listed;

/// The longest return path kept, query included.
const MAX_LEN: usize = 512;

/// The path templates a visitor may be sent back to: the portal's pages that answer GET, except the waiting room.
#[derive(Clone, Debug)]
pub struct ReturnPaths {
    templates: Vec<&'static str>,
}

impl Default for ReturnPaths {
    /// The home page only: what a gate knows before it is given the portal's route table.
    fn default() -> Self {
        Self { templates: vec!["/"] }
    }
}

impl ReturnPaths {
    /// The pages of `listed` a browser can come back to.
    pub fn of(listed: &[Listed]) -> Self {
        let mut templates: Vec<&'static str> = listed
            .iter()
            .filter(|route| route.methods.contains(&Method::GET) && !route.path.starts_with("/attesa"))
            .map(|route| route.path)
            .collect();
        if !templates.contains(&"/") {
            templates.push("/");
        }
        Self { templates }
    }

    /// `asked` if it is a page of the table with at most a plain query, else `/`.
    pub fn check(&self, asked: Option<&str>) -> String {
        asked.filter(|asked| self.accepts(asked)).unwrap_or("/").to_owned()
    }

    fn accepts(&self, asked: &str) -> bool {
        if asked.len() > MAX_LEN {
            return false;
        }
        let (path, query) = match asked.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (asked, None),
        };
        let Some(rest) = path.strip_prefix('/') else { return false };
        let segments: Vec<&str> = if rest.is_empty() { Vec::new() } else { rest.split('/').collect() };
        let plain_segment = |s: &str| {
            !s.is_empty()
                && s != "."
                && s != ".."
                && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
        };
        if !segments.iter().all(|s| plain_segment(s)) || !query.is_none_or(plain_query) {
            return false;
        }
        self.templates.iter().any(|template| matches(template, &segments))
    }
}

/// Whether `query` holds only what a link of the portal puts there (`lang=en`, `scheme=art27`), percent-encoded.
fn plain_query(query: &str) -> bool {
    let bytes = query.as_bytes();
    bytes.iter().enumerate().all(|(i, &b)| match b {
        b'%' => bytes.get(i + 1..i + 3).is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit)),
        _ => b.is_ascii_alphanumeric() || b"-._~=&+,:@/".contains(&b),
    })
}

/// Whether `segments` fill the route template: `{name}` takes one segment, `{*name}` all the others (at least one).
fn matches(template: &str, segments: &[&str]) -> bool {
    let wanted: Vec<&str> = template.trim_start_matches('/').split('/').filter(|s| !s.is_empty()).collect();
    let mut given = segments.iter();
    for want in &wanted {
        if want.starts_with("{*") {
            return given.next().is_some();
        }
        match given.next() {
            Some(segment) if want.starts_with('{') || segment == want => {}
            _ => return false,
        }
    }
    given.next().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routes::Audience;

    fn table() -> ReturnPaths {
        let route = |path, methods: &[Method]| Listed { path, methods: methods.to_vec(), audience: Audience::Personal };
        ReturnPaths::of(&[
            route("/", &[Method::GET]),
            route("/privacy", &[Method::GET]),
            route("/domande/{protocol}", &[Method::GET]),
            route("/static/{*file}", &[Method::GET]),
            route("/esci", &[Method::POST]),
            route("/attesa", &[Method::GET]),
        ])
    }

    #[test]
    fn pages_of_the_table_are_kept_with_a_plain_query() {
        let paths = table();
        for kept in ["/", "/?lang=en", "/privacy", "/privacy?lang=en", "/domande/INPS-COVID-2026-000001", "/static/a/b"]
        {
            assert_eq!(paths.check(Some(kept)), kept);
        }
    }

    #[test]
    fn anything_else_goes_home() {
        let paths = table();
        let cases = [
            ("nothing asked", None),
            ("a tab browsers drop", Some("/\t/evil.example/")),
            ("a line feed", Some("/\n/evil.example/")),
            ("a carriage return", Some("/\r/evil.example/")),
            ("a control character", Some("/\u{1}/evil.example/")),
            ("a protocol-relative URL", Some("//evil.example/")),
            ("a backslash", Some("/\\evil.example/")),
            ("another origin", Some("https://evil.example/")),
            ("a path without its slash", Some("privacy")),
            ("a page the portal does not serve", Some("/evil.example")),
            ("a page only posted to", Some("/esci")),
            ("the waiting room itself", Some("/attesa")),
            ("a trailing slash", Some("/privacy/")),
            ("a parameter left empty", Some("/domande/")),
            ("a parameter that climbs", Some("/domande/..")),
            ("an encoded slash", Some("/privacy%2F%2Fevil.example")),
            ("a control character in the query", Some("/?lang=en\r\nLocation:%20//evil.example")),
            ("a backslash in the query", Some("/?a=\\b")),
            ("a broken escape", Some("/?a=%zz")),
            ("a space", Some("/privacy ?lang=en")),
            ("a very long query", Some(&*"/?a=".repeat(200))),
        ];
        for (what, asked) in cases {
            assert_eq!(paths.check(asked), "/", "{what}: {asked:?}");
        }
    }

    #[test]
    fn a_gate_without_the_table_knows_only_the_home_page() {
        assert_eq!(ReturnPaths::default().check(Some("/privacy")), "/");
        assert_eq!(ReturnPaths::default().check(Some("/?lang=en")), "/?lang=en");
    }
}
