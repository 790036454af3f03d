//! Where the database is: `LISTO_DATABASE` read as a SQLite path or a PostgreSQL URL.

use std::fmt;
use std::path::PathBuf;

/// Which engine holds the data, and where.
#[derive(Clone, PartialEq, Eq)]
pub enum Location {
    /// A SQLite file (created with its folders on first start).
    Sqlite(PathBuf),
    /// A PostgreSQL database.
    Postgres(PostgresUrl),
}

/// A `postgres://` URL; it may carry a password, so it prints without one.
#[derive(Clone, PartialEq, Eq)]
pub struct PostgresUrl(String);

impl PostgresUrl {
    /// The URL as given, password included: only for connecting.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl Location {
    /// `postgres://…` or `postgresql://…` is PostgreSQL (checked now, so a bad URL stops start-up
    /// with its reason); anything else is a SQLite path.
    pub fn parse(raw: &str) -> Result<Self, String> {
        for scheme in ["postgres://", "postgresql://"] {
            let Some(rest) = raw
                .get(..scheme.len())
                .filter(|head| head.eq_ignore_ascii_case(scheme))
                .map(|_| &raw[scheme.len()..])
            else {
                continue;
            };
            // Schemes are case-insensitive; the driver reads only the lower-case spelling.
            let url = format!("{scheme}{rest}");
            super::postgres::check_url(&url)?;
            return Ok(Self::Postgres(PostgresUrl(url)));
        }
        if raw.trim().is_empty() {
            return Err("must be a file path or a postgres:// URL".into());
        }
        Ok(Self::Sqlite(PathBuf::from(raw)))
    }
}

impl fmt::Display for PostgresUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match url::Url::parse(&self.0) {
            Ok(mut url) => {
                if url.password().is_some() {
                    let _ = url.set_password(Some("***"));
                }
                // Query parameters may hold a password too (`?password=`): left out.
                url.set_query(None);
                write!(f, "{url}")
            }
            Err(_) => f.write_str("postgres://…"),
        }
    }
}

impl fmt::Debug for PostgresUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sqlite(path) => write!(f, "{}", path.display()),
            Self::Postgres(url) => write!(f, "{url}"),
        }
    }
}

impl fmt::Debug for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_select_postgres_and_print_without_their_password() {
        let Location::Postgres(url) =
            Location::parse("postgres://listo:s3cret@db.example.com:5432/listo?password=x")
                .unwrap()
        else {
            panic!("a postgres URL is PostgreSQL");
        };
        assert_eq!(
            url.expose(),
            "postgres://listo:s3cret@db.example.com:5432/listo?password=x"
        );
        let shown = url.to_string();
        assert!(
            !shown.contains("s3cret") && !shown.contains("password"),
            "{shown}"
        );
        assert!(matches!(
            Location::parse("POSTGRESQL://h/db"),
            Ok(Location::Postgres(_))
        ));
        assert_eq!(
            Location::parse("./data/listo.db").unwrap(),
            Location::Sqlite(PathBuf::from("./data/listo.db"))
        );
        assert!(Location::parse("postgres://h:notaport/db").is_err());
        assert!(Location::parse(" ").is_err());
    }
}
