//! The test's own view of the app's database, on either engine: a fresh database per test, and
//! direct reads for checks a client cannot make.

use crate::support::postgres::{connect, fresh_database};
use crate::support::{Engine, TestApp};
use listo::store::Location;
use std::collections::BTreeMap;
use std::path::Path;

/// A fresh, empty database for one app under test, inside `dir` when it is a file.
pub fn fresh(engine: Engine, dir: &Path) -> Location {
    match engine {
        Engine::Sqlite => Location::Sqlite(dir.join("data").join("listo.db")),
        Engine::Postgres => Location::parse(&fresh_database()).expect("a postgres URL"),
    }
}

impl TestApp {
    /// The app's database, read and written directly (for checks a client cannot make).
    pub fn db(&self) -> Db<'_> {
        Db(&self.config().database)
    }

    /// The app's SQLite file (for tests about the file itself).
    pub fn db_path(&self) -> &std::path::Path {
        match &self.config().database {
            listo::store::Location::Sqlite(path) => path,
            other => panic!("a SQLite test on {other}"),
        }
    }

    /// How many rows `table` holds, read straight from the database.
    pub async fn count_rows(&self, table: &str) -> i64 {
        self.db()
            .integer(&format!("SELECT COUNT(*) FROM {table}"))
            .await
    }

    /// The stored text of every task, in id order, read straight from the database.
    pub async fn stored_texts(&self) -> Vec<String> {
        self.db().texts("SELECT text FROM tasks ORDER BY id").await
    }

    /// Every task's order key, read straight from the database.
    pub async fn sort_keys(&self) -> BTreeMap<i64, String> {
        self.db().pairs("SELECT id, sort_key FROM tasks").await
    }
}

/// Direct access to an app's database, whichever engine holds it.
pub struct Db<'a>(pub &'a Location);

impl Db<'_> {
    /// Runs statements that return nothing.
    pub async fn execute(&self, sql: &str) {
        match self.0 {
            Location::Sqlite(path) => rusqlite::Connection::open(path)
                .unwrap()
                .execute_batch(sql)
                .unwrap(),
            Location::Postgres(url) => connect(url.expose())
                .await
                .batch_execute(sql)
                .await
                .unwrap(),
        }
    }

    /// The first column of every row of `sql`, as text.
    pub async fn texts(&self, sql: &str) -> Vec<String> {
        self.each_row(sql, |r| r.get(0), |r| r.get(0)).await
    }

    /// The first two columns of every row of `sql`: an integer and a text.
    pub async fn pairs(&self, sql: &str) -> BTreeMap<i64, String> {
        let sqlite = |r: &rusqlite::Row| Ok((r.get(0)?, r.get(1)?));
        let pairs = self.each_row(sql, sqlite, |r| (r.get(0), r.get(1)));
        pairs.await.into_iter().collect()
    }

    /// Every row of `sql`, each read by the reader of its engine.
    async fn each_row<T>(
        &self,
        sql: &str,
        sqlite: impl FnMut(&rusqlite::Row) -> rusqlite::Result<T>,
        postgres: impl FnMut(&tokio_postgres::Row) -> T,
    ) -> Vec<T> {
        match self.0 {
            Location::Sqlite(path) => {
                let db = rusqlite::Connection::open(path).unwrap();
                let mut stmt = db.prepare(sql).unwrap();
                stmt.query_map([], sqlite)
                    .unwrap()
                    .collect::<Result<_, _>>()
                    .unwrap()
            }
            Location::Postgres(url) => connect(url.expose())
                .await
                .query(sql, &[])
                .await
                .unwrap()
                .iter()
                .map(postgres)
                .collect(),
        }
    }

    /// The single integer `sql` answers.
    pub async fn integer(&self, sql: &str) -> i64 {
        match self.0 {
            Location::Sqlite(path) => rusqlite::Connection::open(path)
                .unwrap()
                .query_row(sql, [], |r| r.get(0))
                .unwrap(),
            Location::Postgres(url) => connect(url.expose())
                .await
                .query_one(sql, &[])
                .await
                .unwrap()
                .get(0),
        }
    }
}

impl Db<'_> {
    /// Every row of `table`, each a JSON object of its columns: numbers as numbers, text as
    /// strings, bytes as `\x…` hex.
    pub async fn rows(&self, table: &str) -> Vec<serde_json::Value> {
        use serde_json::Value;
        match self.0 {
            Location::Sqlite(path) => {
                let db = rusqlite::Connection::open(path).unwrap();
                let mut stmt = db.prepare(&format!("SELECT * FROM {table}")).unwrap();
                let names: Vec<String> =
                    stmt.column_names().iter().map(|n| n.to_string()).collect();
                stmt.query_map([], |r| {
                    let mut row = serde_json::Map::new();
                    for (i, name) in names.iter().enumerate() {
                        use rusqlite::types::ValueRef;
                        let value = match r.get_ref(i)? {
                            ValueRef::Null => Value::Null,
                            ValueRef::Integer(n) => n.into(),
                            ValueRef::Real(x) => x.into(),
                            ValueRef::Text(t) => String::from_utf8_lossy(t).into(),
                            ValueRef::Blob(b) => {
                                let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
                                format!("\\x{hex}").into()
                            }
                        };
                        row.insert(name.clone(), value);
                    }
                    Ok(Value::Object(row))
                })
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap()
            }
            Location::Postgres(url) => connect(url.expose())
                .await
                .query(&format!("SELECT row_to_json(t)::text FROM {table} t"), &[])
                .await
                .unwrap()
                .iter()
                .map(|r| serde_json::from_str(r.get(0)).unwrap())
                .collect(),
        }
    }
}
